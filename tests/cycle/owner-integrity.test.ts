/**
 * The owner always knows, and no one else's mail speaks for them (issue 15, items 2 and 3),
 * through the real CLI and real mail servers, tried as a careless colleague and as an attacker
 * would: a colleague's form attached by mistake, a copy of someone's form sent from outside the
 * roster again and again with a link in it, a forged From that the receiving server caught, and
 * a stranger's forged "Undelivered Mail".
 */
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { DAILY_LIMIT } from '../../src/cycle/answer.js';
import { useMailStack } from '../helpers/mail-stack.js';
import { makeProject, type Project } from '../helpers/project.js';
import {
  FOLDERS, addPeople, answersTo, casePeople, fixture, foldersOf, filledForm, ledgers, nonRequestMail, requestOf, send,
  type CasePerson, type Parsed,
} from '../helpers/replies.js';

const mail = useMailStack();

const KEYS = ['owner', 'colleague', 'absent', 'forged', 'authpass', 'bounced', 'victim'] as const;
type Key = (typeof KEYS)[number];
const P = casePeople([...KEYS], 101, 2) as Record<Key, CasePerson>;
const STRANGER = 'helper@outside.test';
const LINK = 'http://phish.example/verify';

let stack: ReturnType<typeof mail>;
let p: Project;
const sent: Record<string, string> = {};
const strangerMids: string[] = [];

/** A raw message as the attacker writes it, with the receiving server's Authentication-Results put on top as an MX does. */
async function deliverWithAuth(o: { from: string; serverResults: string; attachments: { filename: string; content: Buffer }[]; messageId: string }): Promise<void> {
  const raw = await new MailComposer({
    from: o.from, to: p.mailbox, subject: '回复:进展情况', text: '已填写。', messageId: o.messageId, attachments: o.attachments,
    // The forger's own "pass", below the server's field: it must not count.
    headers: { 'Authentication-Results': 'mx.office.test; spf=pass smtp.mailfrom=cases.test; dmarc=pass header.from=cases.test' },
  }).compile().build();
  await stack.deliver(Buffer.concat([Buffer.from(`Authentication-Results: ${o.serverResults}\r\n`), raw]), [p.mailbox], o.from);
}

const words = (key: string, no: number) => `${key}:第${no}项`;
const statusOf = async (key: Key) => (await p.status('2020-06')).people.find((x: { email: string }) => x.email === P[key].email);
const inbox = (key: Key, prefix: string) => p.inbox(P[key].email).then((all) => all.filter((m) => (m.subject ?? '').startsWith(prefix)));

beforeAll(async () => {
  stack = mail();
  p = makeProject(stack, (doc) => addPeople(doc, P));
  expect((await p.tick('2020-06-20T09:00:00+08:00')).code).toBe(0);
  const own = await filledForm(p, P.owner.email, (no) => ({ progress: words('本人', no) }));
  await send(stack, p, { from: P.owner.email, replyTo: own.request, attachments: [{ filename: own.filename, content: own.content }] });
  expect((await p.tick('2020-06-21T09:00:00+08:00')).code).toBe(0);

  // The owner sent their filled form to a colleague for reference; the colleague attaches it by mistake.
  const reference = await filledForm(p, P.owner.email, (no) => ({ progress: words('参考', no) }));
  sent.mistake = await send(stack, p, { from: P.colleague.email, replyTo: await requestOf(p, P.colleague.email), attachments: [{ filename: reference.filename, content: reference.content }] });

  // Someone outside the roster holding a copy of 'absent''s form sends it, with a link, again and again.
  const copy = await filledForm(p, P.absent.email, (no) => ({ progress: `请核对:${LINK} (${no})` }));
  for (let i = 0; i < DAILY_LIMIT + 3; i++) {
    strangerMids.push(await send(stack, p, { from: STRANGER, subject: `代报${i}`, attachments: [{ filename: copy.filename, content: copy.content }] }));
  }

  // A forged From that the receiving server failed; and a genuine one it passed.
  const forgedForm = await filledForm(p, P.forged.email, (no) => ({ progress: `冒名:${LINK} ${no}` }));
  sent.forged = '<forged.1@attacker.test>';
  await deliverWithAuth({
    from: P.forged.email, messageId: sent.forged, attachments: [{ filename: forgedForm.filename, content: forgedForm.content }],
    serverResults: 'mx.office.test; spf=fail (not permitted) smtp.mailfrom=cases.test; dkim=none; dmarc=fail (p=reject) header.from=cases.test',
  });
  const passForm = await filledForm(p, P.authpass.email, (no) => ({ progress: words('认证通过', no) }));
  sent.authpass = '<authpass.1@cases.test>';
  await deliverWithAuth({
    from: P.authpass.email, messageId: sent.authpass, attachments: [{ filename: passForm.filename, content: passForm.content }],
    serverResults: 'mx.office.test; spf=pass smtp.mailfrom=cases.test; dkim=pass header.d=cases.test; dmarc=pass header.from=cases.test',
  });

  // A genuine bounce of the request to 'bounced' (it names our Message-ID) ...
  const req = await requestOf(p, P.bounced.email);
  const bounce = fixture('eml/postfix-bounce.eml').toString('latin1')
    .replaceAll('<req-2020-10-wangquncai-71b0d9e4@taizhang.local>', req.messageId!)
    .replaceAll('wangquncai@example.com', P.bounced.email)
    .replaceAll('<20201021011203.4CGQ2N0kVqz9sRK@mx.example.com>', '<bounce.genuine@mx.example.com>');
  await stack.deliver(Buffer.from(bounce, 'latin1'), [p.mailbox], '');
  // ... and a stranger's forged ones for 'victim': one naming only the address, one a made-up Message-ID.
  for (const [n, mid] of [[1, null], [2, '<taizhang.request.guess.000000000000@example.com>']] as const) {
    const forged = fixture('eml/postfix-bounce.eml').toString('latin1')
      .replaceAll('wangquncai@example.com', P.victim.email)
      .replace(/^Message-ID: <req-2020-10-wangquncai-71b0d9e4@taizhang.local>\r?\n/m, mid ? `Message-ID: ${mid}\r\n` : '')
      .replaceAll('<req-2020-10-wangquncai-71b0d9e4@taizhang.local>', mid ?? '')
      .replaceAll('<20201021011203.4CGQ2N0kVqz9sRK@mx.example.com>', `<bounce.forged${n}@mx.stranger.test>`);
    await stack.deliver(Buffer.from(forged, 'latin1'), [p.mailbox], '');
  }
  expect((await p.tick('2020-06-22T09:00:00+08:00')).code).toBe(0);
}, 180_000);

describe('a colleague\'s form attached by mistake', () => {
  let notice: Parsed;

  it('does not replace the owner\'s report; the sender is told it waits for the owner', async () => {
    expect(await statusOf('owner')).toMatchObject({ status: 'submitted', reports: 1, sentBy: null });
    const [r] = await answersTo(p, P.colleague.email, sent.mistake);
    expect(r.subject).toBe(`【待确认】${P.owner.name}2020年6月的进展情况需本人确认`);
    expect(r.text).toContain(`${P.owner.name}本人已报送该月进展情况，为免覆盖本人报送的内容，本次暂未登记`);
    expect(r.text).toContain(`您附上的是${P.owner.name}的表格。如您本意是报送本人的进展情况，请使用您本人的表格重新回复。`);
    expect(await statusOf('colleague')).toMatchObject({ status: 'pending', reports: 0 });
  });

  it('the owner is told who sent what, and how to accept it', async () => {
    const notices = await inbox('owner', '【请确认】');
    expect(notices).toHaveLength(1);
    notice = notices[0];
    expect(notice.text).toContain(`2020年6月22日 9:00，${P.colleague.name}（${P.colleague.department}，${P.colleague.email}）以您的名义报送了2020年6月的进展情况`);
    for (const t of P.owner.tasks) expect(notice.text).toContain(`进展情况：${words('参考', t.no)}`);
    expect(notice.text).toContain('正文第一行只写“确认”二字');
  });

  it('the owner\'s 确认 in reply makes it theirs, sent by the colleague', async () => {
    const yes = await send(stack, p, { from: P.owner.email, replyTo: notice, text: '确认\n\n在 2020-06-22 09:00 写道:\n> 如同意以上述内容替换您已报送的内容，请直接回复本邮件，正文第一行只写“确认”二字' });
    expect((await p.tick('2020-06-23T09:00:00+08:00')).code).toBe(0);
    const [r] = await answersTo(p, P.owner.email, yes);
    expect(r.text).toContain(`收到您的确认，已将${P.colleague.email}以您的名义报送的内容登记为您2020年6月的进展情况`);
    expect(await statusOf('owner')).toMatchObject({ status: 'submitted', reports: 2, sentBy: P.colleague.email });
  });
});

describe('a copy of someone\'s form sent from outside the roster', () => {
  it('is recorded for the owner who had none, and the owner gets the words and how to correct them', async () => {
    expect(await statusOf('absent')).toMatchObject({ status: 'submitted', reports: 1, sentBy: STRANGER });
    const [first, ...held] = (await nonRequestMail(p, P.absent.email));
    expect(first.subject).toBe('【代报通知】您2020年6月的进展情况已由他人报送');
    expect(first.text).toContain(`${STRANGER}以您的名义报送了2020年6月的进展情况`);
    expect(first.text).toContain('如内容有误，请回复本邮件并附上您本人填写的表格');
    // The copies after it wait for the owner, and the notices stop at the daily limit.
    expect(held.every((m) => m.subject === '【请确认】他人以您的名义报送了2020年6月的进展情况')).toBe(true);
    expect(held.length + 1).toBe(DAILY_LIMIT);
  });

  it('the sender\'s receipts never repeat the text, and stop at the daily limit', async () => {
    const receipts = await p.inbox(STRANGER);
    expect(receipts).toHaveLength(DAILY_LIMIT);
    for (const r of receipts) {
      expect(r.text).not.toContain('phish.example');
      expect(r.html || '').not.toContain('phish.example');
    }
    // The one receipt for the recorded copy says why it names no words (the inbox's order is not the sending order).
    const recorded = receipts.filter((r) => r.subject?.startsWith('【回执】'));
    expect(recorded).toHaveLength(1);
    expect(recorded[0].text).toContain('本回执不转述所填内容');
    // Every copy is kept, filed as handled.
    for (const mid of strangerMids) expect(await foldersOf(stack, p, mid)).toEqual([FOLDERS.processed]);
  });
});

describe('the receiving server\'s Authentication-Results', () => {
  it('a forged roster From is quarantined: not recorded, and nothing goes to the forged address', async () => {
    expect(await foldersOf(stack, p, sent.forged)).toEqual([FOLDERS.quarantine]);
    expect(await statusOf('forged')).toMatchObject({ status: 'pending', reports: 0 });
    expect(await nonRequestMail(p, P.forged.email)).toHaveLength(0);
    expect((await p.status('2020-06')).quarantined).toBe(1);
  });

  it('a From the server passed is recorded as usual', async () => {
    expect(await statusOf('authpass')).toMatchObject({ status: 'submitted', reports: 1 });
    expect((await answersTo(p, P.authpass.email, sent.authpass))[0].subject).toBe('【回执】已收到您2020年6月的进展情况');
  });
});

describe('bounces', () => {
  it('count only when they name a Message-ID of ours: a stranger\'s forged DSN marks nobody', async () => {
    expect(await statusOf('bounced')).toMatchObject({ delivery: 'bounced' });
    expect(await statusOf('victim')).toMatchObject({ delivery: 'sent' });
    expect((await p.inbox(p.mailbox, FOLDERS.machine)).length).toBe(3);
  });

  it('the office\'s ledger lists only the proven bounce, and the owner\'s confirmed words', async () => {
    expect((await p.tick('2020-07-01T09:00:00+08:00')).code).toBe(0);
    const [l] = await ledgers(p);
    const line = (l.mail.text ?? '').split('\n').find((x) => x.startsWith('邮件退信或发送失败：')) ?? '';
    expect(line).toContain(P.bounced.name);
    expect(line).not.toContain(P.victim.name);
    for (const t of P.owner.tasks) expect(l.progress.get(t.no)).toBe(words('参考', t.no));
    expect(l.people.get(P.owner.email)?.[5]).toBe(P.colleague.name); // 代报人 by name: the colleague is on the roster
  });
});
