/**
 * Writes the consolidated workbook mailed to the office each month: three sheets,
 * 台账 (the seed's table with everyone's progress merged), 填报情况 (who reported, when, by whom)
 * and 历月进展 (one column a month, unchanged progress marked).
 *
 * Every text is written as a string exactly as given (a leading `=`, `+`, `-`, `@` stays text;
 * exceljs only writes formulas for `{formula}` objects), apart from what `sheetText` must do to
 * keep it readable back the same and the file valid XML (see xml-text.ts).
 */
import ExcelJS from 'exceljs';
import { PassThrough } from 'node:stream';
import { LEDGER_COLUMNS } from '../core/ledger.js';
import { BODY_FONT, COLUMN_WIDTHS, rowHeightFor, sheetText, styleTableRow, writeBanner } from './template.js';
import { xmlSafe } from './xml-text.js';
import { paddingAvoidingOrphan } from './paging.js';

/** One task row of the 台账 sheet. `departments`/`owners` may be given joined or as lists. */
export interface LedgerRowInput {
  no: number;
  task: string;
  due: string;
  /** Joined with 、 when a list. */
  departments: string | string[];
  /** Joined with a space when a list. */
  owners: string | string[];
  /** Already merged across owners. */
  progress: string;
  remark: string;
}

/** The report states shown in 填报情况. */
export type StatusLabel = '已报送' | '部分填报' | '逾期报送' | '逾期报送（部分填报）' | '未报送' | '退信' | '发送失败';

/** One person of the 填报情况 sheet. */
export interface LedgerPersonInput {
  name: string;
  department: string;
  email: string;
  /** One of {@link StatusLabel} (other text is shown as given). */
  statusLabel: StatusLabel | string;
  /** When the counted report arrived, as shown to people. */
  reportedAt?: string;
  /** Who sent the report when not the person (代报人): their name when known, else the address. */
  sentBy?: string;
  reportCount: number;
}

/** One task of the 历月进展 sheet: its progress in each month of `periods`. */
export interface LedgerHistoryRow {
  no: number;
  task: string;
  cells: string[];
  /** The last month's progress is the same as the month before. */
  unchanged: boolean;
}

/** The 历月进展 sheet: month labels (oldest first) and one row a task. */
export interface LedgerHistoryInput {
  periods: string[];
  rows: LedgerHistoryRow[];
}

/** One subordinate unit (局属单位): its status and its own ledger's tasks, as the unit wrote them. */
export interface LedgerUnitInput {
  name: string;
  email: string;
  statusLabel: StatusLabel | string;
  reportedAt?: string;
  /** Who sent it when not the unit's address. */
  sentBy?: string;
  reportCount: number;
  tasks: { no: number; task: string; due: string; departments: string; owners: string; progress: string; remark: string }[];
}

/** Input of {@link writeLedgerWorkbook}. */
export interface LedgerWorkbookInput {
  title: string;
  /** e.g. `2020年6月` */
  periodLabel: string;
  /** When the file was generated, as shown to people (the 制表日期). */
  generatedAt: string;
  /** The office that made the table (制表单位): `ledger.office_name`, else the mailbox's sender name. */
  maker?: string;
  rows: LedgerRowInput[];
  people: LedgerPersonInput[];
  history: LedgerHistoryInput;
  /** How the period is named (周次, 本周, 上周, 历周进展 for a weekly ledger, see periodWords); a month's by default. */
  words?: LedgerWords;
  /** Subordinate units: a 局属单位 sheet after 台账, and their rows in 填报情况 (none: neither). */
  units?: LedgerUnitInput[];
}

export interface LedgerWords { caption: string; current: string; previous: string; history: string }
const MONTH_WORDS: LedgerWords = { caption: '月份', current: '本月', previous: '上月', history: '历月进展' };

/** Sheet names, in order (a monthly ledger's: the third is named by the cadence, see LedgerWords). */
export const LEDGER_SHEETS = ['台账', '填报情况', '历月进展'] as const;
/** The sheet of the units' own ledgers, after 台账 when the ledger has units. */
export const UNITS_SHEET = '局属单位';

const STATUS_FILLS: Record<string, string> = {
  已报送: 'FFE2EFDA',
  部分填报: 'FFFFE699',
  逾期报送: 'FFFFF2CC',
  '逾期报送（部分填报）': 'FFFFE699',
  未报送: 'FFFCE4D6',
  退信: 'FFF8CBAD',
  发送失败: 'FFF8CBAD',
};
const SAME_AS_BEFORE_FILL = 'FFEDEDED';
const UNCHANGED_FILL = 'FFFFF2CC';

const joinList = (v: string | string[], sep: string) => (Array.isArray(v) ? v.join(sep) : v);
/** Page header/footer text: `&` starts a code there. */
const hf = (s: string) => xmlSafe(s).replace(/&/g, '&&');

const MARGINS = { left: 0.5, right: 0.5, top: 0.7, bottom: 0.6, header: 0.3, footer: 0.3 };

function landscape(): Partial<ExcelJS.PageSetup> {
  return { paperSize: 9, orientation: 'landscape', fitToPage: true, fitToWidth: 1, fitToHeight: 0, horizontalCentered: true, margins: MARGINS };
}

/** The first page shows the title and the 制表 line; later pages name the ledger in their header instead. */
function laterPagesHeader(left: string, right: string): Partial<ExcelJS.HeaderFooter> {
  return { differentFirst: true, firstHeader: '', firstFooter: '&C第 &P 页，共 &N 页', oddHeader: `&L${hf(left)}&R${hf(right)}`, oddFooter: '&C第 &P 页，共 &N 页' };
}

function fill(argb: string): ExcelJS.Fill {
  return { type: 'pattern', pattern: 'solid', fgColor: { argb } };
}

function headerRow(ws: ExcelJS.Worksheet, rowNo: number, names: readonly string[]): void {
  const row = ws.getRow(rowNo);
  names.forEach((n, i) => { row.getCell(i + 1).value = sheetText(n); });
  styleTableRow(row, names.length, { header: true });
  row.height = 24;
}

/** The line under the title: who made the table, for which month, when. */
export function makerLine(input: Pick<LedgerWorkbookInput, 'maker' | 'periodLabel' | 'generatedAt' | 'words'>): string {
  return `${input.maker ? `制表单位：${input.maker}　　` : ''}${(input.words ?? MONTH_WORDS).caption}：${input.periodLabel}　　制表日期：${input.generatedAt}`;
}

function addLedgerSheet(wb: ExcelJS.Workbook, input: LedgerWorkbookInput): void {
  const cols = LEDGER_COLUMNS.length;
  const rows = [...input.rows].sort((a, b) => a.no - b.no).map((row): Array<string | number> => [
    row.no, row.task, row.due, row.progress, joinList(row.departments, '、'), joinList(row.owners, ' '), row.remark,
  ]);
  const natural = rows.map((values) => rowHeightFor(values.map((v, i) => [String(v), COLUMN_WIDTHS[i]]), 30));
  const line = makerLine(input);
  const top = [36, rowHeightFor([[line, COLUMN_WIDTHS.reduce((a, b) => a + b, 0)]], 22), 24];
  // Rows a little taller where the table would otherwise end with one row alone on a page.
  const pad = paddingAvoidingOrphan({ widths: COLUMN_WIDTHS, top, repeated: top[2], rows: natural, margins: MARGINS });
  const heights = natural.map((h) => Math.min(409, h + pad));
  const ws = wb.addWorksheet(LEDGER_SHEETS[0], {
    pageSetup: landscape(),
    views: [{ state: 'frozen', xSplit: 0, ySplit: 3, topLeftCell: 'A4', activeCell: 'A4' }],
  });
  ws.columns = COLUMN_WIDTHS.map((width) => ({ width }));
  writeBanner(ws, 1, cols, input.title, { ...BODY_FONT, size: 16, bold: true }, { center: true, height: top[0] });
  writeBanner(ws, 2, cols, line, { ...BODY_FONT }, { height: top[1] });
  headerRow(ws, 3, LEDGER_COLUMNS);
  rows.forEach((values, i) => {
    const xr = ws.getRow(4 + i);
    values.forEach((v, c) => { xr.getCell(c + 1).value = typeof v === 'number' ? v : sheetText(v); });
    styleTableRow(xr, cols);
    xr.getCell(1).alignment = { vertical: 'middle', horizontal: 'center' };
    xr.getCell(3).alignment = { vertical: 'middle', horizontal: 'center', wrapText: true };
    xr.height = heights[i];
    xr.commit();
  });
  ws.pageSetup.printArea = `A1:G${3 + rows.length}`;
  // Only the column headers repeat: the title and the 制表 line are the first page's, and the
  // later pages' header names the ledger and month without repeating that line.
  ws.pageSetup.printTitlesRow = '3:3';
  ws.headerFooter = laterPagesHeader(input.title, `${input.periodLabel}汇总台账`);
  ws.commit();
}

/** The units' own tasks, grouped under each unit's name, laid out and printed as the 台账 sheet. */
function addUnitsSheet(wb: ExcelJS.Workbook, input: LedgerWorkbookInput, units: LedgerUnitInput[]): void {
  const cols = LEDGER_COLUMNS.length;
  const ws = wb.addWorksheet(UNITS_SHEET, { pageSetup: landscape(), views: [{ state: 'frozen', xSplit: 0, ySplit: 3, topLeftCell: 'A4', activeCell: 'A4' }] });
  ws.columns = COLUMN_WIDTHS.map((width) => ({ width }));
  writeBanner(ws, 1, cols, `${input.title}（局属单位）`, { ...BODY_FONT, size: 16, bold: true }, { center: true, height: 36 });
  writeBanner(ws, 2, cols, `月份：${input.periodLabel}　　生成时间：${input.generatedAt}`, { ...BODY_FONT }, { height: 22 });
  headerRow(ws, 3, LEDGER_COLUMNS);
  let r = 4;
  for (const u of units) {
    const when = u.reportedAt ? `，${u.reportedAt}报送` : '';
    const group = writeBanner(ws, r++, cols, `${u.name}（${u.statusLabel}${when}${u.tasks.length ? `，共${u.tasks.length}项` : ''}）`, { ...BODY_FONT, bold: true }, { height: 22 });
    group.getCell(1).fill = fill(STATUS_FILLS[u.statusLabel] ?? 'FFE7E6E6');
    group.getCell(1).border = { top: { style: 'thin' }, bottom: { style: 'thin' }, left: { style: 'thin' }, right: { style: 'thin' } };
    group.commit();
    for (const t of u.tasks) {
      const values: Array<string | number> = [t.no, t.task, t.due, t.progress, t.departments, t.owners, t.remark];
      const xr = ws.getRow(r++);
      values.forEach((v, i) => { xr.getCell(i + 1).value = typeof v === 'number' ? v : sheetText(v); });
      styleTableRow(xr, cols);
      xr.getCell(1).alignment = { vertical: 'middle', horizontal: 'center' };
      xr.getCell(3).alignment = { vertical: 'middle', horizontal: 'center', wrapText: true };
      xr.height = rowHeightFor(values.map((v, i) => [String(v), COLUMN_WIDTHS[i]]), 30);
      xr.commit();
    }
  }
  ws.pageSetup.printArea = `A1:G${Math.max(3, r - 1)}`;
  ws.pageSetup.printTitlesRow = '1:3';
  ws.headerFooter = { oddHeader: `&L${hf(input.periodLabel)} 局属单位&R生成时间：${hf(input.generatedAt)}`, oddFooter: '&C第 &P 页，共 &N 页' };
  ws.commit();
}

/** The units under the people in 填报情况, with a header of their own; returns the next free row. */
function addUnitStatusRows(ws: ExcelJS.Worksheet, first: number, units: LedgerUnitInput[]): number {
  const names = ['局属单位', '报送任务数', '邮箱', '状态', '报送时间', '报送人', '报送次数'];
  headerRow(ws, first, names);
  let r = first + 1;
  for (const u of units) {
    const row = ws.getRow(r++);
    const values: Array<string | number> = [u.name, u.tasks.length, u.email, u.statusLabel, u.reportedAt ?? '', u.sentBy ?? '', u.reportCount];
    values.forEach((v, i) => { row.getCell(i + 1).value = typeof v === 'number' ? v : sheetText(v); });
    styleTableRow(row, names.length);
    for (const c of [2, 7]) row.getCell(c).alignment = { vertical: 'middle', horizontal: 'center' };
    const argb = STATUS_FILLS[u.statusLabel];
    if (argb) row.getCell(4).fill = fill(argb);
    row.commit();
  }
  return r;
}

function addPeopleSheet(wb: ExcelJS.Workbook, input: LedgerWorkbookInput): void {
  const names = ['责任人', '责任科室', '邮箱', '状态', '报送时间', '代报人', '报送次数'] as const;
  const widths = [12, 18, 30, 12, 20, 12, 10];
  const ws = wb.addWorksheet(LEDGER_SHEETS[1], {
    pageSetup: landscape(),
    views: [{ state: 'frozen', xSplit: 0, ySplit: 1, topLeftCell: 'A2', activeCell: 'A2' }],
  });
  ws.columns = widths.map((width) => ({ width }));
  headerRow(ws, 1, names);
  let r = 2;
  const counts = new Map<string, number>();
  for (const p of input.people) {
    const row = ws.getRow(r);
    const values: Array<string | number> = [p.name, p.department, p.email, p.statusLabel, p.reportedAt ?? '', p.sentBy ?? '', p.reportCount];
    values.forEach((v, i) => { row.getCell(i + 1).value = typeof v === 'number' ? v : sheetText(v); });
    styleTableRow(row, names.length);
    row.getCell(7).alignment = { vertical: 'middle', horizontal: 'center' };
    const argb = STATUS_FILLS[p.statusLabel];
    if (argb) row.getCell(4).fill = fill(argb);
    counts.set(p.statusLabel, (counts.get(p.statusLabel) ?? 0) + 1);
    row.commit();
    r++;
  }
  if (input.people.length > 0) ws.autoFilter = { from: { row: 1, column: 1 }, to: { row: r - 1, column: names.length } };
  const units = input.units ?? [];
  if (units.length > 0) r = addUnitStatusRows(ws, r + 1, units);
  if (input.people.length > 0) {
    const summary = [...counts].map(([label, n]) => `${label}${n}人`).join('，');
    const unitCounts = new Map<string, number>();
    for (const u of units) unitCounts.set(u.statusLabel, (unitCounts.get(u.statusLabel) ?? 0) + 1);
    const unitSummary = units.length ? `；局属单位共${units.length}个：${[...unitCounts].map(([label, n]) => `${label}${n}个`).join('，')}` : '';
    writeBanner(ws, r + 1, names.length, `${input.periodLabel}共${input.people.length}人：${summary}${unitSummary}。${makerLine(input).replace(`　　${(input.words ?? MONTH_WORDS).caption}：${input.periodLabel}`, '')}`, { ...BODY_FONT });
  }
  ws.pageSetup.printTitlesRow = '1:1';
  ws.headerFooter = { oddHeader: `&L${hf(input.title)}&R${hf(input.periodLabel)}填报情况`, oddFooter: '&C第 &P 页，共 &N 页' };
  ws.commit();
}

function addHistorySheet(wb: ExcelJS.Workbook, input: LedgerWorkbookInput): void {
  const { periods, rows } = input.history;
  const names = ['序号', '主要任务', ...periods, '未变化'];
  const widths = [6, 30, ...periods.map(() => (periods.length > 3 ? 30 : 40)), 9];
  const words = input.words ?? MONTH_WORDS;
  const ws = wb.addWorksheet(words.history, {
    pageSetup: landscape(),
    views: [{ state: 'frozen', xSplit: 2, ySplit: 1, topLeftCell: 'C2', activeCell: 'C2' }],
  });
  ws.columns = widths.map((width) => ({ width }));
  headerRow(ws, 1, names);
  let r = 2;
  let sameShaded = false;
  let unchangedShaded = false;
  for (const h of [...rows].sort((a, b) => a.no - b.no)) {
    const row = ws.getRow(r);
    row.getCell(1).value = h.no;
    row.getCell(2).value = sheetText(h.task);
    periods.forEach((_, i) => { row.getCell(3 + i).value = sheetText(h.cells[i] ?? ''); });
    row.getCell(names.length).value = h.unchanged ? '未变化' : '';
    styleTableRow(row, names.length);
    row.getCell(1).alignment = { vertical: 'middle', horizontal: 'center' };
    row.getCell(names.length).alignment = { vertical: 'middle', horizontal: 'center' };
    periods.forEach((_, i) => {
      const cur = h.cells[i] ?? '';
      // The last month's cell of an unchanged task is yellow below; grey marks earlier repeats.
      if (i > 0 && i < periods.length - 1 + (h.unchanged ? 0 : 1) && cur.trim() !== '' && cur === (h.cells[i - 1] ?? '')) {
        row.getCell(3 + i).fill = fill(SAME_AS_BEFORE_FILL);
        sameShaded = true;
      }
    });
    if (h.unchanged && periods.length > 0) {
      row.getCell(2 + periods.length).fill = fill(UNCHANGED_FILL);
      row.getCell(names.length).fill = fill(UNCHANGED_FILL);
      unchangedShaded = true;
    }
    row.height = rowHeightFor([[h.task, widths[1]], ...periods.map((_, i): [string, number] => [h.cells[i] ?? '', widths[2 + i]])], 30);
    row.commit();
    r++;
  }
  // The legend explains only the shadings this sheet uses.
  const legend = [sameShaded && `灰色底纹：与${words.previous}相同`, unchangedShaded && `黄色底纹：${words.current}进展与${words.previous}相同（未变化）`].filter(Boolean);
  if (legend.length) writeBanner(ws, r + 1, names.length, `${legend.join('；')}。`, { ...BODY_FONT, size: 10 });
  ws.pageSetup.printTitlesRow = '1:1';
  ws.headerFooter = { oddHeader: `&L${hf(input.title)}&R${hf(words.history)}`, oddFooter: '&C第 &P 页，共 &N 页' };
  ws.commit();
}

/**
 * Builds the office's consolidated workbook (台账, 填报情况, 历月进展), A4 landscape, fit to one
 * page wide, header rows repeated on every printed page.
 * @returns the .xlsx file
 */
export async function writeLedgerWorkbook(input: LedgerWorkbookInput): Promise<Buffer> {
  // Streamed: each row is written out as soon as it is complete, so memory does not grow with
  // the number of tasks and people (only the finished file, a few hundred KB, is kept).
  const chunks: Buffer[] = [];
  const sink = new PassThrough();
  sink.on('data', (c: Buffer) => chunks.push(c));
  const finished = new Promise<void>((resolve, reject) => { sink.on('end', resolve); sink.on('error', reject); });
  const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: sink, useStyles: true, useSharedStrings: false });
  wb.creator = 'taizhang';
  wb.lastModifiedBy = 'taizhang';
  wb.title = xmlSafe(input.title);
  wb.subject = xmlSafe(`${input.title} ${input.periodLabel}`);
  wb.created = new Date();
  addLedgerSheet(wb, input);
  if (input.units?.length) addUnitsSheet(wb, input, input.units);
  addPeopleSheet(wb, input);
  addHistorySheet(wb, input);
  await wb.commit();
  await finished;
  return Buffer.concat(chunks);
}
