/**
 * Writes the per-person form (.xlsx) mailed each month: the seed's table with only this
 * person's tasks, 进展情况 and 备注 open for typing (shaded), last period's words beside them
 * in a locked 上期进展 column, everything else locked (sheet protection without a password: no
 * hashing cost, and anyone who really must can unprotect it). Rows are as high as their text
 * needs: no spreadsheet program grows them by itself.
 *
 * The identity token goes into three places so that it survives a re-save by Excel, WPS or
 * LibreOffice: the core properties (subject, keywords), a hidden sheet `_taizhang`!A1, and a
 * visible line under the table. Also shared here: the cell styling helpers used by
 * src/sheet-ledger.ts.
 */
import ExcelJS from 'exceljs';
import { TaizhangError } from '../errors.js';
import { tasksOf, type Ledger, type Person, type ReportRow, type Task } from '../core/ledger.js';
import { IDENTITY_SHEET } from '../core/identity.js';
import { xmlSafe } from './xml-text.js';

/** Input of {@link writePersonTemplate}. */
export interface PersonTemplateInput {
  ledger: Ledger;
  person: Person;
  /** The month as people say it, e.g. `2020年6月`. */
  periodLabel: string;
  /** The deadline as shown to people, e.g. `2020年6月30日`. */
  deadlineText: string;
  /** From `makeToken`. */
  token: string;
  /**
   * The person's own recorded words of the previous period, by 序号: shown, locked, in 上期进展
   * for them to edit from. Never put in 进展情况: what they do not type is not their report.
   */
  lastPeriod?: Map<number, ReportRow>;
  /** The previous period as people say it, e.g. `2020年5月` (named in the instructions). */
  lastPeriodLabel?: string;
  /** The office's contact line, e.g. `（联系人：张三，电话：0393-1234567）` (signature.ts contactLine). */
  contactLine?: string;
  /** How the period is named (周次 for a weekly ledger, see periodWords); a month's by default. */
  words?: { caption: string; current: string };
}

/** The sheet name of the form's table. */
export const TEMPLATE_SHEET = '工作台账';
/** Excel refuses longer cell text. */
export const EXCEL_MAX_CELL_CHARS = 32767;
/** Body font: 宋体 with the GB2312 charset hint, present on every Chinese Windows, WPS and LibreOffice install. */
export const BODY_FONT: Partial<ExcelJS.Font> = { name: '宋体', size: 11, charset: 134 };
/** Column widths (characters) of the seven columns, tuned for A4 landscape. */
export const COLUMN_WIDTHS = [6, 34, 10, 46, 14, 12, 20] as const;
/** Thin lines on all four sides of a table cell. */
export const THIN_BORDER: Partial<ExcelJS.Borders> = {
  top: { style: 'thin' }, left: { style: 'thin' }, bottom: { style: 'thin' }, right: { style: 'thin' },
};
/** Light grey behind header cells. */
export const HEADER_FILL: ExcelJS.Fill = { type: 'pattern', pattern: 'solid', fgColor: { argb: 'FFE7E6E6' } };
/** The columns of the person's form: the seed's, with 上期进展 (locked) beside 进展情况. */
export const FORM_COLUMNS = ['序号', '主要任务', '完成时间', '进展情况', '上期进展', '责任科室', '责任人', '备注'] as const;
/** Column widths (characters) of the form, tuned for A4 landscape (fit to width). */
export const FORM_WIDTHS = [6, 30, 9, 44, 34, 12, 10, 18] as const;
/** The form's columns a person fills in (1-based): 进展情况 and 备注. */
export const FORM_FILL_COLUMNS = [4, 8] as const;
/** The form's column showing last period's words. */
export const FORM_LAST_COLUMN = 5;
/** Light yellow behind the cells a person fills in (the instructions name it). */
export const FILL_HERE: ExcelJS.Fill = { type: 'pattern', pattern: 'solid', fgColor: { argb: 'FFFFF8D6' } };

/**
 * Makes text safe to store while reading back exactly the same: exceljs and Excel decode
 * `_xHHHH_` sequences in stored strings, so a literal one gets its underscore escaped; text
 * beyond Excel's 32,767-character limit is cut with a visible marker. Characters XML 1.0
 * forbids are dropped (C0 controls) or shown as U+FFFD ({@link xmlSafe}): one of them would
 * make the whole workbook unreadable.
 */
export function sheetText(text: string): string {
  let t = xmlSafe(text).replace(/_(x[0-9A-Fa-f]{4}_)/g, '_x005F_$1');
  if (t.length > EXCEL_MAX_CELL_CHARS) {
    const mark = '…（已截断）';
    let cut = EXCEL_MAX_CELL_CHARS - mark.length;
    const c = t.charCodeAt(cut - 1);
    if (c >= 0xd800 && c <= 0xdbff) cut--; // do not split a surrogate pair
    t = t.slice(0, cut) + mark;
  }
  return t;
}

/** Display width of text in Excel character units (CJK and full-width forms count as two). */
export function displayWidth(text: string): number {
  let w = 0;
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    w += c >= 0x1100 && (c <= 0x115f || (c >= 0x2e80 && c <= 0xa4cf) || (c >= 0xac00 && c <= 0xd7a3) || (c >= 0xf900 && c <= 0xfaff) || (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff60) || (c >= 0xffe0 && c <= 0xffe6) || c >= 0x1f300) ? 2 : 1;
  }
  return w;
}

/**
 * Pixels of one column width unit and of a half-width character of the 11-point body font, at
 * 96 dpi: Excel, WPS and LibreOffice measure widths in digits of the default font (Calibri 11,
 * 7 px, +5 px of padding); 宋体 11 pt draws a CJK character 14.7 px wide, a Latin one half that.
 */
const PX_PER_WIDTH = 7;
const PX_PER_HALF = 7.4;
/** Points a wrapped line takes: 宋体 needs 14.3, the CJK fonts LibreOffice substitutes up to 16. */
export const LINE_POINTS = 16;

/** How many lines `text` takes wrapped in a column `width` characters wide: words are not split. */
export function wrappedLines(text: string, width: number): number {
  const capacity = Math.max(2, Math.floor((width * PX_PER_WIDTH + 5 - 10) / PX_PER_HALF));
  let lines = 0;
  for (const para of text.split(/\r\n|\r|\n/)) {
    let used = 0;
    lines++;
    // A Latin word (or a number) wraps whole; a CJK character alone; spaces may end a line.
    for (const piece of para.match(/[A-Za-z0-9_.,;:!?'"()\-/%@#&*+=<>[\]]+|\s|./gu) ?? []) {
      const w = displayWidth(piece);
      if (used + w <= capacity || (/^\s$/.test(piece))) { used += w; continue; }
      if (w > capacity) { // a word longer than the line breaks anywhere
        const rest = used + w - capacity;
        lines += Math.ceil(rest / capacity);
        used = rest % capacity || capacity;
        continue;
      }
      lines++;
      used = w;
    }
  }
  return Math.max(1, lines);
}

/**
 * A row height (points) that shows every line of wrapped text, given the cells' texts and
 * column widths: Excel, WPS and LibreOffice do not grow rows for text written by a program, and
 * a row too low clips it on screen and on paper. Capped at Excel's 409 points.
 */
export function rowHeightFor(texts: Array<[string, number]>, min = 20, lineHeight = LINE_POINTS): number {
  let lines = 1;
  for (const [text, width] of texts) lines = Math.max(lines, wrappedLines(text, width));
  return Math.min(409, Math.max(min, Math.ceil(lines * lineHeight + 6)));
}

/** Applies font, wrap and border to cells A..G of a table row. */
export function styleTableRow(row: ExcelJS.Row, columns: number, opts: { header?: boolean } = {}): void {
  for (let c = 1; c <= columns; c++) {
    const cell = row.getCell(c);
    cell.font = { ...BODY_FONT, bold: !!opts.header };
    cell.border = THIN_BORDER;
    cell.alignment = { wrapText: true, vertical: 'middle', horizontal: opts.header ? 'center' : 'left' };
    if (opts.header) cell.fill = HEADER_FILL;
  }
}

/**
 * Writes a full-width merged line (title, caption, note) at `rowNo`.
 */
export function writeBanner(ws: ExcelJS.Worksheet, rowNo: number, lastCol: number, text: string, font: Partial<ExcelJS.Font>, opts: { center?: boolean; height?: number } = {}): ExcelJS.Row {
  ws.mergeCells(rowNo, 1, rowNo, lastCol);
  const row = ws.getRow(rowNo);
  const cell = row.getCell(1);
  cell.value = sheetText(text);
  cell.font = font;
  cell.alignment = { wrapText: true, vertical: 'middle', horizontal: opts.center ? 'center' : 'left' };
  if (opts.height) row.height = opts.height;
  return row;
}

/** The visible identity line written under the table. */
export function tokenLine(token: string): string {
  return `表单编号：${token}（请勿修改）`;
}

/** The caption under the title: who and which month, then the deadline and whom to ask. */
function captionOf(input: PersonTemplateInput): string {
  const { person, periodLabel, deadlineText, contactLine } = input;
  const ask = contactLine ? `　　如有疑问，请与办公室联系${contactLine}。` : '';
  return `${input.words?.caption ?? '月份'}：${periodLabel}　　责任人：${person.name}（${person.department}）\n填报截止：${deadlineText}（请于此前填报）${ask}`;
}

/** The instruction line under the table: what to fill (the shaded cells), and what 上期进展 is. */
function instructionsOf(input: PersonTemplateInput): string {
  const last = input.lastPeriodLabel ? `“上期进展”为您${input.lastPeriodLabel}报送的内容，仅供参考（不作为本期报送），可复制到“进展情况”后修改；` : '“上期进展”为您上期报送的内容，仅供参考（不作为本期报送）；';
  return `填写说明：请在浅黄色底纹的“进展情况”“备注”两栏填写${input.words?.current ?? '本期'}进展（单元格内换行：Excel/WPS 按 Alt+Enter，LibreOffice 按 Ctrl+Enter）；${last}其他栏目已锁定。填好后保存，作为附件直接回复本邮件即可。`;
}

/** Writes one task row: the fill-in cells shaded and open, 上期进展 locked, the height from the text. */
function writeTaskRow(ws: ExcelJS.Worksheet, r: number, t: Task, last: ReportRow | undefined): void {
  const cols = FORM_COLUMNS.length;
  const values: Array<string | number> = [t.no, t.task, t.due, '', last?.progress ?? '', t.departments.join('、'), t.owners.join(' '), ''];
  const row = ws.getRow(r);
  values.forEach((v, i) => { row.getCell(i + 1).value = typeof v === 'number' ? v : v === '' ? null : sheetText(v); });
  styleTableRow(row, cols);
  row.getCell(1).alignment = { vertical: 'middle', horizontal: 'center' };
  row.getCell(3).alignment = { vertical: 'middle', horizontal: 'center', wrapText: true };
  row.getCell(FORM_LAST_COLUMN).font = { ...BODY_FONT, color: { argb: 'FF595959' } };
  row.getCell(FORM_LAST_COLUMN).alignment = { wrapText: true, vertical: 'top', horizontal: 'left' };
  for (const c of FORM_FILL_COLUMNS) {
    const cell = row.getCell(c);
    cell.protection = { locked: false };
    cell.fill = FILL_HERE;
    cell.alignment = { wrapText: true, vertical: 'top', horizontal: 'left' };
  }
  // Room for the task text and last period's words, and for a few lines of new words.
  row.height = rowHeightFor(values.map((v, i) => [String(v), FORM_WIDTHS[i]]), 60);
  ws.getCell(r, 4).dataValidation = {
    type: 'textLength', operator: 'lessThanOrEqual', formulae: [EXCEL_MAX_CELL_CHARS], allowBlank: true,
    showInputMessage: true, promptTitle: '进展情况', prompt: '请填写本期进展，可多行。',
  };
}

/**
 * Builds the person's form for the month.
 * @returns the .xlsx file
 * @throws TaizhangError TEMPLATE when the person owns no task of the ledger
 */
export async function writePersonTemplate(input: PersonTemplateInput): Promise<Buffer> {
  const { ledger, person, periodLabel, token, lastPeriod } = input;
  const tasks = tasksOf(ledger, person.name);
  if (tasks.length === 0) throw new TaizhangError('TEMPLATE', `${person.name} has no task in the ledger "${ledger.title}"`);
  const cols = FORM_COLUMNS.length;

  const wb = new ExcelJS.Workbook();
  wb.creator = 'taizhang';
  wb.lastModifiedBy = 'taizhang';
  wb.title = xmlSafe(ledger.title);
  wb.subject = token;
  wb.keywords = token;
  wb.description = xmlSafe(`${ledger.title} ${periodLabel} ${person.name} ${tokenLine(token)}`);
  wb.created = new Date();

  const ws = wb.addWorksheet(TEMPLATE_SHEET, {
    pageSetup: {
      paperSize: 9, orientation: 'landscape', fitToPage: true, fitToWidth: 1, fitToHeight: 0,
      horizontalCentered: true, margins: { left: 0.5, right: 0.5, top: 0.6, bottom: 0.6, header: 0.3, footer: 0.3 },
    },
    views: [{ state: 'frozen', xSplit: 0, ySplit: 3, topLeftCell: 'A4', activeCell: 'D4' }],
    properties: { defaultRowHeight: 20 },
  });
  ws.columns = FORM_WIDTHS.map((width) => ({ width }));

  writeBanner(ws, 1, cols, ledger.title, { ...BODY_FONT, size: 16, bold: true }, { center: true, height: 36 });
  const caption = captionOf(input);
  writeBanner(ws, 2, cols, caption, { ...BODY_FONT }, { height: rowHeightFor([[caption, FORM_WIDTHS.reduce((a, b) => a + b, 0)]], 22) });

  const header = ws.getRow(3);
  FORM_COLUMNS.forEach((name, i) => { header.getCell(i + 1).value = sheetText(name); });
  styleTableRow(header, cols, { header: true });
  header.height = 24;

  let r = 4;
  for (const t of tasks) writeTaskRow(ws, r++, t, lastPeriod?.get(t.no));

  const note = instructionsOf(input);
  const allWidth = FORM_WIDTHS.reduce((a, b) => a + b, 0);
  writeBanner(ws, r + 1, cols, note, { ...BODY_FONT, size: 10 }, { height: rowHeightFor([[note, allWidth]], 32) });
  writeBanner(ws, r + 2, cols, tokenLine(token), { ...BODY_FONT, size: 9, color: { argb: 'FF808080' } }, { height: 18 });

  ws.pageSetup.printArea = `A1:H${r + 2}`;
  ws.pageSetup.printTitlesRow = '3:3';
  ws.headerFooter = { oddFooter: '&C第 &P 页，共 &N 页' };
  await ws.protect('', {
    selectLockedCells: true, selectUnlockedCells: true, formatRows: true, formatColumns: true, formatCells: false,
    insertRows: false, insertColumns: false, deleteRows: false, deleteColumns: false, sort: false, autoFilter: false,
  });

  const hidden = wb.addWorksheet(IDENTITY_SHEET, { state: 'hidden' });
  hidden.getCell('A1').value = token;
  hidden.getCell('A2').value = '此工作表供系统识别表单，请勿修改或删除。';
  await hidden.protect('', { selectLockedCells: true, selectUnlockedCells: true });

  const out = await wb.xlsx.writeBuffer();
  return Buffer.from(out as ArrayBuffer);
}
