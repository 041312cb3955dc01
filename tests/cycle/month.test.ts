/** The monthly cycle end to end through the real CLI and real mail servers (issue 2). */
import ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import { replyToRequest } from '../../tools/respondent.js';
import { useMailStack } from '../helpers/mail-stack.js';
import { makeProject, type Project } from '../helpers/project.js';

const mail = useMailStack();

async function sheetRows(buf: Buffer, name: string): Promise<unknown[][]> {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(buf as unknown as ArrayBuffer);
  const ws = wb.getWorksheet(name);
  if (!ws) throw new Error(`no sheet ${name}`);
  const rows: unknown[][] = [];
  ws.eachRow((r) => rows.push((r.values as unknown[]).slice(1)));
  return rows;
}

async function latestRequest(p: Project, email: string, subject: RegExp) {
  const msgs = (await p.inbox(email)).filter((m) => subject.test(m.subject ?? ''));
  return msgs[msgs.length - 1];
}

describe('one month, end to end', () => {
  let p: Project;
  const odd = '=SUM(A1)+1\t"引号" 🚀\n第二行 @人 -减号 +加号';

  it('sends each person one request with only their rows, in the seed layout, on the send day', async () => {
    p = makeProject(mail());
    const before = await p.tick('2020-06-19T09:00:00+08:00');
    expect(before.code).toBe(0);
    expect(await p.inbox(p.people[0].email)).toHaveLength(0);

    const r = await p.tick('2020-06-20T09:00:00+08:00');
    expect(r.code, r.stderr).toBe(0);
    const ai = await p.inbox('aiyankun@example.com');
    expect(ai).toHaveLength(1);
    const req = ai[0];
    expect(req.subject).toContain('请填报');
    expect(req.text).toContain('艾延坤');
    expect(req.text).toContain('2020年6月30日');
    expect(req.text).toContain('任务要求');
    expect(req.headers.get('auto-submitted')).toBe('auto-generated');
    expect(req.messageId).toMatch(/^<taizhang\.request\./);
    expect(req.attachments).toHaveLength(1);
    const rows = await sheetRows(req.attachments[0].content, '工作台账');
    const header = rows.findIndex((row) => row[0] === '序号');
    expect(rows[header]).toEqual(['序号', '主要任务', '完成时间', '进展情况', '上期进展', '责任科室', '责任人', '备注']);
    const nos = rows.slice(header + 1).map((row) => row[0]).filter((v) => typeof v === 'number');
    expect(nos).toEqual([1, 2, 3, 5, 7, 11, 12, 14]); // 艾延坤's tasks in the seed

    // The first month has no 上期进展 to show.
    expect(rows.slice(header + 1).filter((row) => typeof row[0] === 'number').every((row) => row[4] === undefined)).toBe(true);
    // 进展情况 and 备注 are unlocked, the rest locked by sheet protection.
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(req.attachments[0].content as unknown as ArrayBuffer);
    const ws = wb.getWorksheet('工作台账')!;
    const first = ws.getRow(header + 2);
    expect(first.getCell(4).protection?.locked).toBe(false);
    expect(first.getCell(2).protection?.locked).not.toBe(false);
  });

  it('a second tick at the same instant sends nothing', async () => {
    const before = mail().smtp.accepted.length;
    const r = await p.tick('2020-06-20T09:00:00+08:00');
    expect(r.code).toBe(0);
    expect(mail().smtp.accepted.length).toBe(before);
  });

  it('records a reply, answers it with a receipt in the thread, and moves it to the processed folder', async () => {
    const req = await latestRequest(p, 'aiyankun@example.com', /请填报/);
    const sentId = await replyToRequest({ smtp: p.smtp, from: 'aiyankun@example.com', original: req.raw, answer: (no) => (no === 1 ? { progress: odd, remark: '备注一' } : { progress: `第${no}项已完成` }) });
    const r = await p.tick('2020-06-21T09:00:00+08:00');
    expect(r.code, r.stderr).toBe(0);
    const receipts = (await p.inbox('aiyankun@example.com')).filter((m) => /回执/.test(m.subject ?? ''));
    expect(receipts).toHaveLength(1);
    expect(receipts[0].inReplyTo).toBe(sentId);
    expect(receipts[0].text).toContain(odd);
    expect(receipts[0].text).toContain('第14项已完成');
    expect(await p.inbox(p.mailbox)).toHaveLength(0);
    expect(await p.inbox(p.mailbox, '台账-已处理')).toHaveLength(1);
    const s = await p.status('2020-06');
    expect(s.period).toBe('2020-06');
    expect(s.deadline).toBe('2020-06-30');
    expect(s.people.find((x: any) => x.email === 'aiyankun@example.com').status).toBe('submitted');
    expect(s.people.find((x: any) => x.email === 'wangquncai@example.com').status).toBe('pending');
  });

  it('keeps a word of thanks after a recorded report without answering it', async () => {
    const receipt = (await p.inbox('aiyankun@example.com')).filter((m) => /回执/.test(m.subject ?? ''))[0];
    await replyToRequest({ smtp: p.smtp, from: 'aiyankun@example.com', original: receipt.raw, noAttachment: true, text: '收到,谢谢!' });
    expect((await p.tick('2020-06-22T09:00:00+08:00')).code).toBe(0);
    expect((await p.inbox('aiyankun@example.com')).filter((m) => !/请填报/.test(m.subject ?? ''))).toHaveLength(1);
    expect(await p.inbox(p.mailbox, '台账-已处理')).toHaveLength(2);
    expect((await p.status('2020-06')).people.find((x: any) => x.email === 'aiyankun@example.com').reports).toBe(1);
  });

  it('mails a preview by hand before the deadline without closing the month', async () => {
    const r = await p.cli('consolidate', '--now', '2020-06-24T09:00:00+08:00');
    expect(r.code, r.stderr).toBe(0);
    const preview = (await p.inbox(p.office)).filter((m) => /台账预览/.test(m.subject ?? ''));
    expect(preview).toHaveLength(1);
    expect(preview[0].text).toContain('尚未截止');
    expect((await p.status('2020-06')).ledgerSentAt).toBeNull();
  });

  it('reminds only those who have not reported, with the form attached again', async () => {
    const r = await p.tick('2020-06-25T10:00:00+08:00');
    expect(r.code, r.stderr).toBe(0);
    expect((await p.inbox('aiyankun@example.com')).filter((m) => /提醒/.test(m.subject ?? ''))).toHaveLength(0);
    const wang = (await p.inbox('wangquncai@example.com')).filter((m) => /提醒/.test(m.subject ?? ''));
    expect(wang).toHaveLength(1);
    expect(wang[0].attachments[0].filename).toMatch(/\.xlsx$/);
    // Same day again: no second reminder.
    await p.tick('2020-06-25T18:00:00+08:00');
    expect((await p.inbox('wangquncai@example.com')).filter((m) => /提醒/.test(m.subject ?? ''))).toHaveLength(1);
  });

  it('after the deadline mails the office one ledger: all tasks in order, words exactly as written, silent owners marked', async () => {
    const wangReq = await latestRequest(p, 'wangquncai@example.com', /请填报/);
    await replyToRequest({ smtp: p.smtp, from: 'wangquncai@example.com', original: wangReq.raw, answer: (no) => ({ progress: `王:${no}` }) });
    await p.tick('2020-06-28T09:00:00+08:00');
    const r = await p.tick('2020-07-01T09:00:00+08:00');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/ledger: .*ledger-2020-06-v1\.xlsx/);
    const office = (await p.inbox(p.office)).filter((m) => /台账汇总/.test(m.subject ?? ''));
    expect(office).toHaveLength(1);
    expect(office[0].text).toContain('李世想');
    const rows = await sheetRows(office[0].attachments[0].content, '台账');
    const header = rows.findIndex((row) => row[0] === '序号');
    const body = rows.slice(header + 1).filter((row) => typeof row[0] === 'number');
    expect(body.map((row) => row[0])).toEqual(Array.from({ length: 17 }, (_v, i) => i + 1));
    const cell = (no: number) => body.find((row) => row[0] === no)![3];
    expect(cell(1)).toBe(odd);
    expect(cell(4)).toBe('王:4');
    expect(cell(8)).toBe('王群才：王:8\n马红霞：未报送');
    expect(cell(13)).toBe('马红霞：未报送');
    expect(cell(10)).toBe('王群才：王:10\n李世想：未报送');
    // Nothing more at the same instant.
    const again = await p.tick('2020-07-01T09:00:00+08:00');
    expect(again.stdout).not.toMatch(/ledger:/);
  });

  it('a report after the ledger went out is late, answered, and the office gets an updated ledger', async () => {
    const req = await latestRequest(p, 'mahongxia@example.com', /提醒|请填报/);
    await replyToRequest({ smtp: p.smtp, from: 'mahongxia@example.com', original: req.raw, answer: (no) => ({ progress: `马:${no}` }) });
    const r = await p.tick('2020-07-02T09:00:00+08:00');
    expect(r.code, r.stderr).toBe(0);
    const s = await p.status('2020-06');
    expect(s.people.find((x: any) => x.email === 'mahongxia@example.com').status).toBe('late');
    const receipt = (await p.inbox('mahongxia@example.com')).filter((m) => /回执/.test(m.subject ?? ''));
    expect(receipt[0].text).toContain('逾期');
    const updates = (await p.inbox(p.office)).filter((m) => /台账更新/.test(m.subject ?? ''));
    expect(updates).toHaveLength(1);
    const rows = await sheetRows(updates[0].attachments[0].content, '台账');
    expect(rows.find((row) => row[0] === 13)![3]).toBe('马:13');
  });

  it('the next month’s form shows last month’s words in 上期进展; left there, they are not reported again', async () => {
    const r = await p.tick('2020-07-20T09:00:00+08:00');
    expect(r.code, r.stderr).toBe(0);
    const req = await latestRequest(p, 'aiyankun@example.com', /请填报/);
    expect(req.subject).toContain('2020年7月');
    const rows = await sheetRows(req.attachments[0].content, '工作台账');
    const header = rows.findIndex((row) => row[0] === '序号');
    expect(rows[header][4]).toBe('上期进展');
    const byNo = new Map(rows.slice(header + 1).filter((row) => typeof row[0] === 'number').map((row) => [row[0], row]));
    expect(byNo.get(1)![4]).toBe(odd); // exactly as recorded for June
    expect(byNo.get(14)![4]).toBe('第14项已完成');
    expect([...byNo.values()].every((row) => row[3] === undefined)).toBe(true); // 进展情况 left to the person
    // The person fills only task 2: task 1 keeps only last month's words beside an empty cell.
    await replyToRequest({ smtp: p.smtp, from: 'aiyankun@example.com', original: req.raw, answer: (no) => (no === 2 ? { progress: '七月第二项' } : undefined) });
    expect((await p.tick('2020-07-21T09:00:00+08:00')).code).toBe(0);
    const receipt = (await p.inbox('aiyankun@example.com')).filter((m) => /回执/.test(m.subject ?? '') && /7月/.test(m.subject ?? ''));
    expect(receipt).toHaveLength(1);
    expect(receipt[0].text).toContain('七月第二项');
    expect(receipt[0].text).not.toContain('第14项已完成');
    const c = await p.cli('consolidate', '--period', '2020-07', '--now', '2020-07-22T09:00:00+08:00');
    expect(c.code, c.stderr).toBe(0);
    const preview = (await p.inbox(p.office)).filter((m) => /台账预览/.test(m.subject ?? '') && /7月/.test(m.subject ?? ''));
    const ledger = await sheetRows(preview[0].attachments[0].content, '台账');
    const cell = (no: number) => ledger.find((row) => row[0] === no)![3];
    expect(cell(2)).toBe('七月第二项');
    expect(cell(1)).toBe('艾延坤：未填写');
    expect(cell(14)).not.toContain('第14项已完成');
  });

  it('a worker that was down sends no requests for months already over', async () => {
    const q = makeProject(mail(), (doc) => { doc.mailbox.address = 'late-start@office.test'; doc.mailbox.imap.user = doc.mailbox.smtp.user = 'late-start@office.test'; });
    const before = mail().smtp.accepted.length;
    const r = await q.tick('2020-07-02T09:00:00+08:00');
    expect(r.code, r.stderr).toBe(0);
    expect(mail().smtp.accepted.length).toBe(before);
    // Coming back on a reminder day: requests go out, but no reminder the same day,
    // nor the day after for the reminder day that passed before they were asked.
    await q.tick('2020-07-25T09:00:00+08:00');
    await q.tick('2020-07-26T09:00:00+08:00');
    const sent = mail().smtp.accepted.slice(before);
    expect(sent).toHaveLength(4);
    expect(sent.every((m) => m.raw.toString().includes('taizhang.request.'))).toBe(true);
    // The next reminder day reminds them.
    await q.tick('2020-07-28T09:00:00+08:00');
    const reminders = mail().smtp.accepted.slice(before + 4);
    expect(reminders).toHaveLength(4);
    expect(reminders.every((m) => m.raw.toString().includes('taizhang.reminder.'))).toBe(true);
  });
});
