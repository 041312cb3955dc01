/**
 * The junk folder is read too (163 files some replies with attachments under 垃圾邮件): a reply
 * with a form of ours, or in the thread of our mail, is handled exactly as in the inbox (recorded,
 * answered, moved to its outcome folder); strangers' mail, spam from before the first request, and
 * mail that matches a person by its sender alone stay in the junk folder untouched (not moved,
 * not answered, not marked read). Real Dovecot (its Junk folder is marked \Junk), the real CLI;
 * the provider's filter is played by IMAP APPEND into the junk folder.
 */
import Database from 'better-sqlite3';
import { ImapFlow } from 'imapflow';
import path from 'node:path';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { junkFolderOf } from '../../src/mail/imap.js';
import { useMailStack } from '../helpers/mail-stack.js';
import { makeProject, type Project } from '../helpers/project.js';
import {
  FOLDERS, addPeople, answersTo, casePeople, filledForm, fixture, foldersOf, nonRequestMail, requestOf, send, type CasePerson, type Parsed,
} from '../helpers/replies.js';

const mail = useMailStack();
const KEYS = ['jform', 'jthread', 'jsender', 'jinbox'] as const;
type Key = (typeof KEYS)[number];
const P = casePeople([...KEYS], 101, 1) as Record<Key, CasePerson>;
const STRANGER = 'promo@spam.test';
const NAMED = casePeople(['kform', 'kjunk'], 201, 1) as Record<'kform' | 'kjunk', CasePerson>;

let stack: ReturnType<typeof mail>;
let project: Project;
const mids: Record<string, string> = {};
let tick2: { code: number; stderr: string };

/** Runs `fn` logged in to `user`'s mailbox, as the provider's filter or a clerk would. */
async function asMailbox<T>(user: string, fn: (c: ImapFlow) => Promise<T>): Promise<T> {
  const c = new ImapFlow({ host: stack.imap.host, port: stack.imap.port, secure: false, auth: { user, pass: stack.password }, logger: false });
  c.on('error', () => {});
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.logout().catch(() => c.close());
  }
}

/** Files a message into a folder of the collection mailbox, as a provider's spam filter does. */
async function fileInto(p: Project, folder: string, raw: Buffer, date?: Date): Promise<void> {
  await asMailbox(p.mailbox, async (c) => { await c.append(folder, raw, [], date); });
}

/** Message-ID → flags of each message in a folder. */
async function flagsIn(p: Project, folder: string): Promise<Map<string, string[]>> {
  return asMailbox(p.mailbox, async (c) => {
    const box = await c.mailboxOpen(folder, { readOnly: true });
    if (!box.exists) return new Map();
    const all = await c.fetchAll('1:*', { envelope: true, flags: true });
    return new Map(all.map((m) => [m.envelope?.messageId ?? '', [...(m.flags ?? [])]]));
  });
}

let seq = 0;
/** A raw mail as a client writes it; returns its bytes and Message-ID. */
async function compose(o: { from: string; to: string; subject: string; text?: string; replyTo?: Parsed; attachments?: { filename: string; content: Buffer }[] }) {
  const messageId = `<junk-${++seq}.${Date.now()}@client.cases.test>`;
  const raw = await new MailComposer({
    from: o.from, to: o.to, subject: o.subject, text: o.text ?? '已填写,请查收。', messageId, date: new Date('2020-06-21T00:30:00Z'),
    inReplyTo: o.replyTo?.messageId, references: o.replyTo?.messageId ? [o.replyTo.messageId] : undefined, attachments: o.attachments ?? [],
  }).compile().build();
  return { raw, messageId };
}

const statusOf = async (p: Project, email: string) => (await p.status('2020-06')).people.find((x: { email: string }) => x.email === email);
const folderOf = (p: Project, mid: string) => foldersOf(stack, p, mid);

beforeAll(async () => {
  stack = mail();
  project = makeProject(stack, (doc) => addPeople(doc, P));
  const t1 = await project.tick('2020-06-20T09:00:00+08:00');
  expect(t1.code, t1.stderr).toBe(0);

  // A filled form, filed as junk.
  const f = await filledForm(project, P.jform.email, (no) => ({ progress: `垃圾箱里的第${no}项进展` }));
  const form = await compose({ from: P.jform.email, to: project.mailbox, subject: `回复:${f.request.subject}`, replyTo: f.request, attachments: [{ filename: f.filename, content: f.content }] });
  // An answer in the thread, without the form.
  const thread = await compose({ from: P.jthread.email, to: project.mailbox, subject: `回复:${(await requestOf(project, P.jthread.email)).subject}`, replyTo: await requestOf(project, P.jthread.email), text: '附件稍后补上。' });
  // A person's new mail, neither our form nor our thread: its sender alone is known.
  const sender = await compose({ from: P.jsender.email, to: project.mailbox, subject: '进展情况', text: '本月进展:已完成。' });
  // A stranger's mail with a spreadsheet, and spam from before any request went out.
  const spam = await compose({ from: STRANGER, to: project.mailbox, subject: '发票', attachments: [{ filename: '发票.xlsx', content: fixture('xlsx/minimal.xlsx') }] });
  const old = await compose({ from: STRANGER, to: project.mailbox, subject: '五月促销' });
  for (const m of [form, thread, sender, spam]) await fileInto(project, 'Junk', m.raw);
  await fileInto(project, 'Junk', old.raw, new Date('2020-05-01T00:00:00Z'));
  Object.assign(mids, { jform: form.messageId, jthread: thread.messageId, jsender: sender.messageId, spam: spam.messageId, old: old.messageId });
  // And an ordinary reply in the inbox.
  const g = await filledForm(project, P.jinbox.email, (no) => ({ progress: `收件箱第${no}项` }));
  mids.jinbox = await send(stack, project, { from: P.jinbox.email, replyTo: g.request, attachments: [{ filename: g.filename, content: g.content }] });

  tick2 = await project.tick('2020-06-21T09:00:00+08:00');
}, 120_000);

describe('replies to our mail in the junk folder', () => {
  it('the tick succeeds', () => {
    expect(tick2.code, tick2.stderr).toBe(0);
  });

  it('a reply with our form is recorded, answered in the thread, and moved out of Junk to the processed folder', async () => {
    const [receipt, ...more] = await answersTo(project, P.jform.email, mids.jform);
    expect(more).toHaveLength(0);
    expect(receipt?.subject).toBe('【回执】已收到您2020年6月的进展情况');
    expect(receipt?.text).toContain(`进展情况：垃圾箱里的第${P.jform.tasks[0].no}项进展`);
    expect(await statusOf(project, P.jform.email)).toMatchObject({ status: 'submitted', reports: 1 });
    expect(await folderOf(project, mids.jform)).toEqual([FOLDERS.processed]);
    expect((await flagsIn(project, 'Junk')).has(mids.jform)).toBe(false);
  });

  it('an answer in our thread without the form gets the 请补正 and is moved to the rejected folder', async () => {
    const [receipt] = await answersTo(project, P.jthread.email, mids.jthread);
    expect(receipt?.subject).toBe('【请补正】您的报送未能登记');
    expect(await folderOf(project, mids.jthread)).toEqual([FOLDERS.rejected]);
  });

  it('the inbox is read as before', async () => {
    expect(await statusOf(project, P.jinbox.email)).toMatchObject({ status: 'submitted' });
    expect(await folderOf(project, mids.jinbox)).toEqual([FOLDERS.processed]);
  });
});

describe('everything else in the junk folder', () => {
  it('stays there untouched: not moved, not marked read, not answered', async () => {
    const junk = await flagsIn(project, 'Junk');
    expect([...junk.keys()].sort()).toEqual([mids.jsender, mids.spam, mids.old].sort());
    for (const flags of junk.values()) expect(flags).not.toContain('\\Seen');
    expect(await nonRequestMail(project, P.jsender.email)).toEqual([]);
    expect(await project.inbox(STRANGER)).toEqual([]);
    expect(await statusOf(project, P.jsender.email)).toMatchObject({ status: 'pending', reports: 0 });
  });

  it('spam from before the first request is not even read', () => {
    const db = new Database(path.join(project.dataDir, 'taizhang.sqlite'), { readonly: true });
    try {
      const rows = db.prepare("SELECT message_id, outcome FROM messages WHERE mailbox = 'Junk' ORDER BY uid").all() as { message_id: string; outcome: string }[];
      expect(rows).toEqual([
        { message_id: mids.jform, outcome: 'accepted' }, { message_id: mids.jthread, outcome: 'rejected' },
        { message_id: mids.jsender, outcome: 'junk' }, { message_id: mids.spam, outcome: 'junk' },
      ]);
    } finally {
      db.close();
    }
  });

  it('a second tick changes nothing and answers nothing again', async () => {
    const t = await project.tick('2020-06-21T10:00:00+08:00');
    expect(t.code, t.stderr).toBe(0);
    expect(t.stderr).toMatch(/collected 0 new/);
    expect(await answersTo(project, P.jform.email, mids.jform)).toHaveLength(1);
    expect([...(await flagsIn(project, 'Junk')).keys()]).toHaveLength(3);
  });

  it('mail the clerk moves from Junk to the inbox by hand is read there as new', async () => {
    await asMailbox(project.mailbox, async (c) => {
      const lock = await c.getMailboxLock('Junk');
      try {
        const uids = await c.search({ header: { 'message-id': mids.jsender } }, { uid: true });
        expect(uids).toHaveLength(1);
        await c.messageMove((uids as number[]).join(','), 'INBOX', { uid: true });
      } finally {
        lock.release();
      }
    });
    const t = await project.tick('2020-06-21T11:00:00+08:00');
    expect(t.code, t.stderr).toBe(0);
    const [receipt] = await answersTo(project, P.jsender.email, mids.jsender);
    // Its text names no task ("本月进展:已完成。"): for the office, and the sender told so.
    expect(receipt?.subject).toBe('【已转交】您的来信已转交办公室');
    expect(await folderOf(project, mids.jsender)).toEqual([FOLDERS.rejected]);
  });
});

describe('a configured junk folder', () => {
  it('mailbox.folders.junk names the folder read, instead of the one the server marks \\Junk', async () => {
    const p = makeProject(stack, (doc) => {
      doc.mailbox.address = doc.mailbox.imap.user = doc.mailbox.smtp.user = 'named-junk@office.test';
      doc.mailbox.folders = { junk: '垃圾邮件' };
      addPeople(doc, NAMED);
    });
    expect((await p.tick('2020-06-20T09:00:00+08:00')).code).toBe(0);
    await asMailbox(p.mailbox, (c) => c.mailboxCreate('垃圾邮件'));
    const sent: Record<string, string> = {};
    for (const [key, folder] of [['kform', '垃圾邮件'], ['kjunk', 'Junk']] as const) {
      const f = await filledForm(p, NAMED[key].email, () => ({ progress: '已完成' }));
      const m = await compose({ from: NAMED[key].email, to: p.mailbox, subject: `回复:${f.request.subject}`, replyTo: f.request, attachments: [{ filename: f.filename, content: f.content }] });
      await fileInto(p, folder, m.raw);
      sent[key] = m.messageId;
    }
    const t = await p.tick('2020-06-21T09:00:00+08:00');
    expect(t.code, t.stderr).toBe(0);
    expect(await statusOf(p, NAMED.kform.email)).toMatchObject({ status: 'submitted' });
    expect(await folderOf(p, sent.kform)).toEqual([FOLDERS.processed]);
    expect(await statusOf(p, NAMED.kjunk.email)).toMatchObject({ status: 'pending' });
    expect([...(await flagsIn(p, 'Junk')).keys()]).toEqual([sent.kjunk]);
  });
});

describe('which folder is the junk folder', () => {
  const listed = [{ path: 'INBOX' }, { path: 'Spam', specialUse: '\\Junk' }, { path: '垃圾邮件' }];
  it('the configured one when it exists, else the one marked \\Junk, else the provider\'s name, else none', () => {
    expect(junkFolderOf(listed, '垃圾邮件', undefined)).toBe('垃圾邮件');
    expect(junkFolderOf(listed, 'Nope', '垃圾邮件')).toBeNull();
    expect(junkFolderOf(listed, undefined, '垃圾邮件')).toBe('Spam');
    expect(junkFolderOf([{ path: 'INBOX' }, { path: '垃圾邮件' }], undefined, '垃圾邮件')).toBe('垃圾邮件');
    expect(junkFolderOf([{ path: 'INBOX' }], undefined, '垃圾邮件')).toBeNull();
    expect(junkFolderOf([{ path: 'INBOX' }, { path: '垃圾邮件' }], undefined, undefined)).toBeNull();
  });
});
