/**
 * The other formats people reply in, read by the real parse worker (compiled to dist/ by the
 * global setup) from real .eml files: Excel 97-2003 (.xls), WPS (.et, BIFF or xlsx inside),
 * OpenDocument (.ods), Excel binary (.xlsb) and Word (.docx, from a docx writer, LibreOffice and
 * a WPS-like file), and hostile ones of each kind. Fixtures: tests/fixtures/formats/README.md.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { Document, Packer, Paragraph, Table, TableCell, TableRow, TextRun } from 'docx';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as SheetJS from '@e965/xlsx';
// The fixtures carry forms keyed by address (as forms written before people had ids are).
import { addressKeyOf, ledgerKeyOf, makeToken } from '../../src/core/identity.js';
import { createParsePool, type ParsePool } from '../../src/parse/pool.js';
import type { FileResult, MailOutcome } from '../../src/parse/types.js';
import { FIXTURES, rezip } from '../helpers/replies.js';

const XLSX = createRequire(import.meta.url)('@e965/xlsx') as typeof SheetJS;
const fx = (rel: string) => readFileSync(path.join(FIXTURES, rel));
const seed = JSON.parse(fx('xlsx/seed-ledger.json').toString('utf8'));
const OWN = 'office@bureau.test';
const request = { ownAddress: OWN, secret: seed.secret as string };

const tmp = mkdtempSync(path.join(os.tmpdir(), 'taizhang-formats-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let emls = 0;
/** A person's reply carrying `files` (sent as octet-stream, as many clients do), stored as .eml. */
async function replyWith(...files: { filename: string; content: Buffer }[]): Promise<string> {
  const composer = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });
  const info = await composer.sendMail({
    from: '王群才 <wangquncai@example.com>', to: OWN, subject: '回复:请填报2020年6月工作进展', text: '已填写,请查收。',
    attachments: files.map((f) => ({ ...f, contentType: 'application/octet-stream' })),
  });
  const file = path.join(tmp, `${++emls}.eml`);
  writeFileSync(file, info.message as Buffer);
  return file;
}

let pool: ParsePool;
beforeAll(() => { pool = createParsePool({ isolation: 'thread', timeoutMs: 15_000 }); });
afterAll(async () => { await pool.close(); });

/** The one file of a reply carrying only `content` named `filename`, as the worker read it. */
async function readOne(filename: string, content: Buffer): Promise<FileResult> {
  const o: MailOutcome = await pool.readMail(await replyWith({ filename, content }), request);
  expect(o.ok, o.ok ? '' : `${o.code} ${o.message}`).toBe(true);
  if (!o.ok) throw new Error('unreachable');
  expect(o.analysis.files).toHaveLength(1);
  return o.analysis.files[0];
}

/** 艾延坤's form as LibreOffice saved it, read from the .xlsx: what every other format must give. */
const AI_ROWS = [
  { no: 1, progress: '第一行\n第二行\t制表符 "双引号" \'单引号\' 😀🎉', remark: '  前后空格  ' },
  { no: 2, progress: '=1+1 不是公式', remark: '+86 138 0000 0000' },
  { no: 3, progress: '-减号开头', remark: '@提及' },
  { no: 5, progress: '2', remark: '#N/A' },
  { no: 7, progress: '3.5', remark: '2020年6月15日' },
  { no: 11, progress: '进展完成', remark: '' },
  { no: 12, progress: '普通加粗普通', remark: '' },
  { no: 14, progress: '见链接', remark: '' },
];

describe('spreadsheets in other formats give what the .xlsx gives', () => {
  it('the .xlsx itself (the reference)', async () => {
    const f = await readOne('进展情况.xlsx', fx('xlsx/lo-filled.xlsx'));
    expect(f).toMatchObject({ ok: true, format: 'xlsx', rows: AI_ROWS, token: { period: '2020-06' } });
  });

  it.each([
    ['进展情况.xls', 'xlsx/lo-filled.xls', 'xls'], // LibreOffice, Excel 97 (BIFF8)
    ['进展情况.et', 'xlsx/lo-filled.et', 'et'], // BIFF under a WPS name
    ['进展情况.xlsb', 'formats/filled.xlsb', 'xlsb'], // SheetJS's writer
    ['进展情况.et', 'xlsx/lo-filled.xlsx', 'et'], // a WPS .et that is xlsx inside
  ])('%s (%s) is read as %s: same rows, same token', async (name, file, format) => {
    const f = await readOne(name, fx(file));
    expect(f).toMatchObject({ ok: true, format, rows: AI_ROWS, token: { period: '2020-06', personKey: addressKeyOf('aiyankun@example.com') } });
    if (f.ok) expect(f.taskTexts).toContainEqual({ no: 3, text: '加强规范性文件监督管理,严格执行规范性文件制定程序' });
  });

  it('.ods (LibreOffice): the same words, less the tab LibreOffice\'s own ODS export drops', async () => {
    const f = await readOne('进展情况.ods', fx('xlsx/lo-filled.ods'));
    const rows = AI_ROWS.map((r) => (r.no === 1 ? { ...r, progress: r.progress.replace('\t', '') } : r));
    expect(f).toMatchObject({ ok: true, format: 'ods', rows, token: { period: '2020-06' } });
  });
});

/** 王群才's Word table (tests/fixtures/formats/make-fixtures.mjs). */
const WANG_ROWS = [
  { no: 4, progress: '第一段：已起草实施办法。\n第二段：已征求意见。', remark: '备\t注' }, // two paragraphs; a tab
  { no: 6, progress: '=SUM(A1:A2) 不是公式 😀 “中文引号”', remark: '  前后空格  ' },
  { no: 8, progress: '上半部分\n下半部分', remark: '' }, // 序号 merged over two rows
  { no: 9, progress: '已完成', remark: '' },
  { no: 10, progress: '跨列填写', remark: '' }, // spans 责任科室: not repeated anywhere
  { no: 15, progress: '第一行\n第二行', remark: '' }, // a line break
  { no: 16, progress: '', remark: '' },
  { no: 17, progress: '已落实', remark: '' },
  { no: 13, progress: '误填了马红霞的任务', remark: '' },
];

describe('Word replies', () => {
  it.each([
    ['made by a docx writer', 'formats/wang-filled.docx', WANG_ROWS],
    ['re-saved by LibreOffice Writer', 'formats/lo-wang.docx', WANG_ROWS],
    // A run in mc:AlternateContent with no Fallback (python-mammoth#163) is read once; a text box's words are not the cell's.
    ['WPS-like', 'formats/wps-like.docx', WANG_ROWS.map((r) => (r.no === 17 ? { ...r, progress: '已落实（WPS）' } : r))],
  ])('a table %s is read by its headers', async (_how, file, rows) => {
    const f = await readOne('王群才进展情况.docx', fx(file));
    expect(f).toMatchObject({ ok: true, format: 'docx', token: null, rows });
    if (!f.ok) return;
    expect(f.taskTexts).toContainEqual({ no: 9, text: '提高政务公开能力和水平（改写）' });
    expect(JSON.stringify(f.rows)).not.toContain('文本框');
  });

  it('finds a form\'s identity in the document\'s custom properties', async () => {
    const token = makeToken({ ledgerKey: ledgerKeyOf(seed.ledger.title), period: '2020-06', personKey: addressKeyOf('wangquncai@example.com'), secret: seed.secret });
    const cell = (t: string) => new TableCell({ children: [new Paragraph({ children: [new TextRun(t)] })] });
    const doc = new Document({
      customProperties: [{ name: '表单编号', value: token }],
      sections: [{ children: [new Table({ rows: [new TableRow({ children: ['序号', '进展情况'].map(cell) }), new TableRow({ children: ['4', '已完成'].map(cell) })] })] }],
    });
    const f = await readOne('表.docx', await Packer.toBuffer(doc));
    expect(f).toMatchObject({ ok: true, rows: [{ no: 4, progress: '已完成', remark: '' }], token: { personKey: addressKeyOf('wangquncai@example.com'), period: '2020-06' } });
  });

  it('a Word document without the table is answered as such; a .doc as unreadable', async () => {
    const doc = new Document({ sections: [{ children: [new Paragraph('本月工作总结：已完成。')] }] });
    expect(await readOne('总结.docx', await Packer.toBuffer(doc))).toMatchObject({ ok: false, code: 'SHEET_NO_TABLE', kind: 'docx' });
    expect(await readOne('进展情况.doc', fx('formats/lo-wang.doc'))).toMatchObject({ ok: false, code: 'SHEET_UNSUPPORTED', kind: 'doc' });
  });
});

describe('hostile and unreadable files keep their bounded answers', () => {
  it('an encrypted .xls (LibreOffice, password 1234)', async () => {
    expect(await readOne('进展情况.xls', fx('formats/lo-encrypted.xls'))).toMatchObject({ ok: false, code: 'SHEET_ENCRYPTED', kind: 'xls' });
  });

  it('a huge .xls is refused by its size before it is read', async () => {
    const huge = Buffer.concat([fx('xlsx/lo-filled.xls'), Buffer.alloc(11 * 1024 * 1024)]);
    expect(await readOne('进展情况.xls', huge)).toMatchObject({ ok: false, code: 'SHEET_TOO_LARGE', kind: 'xls', message: expect.stringMatching(/BIFF/) });
  });

  it('an .xls whose merges cover millions of cells', async () => {
    const ws = XLSX.utils.aoa_to_sheet([['序号', '进展情况'], [1, '已完成']]);
    ws['!merges'] = [{ s: { r: 2, c: 0 }, e: { r: 65_535, c: 255 } }]; // BIFF8's largest: 16.7 million cells
    const wb = XLSX.utils.book_new();
    XLSX.utils.book_append_sheet(wb, ws, 'Sheet1');
    const bomb = XLSX.write(wb, { bookType: 'biff8', type: 'buffer' }) as Buffer;
    expect(await readOne('进展情况.xls', bomb)).toMatchObject({ ok: false, code: 'SHEET_TOO_LARGE', kind: 'xls' });
  });

  it('a zip-bomb .ods whose sizes lie', async () => {
    expect(await readOne('进展情况.ods', fx('formats/bomb-lying.ods'))).toMatchObject({ ok: false, code: 'SHEET_TOO_LARGE', kind: 'ods' });
  });

  it('an .ods whose repeated cells unfold into millions (a 2 KB file that exhausts the heap)', async () => {
    const row = '<table:table-row table:number-rows-repeated="100000"><table:table-cell table:number-columns-repeated="1000" office:value-type="string"><text:p>x</text:p></table:table-cell></table:table-row>';
    const bomb = rezip(fx('xlsx/lo-filled.ods'), (name, data) => (name === 'content.xml'
      ? Buffer.from(data.toString('utf8').replace(/<table:table-row\b/, `${row}<table:table-row`)) : undefined));
    expect(await readOne('进展情况.ods', bomb)).toMatchObject({ ok: false, code: 'SHEET_TOO_LARGE', kind: 'ods', message: expect.stringMatching(/repeated/) });
  });

  it('a .docx whose merged cells span too far', async () => {
    const cell = (t: string, columnSpan?: number) => new TableCell({ columnSpan, children: [new Paragraph(t)] });
    const rows = [new TableRow({ children: [cell('序号'), cell('进展情况')] })];
    for (let i = 0; i < 300; i++) rows.push(new TableRow({ children: [cell(String(i + 1)), cell('宽', 1000)] }));
    const doc = new Document({ sections: [{ children: [new Table({ rows })] }] });
    expect(await readOne('宽表.docx', await Packer.toBuffer(doc))).toMatchObject({ ok: false, code: 'SHEET_TOO_LARGE', kind: 'docx' });
  });

  it('a damaged .xls, a cut one, and a CSV as before', async () => {
    const damaged = Buffer.from(fx('xlsx/lo-filled.xls')).fill(0xff, 1024, 5000);
    expect(await readOne('进展情况.xls', damaged)).toMatchObject({ ok: false, code: 'SHEET_CORRUPT', kind: 'xls' });
    expect(await readOne('进展情况.xls', fx('xlsx/lo-filled.xls').subarray(0, 3000))).toMatchObject({ ok: false, code: 'SHEET_CORRUPT' });
    expect(await readOne('进展情况.csv', fx('xlsx/lo-filled.csv'))).toMatchObject({ ok: false, code: 'SHEET_UNSUPPORTED', kind: 'csv' });
  });
});
