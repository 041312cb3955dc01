/**
 * Mail written by machines: automatic replies, out-of-office notes, newsletters and bounces of
 * our own requests. None is ever answered; a bounce marks the person's delivery as failed.
 * Real Dovecot + SMTP relay, driven through the command line.
 */
import iconv from 'iconv-lite';
import { simpleParser } from 'mailparser';
import { beforeAll, describe, expect, it } from 'vitest';
import { useMailStack } from '../helpers/mail-stack.js';
import { makeProject, type Project } from '../helpers/project.js';
import {
  FOLDERS, addPeople, casePeople, collectionFolders, fixture, formOf, header, ledgers, nonRequestMail, requestOf, send,
  type CasePerson,
} from '../helpers/replies.js';

const mail = useMailStack();

const KEYS = ['autosubj', 'autohdr', 'xauto', 'precedence', 'autoatt', 'autoraw', 'bpf', 'b163', 'bnomid', 'control'] as const;
type Key = (typeof KEYS)[number];
const P = casePeople([...KEYS], 101, 1) as Record<Key, CasePerson>;
/** Where the Postfix bounce says the mail went (an alias): only the Message-ID ties it to the person. */
const ALIAS = 'alias-after-forwarding@mx.forward.test';

let stack: ReturnType<typeof mail>;
let project: Project;
/** Message-IDs of the machine mails put into the collection mailbox, and their senders. */
const machine: { key: string; messageId: string; from: string }[] = [];
let controlMid = '';
let tick2: { code: number; stdout: string; stderr: string };

const latin1 = (b: Buffer) => b.toString('latin1');
const bytes = (s: string) => Buffer.from(s, 'latin1');

beforeAll(async () => {
  stack = mail();
  project = makeProject(stack, (doc) => addPeople(doc, P));
  const t1 = await project.tick('2020-06-20T09:00:00+08:00');
  expect(t1.code, t1.stderr).toBe(0);
  const req = Object.fromEntries(await Promise.all(KEYS.map(async (k) => [k, await requestOf(project, P[k].email)]))) as Record<Key, Awaited<ReturnType<typeof requestOf>>>;

  const sendAuto = async (key: Key, o: { subject?: string; headers?: Record<string, string>; withForm?: boolean }) => {
    const mid = await send(stack, project, {
      from: P[key].email, replyTo: req[key], subject: o.subject, headers: o.headers, text: '我正在休假,返岗后尽快处理。',
      attachments: o.withForm ? [{ filename: formOf(req[key]).filename, content: formOf(req[key]).content }] : [],
    });
    machine.push({ key, messageId: mid, from: P[key].email });
  };
  // Chinese clients: 自动回复 in the subject and nothing else.
  await sendAuto('autosubj', { subject: `自动回复:${req.autosubj.subject}` });
  // An ordinary-looking subject, but Auto-Submitted.
  await sendAuto('autohdr', { subject: `回复:${req.autohdr.subject}`, headers: { 'Auto-Submitted': 'auto-replied' } });
  await sendAuto('xauto', { subject: `Re: ${req.xauto.subject}`, headers: { 'X-Autoreply': 'yes' } });
  await sendAuto('precedence', { subject: `Re: ${req.precedence.subject}`, headers: { Precedence: 'junk' } });
  // An auto-responder that sends the original attachment back: still not a report.
  await sendAuto('autoatt', { subject: `Automatic reply: ${req.autoatt.subject}`, headers: { 'Auto-Submitted': 'auto-replied' }, withForm: true });

  // An OA mailer's out-of-office note, its subject in raw 8-bit GBK (no encoded words).
  {
    const mid = '<autoraw.1@oa.cases.test>';
    const raw = Buffer.concat([
      bytes(`From: ${P.autoraw.email}\r\nTo: ${project.mailbox}\r\nSubject: `), iconv.encode(`自动回复:${req.autoraw.subject}`, 'gbk'),
      bytes(`\r\nMessage-ID: ${mid}\r\nIn-Reply-To: ${req.autoraw.messageId}\r\nReferences: ${req.autoraw.messageId}\r\n`),
      bytes('Date: Sun, 21 Jun 2020 08:00:00 +0800\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=GBK\r\nContent-Transfer-Encoding: 8bit\r\n\r\n'),
      iconv.encode('您好,我正在休假,返岗后尽快处理。\r\n', 'gbk'),
    ]);
    await stack.deliver(raw, [project.mailbox], P.autoraw.email);
    machine.push({ key: 'autoraw', messageId: mid, from: P.autoraw.email });
  }

  // Our own request coming back (a person's server forwards everything): the loop guard.
  {
    const own = stack.smtp.accepted.find((m) => m.messageId === req.control.messageId);
    expect(own).toBeDefined();
    await stack.deliver(own!.raw, [project.mailbox], project.mailbox);
    machine.push({ key: 'own-request', messageId: req.control.messageId!, from: project.mailbox });
  }

  // Machine mail as other systems write it (fixtures), delivered straight into the mailbox.
  for (const [key, file, from] of [
    ['163-auto-reply', '163-auto-reply.eml', 'wangquncai@163.com'],
    ['outlook-auto-reply', 'outlook-auto-reply.eml', 'mahongxia@example.com'],
    ['newsletter', 'newsletter-bulk.eml', 'newsletter@news.example.net'],
  ] as const) {
    const raw = fixture(`eml/${file}`);
    await stack.deliver(raw, [project.mailbox]);
    machine.push({ key, messageId: header(raw, 'Message-ID')!, from });
  }

  // A Postfix bounce of the real request to bpf: the DSN names an alias, the returned headers carry our Message-ID.
  {
    let s = latin1(fixture('eml/postfix-bounce.eml'));
    s = s.replaceAll('<req-2020-10-wangquncai-71b0d9e4@taizhang.local>', req.bpf.messageId!)
      .replaceAll('wangquncai@example.com', ALIAS)
      .replaceAll('<20201021011203.4CGQ2N0kVqz9sRK@mx.example.com>', '<bounce-bpf.1@mx.example.com>');
    expect(s).toContain(req.bpf.messageId!);
    await stack.deliver(bytes(s), [project.mailbox], '');
    machine.push({ key: 'bpf', messageId: '<bounce-bpf.1@mx.example.com>', from: 'MAILER-DAEMON@mx.example.com' });
  }
  // A 163.com 系统退信 of the real request to b163.
  {
    let s = latin1(fixture('eml/163-bounce.eml'));
    s = s.replaceAll('<req-2020-07-lishixiang-3f9c2a1e@taizhang.local>', req.b163.messageId!)
      .replaceAll('lishixiang@example.com', P.b163.email)
      .replaceAll('<5f14f8c5.3b2e.1736a4c8e11.Coremail.postmaster@163.com>', '<bounce-b163.1@163.com>');
    expect(s).toContain(req.b163.messageId!);
    await stack.deliver(bytes(s), [project.mailbox], '');
    machine.push({ key: 'b163', messageId: '<bounce-b163.1@163.com>', from: 'Postmaster@163.com' });
  }
  // A bare DSN: no returned headers, only the failed recipient.
  {
    const raw = [
      'From: Mail Delivery Subsystem <mailer-daemon@mx.cases.test>',
      `To: ${project.mailbox}`,
      'Subject: Delivery Status Notification (Failure)',
      'Message-ID: <bounce-bnomid.1@mx.cases.test>',
      'Date: Sun, 21 Jun 2020 08:00:00 +0800',
      'Auto-Submitted: auto-replied',
      'MIME-Version: 1.0',
      'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"',
      '',
      '--b1',
      'Content-Type: text/plain; charset=us-ascii',
      '',
      'Your message could not be delivered.',
      '',
      '--b1',
      'Content-Type: message/delivery-status',
      '',
      'Reporting-MTA: dns; mx.cases.test',
      '',
      `Final-Recipient: rfc822; ${P.bnomid.email}`,
      'Action: failed',
      'Status: 5.1.1',
      '',
      '--b1--',
      '',
    ].join('\r\n');
    await stack.deliver(raw, [project.mailbox], '');
    machine.push({ key: 'bnomid', messageId: '<bounce-bnomid.1@mx.cases.test>', from: 'mailer-daemon@mx.cases.test' });
  }
  // A bounce of a mail that is not ours (for an address we never wrote to).
  {
    let s = latin1(fixture('eml/postfix-bounce.eml'));
    s = s.replaceAll('wangquncai@example.com', 'nobody-we-know@elsewhere.test')
      .replaceAll('<req-2020-10-wangquncai-71b0d9e4@taizhang.local>', '<not-ours.42@elsewhere.test>')
      .replaceAll('<20201021011203.4CGQ2N0kVqz9sRK@mx.example.com>', '<bounce-foreign.1@mx.example.com>');
    await stack.deliver(bytes(s), [project.mailbox], '');
    machine.push({ key: 'foreign-bounce', messageId: '<bounce-foreign.1@mx.example.com>', from: 'MAILER-DAEMON@mx.example.com' });
  }

  // A control: an ordinary person's reply in the same tick is answered.
  controlMid = await send(stack, project, { from: P.control.email, replyTo: req.control, text: '稍后补表格。' });

  tick2 = await project.tick('2020-06-21T09:00:00+08:00');
}, 120_000);

describe('machine-written mail', () => {
  it('is filed in the machine folder; the INBOX is emptied and nothing is lost', async () => {
    expect(tick2.code, tick2.stderr).toBe(0);
    const folders = await collectionFolders(stack, project);
    expect(folders.INBOX).toHaveLength(0);
    const inMachine = new Set(folders[FOLDERS.machine].map((m) => m.messageId));
    for (const m of machine) expect(inMachine.has(m.messageId), m.key).toBe(true);
    expect(folders[FOLDERS.machine]).toHaveLength(machine.length);
    expect(folders[FOLDERS.rejected].map((m) => m.messageId)).toEqual([controlMid]);
    expect(folders[FOLDERS.processed]).toHaveLength(0);
    expect(folders[FOLDERS.quarantine]).toHaveLength(0);
  });

  it('is never answered (no receipt, no loop, no backscatter)', async () => {
    const ours = stack.smtp.accepted.filter((m) => m.from === project.mailbox);
    const machineIds = new Set(machine.map((m) => m.messageId));
    for (const m of ours) {
      expect(machineIds.has(header(m.raw, 'In-Reply-To') ?? ''), header(m.raw, 'Subject')).toBe(false);
    }
    const machineSenders = new Set(machine.map((m) => m.from.toLowerCase()));
    for (const m of ours) {
      // The mailbox's own copy of each mail (self_copy) answers no one.
      const to = m.to.filter((t) => t.toLowerCase() !== project.mailbox.toLowerCase());
      if (!to.some((t) => machineSenders.has(t.toLowerCase()))) continue;
      // The only mail to a machine sender's address is our own request to that person.
      expect((await simpleParser(m.raw)).subject ?? '', to.join()).toMatch(/^【请填报】/);
    }
    for (const k of ['autosubj', 'autohdr', 'xauto', 'precedence', 'autoatt', 'autoraw', 'bpf', 'b163', 'bnomid'] as const) {
      expect(await nonRequestMail(project, P[k].email), k).toHaveLength(0);
    }
    for (const addr of ['wangquncai@163.com', 'newsletter@news.example.net', 'mailer-daemon@mx.example.com', 'postmaster@163.com', ALIAS]) {
      expect(await project.inbox(addr), addr).toHaveLength(0);
    }
    // The control reply in the same tick did get an answer.
    expect((await nonRequestMail(project, P.control.email)).map((m) => m.inReplyTo)).toEqual([controlMid]);
  });

  it('an auto-reply is not a report, even with the form attached', async () => {
    const s = await project.status('2020-06');
    for (const k of ['autosubj', 'autohdr', 'xauto', 'precedence', 'autoatt', 'autoraw'] as const) {
      expect(s.people.find((p: { email: string }) => p.email === P[k].email), k).toMatchObject({ status: 'pending', reports: 0, delivery: 'sent' });
    }
    // The seed's 马红霞 sent only an Outlook automatic reply.
    expect(s.people.find((p: { email: string }) => p.email === 'mahongxia@example.com')).toMatchObject({ status: 'pending', reports: 0, delivery: 'sent' });
    expect(s.quarantined).toBe(0);
  });
});

describe('bounces of our requests', () => {
  it('mark that person\'s delivery as bounced by the Message-ID of our mail; one that names only an address proves nothing', async () => {
    const s = await project.status('2020-06');
    const byEmail = (e: string) => s.people.find((p: { email: string }) => p.email === e);
    for (const k of ['bpf', 'b163'] as const) {
      expect(byEmail(P[k].email), k).toMatchObject({ delivery: 'bounced', label: '退信', status: 'pending' });
    }
    // A bare DSN without our Message-ID could come from anyone: not counted.
    expect(byEmail(P.bnomid.email)).toMatchObject({ delivery: 'sent', status: 'pending' });
    // Nobody else is marked: not the control, not the auto-repliers, not the seed people.
    const bounced = s.people.filter((p: { delivery: string }) => p.delivery === 'bounced').map((p: { email: string }) => p.email);
    expect(bounced.sort()).toEqual([P.b163.email, P.bpf.email].sort());
    const text = await project.cli('status', '--period', '2020-06');
    expect(text.stdout).toContain(`${P.bpf.name}（${P.bpf.department}） <${P.bpf.email}> [退信]`);
  });

  it('show in the office\'s ledger', async () => {
    const t = await project.tick('2020-07-01T09:00:00+08:00');
    expect(t.code, t.stderr).toBe(0);
    const [l] = await ledgers(project);
    expect(l).toBeDefined();
    for (const k of ['bpf', 'b163'] as const) expect(l.people.get(P[k].email)?.[3], k).toBe('退信');
    expect(l.people.get(P.bnomid.email)?.[3]).toBe('未报送');
    expect(l.people.get(P.control.email)?.[3]).toBe('未报送');
    const line = (l.mail.text ?? '').split('\n').find((x) => x.startsWith('邮件退信或发送失败：'));
    expect(line).toBeDefined();
    for (const k of ['bpf', 'b163'] as const) expect(line).toContain(P[k].name);
    expect(line).not.toContain(P.bnomid.name);
    expect(line).not.toContain(P.control.name);
  });
});
