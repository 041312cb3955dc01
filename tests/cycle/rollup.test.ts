/**
 * Roll-up from subordinate units, through the real CLI and real mail servers: two taizhang
 * instances on the same servers, one the parent of the other. The child's office is the parent's
 * collection address; the child's people report, the child consolidates, and the parent records
 * the child's consolidated ledger as that unit's report, with no one retyping anything. A second
 * unit without taizhang answers by hand: first without its form, then with it filled in.
 */
import ExcelJS from 'exceljs';
import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { replyToRequest } from '../../tools/respondent.js';
import { useMailStack } from '../helpers/mail-stack.js';
import { makeProject, type Project } from '../helpers/project.js';
import { formOf, send } from '../helpers/replies.js';

const mail = useMailStack();

const PARENT = 'parent@city.test';
const CHILD = 'child@sfj.test';
const POLICE = 'gaj@unit.test';

/** Whoever sent the parent's mail of this subject to `user`, in any folder the user's mailbox has. */
async function mailTo(user: string, subject: RegExp, folders = ['INBOX']) {
  const out = [];
  for (const f of folders) {
    const listed = await mail().listMessages(user, f).catch(() => []);
    for (const m of listed) if (subject.test(m.subject ?? '')) out.push(Object.assign(await simpleParser(m.source), { raw: m.source, folder: f }));
  }
  return out;
}

async function fillUnitForm(form: Buffer, rows: string[][]): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(form as unknown as ArrayBuffer);
  const ws = wb.worksheets[0];
  rows.forEach((cells, i) => cells.forEach((v, j) => { ws.getRow(4 + i).getCell(2 + j).value = v; }));
  return Buffer.from(await wb.xlsx.writeBuffer());
}

function ok(r: { code: number; stderr: string }) {
  expect(r.code, r.stderr).toBe(0);
}

describe('roll-up from a subordinate unit that runs taizhang itself', () => {
  it('the child\'s consolidated ledger becomes the parent\'s record of that unit, on 局属单位 and 填报情况', async () => {
    const parent: Project = makeProject(mail(), (doc) => {
      doc.mailbox.address = doc.mailbox.imap.user = doc.mailbox.smtp.user = PARENT;
      doc.ledger.units = [{ name: '市司法局', email: CHILD }, { name: '市公安局', email: POLICE }];
    });
    const child: Project = makeProject(mail(), (doc) => {
      doc.mailbox.address = doc.mailbox.imap.user = doc.mailbox.smtp.user = CHILD;
      doc.mailbox.sender_name = '市司法局办公室';
      doc.office = [{ name: '市政府办公室', email: PARENT }];
      doc.ledger.title = '市司法局落实法治政府建设冲刺方案工作台账';
      doc.schedule.deadline_day = 26;
      doc.schedule.reminder_days = [25];
      for (const p of doc.people) p.email = p.email.replace('@example.com', '@sfj.test');
    });

    ok(await parent.tick('2020-06-20T09:00:00+08:00'));
    ok(await child.tick('2020-06-20T09:10:00+08:00'));
    // Each unit is asked once, with a blank unit form.
    const [ask] = await mailTo(POLICE, /请填报/);
    expect(ask.subject).toContain('市公安局2020年6月工作台账');
    expect(ask.text).toContain('市公安局：');
    expect(formOf(ask).filename).toBe('局属单位工作台账-2020年6月-市公安局.xlsx');
    ok(await parent.tick('2020-06-20T09:20:00+08:00'));
    expect(await mailTo(POLICE, /请填报/)).toHaveLength(1);
    expect((await parent.status('2020-06')).units).toEqual([
      expect.objectContaining({ name: '市司法局', email: CHILD, status: 'pending', delivery: 'sent', tasks: 0 }),
      expect.objectContaining({ name: '市公安局', email: POLICE, status: 'pending', delivery: 'sent', tasks: 0 }),
    ]);

    // The child's people report; the child consolidates after its own deadline and mails the parent.
    for (const p of child.people) {
      const [req] = await mailTo(p.email, /请填报/);
      await replyToRequest({ smtp: child.smtp, from: p.email, original: req.raw, answer: (no) => ({ progress: `司法局${p.name}第${no}项：已完成` }) });
    }
    ok(await child.tick('2020-06-21T09:00:00+08:00'));
    const childLedger = await child.tick('2020-06-27T09:00:00+08:00');
    ok(childLedger);
    expect(childLedger.stdout).toMatch(/ledger-2020-06-v1\.xlsx/);

    // The second unit forgets its form, then sends it filled in.
    await send(mail(), parent, { from: POLICE, replyTo: ask, text: '已报送。' });
    ok(await parent.tick('2020-06-27T10:00:00+08:00'));
    const [fix] = await mailTo(POLICE, /请补正/);
    expect(fix.text).toContain('未能登记为2020年6月的工作台账');
    const filled = await fillUnitForm(formOf(ask).content, [
      ['开展扫黑除恶专项斗争', '12.31', '刑侦支队', '赵六', '已破获案件3起', ''],
      ['推进执法规范化建设', '长期', '法制支队', '钱七', '已修订执法细则', '待审议'],
    ]);
    await send(mail(), parent, { from: POLICE, replyTo: ask, attachments: [{ filename: formOf(ask).filename, content: filled }] });
    ok(await parent.tick('2020-06-28T09:00:00+08:00'));

    const s = await parent.status('2020-06');
    const units = Object.fromEntries(s.units.map((u: any) => [u.name, u]));
    expect(units['市司法局']).toMatchObject({ status: 'submitted', label: '已报送', tasks: 17, sentBy: null });
    expect(units['市公安局']).toMatchObject({ status: 'submitted', tasks: 2, reports: 1 });
    expect(s.people).toHaveLength(4); // the people's fields as before
    const [receipt] = await mailTo(POLICE, /回执/);
    expect(receipt.text).toContain('已登记2项任务');
    expect(receipt.text).toContain('1. 开展扫黑除恶专项斗争');
    // The 25th's reminder went (late, on the 27th) to the unit that had not reported, once; the
    // child, whose ledger came first, got none; nobody gets the 28th's after reporting.
    expect(await mailTo(POLICE, /提醒/)).toHaveLength(1);
    expect(await mailTo(CHILD, /提醒/, ['INBOX', '台账-自动邮件', '台账-隔离'])).toHaveLength(0);

    // The parent's receipt to the child's mailbox is machine mail there: filed, never answered.
    ok(await child.tick('2020-06-28T10:00:00+08:00'));
    const atChild = await mailTo(CHILD, /回执/, ['INBOX', '台账-自动邮件', '台账-隔离']);
    expect(atChild.map((m) => m.folder)).toEqual(['台账-自动邮件']);
    expect(atChild[0].text).toContain('（台账系统汇总台账），已登记17项任务');

    // The parent's ledger: the child's tasks and words on 局属单位, both units on 填报情况.
    const done = await parent.tick('2020-07-01T09:00:00+08:00');
    ok(done);
    const [office] = await mailTo(parent.office, /台账汇总/);
    expect(office.text).toContain('局属单位：应报2个，已报2个，未报0个');
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(office.attachments.find((a) => a.filename?.endsWith('.xlsx'))!.content as unknown as ArrayBuffer);
    expect(wb.worksheets.map((w) => w.name)).toEqual(['台账', '局属单位', '填报情况', '历月进展']);
    const sheetText = (name: string) => {
      const lines: string[] = [];
      // A merged banner reads as its text in every cell it covers: once here.
      wb.getWorksheet(name)!.eachRow((row) => lines.push((row.values as unknown[]).filter((v, i, all) => v !== undefined && v !== null && v !== all[i - 1]).map(String).join('|')));
      return lines;
    };
    const unitsSheet = sheetText('局属单位');
    const groupAt = (name: string) => unitsSheet.findIndex((l) => l.startsWith(`${name}（`));
    expect(unitsSheet[groupAt('市司法局')]).toMatch(/^市司法局（已报送，2020年6月27日 \d+:\d\d报送，共17项）$/);
    expect(unitsSheet[groupAt('市司法局') + 1]).toMatch(/^1\|.+\|司法局艾延坤第1项：已完成\|/);
    expect(unitsSheet[groupAt('市公安局') + 2]).toBe('2|推进执法规范化建设|长期|已修订执法细则|法制支队|钱七|待审议');
    const status = sheetText('填报情况');
    expect(status).toContain(`市司法局|17|${CHILD}|已报送|${status.find((l) => l.startsWith('市司法局|'))!.split('|')[4]}|1`);
    expect(status.find((l) => l.startsWith('市公安局|'))).toMatch(new RegExp(`^市公安局\\|2\\|${POLICE}\\|已报送\\|`));
  });
});
