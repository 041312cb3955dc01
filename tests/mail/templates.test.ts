import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseDocument, DomUtils } from 'htmlparser2';
import { describe, expect, it } from 'vitest';
import { TaizhangError } from '../../src/errors.js';
import { Templates } from '../../src/mail/templates.js';

const words = '<script>alert("x")</script> & "引号" =1+1\n第二行';
const receipt = {
  personName: '艾延坤', periodLabel: '2020年6月', accepted: true, late: false, receivedAt: '2020年6月21日 9:00',
  rows: [{ no: 1, task: '完善政府立法程序', progress: words, remark: '' }], emptyRows: [{ no: 2, task: '提高政府立法公众参与度' }],
  onBehalfOf: false, sender: 'ai@x.cn', officeName: '办公室', others: [], echo: true,
};

describe('mail templates', () => {
  it('keep what people wrote exactly in the text part and escape it in the HTML part', () => {
    const mail = new Templates().render('receipt', receipt);
    expect(mail.subject).toBe('【回执】已收到您2020年6月的进展情况');
    expect(mail.text).toContain(words);
    expect(mail.text).toContain('2. 提高政府立法公众参与度');
    expect(mail.html).not.toContain('<script>');
    const doc = parseDocument(mail.html!);
    expect(DomUtils.getElementsByTagName('script', doc)).toHaveLength(0);
    expect(DomUtils.textContent(doc)).toContain(words);
  });

  it('a receipt to an address outside the roster names the tasks but never repeats the words', () => {
    const mail = new Templates().render('receipt', { ...receipt, echo: false, onBehalfOf: true, sender: 'x@outside.cn', others: [{ personName: '王群才', periodLabel: '2020年6月', rows: receipt.rows }] });
    for (const part of [mail.text, mail.html!]) {
      expect(part).not.toContain('alert');
      expect(part).toContain('完善政府立法程序');
    }
    expect(mail.text).toContain('本回执不转述所填内容');
  });

  it('render every kind of mail the service sends', () => {
    const t = new Templates();
    const person = { name: '王群才', department: '办公室', email: 'w@x.cn' };
    expect(t.render('request', { person, tasks: [], periodLabel: '2020年6月', deadline: '2020年6月30日', ledgerTitle: '台账' }).subject).toContain('请填报');
    expect(t.render('reminder', { person, periodLabel: '2020年6月', deadline: '2020年6月30日', taskCount: 3 }).html).toContain('王群才同志');
    expect(t.render('ledger', { periodLabel: '2020年6月', ledgerTitle: '台账', missing: ['李世想'], bounced: [], departments: [], unchanged: [] }).text).toContain('未报送：李世想');
    expect(t.render('receipt', { ...receipt, accepted: false, problem: '附件已损坏', fix: '请重新保存' }).subject).toContain('请补正');
    expect(t.render('receipt', { ...receipt, accepted: false, held: true }).subject).toBe('【待确认】艾延坤2020年6月的进展情况需本人确认');
    const notice = { personName: '艾延坤', periodLabel: '2020年6月', sender: 'x@y.cn', receivedAt: '2020年6月21日 9:00', rows: receipt.rows, emptyRows: [] };
    expect(t.render('notice', notice).subject).toBe('【代报通知】您2020年6月的进展情况已由他人报送');
    expect(t.render('notice', { ...notice, held: true }).text).toContain('正文第一行只写“确认”二字');
  });

  it('an office\'s own wording is used, and a broken template is a clear error', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tz-tpl-'));
    writeFileSync(path.join(dir, 'reminder.subject.hbs'), '催报:{{person.name}}');
    writeFileSync(path.join(dir, 'reminder.text.hbs'), '请尽快报送。');
    expect(new Templates(dir).render('reminder', { person: { name: '马红霞' } }).subject).toBe('催报:马红霞');
    writeFileSync(path.join(dir, 'request.subject.hbs'), '{{#if}}');
    writeFileSync(path.join(dir, 'request.text.hbs'), 'x');
    expect(() => new Templates(dir).render('request', {})).toThrow(TaizhangError);
  });
});
