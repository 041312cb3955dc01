/**
 * Replies without a form, through real mail servers and the real command line: progress typed in
 * the body (mail as Outlook, Foxmail and iPhone Mail write it) recorded and echoed in the receipt,
 * a question forwarded to the office once with the original attached and the form sent back,
 * 本月无进展 as a report, and a partial report reminded of its empty rows until it is complete.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import nodemailer from 'nodemailer';
import { beforeAll, describe, expect, it } from 'vitest';
import { useMailStack } from '../helpers/mail-stack.js';
import { makeProject, type Project } from '../helpers/project.js';
import {
  FOLDERS, addPeople, answersTo, casePeople, fixture, filledForm, foldersOf, ledgers, requestOf, send, type CasePerson,
} from '../helpers/replies.js';

const mail = useMailStack();
const P = casePeople(['part'], 101, 2) as Record<'part', CasePerson>;
const WANG = 'wangquncai@example.com';
const AI = 'aiyankun@example.com';
const MA = 'mahongxia@example.com';
const LI = 'lishixiang@example.com';

let stack: ReturnType<typeof mail>;
let project: Project;
const mids: Record<string, string> = {};

/** Sends a fixture's raw bytes as its client did: the sender logged in to the relay, the collection mailbox as recipient. */
async function sendRaw(file: string, from: string): Promise<string> {
  const raw = fixture(path.join('eml', file));
  const t = nodemailer.createTransport({ host: stack.smtp.host, port: stack.smtp.port, secure: false, ignoreTLS: true, auth: { user: from, pass: stack.password } });
  try {
    await t.sendMail({ envelope: { from, to: [project.mailbox] }, raw });
  } finally {
    t.close();
  }
  return (await simpleParser(raw)).messageId!;
}

async function statusOf(email: string, period = '2020-06') {
  return (await project.status(period)).people.find((p: { email: string }) => p.email === email);
}

async function onlyAnswer(user: string, mid: string) {
  const answers = await answersTo(project, user, mid);
  expect(answers).toHaveLength(1);
  return answers[0];
}

const forwards = async () => (await project.inbox(project.office)).filter((m) => (m.subject ?? '').startsWith('【转交】'));

beforeAll(async () => {
  stack = mail();
  project = makeProject(stack, (doc) => addPeople(doc, P));
  expect((await project.tick('2020-06-20T09:00:00+08:00')).code).toBe(0);
  mids.wang = await sendRaw('outlook-body-report.eml', WANG);
  mids.ai = await sendRaw('foxmail-body-report.eml', AI);
  mids.ma = await sendRaw('qq-question.eml', MA);
  mids.li = await sendRaw('iphone-no-progress.eml', LI);
  // One of two rows of the form filled.
  const [first] = P.part.tasks;
  const form = await filledForm(project, P.part.email, (no) => (no === first.no ? { progress: '第一项已完成' } : undefined));
  mids.part = await send(stack, project, { from: P.part.email, replyTo: form.request, attachments: [{ filename: form.filename, content: form.content }] });
  const t = await project.tick('2020-06-21T12:00:00+08:00');
  expect(t.code, t.stderr).toBe(0);
}, 120_000);

describe('progress typed in the body', () => {
  it('Outlook: recorded for the person\'s tasks, each echoed in the receipt; the quoted request and signature are not', async () => {
    const r = await onlyAnswer(WANG, mids.wang);
    expect(r.subject).toBe('【回执】已收到您2020年6月的进展情况');
    expect(r.text).toContain('收到您2020年6月的进展情况（邮件正文，未附表格），已登记如下：');
    expect(r.text).toContain('4. 健全依法决策机制,严格执行重大行政决策程序。\n   进展情况：已按重大行政决策程序规定，对《濮阳市科技创新奖励办法》开展合法性审查。');
    expect(r.text).toContain('6. 推进行政决策科学化、民主化、法治化,严格决策失误责任追究\n   进展情况：已召开局务会议集体讨论，形成会议纪要。');
    expect(r.text).toContain('进展情况：已在门户网站公开政务信息23条，\n\n其中政策解读5条。');
    expect(r.text).toContain('以上内容系从您邮件正文中按任务摘录，原文照录登记，请核对。如有误，请回复更正');
    // The tasks not named are listed as still to report.
    expect(r.text).toContain('以下任务尚未报送进展情况');
    expect(r.text).toContain('15. 强化法治政府建设组织领导机制。');
    expect(r.text).not.toContain('0393-8991234');
    expect(await foldersOf(stack, project, mids.wang)).toEqual([FOLDERS.processed]);
    expect(await statusOf(WANG)).toMatchObject({ status: 'submitted', filled: 3, tasks: 8, reports: 1 });
  });

  it('Foxmail: a line for someone else\'s task is not recorded, and the receipt says so', async () => {
    const r = await onlyAnswer(AI, mids.ai);
    expect(r.text).toContain('1. 完善政府立法程序\n   进展情况：已起草《濮阳市政府规章制定程序规定》修订稿；');
    expect(r.text).toContain('进展情况：已组织执法人员培训2期，\n参训86人次。');
    expect(r.text).toContain('邮件正文中第9项不是您负责的任务，所填内容未予登记。');
    expect(r.text).not.toContain('帮王群才报一下');
    expect(await statusOf(AI)).toMatchObject({ status: 'submitted', filled: 3, tasks: 8 });
  });

  it('本月无进展 as the whole body counts as the report, exactly as written', async () => {
    const r = await onlyAnswer(LI, mids.li);
    expect(r.subject).toBe('【回执】已收到您2020年6月的进展情况');
    expect(r.text).toContain('10. 扩大政务公开参与。\n   进展情况：本月无进展。');
    expect(await statusOf(LI)).toMatchObject({ status: 'submitted', filled: 1, tasks: 1 });
  });
});

describe('a question, with no form and no task reported', () => {
  it('goes to the office once, as a forward with the original attached', async () => {
    const fw = await forwards();
    expect(fw).toHaveLength(1);
    expect(fw[0].subject).toBe('【转交】马红霞（机关总支）的来信：回复：【请填报】2020年6月工作台账进展情况（截止2020年6月30日）');
    // Our own words (mailparser shows the attached original after them).
    const own = fw[0].text!.slice(0, fw[0].text!.indexOf('（本邮件由台账系统自动发送）'));
    expect(own).toContain('2020年6月21日 12:00，马红霞（机关总支，mahongxia@example.com）回复台账系统的邮件，未附表格');
    expect(own).toContain('正文：\n您好，请问第14项是否由我牵头？艾延坤同志那边也在报。\n');
    expect(own).not.toContain('原始邮件');
    expect(own).toContain('原邮件（含其附件）作为本邮件的附件一并转交。');
    // The original, byte for byte, as an attached message (mailparser shows such a part inline, so the raw is read).
    const raw = fw[0].raw.toString('latin1');
    const at = raw.indexOf('Content-Type: message/rfc822');
    expect(at).toBeGreaterThan(0);
    expect(raw.slice(at, raw.indexOf('\r\n\r\n', at))).toMatch(/Content-Transfer-Encoding: [78]bit\r\nContent-Disposition: attachment;/);
    const sent = fixture(path.join('eml', 'qq-question.eml')).toString('latin1');
    expect(raw).toContain(sent.slice(sent.indexOf('From:'), sent.indexOf('--', sent.indexOf('This is a multi-part'))));
    expect(fw[0].to).toMatchObject({ value: [{ address: project.office }] });
    // A second tick at the same instant forwards nothing more.
    expect((await project.tick('2020-06-21T12:00:00+08:00')).code).toBe(0);
    expect(await forwards()).toHaveLength(1);
  });

  it('the sender is told so and gets the form again; the mail waits in 需补正, nothing recorded', async () => {
    const r = await onlyAnswer(MA, mids.ma);
    expect(r.subject).toBe('【已转交】您的来信已转交办公室');
    expect(r.text).toContain('已转交办公室，办公室将阅处并与您联系。');
    expect(r.text).toContain('可在本邮件所附表格中填写后回复（手机上也可填写）');
    const form = r.attachments.find((a) => a.filename?.endsWith('.xlsx'));
    expect(form?.filename).toBe((await requestOf(project, MA)).attachments.find((a) => a.filename?.endsWith('.xlsx'))?.filename);
    expect(await foldersOf(stack, project, mids.ma)).toEqual([FOLDERS.rejected]);
    expect(await statusOf(MA)).toMatchObject({ status: 'pending', filled: 0, tasks: 5 });
  });
});

describe('a partial report', () => {
  it('is recorded and shown as partial', async () => {
    expect(await statusOf(P.part.email)).toMatchObject({ status: 'submitted', label: '已报送', filled: 1, tasks: 2 });
    const text = await project.cli('status', '--period', '2020-06');
    expect(text.stdout).toContain('（部分填报：已填1项，共2项）');
  });

  it('is reminded of its empty rows until complete; a reply in the body completes it', async () => {
    expect((await project.tick('2020-06-25T09:00:00+08:00')).code).toBe(0);
    const reminders = (await project.inbox(P.part.email)).filter((m) => (m.subject ?? '').startsWith('【提醒】'));
    expect(reminders).toHaveLength(1);
    expect(reminders[0].subject).toBe('【提醒】请于2020年6月30日前补充2020年6月未填写的进展情况');
    const [, second] = P.part.tasks;
    expect(reminders[0].text).toContain(`以下任务尚未填写进展情况：\n${second.no}. ${second.task}`);
    expect(reminders[0].text).not.toContain(`${P.part.tasks[0].no}. ${P.part.tasks[0].task}`);
    // Complete reports get no reminder.
    expect((await project.inbox(LI)).filter((m) => (m.subject ?? '').startsWith('【提醒】'))).toHaveLength(0);
    const reply = await send(stack, project, { from: P.part.email, replyTo: reminders[0], text: `${second.no}. 第二项也已完成\n\n发自我的iPhone` });
    expect((await project.tick('2020-06-26T09:00:00+08:00')).code).toBe(0);
    const r = await onlyAnswer(P.part.email, reply);
    expect(r.text).toContain(`${second.no}. ${second.task}\n   进展情况：第二项也已完成`);
    expect(r.text).toContain('您此前报送的其他任务的进展情况保持不变。');
    expect(await statusOf(P.part.email)).toMatchObject({ status: 'submitted', filled: 2, tasks: 2, reports: 2 });
    expect((await project.tick('2020-06-28T09:00:00+08:00')).code).toBe(0);
    expect((await project.inbox(P.part.email)).filter((m) => (m.subject ?? '').startsWith('【提醒】'))).toHaveLength(1);
  });

  it('the office\'s ledger: the words recorded as written, 部分填报 in 填报情况', async () => {
    expect((await project.tick('2020-07-01T09:00:00+08:00')).code).toBe(0);
    const [l] = await ledgers(project);
    expect(l.progress.get(1)).toBe('已起草《濮阳市政府规章制定程序规定》修订稿；');
    expect(l.progress.get(10)).toBe('王群才：未填写\n李世想：本月无进展。');
    expect(l.people.get(WANG)).toContain('部分填报');
    expect(l.people.get(LI)).toContain('已报送');
    expect(l.people.get(P.part.email)).toContain('已报送');
    expect(l.people.get(MA)).toContain('未报送');
  });

  it('after the deadline a partial report is reminded no more; the silent still are, by hand', async () => {
    const reminders = async (user: string) => (await project.inbox(user)).filter((m) => (m.subject ?? '').startsWith('【提醒】')).length;
    const before = { wang: await reminders(WANG), ma: await reminders(MA) };
    expect(before.wang).toBe(2); // 25th and 28th, each naming his empty tasks
    const r = await project.cli('remind', '--period', '2020-06', '--now', '2020-07-02T09:00:00+08:00');
    expect(r.code, r.stderr).toBe(0);
    expect(await reminders(WANG)).toBe(before.wang);
    expect(await reminders(MA)).toBe(before.ma + 1);
  });
});

it('fixtures are bytes as the clients sent them (CRLF)', () => {
  expect(readFileSync(path.join(import.meta.dirname, '..', 'fixtures', 'eml', 'outlook-body-report.eml')).includes('\r\n')).toBe(true);
});
