/**
 * Two ledgers on their own cadences in one deployment, through the real CLI and real mail servers:
 * the seed's monthly ledger and a weekly one with a schedule of its own (每周一通知，周四提醒，
 * 每周五12点前报送). A person of both gets each ledger's requests on its own days, nothing twice;
 * progress typed in the body of a reply (no form) lands in the ledger whose request it answers;
 * each ledger's reminders and consolidated workbook follow its own calendar.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useMailStack } from '../helpers/mail-stack.js';
import { makeProject, type Project } from '../helpers/project.js';
import { send, type Parsed } from '../helpers/replies.js';
import { addLedgers } from '../helpers/config.js';

const mail = useMailStack();
const AI = 'aiyankun@example.com';
const MA = 'mahongxia@example.com';
const WEEKLY = '重点工作周报台账';

function monthlyAndWeekly(address: string) {
  return (doc: Record<string, any>) => {
    doc.mailbox.address = doc.mailbox.imap.user = doc.mailbox.smtp.user = address;
    addLedgers(doc, {
      id: 'weekly', title: WEEKLY,
      schedule: { cadence: 'weekly', first_period: '2020-W26', send_weekday: 1, reminder_weekdays: [4], deadline_weekday: 5, deadline_time: '12:00' },
      tasks: [
        { no: 1, task: '推进重点项目建设', due: '长期', departments: ['办公室'], owners: ['艾延坤'] },
        { no: 2, task: '督查重点工作落实', due: '长期', departments: ['机关总支'], owners: ['马红霞'] },
      ],
    });
  };
}

async function ours(p: Project, who: string, prefix: string): Promise<Parsed[]> {
  return (await p.inbox(who)).filter((m) => m.from?.value[0].address === p.mailbox && (m.subject ?? '').startsWith(prefix));
}

async function statusOf(p: Project, ledger: string, period?: string) {
  const r = await p.cli('status', '--json', '--ledger', ledger, ...(period ? ['--period', period] : []), '--now', '2020-06-29T10:00');
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

const personIn = (s: any, name: string) => s.people.find((x: any) => x.name === name);

describe('a monthly and a weekly ledger in one deployment', () => {
  it('asks on each ledger\'s own days, files a body-text reply in the ledger of its thread, and closes each on its own deadline', async () => {
    const p = makeProject(mail(), monthlyAndWeekly('cadences@office.test'));
    const mainTitle = p.config.ledgers[0].title;

    // Saturday 20 June: the monthly ledger's send day; the weekly one starts with week 26.
    expect((await p.tick('2020-06-20T09:00:00+08:00')).code).toBe(0);
    let asked = await ours(p, AI, '【请填报】');
    expect(asked.map((m) => m.subject)).toEqual([`【请填报】${mainTitle}（2020年6月进展情况）`]);

    // Monday 22 June: the weekly request, once, to each of its people; the monthly one is not sent again.
    expect((await p.tick('2020-06-22T09:00:00+08:00')).code).toBe(0);
    expect((await p.tick('2020-06-22T09:30:00+08:00')).code).toBe(0);
    asked = await ours(p, AI, '【请填报】');
    expect(asked).toHaveLength(2);
    const weeklyReq = asked.find((m) => m.subject!.includes(WEEKLY))!;
    expect(weeklyReq.subject).toContain('2020年第26周');
    expect(weeklyReq.attachments.map((a) => a.filename)).toEqual([`${WEEKLY}进展情况-2020年第26周-艾延坤.xlsx`]);
    expect((await ours(p, MA, '【请填报】')).filter((m) => m.subject!.includes(WEEKLY))).toHaveLength(1);
    expect(await ours(p, 'wangquncai@example.com', '【请填报】')).toHaveLength(1); // no task in the weekly ledger

    // 艾延坤 answers the weekly request in the mail's body, no form: its task 1 is the weekly ledger's.
    const mid = await send(mail(), p, { from: AI, replyTo: weeklyReq, subject: '回复：本周进展', text: '第1项：本周新开工重点项目3个。\n\n艾延坤' });
    const t = await p.tick('2020-06-23T09:00:00+08:00');
    expect(t.code, t.stderr).toBe(0);
    const receipt = (await ours(p, AI, '【回执】')).find((m) => (m.inReplyTo ?? '') === mid)!;
    expect(receipt.subject).toBe(`【回执】已收到您《${WEEKLY}》2020年第26周（6月22日至6月28日）的进展情况`);
    expect(receipt.text).toContain('本周新开工重点项目3个。');

    const weekly = await statusOf(p, 'weekly', '2020-W26');
    expect(weekly).toMatchObject({ ledger: 'weekly', period: '2020-W26' });
    expect(personIn(weekly, '艾延坤').status).toBe('submitted');
    expect(personIn(weekly, '马红霞').status).toBe('pending');
    const monthly = await statusOf(p, 'main', '2020-06');
    expect(monthly).toMatchObject({ ledger: 'main', period: '2020-06' });
    expect(personIn(monthly, '艾延坤').status).toBe('pending'); // nothing the person wrote for the other ledger

    // Thursday 25 June: the weekly reminder day and the monthly one (25): each ledger reminds its own pending people.
    expect((await p.tick('2020-06-25T09:00:00+08:00')).code).toBe(0);
    const aiReminders = (await ours(p, AI, '【提醒】')).map((m) => m.subject);
    expect(aiReminders).toHaveLength(1);
    expect(aiReminders[0]).toContain(mainTitle);
    const maReminders = (await ours(p, MA, '【提醒】')).map((m) => m.subject!);
    expect(maReminders).toHaveLength(2);
    expect(maReminders.filter((s) => s.includes(`《${WEEKLY}》`) && s.includes('2020年6月26日 12:00'))).toHaveLength(1);

    // Monday 29 June: week 26 closed on Friday at noon, its ledger went to the office; week 27 is asked for; June is still open.
    expect((await p.tick('2020-06-29T09:00:00+08:00')).code).toBe(0);
    expect((await ours(p, AI, '【请填报】')).filter((m) => m.subject!.includes('2020年第27周'))).toHaveLength(1);
    const books = path.join(p.dataDir, 'ledgers', 'weekly', 'ledgers', '2020-W26');
    expect(readdirSync(books)).toEqual(['ledger-2020-W26-v1.xlsx']);
    expect(existsSync(path.join(p.dataDir, 'ledgers', '2020-06'))).toBe(false);
    const office = (await ours(p, p.office, '【台账汇总】')).map((m) => m.subject);
    expect(office).toEqual([`【台账汇总】${WEEKLY}（2020年第26周（6月22日至6月28日））`]);

    // Without --ledger: both, each at its own current period.
    const both = JSON.parse((await p.cli('status', '--json', '--now', '2020-06-29T10:00')).stdout);
    expect(both.ledgers.map((l: any) => [l.ledger, l.period])).toEqual([['main', '2020-06'], ['weekly', '2020-W27']]);
  }, 180_000);
});
