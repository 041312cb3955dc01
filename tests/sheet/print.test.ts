/**
 * The form and the office's ledger as LibreOffice prints them: converted to PDF by soffice and
 * read back with pdftotext. What a clipped cell hides is missing from the PDF's text, and the
 * row numbers of column 序号 on each page tell how the table was paged.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDebianPackages } from '../../tools/apt.js';
import type { Ledger, Person, ReportRow } from '../../src/core/ledger.js';
import { writeLedgerWorkbook, type LedgerRowInput, type LedgerWorkbookInput } from '../../src/sheet/ledger.js';
import { COLUMN_WIDTHS, rowHeightFor, writePersonTemplate } from '../../src/sheet/template.js';

const run = promisify(execFile);
const PDFTOTEXT = '/usr/bin/pdftotext';
let dir = '';

beforeAll(async () => {
  // Carlito has Calibri's metrics (the workbook's default font, by which column widths are
  // measured), as on an office PC; without it LibreOffice measures the columns a third wider.
  await ensureDebianPackages('LibreOffice Calc, poppler and fonts', ['libreoffice-calc-nogui', 'poppler-utils', 'fonts-wqy-zenhei', 'fonts-crosextra-carlito'],
    ['/usr/bin/soffice', PDFTOTEXT, '/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc', '/usr/share/fonts/truetype/crosextra/Carlito-Regular.ttf']);
  dir = mkdtempSync(path.join(os.tmpdir(), 'taizhang-print-'));
}, 600_000);
afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

/** Converts workbooks to PDF in one soffice run (a private profile: other runs may be converting too). */
async function toPdf(files: Record<string, Buffer>): Promise<Record<string, string>> {
  const paths = Object.entries(files).map(([name, buf]) => { const f = path.join(dir, `${name}.xlsx`); writeFileSync(f, buf); return f; });
  await run('soffice', [`-env:UserInstallation=file://${dir}/profile`, '--headless', '--convert-to', 'pdf', '--outdir', dir, ...paths], { timeout: 300_000 });
  return Object.fromEntries(Object.keys(files).map((name) => [name, path.join(dir, `${name}.pdf`)]));
}

interface Word { page: number; x0: number; x1: number; y: number; text: string }

async function wordsOf(pdf: string): Promise<Word[]> {
  const { stdout } = await run(PDFTOTEXT, ['-bbox', pdf, '-'], { maxBuffer: 64 * 1024 * 1024 });
  const words: Word[] = [];
  stdout.split('<page ').slice(1).forEach((page, i) => {
    for (const m of page.matchAll(/<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)<\/word>/g)) {
      words.push({ page: i + 1, x0: Number(m[1]), y: Number(m[2]), x1: Number(m[3]), text: m[4].replace(/&amp;/g, '&') });
    }
  });
  return words;
}

/** The 序号 printed on each page: numbers under the page's 序号 header, within its column. */
function rowNumbersByPage(words: Word[]): number[][] {
  const pages = Math.max(0, ...words.map((w) => w.page));
  return Array.from({ length: pages }, (_, i) => {
    const on = words.filter((w) => w.page === i + 1);
    const head = on.find((w) => w.text === '序号');
    if (!head) return [];
    return on.filter((w) => /^\d+$/.test(w.text) && w.y > head.y && w.x0 >= head.x0 - 12 && w.x1 <= head.x1 + 12).map((w) => Number(w.text));
  });
}

const textOf = (words: Word[], page?: number) => words.filter((w) => page === undefined || w.page === page).map((w) => w.text).join('');

const seed = JSON.parse(readFileSync(fileURLToPath(new URL('../fixtures/xlsx/seed-ledger.json', import.meta.url)), 'utf8'));

describe('the form as LibreOffice prints it', () => {
  it('shows every word of a long 上期进展 and task text: rows are as high as their text', async () => {
    const ledger: Ledger = seed.ledger;
    const wang: Person = { id: '王群才', ...seed.people.find((p: Person) => p.name === '王群才') };
    // Latin words wrap whole, so each batchN is printed in one piece wherever its line breaks.
    const long = Array.from({ length: 24 }, (_, i) => `已完成第${i + 1}批文件审查（batch${i + 1} done）`).join('；');
    const lines = '第一行：座谈会\n第二行：征求意见稿\n第三行：office review\n第四行：已报送';
    const lastPeriod = new Map<number, ReportRow>([[4, { no: 4, progress: long, remark: '' }], [6, { no: 6, progress: lines, remark: '' }]]);
    const input = { ledger, person: wang, periodLabel: '2020年7月', deadlineText: '2020年7月31日', token: 'TZ1.test', lastPeriod, lastPeriodLabel: '2020年6月', contactLine: '（联系人：张三，电话：0393-1234567）' };
    const form = await writePersonTemplate(input);
    // The same form with the row squeezed to a fixed height, as before: LibreOffice clips it.
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(form as unknown as ArrayBuffer);
    wb.worksheets[0].getRow(4).height = 48;
    const squeezed = Buffer.from(await wb.xlsx.writeBuffer());
    const pdf = await toPdf({ form, squeezed });

    const batches = (words: Word[]) => new Set(words.flatMap((w) => [...w.text.matchAll(/batch(\d+)/g)].map((m) => Number(m[1]))));
    const words = await wordsOf(pdf.form);
    expect([...batches(words)].sort((a, b) => a - b)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
    for (const line of lines.split('\n')) expect(words.map((w) => w.text).join(' ')).toContain(line);
    const shown = textOf(words);
    expect(shown).toContain('如有疑问，请与办公室联系（联系人：张三，电话：0393-1234567）。');
    expect(shown).toContain('填报截止：2020年7月31日');
    // The check sees clipping: the squeezed row loses most of the words.
    expect(batches(await wordsOf(pdf.squeezed)).size).toBeLessThan(12);
  }, 600_000);
});

describe('the office ledger as LibreOffice prints it', () => {
  const base: Omit<LedgerWorkbookInput, 'rows'> = {
    title: '落实《濮阳市人民政府2020年法治政府建设冲刺方案》工作台账', periodLabel: '2020年6月', generatedAt: '2020年7月1日 9:00',
    maker: '濮阳市科学技术局办公室', people: [], history: { periods: [], rows: [] },
  };
  const rowOf = (no: number, progress: string): LedgerRowInput => ({ no, task: `第${no}项任务`, due: '10.31', departments: '政法科', owners: '艾延坤', progress, remark: '' });
  const table = (n: number, progress: string) => Array.from({ length: n }, (_, i) => rowOf(i + 1, progress));
  /** The ledger as it was before: rows as high as their text, whatever is left for the last page. */
  async function unfitted(rows: LedgerRowInput[]): Promise<Buffer> {
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(await writeLedgerWorkbook({ ...base, rows }) as unknown as ArrayBuffer);
    const ws = wb.getWorksheet('台账')!;
    rows.forEach((r, i) => {
      const values = [r.no, r.task, r.due, r.progress, r.departments, r.owners, r.remark].map(String);
      ws.getRow(4 + i).height = rowHeightFor(values.map((v, c) => [v, COLUMN_WIDTHS[c]]), 30);
    });
    return Buffer.from(await wb.xlsx.writeBuffer());
  }

  it('ends the table with at least two rows on its last page, and names the maker once, on the first page', async () => {
    // Tables of short rows around one and two pages, and of tall rows: some end with a lone row when paged as they come.
    const cases = [
      ...Array.from({ length: 22 }, (_, i) => [`short${i + 12}`, table(i + 12, '已完成')] as const),
      ...Array.from({ length: 8 }, (_, i) => [`tall${i + 2}`, table(i + 2, '已完成规范性文件合法性审查工作，'.repeat(8))] as const),
    ];
    const files: Record<string, Buffer> = {};
    for (const [name, rows] of cases) {
      files[name] = await writeLedgerWorkbook({ ...base, rows });
      files[`${name}-unfitted`] = await unfitted(rows);
    }
    const pdf = await toPdf(files);
    let lonesBefore = 0;
    for (const [name, rows] of cases) {
      const before = rowNumbersByPage(await wordsOf(pdf[`${name}-unfitted`])).filter((p) => p.length > 0);
      if (before.length > 1 && before[before.length - 1].length === 1) lonesBefore++;
      const words = await wordsOf(pdf[name]);
      const pages = rowNumbersByPage(words).filter((p) => p.length > 0);
      expect(pages.flat(), name).toEqual(rows.map((r) => r.no)); // every row once, in order
      if (pages.length > 1) expect(pages[pages.length - 1].length, `${name}: ${pages.map((p) => p.length).join('+')}`).toBeGreaterThanOrEqual(2);
      // The 制表 line is on the first page only; later pages name the ledger in their header.
      expect(textOf(words, 1)).toContain('制表单位：濮阳市科学技术局办公室');
      expect(textOf(words, 1).split('制表日期').length - 1).toBe(1);
      for (let p = 2; p <= pages.length; p++) {
        expect(textOf(words, p), `${name} page ${p}`).not.toContain('制表');
        expect(textOf(words, p), `${name} page ${p}`).toContain('2020年6月汇总台账');
      }
    }
    expect(lonesBefore).toBeGreaterThanOrEqual(2); // the cases do test something
  }, 900_000);
});
