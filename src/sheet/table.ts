/**
 * Finding the form's table in a sheet, whatever read the file: exceljs for .xlsx (read.ts),
 * SheetJS for .xls/.et/.ods/.xlsb (legacy.ts), our own walk for .docx (docx.ts). Each reader
 * turns what it read into a {@link SheetGrid}; the header, the rows, merged cells and the
 * token are then found here the same way for every format. Pure and synchronous.
 */
import { IDENTITY_SHEET, findTokenCandidates, verifyCandidate } from '../core/identity.js';
import type { ReportRow } from '../core/ledger.js';
import { normalizeHeader, parseSerialNo } from './cell.js';

/** A sheet as the readers give it: 1-based rows and columns, texts as cell.ts gives them. */
export interface SheetGrid {
  name: string;
  /** The last row that may hold something. */
  rowCount: number;
  /** Columns of row `r` that hold something (merge slaves included), ascending. */
  columns(r: number): number[];
  /** The text of a cell ('' when empty); a merge slave reads as its master. */
  text(r: number, c: number): string;
  /** The top-left cell of the merge covering (r, c) when (r, c) is not that cell; else null. */
  master(r: number, c: number): { row: number; col: number } | null;
}

/** What a form's table says: the rows by 序号 and, beside them, the 主要任务 texts as written. */
export interface TableRead {
  rows: ReportRow[];
  /** The 主要任务 cell of each row that has one (to tell the person when they changed it). */
  taskTexts: { no: number; text: string }[];
  sheetName: string;
}

export const HEADER_SCAN_ROWS = 60;
export const MAX_DATA_ROWS = 20_000;
export const MAX_TOKEN_SCAN_CELLS = 200_000;

interface Header {
  row: number;
  noCol: number;
  progressCol: number;
  remarkCol: number | null;
  taskCol: number | null;
}

/** Headers of earlier words shown for reference (the form's 上期进展): never the person's report. */
const EARLIER = /^(上期|上月|上周|上季|上年|往期|历次|以往)/;

/**
 * The first of the top rows with a 序号 cell and a 进展情况 cell (备注, 主要任务 optional). A
 * column of earlier progress (上期进展) is not 进展情况: its words are last period's.
 */
export function findHeader(g: SheetGrid): Header | null {
  const last = Math.min(g.rowCount, HEADER_SCAN_ROWS);
  for (let r = 1; r <= last; r++) {
    let noCol = 0;
    let progressCol = 0;
    let remarkCol = 0;
    let taskCol = 0;
    for (const c of g.columns(r)) {
      if (g.master(r, c)) continue; // repeats of a merged header
      const h = normalizeHeader(g.text(r, c));
      if (!noCol && (h === '序号' || h === '序' || h === '编号')) noCol = c;
      else if (!progressCol && h.includes('进展') && !EARLIER.test(h)) progressCol = c;
      else if (!remarkCol && h.startsWith('备注')) remarkCol = c;
      else if (!taskCol && h.endsWith('任务')) taskCol = c; // 主要任务, 重点任务; not 任务要求
    }
    if (noCol && progressCol) return { row: r, noCol, progressCol, remarkCol: remarkCol || null, taskCol: taskCol || null };
  }
  return null;
}

/** A cell's own text: a merge slave whose master sits in another column holds nothing itself. */
function ownText(g: SheetGrid, r: number, c: number | null): { text: string; verticalRepeat: boolean } {
  if (!c) return { text: '', verticalRepeat: false };
  const m = g.master(r, c);
  if (!m) return { text: g.text(r, c), verticalRepeat: false };
  if (m.col !== c) return { text: '', verticalRepeat: false };
  return { text: g.text(m.row, m.col), verticalRepeat: true };
}

export const isBlank = (s: string) => s.trim() === '';
const joinText = (a: string, b: string) => (isBlank(a) ? b : isBlank(b) || a === b ? a : `${a}\n${b}`);
const kept = (t: { text: string }) => (isBlank(t.text) ? '' : t.text);

/** The rows under the header, by 序号: repeated 序号 and rows split by merges are joined. */
export function readRows(g: SheetGrid, h: Header): { rows: ReportRow[]; taskTexts: Map<number, string> } {
  const byNo = new Map<number, ReportRow>();
  const tasks = new Map<number, string>();
  const addTask = (no: number, t: { text: string; verticalRepeat: boolean }) => {
    if (t.verticalRepeat || isBlank(t.text)) return;
    tasks.set(no, joinText(tasks.get(no) ?? '', t.text));
  };
  const last = Math.min(g.rowCount, h.row + MAX_DATA_ROWS);
  for (let r = h.row + 1; r <= last; r++) {
    const prog = ownText(g, r, h.progressCol);
    const rem = ownText(g, r, h.remarkCol);
    const task = ownText(g, r, h.taskCol);
    const noMaster = g.master(r, h.noCol);
    if (noMaster && noMaster.col === h.noCol) {
      // A task row split into several rows: this is a continuation of the master's row.
      const no = parseSerialNo(g.text(noMaster.row, noMaster.col)) ?? -1;
      const target = byNo.get(no);
      if (!target) continue;
      if (!prog.verticalRepeat) target.progress = joinText(target.progress, kept(prog));
      if (!rem.verticalRepeat) target.remark = joinText(target.remark, kept(rem));
      addTask(no, task);
      continue;
    }
    const no = parseSerialNo(g.text(r, h.noCol));
    if (no === null) continue;
    addTask(no, task);
    const seen = byNo.get(no);
    if (!seen) {
      byNo.set(no, { no, progress: kept(prog), remark: kept(rem) });
      continue;
    }
    seen.progress = joinText(seen.progress, kept(prog));
    seen.remark = joinText(seen.remark, kept(rem));
  }
  return { rows: [...byNo.values()], taskTexts: tasks };
}

/**
 * The table of a workbook: on any sheet but the identity sheet, the one with the most filled
 * rows (then the most rows) wins. Null when no sheet has the header row.
 */
export function pickTable(grids: Iterable<SheetGrid>): TableRead | null {
  let best: { read: TableRead; filled: number } | null = null;
  for (const g of grids) {
    if (g.name.toLowerCase().startsWith(IDENTITY_SHEET)) continue;
    const header = findHeader(g);
    if (!header) continue;
    const { rows, taskTexts } = readRows(g, header);
    const filled = rows.filter((r) => !isBlank(r.progress) || !isBlank(r.remark)).length;
    if (!best || filled > best.filled || (filled === best.filled && rows.length > best.read.rows.length)) {
      best = { read: { rows, taskTexts: [...taskTexts].map(([no, text]) => ({ no, text })), sheetName: g.name }, filled };
    }
  }
  return best?.read ?? null;
}

/**
 * Texts where a form's identity may be, in order: the identity sheet's A1, the document
 * properties given, then any long cell (the visible 表单编号 line), within a cell budget.
 */
export function tokenTexts(grids: readonly SheetGrid[], properties: readonly unknown[]): string[] {
  const texts: string[] = [];
  for (const g of grids) if (g.name.toLowerCase().startsWith(IDENTITY_SHEET)) texts.push(g.text(1, 1));
  for (const p of properties) if (typeof p === 'string') texts.push(p);
  let budget = MAX_TOKEN_SCAN_CELLS;
  for (const g of grids) {
    for (let r = 1; r <= g.rowCount && budget > 0; r++) {
      for (const c of g.columns(r)) {
        if (budget-- <= 0) break;
        if (g.master(r, c)) continue;
        const t = g.text(r, c);
        if (t.length >= 36) texts.push(t);
      }
    }
  }
  return texts;
}

/** The first token in `texts`: verified when a secret is given, else the first token-shaped one. */
export function findToken(texts: Iterable<string>, secret: string | undefined): string | null {
  for (const text of texts) {
    for (const c of findTokenCandidates(text)) {
      if (secret === undefined || verifyCandidate(c, secret)) return c.token;
    }
  }
  return null;
}
