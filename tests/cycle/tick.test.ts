/** The tick's own rules, through the CLI and real mail servers. */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { replyToRequest } from '../../tools/respondent.js';
import { freePort } from '../../tools/dovecot.js';
import { parseYaml, stringifyYaml } from '../../src/app/yaml.js';
import { useMailStack } from '../helpers/mail-stack.js';
import { makeProject, ROOT } from '../helpers/project.js';

const mail = useMailStack();

describe('tick', () => {
  it('holds the ledger back while the collection mailbox cannot be read, so waiting replies are in it and on time', async () => {
    const p = makeProject(mail(), (doc) => { doc.mailbox.address = doc.mailbox.imap.user = doc.mailbox.smtp.user = 'held@office.test'; });
    expect((await p.tick('2020-06-20T09:00:00+08:00')).code).toBe(0);
    const req = (await p.inbox('aiyankun@example.com')).find((m) => m.from?.value[0].address === p.mailbox)!;
    await replyToRequest({ smtp: p.smtp, from: 'aiyankun@example.com', original: req.raw, answer: () => ({ progress: '按时报送' }) });

    // The mailbox is unreachable at the first tick after the deadline.
    const good = readFileSync(p.configFile, 'utf8');
    const doc = parseYaml(good) as any;
    doc.mailbox.imap.port = await freePort();
    writeFileSync(p.configFile, stringifyYaml(doc));
    const down = await p.tick('2020-07-01T09:00:00+08:00');
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/collect/);
    expect(down.stdout).not.toMatch(/ledger:/);
    expect((await p.status('2020-06')).ledgerSentAt).toBeNull();

    writeFileSync(p.configFile, good);
    const up = await p.tick('2020-07-01T10:00:00+08:00');
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toMatch(/ledger-2020-06-v1\.xlsx/);
    const s = await p.status('2020-06');
    expect(s.people.find((x: any) => x.name === '艾延坤').status).toBe('submitted');
    const receipt = (await p.inbox('aiyankun@example.com')).find((m) => /回执/.test(m.subject ?? ''));
    expect(receipt?.text).not.toContain('逾期');
  });

  it('does not answer a stranger who replies inside our thread without a form of ours', async () => {
    const p = makeProject(mail(), (doc) => { doc.mailbox.address = doc.mailbox.imap.user = doc.mailbox.smtp.user = 'thread@office.test'; });
    expect((await p.tick('2020-06-20T09:00:00+08:00')).code).toBe(0);
    const req = (await p.inbox('aiyankun@example.com')).find((m) => m.from?.value[0].address === p.mailbox)!;
    await replyToRequest({ smtp: p.smtp, from: 'stranger@elsewhere.test', original: req.raw, noAttachment: true, text: '您好,您发错人了。' });
    const before = mail().smtp.accepted.length;
    expect((await p.tick('2020-06-21T09:00:00+08:00')).code).toBe(0);
    expect(mail().smtp.accepted.length).toBe(before);
    expect(await p.inbox('stranger@elsewhere.test')).toHaveLength(0);
    expect(await p.inbox(p.mailbox, '台账-隔离')).toHaveLength(1);
    expect((await p.status('2020-06')).quarantined).toBe(1);
  });

  it('names the office\'s contact and phone in every mail to people, each signed and dated in the 2020年6月21日 form', async () => {
    const p = makeProject(mail(), (doc) => {
      doc.mailbox.address = doc.mailbox.imap.user = doc.mailbox.smtp.user = 'contact@office.test';
      doc.office_phone = '0393-1234567';
      doc.office_contact = '张三';
    });
    const ask = '与办公室联系（联系人：张三，电话：0393-1234567）。';
    const signed = (day: number) => `\n${p.config.mailbox.sender_name}\n2020年6月${day}日\n（本邮件由台账系统自动发送）`;
    const ours = async (who: string, re: RegExp) => (await p.inbox(who)).filter((m) => m.from?.value[0].address === p.mailbox && re.test(m.subject ?? ''));
    expect((await p.tick('2020-06-20T09:00:00+08:00')).code).toBe(0);
    const [req] = await ours('aiyankun@example.com', /请填报/);
    expect(req.text).toContain(ask);
    expect(req.text).toContain(signed(20));
    await replyToRequest({ smtp: p.smtp, from: 'aiyankun@example.com', original: req.raw, answer: () => ({ progress: '按时报送:第一阶段,已完成(初稿)' }) });
    expect((await p.tick('2020-06-21T09:00:00+08:00')).code).toBe(0);
    const [receipt] = await ours('aiyankun@example.com', /回执/);
    expect(receipt.text).toContain('2020年6月21日 9:00收到您2020年6月的进展情况，已登记如下：');
    expect(receipt.text).toContain('进展情况：按时报送:第一阶段,已完成(初稿)'); // the person's words as written
    expect(receipt.text).toContain(ask);
    expect(receipt.text).toContain(signed(21));
    expect((await p.tick('2020-06-25T09:00:00+08:00')).code).toBe(0);
    const [reminder] = await ours('mahongxia@example.com', /提醒/);
    expect(reminder.text).toContain(ask);
    expect(reminder.text).toContain(signed(25));
    expect(await ours('aiyankun@example.com', /提醒/)).toHaveLength(0);
  });

  it('uses the office\'s own wording from templates_dir', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tz-wording-'));
    cpSync(path.join(ROOT, 'templates'), dir, { recursive: true });
    writeFileSync(path.join(dir, 'request.subject.hbs'), '【科技局】请{{person.name}}同志报送{{periodLabel}}进展');
    const p = makeProject(mail(), (doc) => {
      doc.mailbox.address = doc.mailbox.imap.user = doc.mailbox.smtp.user = 'wording@office.test';
      doc.templates_dir = dir;
    });
    expect((await p.tick('2020-06-20T09:00:00+08:00')).code).toBe(0);
    const req = (await p.inbox('mahongxia@example.com')).find((m) => m.from?.value[0].address === p.mailbox)!;
    expect(req.subject).toBe('【科技局】请马红霞同志报送2020年6月进展');
  });
});
