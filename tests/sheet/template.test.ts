import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import { TaizhangError } from '../../src/errors.js';
import { type Ledger, type Person, type ReportRow } from '../../src/core/ledger.js';
import { ledgerKeyOf, makeToken, personKeyOf } from '../../src/core/identity.js';
import { readReplyWorkbook } from '../../src/sheet/read.js';
import { readZipDirectory, readZipEntry } from '../../src/sheet/zip.js';
import { FORM_COLUMNS, displayWidth, rowHeightFor, sheetText, tokenLine, wrappedLines, writePersonTemplate } from '../../src/sheet/template.js';

const seed = JSON.parse(readFileSync(fileURLToPath(new URL('../fixtures/xlsx/seed-ledger.json', import.meta.url)), 'utf8'));
const ledger: Ledger = seed.ledger;
const person = (name: string): Person => ({ id: name, ...seed.people.find((p: Person) => p.name === name) });
const secret: string = seed.secret;
const tokenFor = (p: Person) => makeToken({ ledgerKey: ledgerKeyOf(ledger.title), period: seed.period, personKey: personKeyOf(p), secret });
const base = { ledger, periodLabel: '2020年6月', deadlineText: '2020年6月30日' };

/** The attributes of each worksheet part's `<sheetProtection>` element, as written. */
function sheetProtections(xlsx: Buffer): Record<string, Record<string, string> | undefined> {
  const parts = readZipDirectory(xlsx).filter((e) => /^xl\/worksheets\/[^/]+\.xml$/.test(e.name));
  return Object.fromEntries(parts.map((e) => {
    const tag = /<sheetProtection\b([^>]*)>/.exec(readZipEntry(xlsx, e, 1e7).toString('utf8'))?.[1];
    return [e.name, tag === undefined ? undefined : Object.fromEntries([...tag.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]))];
  }));
}

async function load(buf: Buffer): Promise<ExcelJS.Workbook> {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(buf as unknown as ArrayBuffer);
  return wb;
}

describe('writePersonTemplate', () => {
  it('lays out the seed table with only the person’s tasks, 上期进展 beside 进展情况', async () => {
    const ai = person('艾延坤');
    const buf = await writePersonTemplate({ ...base, person: ai, token: tokenFor(ai), contactLine: '（联系人：张三，电话：0393-1234567）' });
    const wb = await load(buf);
    expect(wb.worksheets.map((w) => [w.name, w.state])).toEqual([['工作台账', 'visible'], ['_taizhang', 'hidden']]);
    const ws = wb.worksheets[0];
    expect(ws.getCell('A1').value).toBe(ledger.title);
    expect(ws.getCell('H1').isMerged && ws.getCell('H1').master.address).toBe('A1');
    // The sheet's header names the month, the person, the deadline and whom to call.
    expect(String(ws.getCell('A2').value)).toMatch(/2020年6月.*艾延坤.*\n填报截止：2020年6月30日.*如有疑问，请与办公室联系（联系人：张三，电话：0393-1234567）。/);
    expect(FORM_COLUMNS.map((_, i) => ws.getRow(3).getCell(i + 1).value)).toEqual(['序号', '主要任务', '完成时间', '进展情况', '上期进展', '责任科室', '责任人', '备注']);
    const nos = [];
    for (let r = 4; typeof ws.getCell(r, 1).value === 'number'; r++) nos.push(ws.getCell(r, 1).value);
    expect(nos).toEqual([1, 2, 3, 5, 7, 11, 12, 14]);
    const row14 = ws.getRow(11);
    expect([row14.getCell(2).value, row14.getCell(6).value, row14.getCell(7).value]).toEqual(['完善政府工作人员法治能力考查测试制度。', '机关总支、政法科', '马红霞 艾延坤']);
    // Only 进展情况 and 备注 are open, and shaded; the sheet is protected without a password.
    expect(ws.getCell('D4').protection).toMatchObject({ locked: false });
    expect(ws.getCell('H4').protection).toMatchObject({ locked: false });
    for (const a of ['B4', 'E4', 'F4']) expect(ws.getCell(a).protection?.locked).not.toBe(false);
    const fillOf = (a: string) => (ws.getCell(a).fill as ExcelJS.FillPattern | undefined)?.fgColor?.argb;
    expect(fillOf('D4')).toBe('FFFFF8D6');
    expect(fillOf('H11')).toBe('FFFFF8D6');
    for (const a of ['B4', 'E4', 'G4']) expect(fillOf(a)).toBeUndefined();
    const texts: string[] = [];
    ws.eachRow((row) => row.eachCell((c) => texts.push(String(c.value))));
    expect(texts.find((t) => t.startsWith('填写说明'))).toMatch(/浅黄色底纹的“进展情况”“备注”两栏.*“上期进展”为您上期报送的内容，仅供参考（不作为本期报送）/);
    // As written: both sheets protected, rows and columns may be resized, and no password hash
    // (nothing to compute on writing, nothing to guess for whoever must unprotect it).
    expect(sheetProtections(buf)).toEqual({
      'xl/worksheets/sheet1.xml': { sheet: '1', formatColumns: '0', formatRows: '0' },
      'xl/worksheets/sheet2.xml': { sheet: '1' },
    });
    // Print and look.
    expect(ws.pageSetup).toMatchObject({ paperSize: 9, orientation: 'landscape', fitToWidth: 1, fitToHeight: 0, printTitlesRow: '3:3', printArea: 'A1:H14' });
    expect(ws.getCell('B4').font).toMatchObject({ name: '宋体' });
    expect(ws.getCell('D4').alignment).toMatchObject({ wrapText: true });
    expect(ws.getCell('E4').alignment).toMatchObject({ wrapText: true });
    expect(ws.getCell('D4').border?.top?.style).toBe('thin');
    expect(ws.getColumn(4).width).toBeGreaterThan(ws.getColumn(1).width!);
  });

  it('without a phone or contact, the header names none', async () => {
    const ai = person('艾延坤');
    const ws = (await load(await writePersonTemplate({ ...base, person: ai, token: tokenFor(ai) }))).worksheets[0];
    expect(String(ws.getCell('A2').value)).toMatch(/填报截止：2020年6月30日（请于此前填报）$/);
  });

  it('puts the token in the properties, the hidden sheet and a visible line', async () => {
    const ai = person('艾延坤');
    const token = tokenFor(ai);
    const wb = await load(await writePersonTemplate({ ...base, person: ai, token }));
    expect(wb.keywords).toBe(token);
    expect(wb.subject).toBe(token);
    expect(wb.getWorksheet('_taizhang')!.getCell('A1').value).toBe(token);
    const texts: string[] = [];
    wb.worksheets[0].eachRow((row) => row.eachCell((c) => texts.push(String(c.value))));
    expect(texts).toContain(tokenLine(token));
    expect(token).toMatch(/^[\x21-\x7e]+$/);
  });

  it('shows last period’s words exactly, locked, in 上期进展; read back they are nobody’s new words', async () => {
    const wang = person('王群才');
    const lastPeriod = new Map<number, ReportRow>([
      [4, { no: 4, progress: '=SUM(A1:A3)\n第二行 😀', remark: '@备注' }],
      [6, { no: 6, progress: '字面 _x0041_ 保留', remark: '+1' }],
      [99, { no: 99, progress: '不是他的任务', remark: '' }],
    ]);
    const buf = await writePersonTemplate({ ...base, person: wang, token: tokenFor(wang), lastPeriod, lastPeriodLabel: '2020年5月' });
    const ws = (await load(buf)).worksheets[0];
    expect(ws.getCell('E4').value).toBe('=SUM(A1:A3)\n第二行 😀');
    expect(ws.getCell('E4').type).toBe(ExcelJS.ValueType.String); // text, never a formula
    expect(ws.getCell('E5').value).toBe('字面 _x0041_ 保留');
    expect(ws.getCell('E4').protection?.locked).not.toBe(false);
    // 进展情况 and 备注 stay empty: what the person does not type is not their report.
    expect([ws.getCell('D4').value, ws.getCell('H4').value, ws.getCell('D5').value]).toEqual([null, null, null]);
    const texts: string[] = [];
    ws.eachRow((row) => row.eachCell((c) => texts.push(String(c.value))));
    expect(texts.find((t) => t.startsWith('填写说明'))).toContain('“上期进展”为您2020年5月报送的内容，仅供参考（不作为本期报送），可复制到“进展情况”后修改');
    const back = await readReplyWorkbook(buf, { secret });
    expect(back.token).toBe(tokenFor(wang));
    expect(back.rows.map((r) => r.no)).toEqual([4, 6, 8, 9, 10, 15, 16, 17]);
    expect(back.rows.every((r) => r.progress === '' && r.remark === '')).toBe(true);
  });

  it('reads the person’s 进展情况, never 上期进展, wherever the columns are', async () => {
    const wang = person('王群才');
    const lastPeriod = new Map<number, ReportRow>([[4, { no: 4, progress: '上期的话', remark: '' }], [6, { no: 6, progress: '上期六', remark: '' }]]);
    const wb = await load(await writePersonTemplate({ ...base, person: wang, token: tokenFor(wang), lastPeriod }));
    const ws = wb.worksheets[0];
    ws.getCell('D5').value = '本期六';
    ws.getCell('H5').value = '六的备注';
    const back = await readReplyWorkbook(Buffer.from(await wb.xlsx.writeBuffer()), { secret });
    expect(back.rows.find((r) => r.no === 4)).toEqual({ no: 4, progress: '', remark: '' });
    expect(back.rows.find((r) => r.no === 6)).toEqual({ no: 6, progress: '本期六', remark: '六的备注' });
    // A table with 上期进展 (or 上月进展) left of 进展情况, as a person may rearrange it.
    const other = new ExcelJS.Workbook();
    const s = other.addWorksheet('表');
    s.addRow(['序号', '上月进展', '进展情况', '备注']);
    s.addRow([1, '旧话', '', '']);
    s.addRow([2, '旧话二', '新话二', '']);
    const again = await readReplyWorkbook(Buffer.from(await other.xlsx.writeBuffer()), {});
    expect(again.rows).toEqual([{ no: 1, progress: '', remark: '' }, { no: 2, progress: '新话二', remark: '' }]);
  });

  it('grows each row with the longest text it shows', async () => {
    const wang = person('王群才');
    const long = '已完成规范性文件合法性审查工作，'.repeat(20);
    const lastPeriod = new Map<number, ReportRow>([[6, { no: 6, progress: long, remark: '' }]]);
    const ws = (await load(await writePersonTemplate({ ...base, person: wang, token: tokenFor(wang), lastPeriod }))).worksheets[0];
    expect(ws.getRow(5).height).toBe(rowHeightFor([[long, 34]]));
    expect(ws.getRow(5).height).toBeGreaterThan(ws.getRow(4).height * 2);
    expect(ws.getRow(4).height).toBeGreaterThanOrEqual(60); // room to type a few lines
  });

  it('refuses a person without tasks', async () => {
    const nobody: Person = { id: '无名', name: '无名', department: '无', email: 'n@example.com' };
    await expect(writePersonTemplate({ ...base, person: nobody, token: tokenFor(nobody) })).rejects.toBeInstanceOf(TaizhangError);
  });
});

describe('text helpers', () => {
  it('escape _xHHHH_, cut at Excel’s limit without splitting a surrogate pair', () => {
    expect(sheetText('a_x0041_b')).toBe('a_x005F_x0041_b');
    expect(sheetText('普通')).toBe('普通');
    const long = sheetText('😀'.repeat(20000));
    expect(long.length).toBeLessThanOrEqual(32767);
    expect(long.endsWith('…（已截断）')).toBe(true);
    expect(/[\ud800-\udbff](?![\udc00-\udfff])/.test(long)).toBe(false);
  });
  it('measure CJK as double width and grow rows with their text', () => {
    expect(displayWidth('ab')).toBe(2);
    expect(displayWidth('进展')).toBe(4);
    expect(rowHeightFor([['短', 20]])).toBe(22);
    expect(rowHeightFor([['进展'.repeat(40), 20]])).toBeGreaterThan(rowHeightFor([['进展', 20]]));
    expect(rowHeightFor([['x\n'.repeat(100), 20]])).toBe(409);
  });

  it('wrap as the programs do: a CJK line holds fewer characters than the width suggests, words wrap whole', () => {
    // A 44-wide column is 313 px: 20 characters of 宋体 11 pt (14.7 px each) and a little padding.
    expect(wrappedLines('进'.repeat(20), 44)).toBe(1);
    expect(wrappedLines('进'.repeat(21), 44)).toBe(2);
    expect(wrappedLines('进'.repeat(200), 44)).toBe(10);
    expect(wrappedLines('一\n二\r\n三', 44)).toBe(3);
    expect(wrappedLines('', 44)).toBe(1);
    // 39 letters then a 10-letter word: the word goes to the next line whole.
    expect(wrappedLines(`${'a'.repeat(38)} ${'b'.repeat(10)}`, 44)).toBe(2);
    // A word longer than the line breaks within it.
    expect(wrappedLines('x'.repeat(100), 44)).toBe(3);
  });
});
