/** The receipt's lines about the file read: one plain line each, in both parts, only when there is something to say. */
import { parseDocument, DomUtils } from 'htmlparser2';
import { describe, expect, it } from 'vitest';
import { Templates } from '../../src/mail/templates.js';

const base = {
  personName: '艾延坤', periodLabel: '2020年6月', accepted: true, late: false, receivedAt: '2020年6月21日 9:00',
  rows: [{ no: 1, task: '完善政府立法程序', progress: '已完成', remark: '' }], emptyRows: [],
  onBehalfOf: false, sender: 'ai@x.cn', officeName: '办公室', others: [],
};
const notes = { format: 'Excel 97-2003 工作簿（.xls）', filename: '台账.xls', foreign: '第3、4项', renamed: '第1项' };
const lines = {
  format: '已读取您发来的Excel 97-2003 工作簿（.xls）“台账.xls”。',
  foreign: '表格中第3、4项不是您负责的任务，所填内容未予登记。',
  renamed: '第1项的“主要任务”与台账原文不一致：所填进展情况已登记，主要任务仍以台账原文为准。',
};

describe('receipt notes', () => {
  it('a recorded report says the format, the foreign rows and the changed task texts, each on its own line', () => {
    const mail = new Templates().render('receipt', { ...base, notes });
    const text = mail.text.split('\n');
    for (const l of Object.values(lines)) expect(text).toContain(l);
    const html = DomUtils.getElementsByTagName('p', parseDocument(mail.html!)).map((p) => DomUtils.textContent(p));
    for (const l of Object.values(lines)) expect(html).toContain(l);
  });

  it('a refused one says the format and the foreign rows (nothing was recorded to rename)', () => {
    const mail = new Templates().render('receipt', { ...base, accepted: false, problem: '表格中您负责的任务均未填写进展情况。', fix: '请填写', notes });
    expect(mail.text).toContain(lines.format);
    expect(mail.text).toContain(lines.foreign);
    expect(mail.text).not.toContain('主要任务');
    expect(mail.text).toMatch(/原因：.*\n处理办法：/);
  });

  it('a colleague is told whose tasks they are not', () => {
    const mail = new Templates().render('receipt', { ...base, onBehalfOf: true, notes: { ...notes, renamed: '' } });
    expect(mail.text).toContain('表格中第3、4项不是艾延坤负责的任务，所填内容未予登记。');
  });

  it('without notes, nothing is added', () => {
    const mail = new Templates().render('receipt', base);
    expect(mail.text).not.toContain('已读取');
    expect(mail.text).not.toContain('未予登记');
  });
});
