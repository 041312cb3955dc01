/** Weekly and quarterly ledgers and a catch-up across China's National Day, through the CLI and real mail servers. */
import { describe, expect, it } from 'vitest';
import { replyToRequest } from '../../tools/respondent.js';
import { useMailStack } from '../helpers/mail-stack.js';
import { makeProject, type Project } from '../helpers/project.js';
import ExcelJS from 'exceljs';
import { simpleParser } from 'mailparser';
import type { AcceptedMessage } from '../../tools/mail-stack.js';
import { isolate } from '../helpers/fleet.js';

const mail = useMailStack();

/** The schedule of the config replaced by `schedule`. */
function projectWithSchedule(schedule: Record<string, unknown>): Project {
  return makeProject(mail(), (doc) => { isolate(doc); doc.schedule = schedule; });
}

const who = (p: Project, name: string) => p.people.find((x) => x.name === name)!.email;
const ours = async (p: Project, email: string, subject: RegExp) => (await p.inbox(email)).filter((m) => m.from?.value[0].address === p.mailbox && subject.test(m.subject ?? ''));

/** How many of the accepted messages whose (decoded) subject matches went to each person, by name. */
async function countByName(p: Project, accepted: AcceptedMessage[], subject: RegExp): Promise<Record<string, number>> {
  const out = Object.fromEntries(p.people.map((x) => [x.name, 0]));
  for (const m of accepted) {
    if (!subject.test((await simpleParser(m.raw)).subject ?? '')) continue;
    for (const x of p.people) if (m.to.map((t) => t.toLowerCase()).includes(x.email)) out[x.name]++;
  }
  return out;
}

async function reply(p: Project, name: string, progress: string, subject = /请填报/): Promise<void> {
  const [req] = (await ours(p, who(p, name), subject)).slice(-1);
  await replyToRequest({ smtp: p.smtp, from: who(p, name), original: req.raw, answer: () => ({ progress }) });
}

describe('a weekly ledger (每周五12点前报送)', () => {
  it('asks on Monday, reminds on Thursday, counts reports before Friday 12:00 on time and after as late', async () => {
    const p = projectWithSchedule({
      cadence: 'weekly', first_period: '2020-W27', send_weekday: 1, reminder_weekdays: [4], deadline_weekday: 5, deadline_time: '12:00', send_time: '09:00',
    });
    const ok = async (now: string) => { const r = await p.tick(now); expect(r.code, r.stderr).toBe(0); return r; };
    await ok('2020-06-29T08:59:00+08:00');
    expect(await ours(p, who(p, '艾延坤'), /请填报/)).toHaveLength(0);
    await ok('2020-06-29T09:00:00+08:00'); // Monday of 2020-W27
    const [req] = await ours(p, who(p, '艾延坤'), /请填报/);
    expect(req.subject).toContain('2020年第27周（6月29日至7月5日）');
    expect(req.text).toContain('请于2020年7月3日 12:00前填报您负责任务的2020年第27周（6月29日至7月5日）进展情况');
    expect(req.attachments[0].filename).toBe('台账进展情况-2020年第27周-艾延坤.xlsx');

    await reply(p, '艾延坤', '第27周：已起草');
    await ok('2020-07-01T10:00:00+08:00');
    const [receipt] = await ours(p, who(p, '艾延坤'), /回执/);
    expect(receipt.text).toContain('收到您2020年第27周（6月29日至7月5日）的进展情况');

    await ok('2020-07-02T09:00:00+08:00'); // Thursday: reminders to those who have not reported
    for (const name of ['王群才', '马红霞', '李世想']) expect(await ours(p, who(p, name), /提醒/)).toHaveLength(1);
    expect(await ours(p, who(p, '艾延坤'), /提醒/)).toHaveLength(0);

    await reply(p, '王群才', '按时：周五上午报送');
    const before = await ok('2020-07-03T11:59:00+08:00');
    expect(before.stdout).not.toMatch(/ledger:/);
    const closing = await ok('2020-07-03T12:00:00+08:00');
    expect(closing.stdout).toMatch(/ledger-2020-W27-v1\.xlsx/);
    const [ledger] = await ours(p, p.office, /台账汇总/);
    expect(ledger.subject).toContain('2020年第27周（6月29日至7月5日）');
    expect(ledger.attachments[0].filename).toBe('2020年第27周工作台账汇总.xlsx');
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(ledger.attachments[0].content as unknown as ArrayBuffer);
    expect(wb.worksheets.map((w) => w.name)).toEqual(['台账', '填报情况', '历周进展']);
    expect(wb.getWorksheet('台账')!.getCell('A2').text).toContain('周次：2020年第27周（6月29日至7月5日）');
    expect(wb.getWorksheet('历周进展')!.getRow(1).getCell(3).text).toBe('2020年第27周');

    await reply(p, '李世想', '逾期：周五下午报送');
    await ok('2020-07-03T13:00:00+08:00');
    const s = await p.status('2020-W27');
    expect(s).toMatchObject({ period: '2020-W27', deadline: '2020-07-03', deadlinePassed: true, ledgerVersion: 2 });
    const status = Object.fromEntries(s.people.map((x: any) => [x.name, x.status]));
    expect(status).toEqual({ 艾延坤: 'submitted', 王群才: 'submitted', 马红霞: 'pending', 李世想: 'late' });
    const text = await p.cli('status', '--period', '2020-W27');
    expect(text.stdout).toContain('2020年第27周（6月29日至7月5日） 报送情况（截止：2020年7月3日 12:00，已截止）');

    // The next Monday asks for 2020-W28, once; nothing of 2020-W27 goes again.
    const sentBefore = mail().smtp.accepted.length;
    await ok('2020-07-06T09:00:00+08:00');
    await ok('2020-07-06T09:30:00+08:00');
    expect(await countByName(p, mail().smtp.accepted.slice(sentBefore), /请填报.*2020年第28周/)).toEqual({ 艾延坤: 1, 王群才: 1, 马红霞: 1, 李世想: 1 });
    expect(mail().smtp.accepted.length - sentBefore).toBe(4);
    expect((await p.status()).period).toBe('2020-W28');

    // --period in the cadence's form only.
    const wrong = await p.cli('send', '--period', '2020-07', '--now', '2020-07-06T10:00:00+08:00');
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('--period must be YYYY-Www for a weekly schedule, got "2020-07"');
  });
});

describe('catching up after downtime across the 2020 National Day holiday (calendar: cn)', () => {
  it('sends the latest due mail of each kind once, on the first working day', async () => {
    // Weekly: Monday's requests, Wednesday's and Thursday's reminders, Friday's deadline moved past the holiday.
    const p = projectWithSchedule({
      cadence: 'weekly', first_period: '2020-W40', send_weekday: 1, reminder_weekdays: [3, 4], deadline_weekday: 5,
      calendar: 'cn', deadline_shift: 'next_workday', send_time: '09:00',
    });
    const ok = async (now: string) => { const r = await p.tick(now); expect(r.code, r.stderr).toBe(0); return r; };
    await ok('2020-09-28T09:00:00+08:00'); // Monday of W40: its requests
    await reply(p, '艾延坤', '国庆前已报送');
    await ok('2020-09-28T10:00:00+08:00');
    const start = mail().smtp.accepted.length;

    // Down from 28 September to 9 October. Meanwhile W40's reminders fell due (30 September, and
    // 1 October moved to the 9th), and W41's requests (Monday 5 October, a holiday: moved to 30 September).
    await ok('2020-10-09T09:00:00+08:00');
    await ok('2020-10-09T09:05:00+08:00'); // a second tick the same morning sends nothing more
    const sent = mail().smtp.accepted.slice(start);
    const byPerson = (re: RegExp) => countByName(p, sent, re);
    expect(await byPerson(/请填报.*2020年第41周/)).toEqual({ 艾延坤: 1, 王群才: 1, 马红霞: 1, 李世想: 1 });
    expect(await byPerson(/提醒.*2020年第40周/)).toEqual({ 艾延坤: 0, 王群才: 1, 马红霞: 1, 李世想: 1 });
    // A late request is reminder enough: no reminder of W41 on the heels of its request.
    expect(await byPerson(/提醒.*2020年第41周/)).toEqual({ 艾延坤: 0, 王群才: 0, 马红霞: 0, 李世想: 0 });
    const w40 = JSON.parse((await p.cli('status', '--json', '--period', '2020-W40', '--now', '2020-10-09T09:05:00+08:00')).stdout);
    expect(w40).toMatchObject({ deadline: '2020-10-09', deadlinePassed: false, ledgerVersion: 0 });

    // Saturday 10 October is a working day (调休): both weeks are consolidated, once each.
    const closing = await ok('2020-10-10T09:00:00+08:00');
    expect(closing.stdout).toMatch(/ledger-2020-W40-v1\.xlsx/);
    expect(closing.stdout).toMatch(/ledger-2020-W41-v1\.xlsx/);
    const again = await ok('2020-10-10T09:10:00+08:00');
    expect(again.stdout).not.toMatch(/ledger:/);
    const all = mail().smtp.accepted.slice(start);
    const ledgers = await Promise.all(all.filter((m) => m.to.includes(p.office)).map(async (m) => (await simpleParser(m.raw)).subject ?? ''));
    expect(ledgers.filter((x) => /台账汇总/.test(x)).sort()).toEqual([expect.stringContaining('2020年第40周'), expect.stringContaining('2020年第41周')]);
    expect(await countByName(p, all, /请填报/)).toEqual({ 艾延坤: 1, 王群才: 1, 马红霞: 1, 李世想: 1 });
    expect(await countByName(p, all, /提醒/)).toEqual({ 艾延坤: 0, 王群才: 1, 马红霞: 1, 李世想: 1 });
  });
});

describe('a quarterly ledger', () => {
  it('asks on a day of the quarter\'s last month and names the quarter in mail, form and status', async () => {
    const p = projectWithSchedule({ cadence: 'quarterly', first_period: '2020-Q3', send_day: 20, reminder_days: [25], deadline_day: 30 });
    expect((await p.tick('2020-08-20T09:00:00+08:00')).code).toBe(0);
    expect(await ours(p, who(p, '艾延坤'), /请填报/)).toHaveLength(0); // not the quarter's last month
    expect((await p.tick('2020-09-20T09:00:00+08:00')).code).toBe(0);
    const [req] = await ours(p, who(p, '艾延坤'), /请填报/);
    expect(req.subject).toContain('2020年第三季度');
    expect(req.text).toContain('请于2020年9月30日前填报您负责任务的2020年第三季度进展情况');
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(req.attachments[0].content as unknown as ArrayBuffer);
    const texts = wb.worksheets[0].getSheetValues().flat().map(String).join('\n');
    expect(texts).toContain('季度：2020年第三季度');
    expect(texts).toContain('填写本季度进展');
    const s = JSON.parse((await p.cli('status', '--json', '--period', '2020-Q3', '--now', '2020-09-21T09:00:00+08:00')).stdout);
    expect(s).toMatchObject({ period: '2020-Q3', deadline: '2020-09-30', deadlinePassed: false });
    expect((await p.cli('remind', '--period', '2020-W27', '--now', '2020-09-26T09:00:00+08:00')).code).toBe(2);
  });
});
