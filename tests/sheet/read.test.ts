import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import { TaizhangError } from '../../src/errors.js';
import { addressKeyOf, ledgerKeyOf, makeToken, parseToken } from '../../src/core/identity.js';
import { normalizeCellValue, normalizeHeader, parseSerialNo } from '../../src/sheet/cell.js';
import { guardExpansion, readReplyWorkbook } from '../../src/sheet/read.js';

const fx = (name: string) => readFileSync(fileURLToPath(new URL(`../fixtures/xlsx/${name}`, import.meta.url)));
const seed = JSON.parse(fx('seed-ledger.json').toString('utf8'));
const secret: string = seed.secret;
const tokenOf = (email: string) => makeToken({ ledgerKey: ledgerKeyOf(seed.ledger.title), period: seed.period, personKey: addressKeyOf(email), secret }); // the fixtures are forms from before people had ids
const AI = tokenOf('aiyankun@example.com');
const WANG = tokenOf('wangquncai@example.com');

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(TaizhangError);
    return (err as TaizhangError).code;
  }
  return 'resolved';
}

async function xlsx(build: (wb: ExcelJS.Workbook) => void): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  build(wb);
  return Buffer.from(await wb.xlsx.writeBuffer());
}

describe('normalizeCellValue', () => {
  it('turns every exceljs value kind into text, formulas into their results', () => {
    expect(normalizeCellValue(null)).toBe('');
    expect(normalizeCellValue(undefined)).toBe('');
    expect(normalizeCellValue('  a\tb\n')).toBe('  a\tb\n');
    expect(normalizeCellValue({ richText: [{ text: 'a' }, { text: '😀' }] })).toBe('a😀');
    expect(normalizeCellValue({ formula: 'A1&"x"', result: '值' })).toBe('值');
    expect(normalizeCellValue({ sharedFormula: 'B2', result: 3 })).toBe('3');
    expect(normalizeCellValue({ formula: 'NOW()' })).toBe('');
    expect(normalizeCellValue({ formula: 'NA()', result: { error: '#N/A' } })).toBe('#N/A');
    expect(normalizeCellValue({ text: '链接', hyperlink: 'https://example.com' })).toBe('链接');
    expect(normalizeCellValue({ text: { richText: [{ text: '富' }, { text: '链' }] }, hyperlink: 'x' })).toBe('富链');
    expect(normalizeCellValue({ error: '#DIV/0!' })).toBe('#DIV/0!');
    expect(normalizeCellValue(true)).toBe('TRUE');
    expect(normalizeCellValue(0.1 + 0.2)).toBe('0.3');
    expect(normalizeCellValue(12345678901234567000)).toBe('12345678901234600000');
    expect(normalizeCellValue(0.125, '0.0%')).toBe('12.5%');
    expect(normalizeCellValue(0.5, '0%')).toBe('50%');
    expect(normalizeCellValue(new Date(Date.UTC(2020, 5, 15)))).toBe('2020-06-15');
    expect(normalizeCellValue(new Date(Date.UTC(2020, 5, 15, 9, 30)))).toBe('2020-06-15 09:30');
    expect(normalizeCellValue(new Date(Date.UTC(2020, 5, 15)), 'mm-dd-yy')).toBe('2020-06-15');
    expect(normalizeCellValue(new Date(Date.UTC(2020, 5, 15)), 'yyyy"年"m"月"d"日"')).toBe('2020年6月15日');
    expect(normalizeCellValue(new Date(Date.UTC(2020, 5, 15)), '[$-804]m月d日')).toBe('6月15日');
    expect(normalizeCellValue(43997, 'yyyy/mm/dd')).toBe('2020/06/15'); // a serial exceljs left as a number
    expect(normalizeCellValue(43997.75, 'h:mm AM/PM')).toBe('6:00 下午');
    expect(normalizeCellValue(43997, '0.00')).toBe('43997');
  });

  it('matches headers and serial numbers tolerantly', () => {
    expect(normalizeHeader(' 序　号 ')).toBe('序号');
    expect(normalizeHeader('进展情况（必填）')).toBe('进展情况');
    expect(normalizeHeader('*备注:')).toBe('备注');
    for (const s of ['1', '1.0', '１', ' 1 ', '01']) expect(parseSerialNo(s)).toBe(1);
    for (const s of ['', '一', '1.5', '0', '说明', '1a']) expect(parseSerialNo(s)).toBeNull();
  });
});

describe('readReplyWorkbook on files re-saved by LibreOffice', () => {
  it('reads every value exactly and verifies the token', async () => {
    const wb = await readReplyWorkbook(fx('lo-filled.xlsx'), { secret });
    expect(wb.token).toBe(AI);
    expect(parseToken(wb.token!, secret)).toMatchObject({ period: '2020-06', personKey: addressKeyOf('aiyankun@example.com') });
    expect(wb.sheetName).toBe('工作台账');
    expect(wb.rows).toEqual([
      { no: 1, progress: '第一行\n第二行\t制表符 "双引号" \'单引号\' 😀🎉', remark: '  前后空格  ' },
      { no: 2, progress: '=1+1 不是公式', remark: '+86 138 0000 0000' },
      { no: 3, progress: '-减号开头', remark: '@提及' },
      { no: 5, progress: '2', remark: '#N/A' }, // =1+1 and =NA(): results, never formulas
      { no: 7, progress: '3.5', remark: '2020年6月15日' }, // a date with a Chinese format
      { no: 11, progress: '进展完成', remark: '' }, // a formula giving text
      { no: 12, progress: '普通加粗普通', remark: '' }, // rich text runs joined
      { no: 14, progress: '见链接', remark: '' }, // a hyperlink field
    ]);
  });

  it('finds the table after a column was inserted, rows sorted and the sheet renamed', async () => {
    const wb = await readReplyWorkbook(fx('lo-mutated.xlsx'), { secret });
    expect(wb.token).toBe(AI);
    expect(wb.sheetName).toBe('6月进展');
    expect(wb.rows.map((r) => r.no)).toEqual([14, 12, 11, 7, 5, 3, 2, 1]);
    for (const r of wb.rows) expect(r).toEqual({ no: r.no, progress: `进展${r.no}`, remark: `备注${r.no}` });
    expect(JSON.stringify(wb)).not.toContain('不应读入');
  });

  it('does not duplicate rows through merged cells', async () => {
    const wb = await readReplyWorkbook(fx('lo-merged.xlsx'), { secret });
    expect(wb.rows.map((r) => r.no)).toEqual([1, 2, 3, 5, 7, 11, 12, 14]);
    expect(wb.rows[0]).toEqual({ no: 1, progress: '第一部分\n第二部分', remark: '' }); // a task split over two rows
    expect(wb.rows[1].progress).toBe('两项合并填写');
    expect(wb.rows[2].progress).toBe('两项合并填写'); // one text for two tasks
    expect(wb.rows[3]).toEqual({ no: 5, progress: '跨到备注', remark: '' }); // merged across: not repeated into 备注
  });

  it('takes the sheet that was filled when the table was copied', async () => {
    const wb = await readReplyWorkbook(fx('lo-copied-sheet.xlsx'), { secret });
    expect(wb.token).toBe(WANG);
    expect(wb.sheetName).toBe('副本');
    expect(wb.rows.find((r) => r.no === 4)?.progress).toBe('在副本里填写');
  });

  it('without a secret returns the token unverified; with a wrong one, none', async () => {
    expect((await readReplyWorkbook(fx('lo-filled.xlsx'))).token).toBe(AI);
    expect((await readReplyWorkbook(fx('lo-filled.xlsx'), { secret: 'wrong' })).token).toBeNull();
  });
});

describe('the token survives losing any two of its three places', () => {
  async function strip(keep: 'hidden' | 'props' | 'line'): Promise<Buffer> {
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(fx('lo-filled.xlsx') as unknown as ArrayBuffer);
    if (keep !== 'hidden') wb.removeWorksheet(wb.getWorksheet('_taizhang')!.id);
    if (keep !== 'props') { wb.keywords = ''; wb.subject = ''; wb.description = ''; }
    if (keep !== 'line') {
      wb.worksheets[0].eachRow((row) => row.eachCell((c) => { if (String(c.value).includes('TZ-')) c.value = null; }));
    }
    return Buffer.from(await wb.xlsx.writeBuffer());
  }
  it.each(['hidden', 'props', 'line'] as const)('only %s left', async (keep) => {
    expect((await readReplyWorkbook(await strip(keep), { secret })).token).toBe(AI);
  });
});

describe('readReplyWorkbook on hand-made and exceljs files', () => {
  it('reads every exceljs value kind, skipping non-rows and folding duplicate numbers', async () => {
    const wb = await readReplyWorkbook(fx('kinds-exceljs.xlsx'));
    expect(wb.rows).toEqual([
      { no: 1, progress: '富文本加粗\n重复序号的第二行', remark: '链接文字' },
      { no: 2, progress: '2', remark: '#N/A' },
      { no: 3, progress: '', remark: 'TRUE' }, // a formula with no cached result is empty
      { no: 4, progress: '2020-06-15', remark: '50%' },
      { no: 5, progress: '=SUM(A1:A2) 不是公式', remark: '+8613800000000' }, // '５' is 5
      { no: 6, progress: '', remark: '' }, // whitespace only counts as empty
    ]);
  });

  it('finds a header with spaces, full-width forms and notes, on a later sheet, with extra columns', async () => {
    const buf = await xlsx((wb) => {
      wb.addWorksheet('说明').getCell('A1').value = '请看第二个工作表';
      const ws = wb.addWorksheet('表');
      ws.getRow(4).values = ['插入列', ' 序 号 ', '主要任务', '进展情况（必填）', '另一列', '*备注:'];
      ws.getRow(5).values = ['x', '1', '任务一', '一', 'y', '注一'];
      ws.getRow(6).values = ['x', '1.0', '任务一', '', 'y', '']; // empty duplicate: ignored
      ws.getRow(7).values = ['x', '２', '任务二', '二', 'y', ''];
      ws.getRow(9).values = ['x', 3, '任务三', { formula: 'D5&D7', result: '一二' }, 'y', ''];
    });
    const wb = await readReplyWorkbook(buf);
    expect(wb.sheetName).toBe('表');
    expect(wb.rows).toEqual([
      { no: 1, progress: '一', remark: '注一' },
      { no: 2, progress: '二', remark: '' },
      { no: 3, progress: '一二', remark: '' },
    ]);
    expect(wb.token).toBeNull();
  });

  it('reads a table without a 备注 column', async () => {
    const wb = await readReplyWorkbook(fx('minimal.xlsx'));
    expect(wb.rows).toEqual([{ no: 1, progress: '手写的最小文件', remark: '' }]);
  });

  it('says SHEET_NO_TABLE, SHEET_CORRUPT and SHEET_TOO_LARGE', async () => {
    const noTable = await xlsx((wb) => { wb.addWorksheet('S').getCell('A1').value = '序号'; });
    expect(await codeOf(readReplyWorkbook(noTable))).toBe('SHEET_NO_TABLE');
    expect(await codeOf(readReplyWorkbook(fx('truncated.xlsx')))).toBe('SHEET_CORRUPT');
    expect(await codeOf(readReplyWorkbook(fx('pdf-renamed.xlsx')))).toBe('SHEET_CORRUPT');
    expect(await codeOf(readReplyWorkbook(fx('merge-bomb.xlsx')))).toBe('SHEET_TOO_LARGE');
    expect(await codeOf(readReplyWorkbook(fx('name-bomb.xlsx')))).toBe('SHEET_TOO_LARGE');
    expect(() => guardExpansion(fx('lo-merged.xlsx'))).not.toThrow();
  });

  it('does not expand a data validation over B1:K1048576', async () => {
    const wb = await readReplyWorkbook(fx('dv-bomb.xlsx'));
    expect(wb.rows).toEqual([]);
  });
});
