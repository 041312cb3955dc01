/**
 * Reads the other spreadsheet formats people send: Excel 97-2003 (.xls, BIFF), WPS 表格 (.et, BIFF
 * inside), OpenDocument (.ods) and Excel binary (.xlsb), with SheetJS (`@e965/xlsx`, the
 * maintained build with the fixes the npm `xlsx` 0.18.5 lacks). The table and the token are then
 * found exactly as for .xlsx (table.ts), and cell values become text as cell.ts makes them.
 *
 * Untrusted input: call it inside the parse pool, after `checkZipLimits` for the zip-based
 * formats and {@link MAX_BIFF_BYTES} for BIFF (attachment.ts does both). SheetJS is asked for
 * values only: no formulas, no HTML, no styles, no macros, dense sheets, a row cap.
 */
import { createRequire } from 'node:module';
import type * as SheetJS from '@e965/xlsx';
import { TaizhangError } from '../errors.js';
import { isDateFormat, normalizeCellValue } from './cell.js';
import { MAX_EXPANDED_CELLS, type ReadOptions, type ReplyWorkbook } from './read.js';
import { HEADER_SCAN_ROWS, MAX_DATA_ROWS, findToken, pickTable, tokenTexts, type SheetGrid } from './table.js';
import { DEFAULT_ZIP_LIMITS, readZipDirectory, readZipEntry } from './zip.js';

/** Largest BIFF workbook read: a filled form is tens of KB, a whole ledger a few hundred. */
export const MAX_BIFF_BYTES = 10 * 1024 * 1024;

/** Rows read of each sheet: the header's search plus the most data rows read.ts reads. */
const SHEET_ROWS = HEADER_SCAN_ROWS + MAX_DATA_ROWS + 1;

let loaded: typeof SheetJS | undefined;
/** SheetJS's CommonJS build, loaded on first use (it brings the code pages old BIFF needs). */
function sheetjs(): typeof SheetJS {
  return (loaded ??= createRequire(import.meta.url)('@e965/xlsx') as typeof SheetJS);
}

type Cell = SheetJS.CellObject;

/** A cell's text, as normalizeCellValue gives the same value from exceljs. */
function cellValueText(cell: Cell | undefined, date1904: boolean): string {
  if (!cell) return '';
  switch (cell.t) {
    case 's': return typeof cell.v === 'string' ? cell.v : String(cell.v ?? '');
    case 'n': {
      if (typeof cell.v !== 'number') return '';
      const fmt = typeof cell.z === 'string' ? cell.z : undefined;
      // A 1904-based workbook counts its dates from 1904 (exceljs turns them into Dates for read.ts).
      return normalizeCellValue(cell.v + (date1904 && isDateFormat(fmt) ? 1462 : 0), fmt);
    }
    case 'b': return normalizeCellValue(Boolean(cell.v));
    case 'e': return cell.w ?? '#N/A';
    case 'd': return normalizeCellValue(cell.v instanceof Date ? cell.v : new Date(String(cell.v)), typeof cell.z === 'string' ? cell.z : undefined);
    default: return '';
  }
}

interface Merges {
  /** Slave cell (see {@link key}) → its master. */
  master: Map<number, { row: number; col: number }>;
  /** Row → its slave columns. */
  slaves: Map<number, number[]>;
}

const key = (r: number, c: number) => r * 20_000 + c;

/** Merge slaves → their master, refusing merges that cover too many cells (as read.ts does). */
function mergesOf(sheets: SheetJS.WorkSheet[]): Merges[] {
  let cells = 0;
  return sheets.map((ws) => {
    const m: Merges = { master: new Map(), slaves: new Map() };
    for (const { s, e } of ws['!merges'] ?? []) {
      cells += (e.r - s.r + 1) * (e.c - s.c + 1);
      if (cells > MAX_EXPANDED_CELLS) throw new TaizhangError('SHEET_TOO_LARGE', `merged cells cover more than ${MAX_EXPANDED_CELLS} cells`);
      for (let r = s.r + 1; r <= e.r + 1; r++) {
        for (let c = s.c + 1; c <= e.c + 1; c++) {
          if (r === s.r + 1 && c === s.c + 1) continue;
          m.master.set(key(r, c), { row: s.r + 1, col: s.c + 1 });
          const row = m.slaves.get(r);
          if (row) row.push(c);
          else m.slaves.set(r, [c]);
        }
      }
    }
    return m;
  });
}

/** A SheetJS dense worksheet as a {@link SheetGrid}. */
function sheetGrid(name: string, ws: SheetJS.WorkSheet, merges: Merges, date1904: boolean): SheetGrid {
  const data = (ws['!data'] ?? []) as (Cell | undefined)[][];
  const at = (r: number, c: number): Cell | undefined => data[r - 1]?.[c - 1];
  return {
    name,
    rowCount: data.length,
    columns(r) {
      const cols = new Set<number>(merges.slaves.get(r));
      (data[r - 1] ?? []).forEach((cell, i) => { if (cell && cell.t !== 'z') cols.add(i + 1); });
      return [...cols].sort((a, b) => a - b);
    },
    text(r, c) {
      const m = merges.master.get(key(r, c));
      return m ? cellValueText(at(m.row, m.col), date1904) : cellValueText(at(r, c), date1904);
    },
    master: (r, c) => merges.master.get(key(r, c)) ?? null,
  };
}

/**
 * Refuses an .ods whose repeated cells would unfold into more than `maxCells` filled cells: an
 * ODS cell may say "repeat me 16,384 times" in every one of a million rows, and SheetJS unfolds
 * them (a 2 KB file exhausted the heap). Empty cells (self-closing, no value) are not counted:
 * LibreOffice writes the sheet's unused rest that way. Tags are matched by local name, as
 * SheetJS reads them.
 * @throws TaizhangError SHEET_TOO_LARGE
 */
export function guardOdsRepeats(buf: Buffer, maxCells = MAX_EXPANDED_CELLS): void {
  const entry = readZipDirectory(buf).find((e) => e.name.replace(/^\//, '') === 'content.xml');
  if (!entry) return;
  const xml = readZipEntry(buf, entry, DEFAULT_ZIP_LIMITS.maxEntryBytes).toString('utf8');
  const repeat = (attrs: string) => Number(/(?:[\w.-]+:)?number-(?:rows|columns)-repeated\s*=\s*["'](\d+)["']/.exec(attrs)?.[1] ?? 1);
  let rows = 1;
  let cells = 0;
  for (const m of xml.matchAll(/<(?:[\w.-]+:)?(table-row|table-cell|covered-table-cell)\b([^>]*?)(\/?)>/g)) {
    if (m[1] === 'table-row') {
      rows = repeat(m[2]);
      continue;
    }
    if (m[3] === '/' && !/value-type\s*=/.test(m[2])) continue;
    cells += rows * repeat(m[2]);
    if (cells > maxCells) throw new TaizhangError('SHEET_TOO_LARGE', `repeated cells unfold into more than ${maxCells} filled cells`);
  }
}

/** SheetJS's failure as ours: a password, too much memory, or a damaged file. */
function readFailure(err: unknown): TaizhangError {
  const msg = (err as Error)?.message ?? String(err);
  if (/password|encrypt/i.test(msg)) return new TaizhangError('SHEET_ENCRYPTED', `workbook is password-protected: ${msg}`, { cause: err });
  if (err instanceof RangeError || /Invalid string length|Array buffer allocation/i.test(msg)) {
    return new TaizhangError('SHEET_TOO_LARGE', `workbook too large to read: ${msg}`, { cause: err });
  }
  return new TaizhangError('SHEET_CORRUPT', `cannot read workbook: ${msg}`, { cause: err });
}

/** SheetJS prints some doubts about a file on the console; a worker's stderr is the log's. */
function quietly<T>(fn: () => T): T {
  const { error, warn } = console;
  console.error = console.warn = () => {};
  try {
    return fn();
  } finally {
    console.error = error;
    console.warn = warn;
  }
}

/**
 * Reads a .xls/.et/.ods/.xlsb reply and finds its token and table as read.ts does for .xlsx.
 * @throws TaizhangError SHEET_ENCRYPTED (a password), SHEET_TOO_LARGE (too big, or merges over
 *   too many cells), SHEET_CORRUPT (unreadable), SHEET_NO_TABLE (no header row on any sheet).
 */
export function readLegacyWorkbook(input: Buffer, opts: ReadOptions = {}): ReplyWorkbook {
  const XLSX = sheetjs();
  let wb: SheetJS.WorkBook;
  try {
    wb = quietly(() => XLSX.read(input, {
      type: 'buffer', dense: true, sheetRows: SHEET_ROWS,
      cellFormula: false, cellHTML: false, cellStyles: false, cellNF: true, cellText: true, cellDates: false,
      bookVBA: false, bookFiles: false, bookDeps: false, WTF: false,
    }));
  } catch (err) {
    throw readFailure(err);
  }
  const date1904 = !!wb.Workbook?.WBProps?.date1904;
  const names = wb.SheetNames.filter((n) => wb.Sheets[n]);
  if (names.length === 0) throw new TaizhangError('SHEET_CORRUPT', 'workbook has no readable sheet (damaged?)');
  const merges = mergesOf(names.map((n) => wb.Sheets[n]));
  const grids = names.map((n, i) => sheetGrid(n, wb.Sheets[n], merges[i], date1904));
  const table = pickTable(grids);
  if (!table) {
    throw new TaizhangError('SHEET_NO_TABLE', `no sheet has a header row with 序号 and 进展情况 (sheets: ${wb.SheetNames.join(', ') || '(none)'})`);
  }
  const p = (wb.Props ?? {}) as unknown as Record<string, unknown>;
  const props = [p.Keywords, p.Subject, p.Title, p.Comments, p.Category, ...Object.values(wb.Custprops ?? {})];
  return { token: findToken(tokenTexts(grids, props), opts.secret), ...table };
}
