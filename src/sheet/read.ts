/**
 * Reads a returned per-person form (.xlsx/.xlsm) into {@link ReplyWorkbook}: the identity token
 * and the rows (序号 → 进展情况, 备注), from whichever sheet holds the table.
 *
 * Untrusted input: call it inside the parse pool (src/parse/pool.ts), after
 * `checkZipLimits` (zip.ts), never on the main thread for mail from outside.
 *
 * Text policy: cell text is stored exactly as written: no trimming, no Unicode normalisation,
 * newlines/tabs/quotes/emoji and a leading `=`, `+`, `-` or `@` are kept. Surrounding whitespace
 * is ignored only to decide whether a cell is empty (a cell holding only spaces counts as empty
 * and is returned as '').
 */
import ExcelJS from 'exceljs';
import { TaizhangError } from '../errors.js';
import { cellText } from './cell.js';
import { findToken, pickTable, tokenTexts, type SheetGrid, type TableRead } from './table.js';
import { DEFAULT_ZIP_LIMITS, readZipDirectory, readZipEntry } from './zip.js';

/** What a reply's spreadsheet says. */
export interface ReplyWorkbook extends TableRead {
  /** The identity token: verified when a secret was given, else the first token-shaped text. */
  token: string | null;
}

/** Options of {@link readReplyWorkbook}. */
export interface ReadOptions {
  /** The token secret. Without it the token is returned unverified. */
  secret?: string;
}


/**
 * Worksheet parts exceljs need not parse to read values and merges. Skipping them is also a
 * defence: exceljs expands a data validation range cell by cell (a 1.5 KB file with one over
 * B1:K1048576 allocates until the heap dies, and in a worker thread that can abort the whole
 * process, nodejs/node#47224).
 */
export const IGNORED_NODES = [
  'dataValidations', 'conditionalFormatting', 'extLst', 'hyperlinks', 'drawing', 'picture', 'tableParts',
  'rowBreaks', 'autoFilter', 'sheetProtection', 'pageSetup', 'headerFooter', 'printOptions', 'pageMargins', 'cols',
];

/** Most cells that merges plus defined names may cover: exceljs expands both cell by cell. */
export const MAX_EXPANDED_CELLS = 200_000;

// ───────────────────────────── the grid ─────────────────────────────

/** An exceljs worksheet as a {@link SheetGrid} (table.ts finds the table in it). */
export function excelGrid(ws: ExcelJS.Worksheet): SheetGrid {
  const cell = (r: number, c: number) => ws.findCell(r, c);
  return {
    name: ws.name,
    rowCount: ws.rowCount,
    columns(r) {
      const cols: number[] = [];
      ws.findRow(r)?.eachCell((_c, col) => { cols.push(col); });
      return cols;
    },
    text(r, c) {
      const x = cell(r, c);
      return x ? cellText(x) : '';
    },
    master(r, c) {
      const x = cell(r, c);
      if (!x || !x.isMerged || x.master.address === x.address) return null;
      return { row: Number(x.master.row), col: Number(x.master.col) };
    },
  };
}

// ───────────────────────────── expansion guard ─────────────────────────────

function colNumber(letters: string): number {
  let n = 0;
  for (const ch of letters.toUpperCase()) n = n * 26 + (ch.charCodeAt(0) - 64);
  return n;
}

/** Cells covered by every `A1:B2`-style range in `text` (`$` and sheet prefixes allowed). */
function rangeCells(text: string): number {
  let cells = 0;
  for (const m of text.matchAll(/\$?([A-Za-z]{1,3})\$?(\d{1,7})\s*:\s*\$?([A-Za-z]{1,3})\$?(\d{1,7})/g)) {
    const cols = Math.abs(colNumber(m[3]) - colNumber(m[1])) + 1;
    const rows = Math.abs(Number(m[4]) - Number(m[2])) + 1;
    cells += cols * rows;
  }
  return cells;
}

/** Which of the parts exceljs expands a part is: a worksheet (merges), the workbook (defined names), or neither. */
function expandingPart(name: string): 'sheet' | 'workbook' | null {
  const part = name.replace(/^\//, '').toLowerCase();
  if (/^xl\/worksheets\/[^/]+\.xml$/.test(part)) return 'sheet';
  return part === 'xl/workbook.xml' ? 'workbook' : null;
}

/** Throws SHEET_TOO_LARGE once the merges and defined names in `parts` cover more than `maxCells`. */
function guardParts(parts: Iterable<{ name: string; xml: string }>, maxCells: number): void {
  let cells = 0;
  for (const { name, xml } of parts) {
    const kind = expandingPart(name);
    if (!kind) continue;
    const re = kind === 'sheet' ? /<(?:\w+:)?mergeCell\b[^>]*?\bref\s*=\s*"([^"]*)"/g : /<(?:\w+:)?definedName\b[^>]*>([^<]*)</g;
    for (const m of xml.matchAll(re)) {
      cells += rangeCells(m[1]);
      if (cells > maxCells) {
        throw new TaizhangError('SHEET_TOO_LARGE', `merged cells or defined names cover more than ${maxCells} cells (${kind === 'sheet' ? 'merge' : 'defined name'} ${m[1].slice(0, 40)})`);
      }
    }
  }
}

/** The parts of a zip that exceljs expands, as text; parts it cannot read are skipped. */
function* expandingParts(buf: Buffer): Generator<{ name: string; xml: string }> {
  let entries;
  try {
    entries = readZipDirectory(buf, 10_000);
  } catch {
    return;
  }
  for (const e of entries) {
    if (!expandingPart(e.name)) continue;
    try {
      yield { name: e.name, xml: readZipEntry(buf, e, DEFAULT_ZIP_LIMITS.maxEntryBytes).toString('utf8') };
    } catch (err) {
      if (err instanceof TaizhangError && err.code === 'SHEET_TOO_LARGE') throw err;
    }
  }
}

/**
 * Refuses workbooks whose merged ranges or defined names cover more than `maxCells` cells
 * before exceljs expands them (a merge of A1:Z100000 costs exceljs 3.4 s and 751 MB).
 * Reads the zip itself; a zip it cannot read is left for exceljs to reject.
 * @throws TaizhangError SHEET_TOO_LARGE
 */
export function guardExpansion(buf: Buffer, maxCells = MAX_EXPANDED_CELLS): void {
  guardParts(expandingParts(buf), maxCells);
}

// ───────────────────────────── entry point ─────────────────────────────

/**
 * Loads a reply's workbook with exceljs's `Workbook.xlsx.load` and finds the token and the table.
 * The table may be on any sheet (the one with the most filled rows wins); its header row is the
 * first of the top 60 rows with a 序号 cell and a 进展情况 cell (备注 optional; spaces, full-width
 * forms, bracketed notes and inserted columns are tolerated).
 * Parts that only matter for display (data validations, conditional formats, drawings…) are not
 * parsed, and merges/defined names covering too many cells are refused first ({@link guardExpansion}).
 * @throws TaizhangError SHEET_CORRUPT when exceljs cannot read the file, SHEET_TOO_LARGE when
 *   merges are too wide or it runs out of string space, SHEET_NO_TABLE when no sheet has the
 *   header row.
 */
export async function readReplyWorkbook(input: Buffer, opts: ReadOptions = {}): Promise<ReplyWorkbook> {
  guardExpansion(input);
  const wb = new ExcelJS.Workbook();
  try {
    await wb.xlsx.load(input as unknown as ArrayBuffer, { ignoreNodes: IGNORED_NODES } as Partial<ExcelJS.XlsxReadOptions>);
  } catch (err) {
    const msg = (err as Error)?.message ?? String(err);
    if (err instanceof RangeError || /Invalid string length|Array buffer allocation/i.test(msg)) {
      throw new TaizhangError('SHEET_TOO_LARGE', `workbook too large to read: ${msg}`, { cause: err });
    }
    throw new TaizhangError('SHEET_CORRUPT', `cannot read workbook: ${msg}`, { cause: err });
  }
  const grids = wb.worksheets.map(excelGrid);
  const table = pickTable(grids);
  if (!table) {
    const names = wb.worksheets.map((w) => w.name).join(', ') || '(none)';
    throw new TaizhangError('SHEET_NO_TABLE', `no sheet has a header row with 序号 and 进展情况 (sheets: ${names})`);
  }
  const props = ['keywords', 'subject', 'title', 'description', 'category'].map((k) => (wb as unknown as Record<string, unknown>)[k]);
  return { token: findToken(tokenTexts(grids, props), opts.secret), ...table };
}
