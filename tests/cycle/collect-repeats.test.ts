/**
 * Repeats and time: the same message delivered twice, a corrected second report, a report that
 * arrives after the ledger went out, and a message that cannot be processed for a passing reason.
 * Real Dovecot + SMTP relay, driven through the command line.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { useMailStack } from '../helpers/mail-stack.js';
import { makeProject, type Project } from '../helpers/project.js';
import {
  FOLDERS, addPeople, answersTo, casePeople, collectionFolders, filledForm, foldersOf, ledgers, nonRequestMail, send,
  type CasePerson,
} from '../helpers/replies.js';

const mail = useMailStack();

const KEYS = ['dup', 'duplater', 'again', 'late', 'ontime'] as const;
type Key = (typeof KEYS)[number];
const P = casePeople([...KEYS], 101, 2) as Record<Key, CasePerson>;

let stack: ReturnType<typeof mail>;
let project: Project;
const mids: Record<string, string> = {};
const ticks: Record<string, { code: number; stderr: string }> = {};

const words = (key: Key, no: number, v = 1) => `${P[key].name}:第${no}项第${v}版。`;

/** Sends a good reply for a case and returns its Message-ID. */
async function report(key: Key, version = 1): Promise<string> {
  const f = await filledForm(project, P[key].email, (no) => ({ progress: words(key, no, version) }));
  return send(stack, project, { from: P[key].email, replyTo: f.request, attachments: [{ filename: f.filename, content: f.content }] });
}

/** The raw bytes the relay accepted for a Message-ID (what a second delivery of it carries). */
function acceptedRaw(mid: string): Buffer {
  const m = stack.smtp.accepted.find((a) => a.messageId === mid);
  if (!m) throw new Error(`relay did not accept ${mid}`);
  return m.raw;
}

async function statusOf(email: string) {
  return (await project.status('2020-06')).people.find((p: { email: string }) => p.email === email);
}

beforeAll(async () => {
  stack = mail();
  project = makeProject(stack, (doc) => addPeople(doc, P));
  ticks.requests = await project.tick('2020-06-20T09:00:00+08:00');

  mids.dup = await report('dup');
  // The same message delivered a second time before the tick (a relay retry, a second MX …).
  await stack.deliver(acceptedRaw(mids.dup), [project.mailbox], P.dup.email);
  mids.dupLater = await report('duplater');
  mids.again1 = await report('again', 1);
  mids.ontime = await report('ontime');
  ticks.first = await project.tick('2020-06-21T09:00:00+08:00');

  // After that tick: duplater's message arrives once more, and again's author corrects the report.
  await stack.deliver(acceptedRaw(mids.dupLater), [project.mailbox], P.duplater.email);
  mids.again2 = await report('again', 2);
  ticks.second = await project.tick('2020-06-22T09:00:00+08:00');
}, 120_000);

describe('the same message delivered twice', () => {
  it('in one tick: one report, one receipt, both copies kept as processed', async () => {
    expect(ticks.first.code, ticks.first.stderr).toBe(0);
    expect(await answersTo(project, P.dup.email, mids.dup)).toHaveLength(1);
    expect(await nonRequestMail(project, P.dup.email)).toHaveLength(1);
    expect(await statusOf(P.dup.email)).toMatchObject({ status: 'submitted', reports: 1 });
    expect(await foldersOf(stack, project, mids.dup)).toEqual([FOLDERS.processed, FOLDERS.processed]);
  });

  it('a tick later: still one report and one receipt', async () => {
    expect(ticks.second.code, ticks.second.stderr).toBe(0);
    expect(await answersTo(project, P.duplater.email, mids.dupLater)).toHaveLength(1);
    expect(await nonRequestMail(project, P.duplater.email)).toHaveLength(1);
    expect(await statusOf(P.duplater.email)).toMatchObject({ status: 'submitted', reports: 1 });
    expect(await foldersOf(stack, project, mids.dupLater)).toEqual([FOLDERS.processed, FOLDERS.processed]);
  });
});

describe('a second report for the month', () => {
  it('gets its own receipt and replaces the first; both stay in the history', async () => {
    const first = await answersTo(project, P.again.email, mids.again1);
    const second = await answersTo(project, P.again.email, mids.again2);
    expect(first).toHaveLength(1);
    expect(second).toHaveLength(1);
    for (const t of P.again.tasks) {
      expect(first[0].text).toContain(words('again', t.no, 1));
      expect(second[0].text).toContain(words('again', t.no, 2));
    }
    expect(await statusOf(P.again.email)).toMatchObject({ status: 'submitted', reports: 2, reportedAt: '2020-06-22T01:00:00.000Z' });
    expect(await foldersOf(stack, project, mids.again1)).toEqual([FOLDERS.processed]);
    expect(await foldersOf(stack, project, mids.again2)).toEqual([FOLDERS.processed]);
  });
});

describe('the ledger, and a report after it went out', () => {
  it('the ledger holds the latest words of each person', async () => {
    const t = await project.tick('2020-07-01T09:00:00+08:00');
    expect(t.code, t.stderr).toBe(0);
    const all = await ledgers(project);
    expect(all).toHaveLength(1);
    const [l] = all;
    expect(l.mail.subject).toMatch(/^【台账汇总】/);
    for (const t of P.again.tasks) expect(l.progress.get(t.no)).toBe(words('again', t.no, 2));
    for (const k of ['dup', 'duplater', 'ontime'] as const) for (const t of P[k].tasks) expect(l.progress.get(t.no), k).toBe(words(k, t.no));
    for (const t of P.late.tasks) expect(l.progress.get(t.no)).toBe(`${P.late.name}：未报送`);
    expect(l.people.get(P.again.email)?.[6]).toBe('2');
  });

  it('a late report is recorded as late, answered as such, and the office gets an updated ledger at the next tick', async () => {
    mids.late = await report('late');
    const t = await project.tick('2020-07-02T09:00:00+08:00');
    expect(t.code, t.stderr).toBe(0);
    const [r] = await answersTo(project, P.late.email, mids.late);
    expect(r).toBeDefined();
    expect(r.subject).toBe('【回执】已收到您2020年6月的进展情况');
    expect(r.text).toContain('本次报送晚于截止时间，已按逾期报送登记，汇总台账将随之更新。');
    const s = await project.status('2020-06');
    expect(s.people.find((p: { email: string }) => p.email === P.late.email)).toMatchObject({ status: 'late', label: '逾期报送', reports: 1 });
    expect(s.people.find((p: { email: string }) => p.email === P.ontime.email)).toMatchObject({ status: 'submitted' });
    expect(s.ledgerVersion).toBe(2);
    const all = await ledgers(project);
    expect(all).toHaveLength(2);
    const v2 = all[1];
    expect(v2.mail.subject).toMatch(/^【台账更新】/);
    expect(v2.mail.text).toContain('汇总台账已更新（第2版');
    for (const task of P.late.tasks) expect(v2.progress.get(task.no)).toBe(words('late', task.no));
    for (const task of P.ontime.tasks) expect(v2.progress.get(task.no)).toBe(words('ontime', task.no));
    expect(v2.people.get(P.late.email)?.[3]).toBe('逾期报送');
    // Nothing more is sent at a later tick.
    const t3 = await project.tick('2020-07-03T09:00:00+08:00');
    expect(t3.code, t3.stderr).toBe(0);
    expect(await ledgers(project)).toHaveLength(2);
  });

  it('the collection mailbox still holds every message, none left in the INBOX', async () => {
    const folders = await collectionFolders(stack, project);
    expect(folders.INBOX).toHaveLength(0);
    // dup ×2, dupLater ×2, again ×2, ontime, late
    expect(folders[FOLDERS.processed]).toHaveLength(8);
    expect(Object.values(folders).reduce((n, l) => n + l.length, 0)).toBe(8);
  });
});
