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
import type { ReportRow } from '../core/ledger.js';
import { IDENTITY_SHEET, findTokenCandidates, verifyCandidate } from '../core/identity.js';
import { cellText, normalizeHeader, parseSerialNo } from './cell.js';
import { DEFAULT_ZIP_LIMITS, readZipDirectory, readZipEntry } from './zip.js';

/** What a reply's spreadsheet says. */
export interface ReplyWorkbook {
  /** The identity token: verified when a secret was given, else the first token-shaped text. */
  token: string | null;
  /** One row per 序号, in the order found. */
  rows: ReportRow[];
  /** The sheet that held the table. */
  sheetName: string;
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

const HEADER_SCAN_ROWS = 60;
const MAX_DATA_ROWS = 20_000;
const MAX_TOKEN_SCAN_CELLS = 200_000;

// ───────────────────────────── the table ─────────────────────────────

interface Header {
  row: number;
  noCol: number;
  progressCol: number;
  remarkCol: number | null;
}

function findHeader(ws: ExcelJS.Worksheet): Header | null {
  const last = Math.min(ws.rowCount, HEADER_SCAN_ROWS);
  for (let r = 1; r <= last; r++) {
    const row = ws.findRow(r);
    if (!row) continue;
    let noCol = 0;
    let progressCol = 0;
    let remarkCol = 0;
    row.eachCell((cell, col) => {
      if (cell.isMerged && cell.master.address !== cell.address) return; // repeats of a merged header
      const h = normalizeHeader(cellText(cell));
      if (!noCol && (h === '序号' || h === '序' || h === '编号')) noCol = col;
      else if (!progressCol && h.includes('进展')) progressCol = col;
      else if (!remarkCol && h.startsWith('备注')) remarkCol = col;
    });
    if (noCol && progressCol) return { row: r, noCol, progressCol, remarkCol: remarkCol || null };
  }
  return null;
}

/** A cell's own text: a merge slave whose master sits in another column holds nothing itself. */
function ownText(cell: ExcelJS.Cell): { text: string; verticalRepeat: boolean } {
  if (!cell.isMerged || cell.master.address === cell.address) return { text: cellText(cell), verticalRepeat: false };
  if (cell.master.col !== cell.col) return { text: '', verticalRepeat: false };
  return { text: cellText(cell.master), verticalRepeat: true };
}

const isBlank = (s: string) => s.trim() === '';
const joinText = (a: string, b: string) => (isBlank(a) ? b : isBlank(b) || a === b ? a : `${a}\n${b}`);

function readRows(ws: ExcelJS.Worksheet, h: Header): ReportRow[] {
  const byNo = new Map<number, ReportRow>();
  const last = Math.min(ws.rowCount, h.row + MAX_DATA_ROWS);
  for (let r = h.row + 1; r <= last; r++) {
    const row = ws.findRow(r);
    if (!row) continue;
    const noCell = row.getCell(h.noCol);
    const prog = ownText(row.getCell(h.progressCol));
    const rem = h.remarkCol ? ownText(row.getCell(h.remarkCol)) : { text: '', verticalRepeat: false };
    const noIsSlave = noCell.isMerged && noCell.master.address !== noCell.address;
    if (noIsSlave && noCell.master.col === noCell.col) {
      // A task row split into several rows: this is a continuation of the master's row.
      const target = byNo.get(parseSerialNo(cellText(noCell.master)) ?? -1);
      if (!target) continue;
      if (!prog.verticalRepeat) target.progress = joinText(target.progress, isBlank(prog.text) ? '' : prog.text);
      if (!rem.verticalRepeat) target.remark = joinText(target.remark, isBlank(rem.text) ? '' : rem.text);
      continue;
    }
    const noText = cellText(noCell);
    const no = parseSerialNo(noText);
    if (no === null) continue;
    const progress = isBlank(prog.text) ? '' : prog.text;
    const remark = isBlank(rem.text) ? '' : rem.text;
    const seen = byNo.get(no);
    if (!seen) {
      byNo.set(no, { no, progress, remark });
      continue;
    }
    seen.progress = joinText(seen.progress, progress);
    seen.remark = joinText(seen.remark, remark);
  }
  return [...byNo.values()];
}

// ───────────────────────────── the token ─────────────────────────────

function tokenTexts(wb: ExcelJS.Workbook): string[] {
  const texts: string[] = [];
  for (const ws of wb.worksheets) {
    if (ws.name.toLowerCase().startsWith(IDENTITY_SHEET)) texts.push(cellText(ws.getCell('A1')));
  }
  const props = wb as unknown as Record<string, unknown>;
  for (const k of ['keywords', 'subject', 'title', 'description', 'category']) {
    if (typeof props[k] === 'string') texts.push(props[k] as string);
  }
  let budget = MAX_TOKEN_SCAN_CELLS;
  for (const ws of wb.worksheets) {
    ws.eachRow((row) => {
      if (budget <= 0) return;
      row.eachCell((cell) => {
        if (budget-- <= 0) return;
        const t = cell.type === ExcelJS.ValueType.Merge ? '' : cellText(cell);
        if (t.length >= 36) texts.push(t);
      });
    });
  }
  return texts;
}

function findToken(wb: ExcelJS.Workbook, secret: string | undefined): string | null {
  const found: string[] = [];
  for (const text of tokenTexts(wb)) {
    for (const c of findTokenCandidates(text)) {
      if (secret === undefined || verifyCandidate(c, secret)) found.push(c.token);
    }
  }
  return found[0] ?? null;
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
  let best: { ws: ExcelJS.Worksheet; rows: ReportRow[]; filled: number } | null = null;
  for (const ws of wb.worksheets) {
    if (ws.name.toLowerCase().startsWith(IDENTITY_SHEET)) continue;
    const header = findHeader(ws);
    if (!header) continue;
    const rows = readRows(ws, header);
    const filled = rows.filter((r) => !isBlank(r.progress) || !isBlank(r.remark)).length;
    if (!best || filled > best.filled || (filled === best.filled && rows.length > best.rows.length)) {
      best = { ws, rows, filled };
    }
  }
  if (!best) {
    const names = wb.worksheets.map((w) => w.name).join(', ') || '(none)';
    throw new TaizhangError('SHEET_NO_TABLE', `no sheet has a header row with 序号 and 进展情况 (sheets: ${names})`);
  }
  return { token: findToken(wb, opts.secret), rows: best.rows, sheetName: best.ws.name };
}
