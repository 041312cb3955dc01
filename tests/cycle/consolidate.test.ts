/** The office's ledger over two months through the CLI and real mail servers (issue 5). */
import ExcelJS from 'exceljs';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseDocument, DomUtils } from 'htmlparser2';
import { beforeAll, describe, expect, it } from 'vitest';
import { replyToRequest } from '../../tools/respondent.js';
import { useMailStack } from '../helpers/mail-stack.js';
import { makeProject, type Project } from '../helpers/project.js';

const mail = useMailStack();

async function load(buf: Buffer): Promise<ExcelJS.Workbook> {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(buf as unknown as ArrayBuffer);
  return wb;
}

function values(ws: ExcelJS.Worksheet): unknown[][] {
  const rows: unknown[][] = [];
  ws.eachRow((r) => rows.push((r.values as unknown[]).slice(1)));
  return rows;
}

async function reply(p: Project, email: string, subject: RegExp, answer: (no: number) => string) {
  const msgs = (await p.inbox(email)).filter((m) => subject.test(m.subject ?? ''));
  const original = msgs[msgs.length - 1];
  await replyToRequest({ smtp: p.smtp, from: email, original: original.raw, answer: (no) => ({ progress: answer(no) }) });
}

describe('the consolidated ledger over two months', () => {
  let p: Project;
  let julyMail: Awaited<ReturnType<Project['inbox']>>[number];

  beforeAll(async () => {
    p = makeProject(mail(), (doc) => {
      doc.mailbox.address = doc.mailbox.imap.user = doc.mailbox.smtp.user = 'ledger-office@office.test';
      doc.office = [{ name: '办公室', email: 'clerk@office.test' }, { name: '督查组', email: 'supervisor@office.test' }];
    });
    // June: 艾延坤 and 王群才 report on time, 马红霞 late, 李世想 never.
    await p.tick('2020-06-20T09:00:00+08:00');
    await reply(p, 'aiyankun@example.com', /请填报/, (no) => `六月第${no}项`);
    await reply(p, 'wangquncai@example.com', /请填报/, (no) => `稳步推进${no}`);
    await p.tick('2020-06-22T09:00:00+08:00');
    await p.tick('2020-07-01T09:00:00+08:00');
    await reply(p, 'mahongxia@example.com', /请填报/, () => '六月补报');
    await p.tick('2020-07-02T09:00:00+08:00');
    // July: 艾延坤 reports new words, 王群才 copies June's words, the others stay silent.
    await p.tick('2020-07-20T09:00:00+08:00');
    await reply(p, 'aiyankun@example.com', /请填报.*7月/, (no) => `七月第${no}项`);
    await reply(p, 'wangquncai@example.com', /请填报.*7月/, (no) => `稳步推进${no}`);
    await p.tick('2020-07-21T09:00:00+08:00');
    const r = await p.tick('2020-08-01T09:00:00+08:00');
    expect(r.code, r.stderr).toBe(0);
    const office = (await p.inbox('clerk@office.test')).filter((m) => /台账汇总.*7月/.test(m.subject ?? ''));
    expect(office).toHaveLength(1);
    julyMail = office[0];
  }, 180_000);

  it('goes to every office address', async () => {
    const other = (await p.inbox('supervisor@office.test')).filter((m) => /台账汇总.*7月/.test(m.subject ?? ''));
    expect(other).toHaveLength(1);
  });

  it('has the three sheets, 台账 print-ready on A4 landscape with the header repeated', async () => {
    const wb = await load(julyMail.attachments[0].content);
    expect(wb.worksheets.map((w) => w.name)).toEqual(['台账', '填报情况', '历月进展']);
    const ws = wb.getWorksheet('台账')!;
    expect(ws.pageSetup).toMatchObject({ paperSize: 9, orientation: 'landscape', fitToWidth: 1, fitToHeight: 0 });
    expect(ws.pageSetup.printTitlesRow).toMatch(/^\d+:\d+$/);
    const rows = values(ws);
    expect(String(rows[0][0])).toContain('工作台账');
    expect(rows.some((r) => String(r[0]).includes('2020年7月'))).toBe(true);
    const header = rows.findIndex((r) => r[0] === '序号');
    const headerRow = Number(ws.pageSetup.printTitlesRow!.split(':')[1]);
    expect(headerRow).toBe(header + 1);
    const body = rows.slice(header + 1).filter((r) => typeof r[0] === 'number');
    expect(body).toHaveLength(17);
    expect(body.find((r) => r[0] === 1)![3]).toBe('七月第1项');
    expect(body.find((r) => r[0] === 13)![3]).toBe('马红霞：未报送');
  });

  it('shows who reported, late and silent in 填报情况', async () => {
    const june = (await p.inbox('clerk@office.test')).filter((m) => /台账更新.*6月/.test(m.subject ?? ''));
    expect(june).toHaveLength(1);
    const rows = values((await load(june[0].attachments[0].content)).getWorksheet('填报情况')!);
    const byName = (n: string) => rows.find((r) => r[0] === n)!;
    expect(byName('艾延坤')[3]).toBe('已报送');
    expect(byName('马红霞')[3]).toBe('逾期报送');
    expect(byName('李世想')[3]).toBe('未报送');
    expect(byName('艾延坤')[6]).toBe(1);
  });

  it('has one column a month in 历月进展 and marks the tasks copied unchanged', async () => {
    const rows = values((await load(julyMail.attachments[0].content)).getWorksheet('历月进展')!);
    expect(rows[0].slice(0, 4)).toEqual(['序号', '主要任务', '2020年6月', '2020年7月']);
    const task4 = rows.find((r) => r[0] === 4)!; // 王群才's words copied from June
    expect(task4.slice(2, 4)).toEqual(['稳步推进4', '稳步推进4']);
    expect(task4[4]).toBeTruthy();
    const task1 = rows.find((r) => r[0] === 1)!;
    expect(task1.slice(2, 4)).toEqual(['六月第1项', '七月第1项']);
    expect(task1[4] ?? '').toBe('');
  });

  it('says the state in an HTML body with a plain-text part: counts, the silent, departments, unchanged tasks', () => {
    expect(julyMail.text).toContain('未报送');
    const html = julyMail.html;
    expect(typeof html).toBe('string');
    const doc = parseDocument(html as string);
    expect(DomUtils.getElementsByTagName('script', doc)).toHaveLength(0);
    expect(DomUtils.getElementsByTagName('img', doc)).toHaveLength(0);
    expect(DomUtils.getElementsByTagName('table', doc).length).toBeGreaterThanOrEqual(2);
    const text = DomUtils.textContent(doc);
    expect(text).toContain('马红霞');
    expect(text).toContain('李世想');
    expect(text).toContain('机关总支');
    expect(text).toMatch(/与上月相同的任务\S(\d+)项\S/);
    expect(text).toContain('健全依法决策机制');
    const cells = DomUtils.getElementsByTagName('td', doc).map((td) => DomUtils.textContent(td).trim());
    expect(cells.slice(0, 5)).toEqual(['4', '2', '2', '0', '2']);
  });

  it('keeps each month\'s ledger in the data folder and can mail any past month again', async () => {
    expect(existsSync(path.join(p.dataDir, 'ledgers', '2020-06', 'ledger-2020-06-v2.xlsx'))).toBe(true);
    const r = await p.cli('consolidate', '--period', '2020-06', '--now', '2020-08-02T09:00:00+08:00');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/ledger-2020-06-v3\.xlsx/);
    const again = (await p.inbox('clerk@office.test')).filter((m) => /6月/.test(m.subject ?? '') && /台账/.test(m.subject ?? ''));
    expect(again).toHaveLength(3);
  });
});
