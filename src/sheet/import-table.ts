/**
 * Reads the office's own ledger (工作台账) from the Word or Excel file it keeps, for `taizhang
 * import`: the task table's rows as the cells hold them ({@link RawTask}), the title above it and
 * the 说明 under it, and the document's paragraphs (where a 方案's 任务要求 may be).
 *
 * Layout, not meaning: src/core/import.ts turns the raw cells into tasks (names, departments,
 * dates). What is handled here is how offices lay the table out: the title and the header
 * repeated on every page (one table per page in Word, repeated rows in Excel), a task spread
 * over several rows (序号 merged down, or a row broken in two), merged cells (a 完成时间 merged
 * down over many tasks counts for each), line breaks inside cells, 说明 rows under the table.
 */
import ExcelJS from 'exceljs';
import { Parser } from 'htmlparser2';
import type { RawTask } from '../core/import.js';
import { TaizhangError } from '../errors.js';
import { normalizeHeader, parseSerialNo } from './cell.js';
import { documentTables, entryText, mainPart, tableGrid } from './docx.js';
import { excelGrid, guardExpansion, IGNORED_NODES, MAX_EXPANDED_CELLS } from './read.js';
import { sniffSpreadsheet } from './sniff.js';
import type { SheetGrid } from './table.js';

export type { RawTask } from '../core/import.js';
import { checkZipLimits, readZipDirectory, type ZipLimits } from './zip.js';

export interface LedgerTable {
  /** The title above the first header (`落实《…》工作台账`), or null. */
  title: string | null;
  tasks: RawTask[];
  /** The 说明 lines under the table. */
  notes: string[];
  /** Rows under a header that hold words but are no task (told to the user, never imported). */
  skipped: string[];
  /** `Word document (.docx)`, `Excel workbook (.xlsx)`. */
  format: string;
}

type Field = 'task' | 'due' | 'departments' | 'owners' | 'remark' | 'requirements' | 'progress';
interface Header { noCol: number; cols: Partial<Record<Field, number>>; width: number }

/** Which column a header cell names (already passed through normalizeHeader). */
function fieldOf(h: string): Field | 'no' | null {
  if (h === '序号' || h === '序' || h === '编号') return 'no';
  if (h.startsWith('备注')) return 'remark';
  if (/要求$/.test(h)) return 'requirements';
  if (h.includes('进展')) return 'progress';
  if (/(责任人|负责人|联系人)$/.test(h)) return 'owners';
  if (/(科室|单位|部门|处室)$/.test(h)) return 'departments';
  if (/(时间|时限|期限|节点)$/.test(h) && !h.includes('进展')) return 'due';
  if (/(任务|工作内容|任务内容|事项)$/.test(h)) return 'task';
  return null;
}

/** The row's columns by field when it is a ledger header (序号, a task column and 责任人). */
function headerOf(g: SheetGrid, r: number): Header | null {
  const cols: Partial<Record<Field, number>> = {};
  let noCol = 0;
  for (const c of g.columns(r)) {
    if (g.master(r, c)) continue;
    const f = fieldOf(normalizeHeader(g.text(r, c)));
    if (f === 'no') noCol ||= c;
    else if (f && !cols[f]) cols[f] = c;
  }
  if (!noCol || !cols.task || !cols.owners) return null;
  return { noCol, cols, width: g.columns(r).length };
}

const blank = (s: string) => s.trim() === '';
/** The distinct texts of a row, merges read once, joined by spaces. */
function rowText(g: SheetGrid, r: number): string {
  const texts: string[] = [];
  for (const c of g.columns(r)) {
    if (g.master(r, c)) continue;
    const t = g.text(r, c).trim();
    if (t) texts.push(t);
  }
  return texts.join(' ');
}

/** A cell's text, and whether it repeats a cell above it (the lower part of a vertical merge). */
function cellOf(g: SheetGrid, r: number, c: number | undefined): { text: string; repeat: boolean } {
  if (!c) return { text: '', repeat: false };
  const m = g.master(r, c);
  if (!m) return { text: g.text(r, c), repeat: false };
  if (m.col !== c) return { text: '', repeat: false }; // covered by a cell to its left
  return { text: g.text(m.row, m.col), repeat: m.row !== r };
}

const FIELDS: Field[] = ['task', 'due', 'departments', 'owners', 'remark', 'requirements', 'progress'];
const NOTE = /^\s*(?:说明|注|备注)\s*(?:[:：]|\d|$)/;

/** Walks the grids in order, carrying the header across pages and tables. */
class TableWalk {
  header: Header | null = null;
  byNo = new Map<number, RawTask>();
  last: RawTask | null = null;
  inNotes = false;
  before: string[] = [];
  notes: string[] = [];
  skipped: string[] = [];

  grid(g: SheetGrid): void {
    // A table without its own header continues the last one only when it has as many columns.
    if (this.header && g.rowCount > 0 && !this.hasHeader(g)) {
      if (g.columns(1).length !== this.header.width) this.header = null;
    }
    this.last = null;
    for (let r = 1; r <= g.rowCount; r++) this.row(g, r);
  }

  private hasHeader(g: SheetGrid): boolean {
    for (let r = 1; r <= Math.min(g.rowCount, 10); r++) if (headerOf(g, r)) return true;
    return false;
  }

  private row(g: SheetGrid, r: number): void {
    const text = rowText(g, r);
    const header = headerOf(g, r);
    if (header) { this.header = header; this.inNotes = false; this.last = null; return; }
    if (!this.header) { if (text) this.before.push(text); return; }
    if (!text) return;
    if (this.inNotes) { this.notes.push(text); return; }
    const h = this.header;
    const at = `${g.name} row ${r}`;
    const noMaster = g.master(r, h.noCol);
    if (noMaster && noMaster.col === h.noCol && noMaster.row !== r) {
      // A task over several rows, 序号 merged down: this row adds to the task above.
      this.extend(this.byNo.get(parseSerialNo(g.text(noMaster.row, h.noCol)) ?? -1) ?? null, g, r);
      return;
    }
    const wholeRow = h.cols.task && g.master(r, h.cols.task)?.col === h.noCol;
    const noText = noMaster ? '' : g.text(r, h.noCol);
    const no = wholeRow ? null : parseSerialNo(noText);
    if (no !== null) { this.start(no, g, r, at); return; }
    if (NOTE.test(text)) { this.inNotes = true; this.notes.push(text); return; }
    if (blank(noText) && !wholeRow && this.last) { this.extend(this.last, g, r); return; } // a row broken in two
    if (!this.before.includes(text)) this.skipped.push(`${at}: ${text}`); // a repeated title is no news
  }

  private start(no: number, g: SheetGrid, r: number, at: string): void {
    const h = this.header!;
    const raw: RawTask = { no, task: '', due: '', departments: '', owners: '', remark: '', requirements: '', progress: '', at };
    for (const f of FIELDS) raw[f] = cellOf(g, r, h.cols[f]).text;
    const seen = this.byNo.get(no);
    if (seen) {
      this.skipped.push(`${at}: 序号 ${no} again (first at ${seen.at}); this row was not imported`);
      this.last = null;
      return;
    }
    this.byNo.set(no, raw);
    this.last = raw;
  }

  private extend(task: RawTask | null, g: SheetGrid, r: number): void {
    if (!task) return;
    for (const f of FIELDS) {
      const c = cellOf(g, r, this.header!.cols[f]);
      if (c.repeat || blank(c.text)) continue;
      const before = task[f] ?? '';
      task[f] = blank(before) ? c.text : `${before}\n${c.text}`;
    }
  }
}

/** The title: the last line above the first header naming a 台账 (else any line but 附件…). */
function titleOf(lines: string[]): string | null {
  const named = lines.filter((l) => /台[账帐]|[表单]$/.test(l));
  const usable = named.length ? named : lines.filter((l) => l.length >= 4 && !/^(附件|填报|单位|制表|日期)/.test(l));
  const t = usable[usable.length - 1];
  return t === undefined ? null : t.replace(/\s*\n\s*/g, '').trim();
}

/** Reads the ledger's task table from grids in document order; `before` = text above the tables. */
export function readLedgerGrids(grids: SheetGrid[], before: string[] = [], format = ''): LedgerTable {
  const walk = new TableWalk();
  walk.before.push(...before);
  for (const g of grids) walk.grid(g);
  if (walk.byNo.size === 0) {
    throw new TaizhangError('SHEET_NO_TABLE', 'no task table found: no row with 序号, 主要任务 and 责任人 followed by numbered rows');
  }
  const tasks = [...walk.byNo.values()];
  return { title: titleOf(walk.before), tasks, notes: walk.notes, skipped: walk.skipped, format };
}

// ───────────────────────────── Word ─────────────────────────────

/** The body's top-level paragraphs (outside tables) and, for each table, how many came before it. */
export function documentParagraphs(xml: string): { paragraphs: string[]; tableAt: number[]; tableEnd: number[] } {
  const paragraphs: string[] = [];
  const tableAt: number[] = [];
  const tableEnd: number[] = [];
  let tables = 0;
  let skip = 0;
  let text: string | null = null;
  let inText = false;
  const local = (n: string) => n.slice(n.indexOf(':') + 1);
  const parser = new Parser({
    onopentag(name) {
      const n = local(name);
      if (n === 'tbl') { if (tables++ === 0) tableAt.push(paragraphs.length); return; }
      if (tables) return;
      if (skip || ['del', 'instrText', 'delText', 'Fallback', 'txbxContent', 'drawing', 'pict'].includes(n)) { skip++; return; }
      if (n === 'p') text = '';
      else if (n === 'tab' && text !== null) text += '\t';
      else if ((n === 'br' || n === 'cr') && text !== null) text += '\n';
      inText = n === 't';
    },
    ontext(t) { if (inText && text !== null && !tables && !skip) text += t; },
    onclosetag(name) {
      const n = local(name);
      if (n === 'tbl') { if (--tables === 0) tableEnd.push(paragraphs.length); return; }
      if (tables) return;
      if (skip) { skip--; return; }
      if (n === 't') inText = false;
      if (n === 'p' && text !== null) { paragraphs.push(text); text = null; }
    },
  }, { xmlMode: true, decodeEntities: true });
  parser.write(xml);
  parser.end();
  return { paragraphs, tableAt, tableEnd };
}

function docxXml(buf: Buffer): string {
  checkZipLimits(buf);
  const entries = readZipDirectory(buf);
  const xml = entryText(buf, entries, mainPart(buf, entries));
  if (xml === null) throw new TaizhangError('SHEET_CORRUPT', 'Word document without its main part (word/document.xml)');
  return xml;
}

/** A .docx's paragraphs outside tables, in order (for 任务要求 sections). */
export function docxParagraphs(buf: Buffer): string[] {
  return documentParagraphs(docxXml(buf)).paragraphs;
}

function readDocxLedger(buf: Buffer): LedgerTable {
  const xml = docxXml(buf);
  const budget = { cells: MAX_EXPANDED_CELLS };
  const grids = documentTables(xml, Parser).map((rows, i) => tableGrid(`表格${i + 1}`, rows, budget));
  const { paragraphs, tableAt, tableEnd } = documentParagraphs(xml);
  const lines = (from: number, to?: number) => paragraphs.slice(from, to).map((p) => p.trim()).filter(Boolean);
  const table = readLedgerGrids(grids, lines(0, tableAt[0]), 'Word document (.docx)');
  // 说明 in paragraphs under the last table, up to the 附件 or a blank line.
  const after = paragraphs.slice(tableEnd[tableEnd.length - 1] ?? paragraphs.length);
  const start = after.findIndex((p) => NOTE.test(p));
  if (start >= 0) {
    const end = after.findIndex((p, i) => i > start && (blank(p) || /^附\s*件/.test(p.trim())));
    table.notes.push(...after.slice(start, end < 0 ? undefined : end).map((p) => p.trim()).filter(Boolean));
  }
  return table;
}

// ───────────────────────────── Excel ─────────────────────────────

/** An office's or a unit's .xlsx, within the zip and expansion limits every reader keeps. */
export async function loadLedgerWorkbook(buf: Buffer, limits?: Partial<ZipLimits>): Promise<ExcelJS.Workbook> {
  checkZipLimits(buf, limits);
  guardExpansion(buf);
  const wb = new ExcelJS.Workbook();
  try {
    await wb.xlsx.load(buf as unknown as ArrayBuffer, { ignoreNodes: IGNORED_NODES } as Partial<ExcelJS.XlsxReadOptions>);
  } catch (err) {
    throw new TaizhangError('SHEET_CORRUPT', `cannot read the workbook: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  }
  return wb;
}

async function readXlsxLedger(buf: Buffer): Promise<LedgerTable> {
  const wb = await loadLedgerWorkbook(buf);
  // The first sheet holding the table: offices keep other sheets (说明, 汇总) beside it.
  let firstError: unknown;
  for (const ws of wb.worksheets) {
    try {
      return readLedgerGrids([excelGrid(ws)], [], 'Excel workbook (.xlsx)');
    } catch (err) {
      firstError ??= err;
    }
  }
  throw firstError ?? new TaizhangError('SHEET_NO_TABLE', 'the workbook has no sheet');
}

/**
 * Reads the ledger's task table from a .docx or .xlsx (told by its bytes, not its name).
 * @throws TaizhangError SHEET_UNSUPPORTED (another kind of file, with what to do), SHEET_NO_TABLE,
 *   SHEET_CORRUPT, SHEET_TOO_LARGE
 */
export async function readLedgerFile(buf: Buffer, filename: string): Promise<LedgerTable> {
  const kind = sniffSpreadsheet(buf, filename).kind;
  if (kind === 'docx') return readDocxLedger(buf);
  if (kind === 'xlsx' || kind === 'xlsm') return readXlsxLedger(buf);
  if (kind === 'doc') throw new TaizhangError('SHEET_UNSUPPORTED', `${filename} is a Word 97-2003 document (.doc): open it in Word or WPS and save it as .docx`);
  if (kind === 'encrypted') throw new TaizhangError('SHEET_ENCRYPTED', `${filename} is protected by a password: save a copy without one`);
  if (['xls', 'et', 'ods', 'xlsb'].includes(kind)) {
    throw new TaizhangError('SHEET_UNSUPPORTED', `${filename} is an older or other spreadsheet format (${kind}): save it as .xlsx (Excel workbook)`);
  }
  throw new TaizhangError('SHEET_UNSUPPORTED', `${filename} is neither a Word .docx nor an Excel .xlsx file`);
}
