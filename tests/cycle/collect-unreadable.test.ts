/**
 * Every known person's mail gets an answer. Mail that cannot be read at all (a thousand MIME
 * parts, a header of a megabyte) is kept in quarantine, counted in `status`, and its sender, when
 * on the roster, gets a 请补正 in the thread; a stranger gets nothing. A report forwarded as an
 * attached message is opened and its form read (real Thunderbird and Foxmail fixtures, and a
 * colleague forwarding a real form). A reply without a usable sender address is recorded, and
 * its receipt fails at once instead of being retried forever. Real Dovecot + SMTP relay, the CLI.
 */
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import path from 'node:path';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app/config.js';
import { openContext } from '../../src/cycle/context.js';
import { Connections, collectStep, type TickReport } from '../../src/cycle/tick.js';
import { silentLogger } from '../../src/logger.js';
import { classifySmtpError } from '../../src/mail/smtp.js';
import { createParsePool } from '../../src/parse/pool.js';
import { useMailStack } from '../helpers/mail-stack.js';
import { makeProject, type Project } from '../helpers/project.js';
import {
  FOLDERS, addPeople, answersTo, casePeople, filledForm, fixture, foldersOf, header, nonRequestMail, send, type CasePerson,
} from '../helpers/replies.js';

const mail = useMailStack();
const KEYS = ['parts', 'header', 'fwd', 'deep', 'nofrom'] as const;
type Key = (typeof KEYS)[number];
const P = casePeople([...KEYS], 101, 1) as Record<Key, CasePerson>;
const STRANGER = 'stranger@elsewhere.test';
const CLERK = 'clerk@dept.cases.test';

let stack: ReturnType<typeof mail>;
let project: Project;
const mids: Record<string, string> = {};
let tick2: { code: number; stderr: string };

/** A message of a thousand and one MIME parts. */
const manyParts = (from: string, mid: string) => Buffer.from(`From: ${from}\r\nTo: 6666209@163.com\r\nSubject: =?UTF-8?B?${Buffer.from('进展情况').toString('base64')}?=\r\nMessage-ID: ${mid}\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n${
  Array.from({ length: 1001 }, (_, i) => `--b\r\nContent-Type: text/plain\r\n\r\n${i}\r\n`).join('')}--b--\r\n`);
/** A message whose header is a megabyte, the sender after the bulk of it. */
const hugeHeader = (from: string, mid: string) => Buffer.from(`Message-ID: ${mid}\r\nX-Filler: ${'a'.repeat(1024 * 1024)}\r\nFrom: "${P.header.name}" <${from}>\r\nSubject: progress\r\n\r\nbody\r\n`);

/** A mail whose only attachment is `raw`, attached as a file (Content-Disposition: attachment). */
const forward = (from: string, raw: Buffer, i: number) => new MailComposer({
  from, to: project.mailbox, subject: `Fwd ${i}`, text: '转发,请查收。', messageId: `<fwd-${i}.${Date.now()}@cases.test>`,
  attachments: [{ filename: `fwd${i}.eml`, content: raw, contentType: 'message/rfc822', contentDisposition: 'attachment' }],
}).compile().build();

const statusOf = async (email: string) => (await project.status('2020-06')).people.find((x: { email: string }) => x.email === email);
const folderOf = (mid: string) => foldersOf(stack, project, mid);
const query = <T,>(sql: string, ...args: unknown[]): T[] => {
  const db = new Database(path.join(project.dataDir, 'taizhang.sqlite'), { readonly: true });
  try { return db.prepare(sql).all(...args) as T[]; } finally { db.close(); }
};

beforeAll(async () => {
  stack = mail();
  project = makeProject(stack, (doc) => addPeople(doc, P));
  const t1 = await project.tick('2020-06-20T09:00:00+08:00');
  expect(t1.code, t1.stderr).toBe(0);
  const deliver = async (key: string, raw: Buffer, from: string) => {
    mids[key] = header(raw, 'Message-ID')!;
    await stack.deliver(raw, [project.mailbox], from);
  };
  // Mail the parser refuses, from two people of the roster and a stranger.
  await deliver('parts', manyParts(P.parts.email, '<parts.1@cases.test>'), P.parts.email);
  await deliver('header', hugeHeader(P.header.email, '<header.1@cases.test>'), P.header.email);
  await deliver('stranger', manyParts(STRANGER, '<stranger.1@elsewhere.test>'), STRANGER);
  // Reports forwarded as attachments: the seed's people with real clients (fixtures, unchanged) ...
  await deliver('thunderbird', fixture('eml/thunderbird-forward-attached.eml'), 'aiyankun@example.com');
  await deliver('foxmail', fixture('eml/foxmail-forward-eml-octet.eml'), 'wangquncai@example.com');
  // ... a colleague not on the roster forwarding a person's real reply ...
  const f = await filledForm(project, P.fwd.email, (no) => ({ progress: `转发来的第${no}项` }));
  const reply = await new MailComposer({ from: P.fwd.email, to: CLERK, subject: `回复:${f.request.subject}`, text: '请代为报送。', attachments: [{ filename: f.filename, content: f.content }] }).compile().build();
  await deliver('fwd', await forward(CLERK, reply, 1), CLERK);
  // ... and a report forwarded four times over: deeper than what is opened.
  const d = await filledForm(project, P.deep.email, () => ({ progress: '层层转发' }));
  let deep = await new MailComposer({ from: P.deep.email, to: CLERK, subject: '进展', text: '见附件', attachments: [{ filename: d.filename, content: d.content }] }).compile().build();
  for (let i = 1; i <= 4; i++) deep = await forward(P.deep.email, deep, 10 + i);
  await deliver('deep', deep, P.deep.email);
  // A reply in the thread whose From names no address.
  const n = await filledForm(project, P.nofrom.email, () => ({ progress: '发件人为空' }));
  const nofrom = await new MailComposer({
    from: P.nofrom.email, to: project.mailbox, subject: `回复:${n.request.subject}`, text: '已填写。', messageId: '<nofrom.1@cases.test>',
    inReplyTo: n.request.messageId, references: [n.request.messageId!], attachments: [{ filename: n.filename, content: n.content }],
  }).compile().build();
  await deliver('nofrom', Buffer.from(nofrom.toString('latin1').replace(/^From: .*$/m, 'From: undisclosed-recipients:;'), 'latin1'), P.nofrom.email);
  tick2 = await project.tick('2020-06-21T09:00:00+08:00');
}, 120_000);

describe('mail that cannot be read', () => {
  it('the tick succeeds', () => {
    expect(tick2.code, tick2.stderr).toBe(0);
  });

  for (const key of ['parts', 'header'] as const) {
    it(`${key}: the person gets a 请补正 in the thread, saying what happened and what to do`, async () => {
      const answers = await answersTo(project, P[key].email, mids[key]);
      expect(answers).toHaveLength(1);
      expect(answers[0].subject).toBe('【请补正】您的报送未能登记');
      expect(answers[0].text).toContain(`${P[key].name}同志`);
      expect(answers[0].text).toContain('系统无法读取您的这封邮件');
      expect(answers[0].text).toContain('请直接回复通知邮件，将填好的表格作为附件添加后重新发送。');
      expect(await folderOf(mids[key])).toEqual([FOLDERS.quarantine]);
      expect(await statusOf(P[key].email)).toMatchObject({ status: 'pending' });
    });
  }

  it('a stranger\'s gets no answer; each is kept raw, in quarantine', async () => {
    expect(await project.inbox(STRANGER)).toEqual([]);
    expect(await folderOf(mids.stranger)).toEqual([FOLDERS.quarantine]);
    const rows = query<{ raw_path: string; outcome: string; from_addr: string | null }>("SELECT raw_path, outcome, from_addr FROM messages WHERE outcome = 'unreadable' ORDER BY uid");
    expect(rows.map((r) => r.from_addr)).toEqual([P.parts.email, P.header.email, STRANGER]);
    for (const r of rows) expect(existsSync(r.raw_path)).toBe(true);
  });

  it('status counts them, in JSON and in the text the clerk reads', async () => {
    const s = await project.status('2020-06');
    expect(s.unreadable).toBe(3);
    expect(s.quarantined).toBe(0);
    const text = await project.cli('status', '--period', '2020-06');
    expect(text.stdout).toContain('无法读取的邮件（已保留在“台账-隔离”，责任人发来的已回复请其重新发送）：3 封');
  });
});

describe('a report forwarded as an attached message', () => {
  it.each([
    ['thunderbird', 'aiyankun@example.com', { 1: '已落实规章立项、起草、征求意见、审查、后评估五项制度。', 11: '本月无行政复议案件。' }],
    ['foxmail', 'wangquncai@example.com', { 4: '本月未作出重大行政决策。', 9: '完成门户网站政务公开栏目自查。' }],
  ] as const)('%s: the form inside is read and recorded', async (key, from, rows) => {
    const [receipt, ...more] = await answersTo(project, from, mids[key]);
    expect(more).toHaveLength(0);
    expect(receipt.subject).toBe('【回执】已收到您2020年6月的进展情况');
    for (const text of Object.values(rows)) expect(receipt.text).toContain(`进展情况：${text}`);
    expect(await folderOf(mids[key])).toEqual([FOLDERS.processed]);
    expect(await statusOf(from)).toMatchObject({ status: 'submitted' });
  });

  it('a colleague off the roster forwarding a person\'s reply: recorded for that person by its form', async () => {
    const [receipt] = await answersTo(project, CLERK, mids.fwd);
    expect(receipt?.subject).toBe('【回执】已收到您2020年6月的进展情况');
    // Off the roster: the receipt names the task but does not repeat the words; the owner is told them.
    expect(receipt?.text).toContain(`${P.fwd.tasks[0].no}. `);
    expect(receipt?.text).not.toContain(`转发来的第${P.fwd.tasks[0].no}项`);
    const notices = (await nonRequestMail(project, P.fwd.email)).filter((m) => m.subject?.includes('代报通知'));
    expect(notices).toHaveLength(1);
    expect(notices[0].text).toContain(`转发来的第${P.fwd.tasks[0].no}项`);
    expect(await statusOf(P.fwd.email)).toMatchObject({ status: 'submitted', sentBy: CLERK });
  });

  it('forwarded four times over, deeper than is opened: 请补正, no form found', async () => {
    const [receipt] = await answersTo(project, P.deep.email, mids.deep);
    expect(receipt?.subject).toBe('【请补正】您的报送未能登记');
    expect(receipt?.text).toContain('没有找到填写后的表格附件');
    expect(await statusOf(P.deep.email)).toMatchObject({ status: 'pending' });
  });
});

describe('a reply with no sender address', () => {
  const receiptRows = () => query<{ state: string; attempts: number; last_error: string | null; recipients: string }>(
    "SELECT state, attempts, last_error, recipients FROM outbox WHERE kind = 'receipt' AND person = ?", P.nofrom.name);

  let attempts = -1;
  it('is recorded by its form; its receipt fails at once, shown as failed', async () => {
    expect(await statusOf(P.nofrom.email)).toMatchObject({ status: 'submitted' });
    expect(await folderOf(mids.nofrom)).toEqual([FOLDERS.processed]);
    expect(tick2.stderr).toMatch(/sent \d+, failed 1/);
    expect(tick2.stderr).toMatch(/mail not sent: no valid recipient/);
    const [row, ...more] = receiptRows();
    expect(more).toEqual([]);
    expect(row).toMatchObject({ state: 'failed', last_error: 'no valid recipient: ""', recipients: '' });
    attempts = row.attempts;
  });

  it('is not tried again at the next ticks', async () => {
    for (const now of ['2020-06-21T10:00:00+08:00', '2020-06-22T10:00:00+08:00']) {
      const t = await project.tick(now);
      expect(t.code, t.stderr).toBe(0);
      expect(t.stderr).not.toMatch(/failed/);
    }
    expect(receiptRows()).toMatchObject([{ state: 'failed', attempts }]);
    // The owner is told once that a report came in their name from no address; nothing else.
    expect((await nonRequestMail(project, P.nofrom.email)).map((m) => m.subject)).toEqual([expect.stringContaining('代报通知')]);
  });

  it('nodemailer refusing an envelope by itself (no recipient, no reply code) is final too', () => {
    const refused = Object.assign(new Error('No recipients defined'), { code: 'EENVELOPE' });
    expect(classifySmtpError(refused)).toMatchObject({ code: 'SMTP_REJECTED', permanent: true });
  });
});

describe('a message whose reading runs out of time at every attempt', () => {
  it('is tried at five ticks, then kept in quarantine and its sender asked to send again', async () => {
    const p = makeProject(stack, (doc) => {
      doc.mailbox.address = doc.mailbox.imap.user = doc.mailbox.smtp.user = 'slow@office.test';
    });
    expect((await p.tick('2020-06-20T09:00:00+08:00')).code).toBe(0);
    const req = (await p.inbox('aiyankun@example.com')).find((m) => m.from?.value[0]?.address === 'slow@office.test')!;
    const mid = await send(stack, p, { from: 'aiyankun@example.com', to: p.mailbox, replyTo: req, text: '见附件' });

    const config = loadConfig(p.configFile, { ...process.env, TAIZHANG_MAIL_PASSWORD: stack.password });
    const ctx = openContext(config, silentLogger, { clock: { now: () => new Date('2020-06-21T01:00:00Z') } });
    await ctx.pool.close();
    ctx.pool = createParsePool({ workerUrl: new URL('../fixtures/workers/mime-hang-worker.mjs', import.meta.url), timeoutMs: 200, size: 1 });
    const receipts = () => ctx.store.outboxOfPerson('2020-06', 'aiyankun@example.com').filter((r) => r.kind === 'receipt');
    try {
      for (let attempt = 1; attempt <= 5; attempt++) {
        const conn = new Connections(ctx);
        const report: TickReport = { requests: 0, reminders: 0, ledgers: [], errors: [] };
        await collectStep(ctx, conn, report).finally(() => conn.close());
        expect(report.errors).toEqual([]);
        expect(report.collected?.outcomes, `attempt ${attempt}`).toEqual(attempt < 5 ? {} : { unreadable: 1 });
        expect(receipts(), `attempt ${attempt}`).toHaveLength(attempt < 5 ? 0 : 1);
      }
    } finally {
      await ctx.close();
    }
    expect(await foldersOf(stack, p, mid)).toEqual([FOLDERS.quarantine]);
    expect((await p.tick('2020-06-21T10:00:00+08:00')).code).toBe(0); // sends the 请补正
    const answer = (await p.inbox('aiyankun@example.com')).filter((m) => m.inReplyTo === mid);
    expect(answer.map((m) => m.subject)).toEqual(['【请补正】您的报送未能登记']);
    expect((await p.status('2020-06')).unreadable).toBe(1);
  }, 120_000);
});
