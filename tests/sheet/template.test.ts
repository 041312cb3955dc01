import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import { TaizhangError } from '../../src/errors.js';
import { LEDGER_COLUMNS, type Ledger, type Person, type ReportRow } from '../../src/core/ledger.js';
import { ledgerKeyOf, makeToken, personKeyOf } from '../../src/core/identity.js';
import { readReplyWorkbook } from '../../src/sheet/read.js';
import { readZipDirectory, readZipEntry } from '../../src/sheet/zip.js';
import { displayWidth, rowHeightFor, sheetText, tokenLine, writePersonTemplate } from '../../src/sheet/template.js';

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
  it('lays out the seed table with only the person’s tasks', async () => {
    const ai = person('艾延坤');
    const buf = await writePersonTemplate({ ...base, person: ai, token: tokenFor(ai) });
    const wb = await load(buf);
    expect(wb.worksheets.map((w) => [w.name, w.state])).toEqual([['工作台账', 'visible'], ['_taizhang', 'hidden']]);
    const ws = wb.worksheets[0];
    expect(ws.getCell('A1').value).toBe(ledger.title);
    expect(ws.getCell('G1').isMerged && ws.getCell('G1').master.address).toBe('A1');
    expect(String(ws.getCell('A2').value)).toMatch(/2020年6月.*艾延坤.*2020年6月30日/);
    expect(LEDGER_COLUMNS.map((_, i) => ws.getRow(3).getCell(i + 1).value)).toEqual([...LEDGER_COLUMNS]);
    const nos = [];
    for (let r = 4; typeof ws.getCell(r, 1).value === 'number'; r++) nos.push(ws.getCell(r, 1).value);
    expect(nos).toEqual([1, 2, 3, 5, 7, 11, 12, 14]);
    const row14 = ws.getRow(11);
    expect([row14.getCell(2).value, row14.getCell(5).value, row14.getCell(6).value]).toEqual(['完善政府工作人员法治能力考查测试制度。', '机关总支、政法科', '马红霞 艾延坤']);
    // Only 进展情况 and 备注 are open; the sheet is protected without a password.
    expect(ws.getCell('D4').protection).toMatchObject({ locked: false });
    expect(ws.getCell('G4').protection).toMatchObject({ locked: false });
    expect(ws.getCell('B4').protection?.locked).not.toBe(false);
    // As written: both sheets protected, rows and columns may be resized, and no password hash
    // (nothing to compute on writing, nothing to guess for whoever must unprotect it).
    expect(sheetProtections(buf)).toEqual({
      'xl/worksheets/sheet1.xml': { sheet: '1', formatColumns: '0', formatRows: '0' },
      'xl/worksheets/sheet2.xml': { sheet: '1' },
    });
    // Print and look.
    expect(ws.pageSetup).toMatchObject({ paperSize: 9, orientation: 'landscape', fitToWidth: 1, fitToHeight: 0, printTitlesRow: '3:3' });
    expect(ws.getCell('B4').font).toMatchObject({ name: '宋体' });
    expect(ws.getCell('D4').alignment).toMatchObject({ wrapText: true });
    expect(ws.getCell('D4').border?.top?.style).toBe('thin');
    expect(ws.getColumn(4).width).toBeGreaterThan(ws.getColumn(1).width!);
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

  it('pre-fills previous answers exactly, and reads back as written', async () => {
    const wang = person('王群才');
    const previous = new Map<number, ReportRow>([
      [4, { no: 4, progress: '=SUM(A1:A3)\n第二行 😀', remark: '@备注' }],
      [6, { no: 6, progress: '字面 _x0041_ 保留', remark: '+1' }],
      [99, { no: 99, progress: '不是他的任务', remark: '' }],
    ]);
    const buf = await writePersonTemplate({ ...base, person: wang, token: tokenFor(wang), previous });
    const back = await readReplyWorkbook(buf, { secret });
    expect(back.token).toBe(tokenFor(wang));
    expect(back.rows.find((r) => r.no === 4)).toEqual({ no: 4, progress: '=SUM(A1:A3)\n第二行 😀', remark: '@备注' });
    expect(back.rows.find((r) => r.no === 6)).toEqual({ no: 6, progress: '字面 _x0041_ 保留', remark: '+1' });
    expect(back.rows.map((r) => r.no)).toEqual([4, 6, 8, 9, 10, 15, 16, 17]);
    const ws = (await load(buf)).worksheets[0];
    expect(ws.getCell('D4').type).toBe(ExcelJS.ValueType.String); // text, never a formula
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
    expect(rowHeightFor([['短', 20]])).toBe(21);
    expect(rowHeightFor([['进展'.repeat(40), 20]])).toBeGreaterThan(rowHeightFor([['进展', 20]]));
    expect(rowHeightFor([['x\n'.repeat(100), 20]])).toBe(409);
  });
});
