/**
 * Reads a returned per-person form (.xlsx/.xlsm) into {@link ReplyWorkbook}: the identity token
 * and the rows (序号 → 进展情况, 备注), from whichever sheet holds the table.
 *
 * Untrusted input: call it inside the parse pool (src/parse-pool.ts), after
 * `checkZipLimits`, never on the main thread for mail from outside.
 *
 * Text policy: cell text is stored exactly as written: no trimming, no Unicode normalisation,
 * newlines/tabs/quotes/emoji and a leading `=`, `+`, `-` or `@` are kept. Surrounding whitespace
 * is ignored only to decide whether a cell is empty (a cell holding only spaces counts as empty
 * and is returned as '').
 */
import ExcelJS from 'exceljs';
import { TaizhangError } from './errors.js';
import type { ReportRow } from './ledger.js';
import { IDENTITY_SHEET, findTokenCandidates, verifyCandidate } from './sheet-identity.js';
import { DEFAULT_ZIP_LIMITS, readZipDirectory, readZipEntry } from './sheet-sniff.js';

/** What a reply's spreadsheet says. */
export interface ReplyWorkbook {
  /** The identity token: verified when a secret was given, else the first token-shaped text. */
  token: string | null;
  /** One row per 序号, in the order found. */
  rows: ReportRow[];
  /** The sheet that held the table. */
  sheetName: string;
  /** Things a person may want to know (in Chinese, fit for a receipt). */
  warnings: string[];
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

// ───────────────────────────── cell values ─────────────────────────────

function round15(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  return String(Number(n.toPrecision(15)));
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** Strips quoted literals, escapes and [..] sections: what is left decides the format's kind. */
function formatSkeleton(fmt: string): string {
  return fmt.split(';')[0].replace(/"[^"]*"/g, '').replace(/\\./g, '').replace(/\[[^\]]*\]/g, '').replace(/General/gi, '');
}

function isDateFormat(fmt: string | undefined): boolean {
  if (!fmt) return false;
  const s = formatSkeleton(fmt).replace(/(s+)\.0+/gi, '$1');
  return /[ydhms]/i.test(s) && !/[0#?]/.test(s);
}

/** Renders a date by a (Chinese-friendly subset of an) Excel number format; null if unsupported. */
function formatDateByFormat(d: Date, fmt: string): string | null {
  const f = fmt.split(';')[0].replace(/\[[^\]]*\]/g, '');
  type Tok = { t: 'lit' | 'y' | 'm' | 'd' | 'h' | 's' | 'ampm'; v: string };
  const toks: Tok[] = [];
  for (let i = 0; i < f.length; ) {
    const c = f[i];
    if (c === '"') {
      const j = f.indexOf('"', i + 1);
      toks.push({ t: 'lit', v: f.slice(i + 1, j < 0 ? f.length : j) });
      i = j < 0 ? f.length : j + 1;
    } else if (c === '\\') {
      toks.push({ t: 'lit', v: f[i + 1] ?? '' });
      i += 2;
    } else if (/^(am\/pm|a\/p)/i.test(f.slice(i))) {
      const len = /^am\/pm/i.test(f.slice(i)) ? 5 : 3;
      toks.push({ t: 'ampm', v: f.slice(i, i + len) });
      i += len;
    } else if (/[ymdhse]/i.test(c)) {
      let j = i;
      while (j < f.length && f[j].toLowerCase() === c.toLowerCase()) j++;
      const t = c.toLowerCase() === 'e' ? 'y' : (c.toLowerCase() as Tok['t']);
      toks.push({ t, v: c.toLowerCase() === 'e' ? 'yyyy' : f.slice(i, j) });
      i = j;
    } else if (c === '_' || c === '*') {
      i += 2;
    } else {
      toks.push({ t: 'lit', v: c });
      i++;
    }
  }
  const twelve = toks.some((t) => t.t === 'ampm');
  const fields = toks.filter((t) => t.t !== 'lit');
  let out = '';
  for (const tok of toks) {
    const n = tok.v.length;
    const k = fields.indexOf(tok);
    const minute = tok.t === 'm' && (fields[k - 1]?.t === 'h' || fields[k + 1]?.t === 's');
    switch (tok.t) {
      case 'lit': out += tok.v; break;
      case 'y': out += n <= 2 ? pad(d.getUTCFullYear() % 100) : String(d.getUTCFullYear()); break;
      case 'm':
        if (minute) out += n >= 2 ? pad(d.getUTCMinutes()) : String(d.getUTCMinutes());
        else if (n <= 2) out += n === 2 ? pad(d.getUTCMonth() + 1) : String(d.getUTCMonth() + 1);
        else return null;
        break;
      case 'd': if (n > 2) return null; out += n === 2 ? pad(d.getUTCDate()) : String(d.getUTCDate()); break;
      case 'h': {
        const h = twelve ? ((d.getUTCHours() + 11) % 12) + 1 : d.getUTCHours();
        out += n >= 2 ? pad(h) : String(h);
        break;
      }
      case 's': out += n >= 2 ? pad(d.getUTCSeconds()) : String(d.getUTCSeconds()); break;
      case 'ampm': out += d.getUTCHours() < 12 ? '上午' : '下午'; break;
    }
  }
  return out;
}

function defaultDateText(d: Date): string {
  if (Number.isNaN(d.getTime())) return '';
  const day = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  const secs = d.getUTCHours() * 3600 + d.getUTCMinutes() * 60 + d.getUTCSeconds();
  if (secs === 0) return day;
  const hm = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
  return `${day} ${d.getUTCSeconds() ? `${hm}:${pad(d.getUTCSeconds())}` : hm}`;
}

/** Built-in formats 14 and 22: shown in the reader's locale, so written here as ISO dates. */
const LOCALE_DATE_FORMATS = new Set(['mm-dd-yy', 'm/d/yy', 'm/d/yy h:mm', 'm/d/yy "h":mm', 'mm-dd-yy h:mm']);

function dateText(d: Date, numFmt?: string): string {
  if (Number.isNaN(d.getTime())) return '';
  if (numFmt && !LOCALE_DATE_FORMATS.has(numFmt.trim().toLowerCase()) && isDateFormat(numFmt)) {
    const s = formatDateByFormat(d, numFmt);
    if (s !== null && s !== '') return s;
  }
  return defaultDateText(d);
}

function numberText(n: number, numFmt?: string): string {
  if (numFmt) {
    const skel = formatSkeleton(numFmt);
    if (skel.includes('%')) {
      const m = /0\.(0+)%/.exec(skel);
      return `${m ? (n * 100).toFixed(m[1].length) : round15(n * 100)}%`;
    }
    if (isDateFormat(numFmt) && n > 0 && n < 2958466) {
      return dateText(new Date(Math.round((n - 25569) * 86400000)), numFmt);
    }
  }
  return round15(n);
}

/**
 * Turns any exceljs cell value into text. The one place where cell values are interpreted:
 * - string: as is; richText: the runs concatenated;
 * - `{formula|sharedFormula, result}`: the cached result (never the formula; none → '');
 * - `{text, hyperlink}`: the text; error objects: their code (`#N/A`);
 * - Date: by its number format where understood, else `YYYY-MM-DD[ HH:MM[:SS]]` (wall clock);
 * - numbers: 15 significant digits like Excel, percent formats as `50%`, date-formatted serials
 *   as dates; booleans: `TRUE`/`FALSE`; null/undefined: ''.
 */
export function normalizeCellValue(value: unknown, numFmt?: string): string {
  if (value === null || value === undefined) return '';
  switch (typeof value) {
    case 'string': return value;
    case 'number': return numberText(value, numFmt);
    case 'boolean': return value ? 'TRUE' : 'FALSE';
    case 'bigint': return String(value);
    case 'object': break;
    default: return '';
  }
  if (value instanceof Date) return dateText(value, numFmt);
  const v = value as Record<string, unknown>;
  if (Array.isArray(v.richText)) {
    return (v.richText as Array<{ text?: unknown }>).map((r) => (typeof r?.text === 'string' ? r.text : '')).join('');
  }
  if ('formula' in v || 'sharedFormula' in v) return 'result' in v ? normalizeCellValue(v.result, numFmt) : '';
  if ('hyperlink' in v || 'text' in v) return normalizeCellValue(v.text, numFmt);
  if (typeof v.error === 'string') return v.error;
  return '';
}

/** The text of a cell (see {@link normalizeCellValue}). */
export function cellText(cell: ExcelJS.Cell): string {
  const fmt = typeof cell.numFmt === 'string' ? cell.numFmt : undefined;
  return normalizeCellValue(cell.value, fmt);
}

/** Header text reduced for matching: NFKC, no whitespace, no bracketed notes, no `*:：`. */
export function normalizeHeader(text: string): string {
  return text
    .normalize('NFKC')
    .replace(/[(（\[【<《][^)）\]】>》]*[)）\]】>》]/g, '')
    .replace(/[\s*:：]/gu, '');
}

/** Parses a 序号: 1, '1', '1.0', '１', ' 1 ' → 1; anything else → null. */
export function parseSerialNo(text: string): number | null {
  const s = text.normalize('NFKC').trim();
  const m = /^(\d{1,6})(?:\.0*)?$/.exec(s);
  if (!m) return null;
  const n = Number(m[1]);
  return n >= 1 ? n : null;
}

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

function readRows(ws: ExcelJS.Worksheet, h: Header, warnings: string[]): ReportRow[] {
  const byNo = new Map<number, ReportRow>();
  const last = Math.min(ws.rowCount, h.row + MAX_DATA_ROWS);
  if (ws.rowCount > last) warnings.push(`工作表“${ws.name}”超过 ${MAX_DATA_ROWS} 行,其余行未读取`);
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
    if (no === null) {
      if (!isBlank(noText) && normalizeHeader(noText) !== '序号' && !isBlank(prog.text) && !prog.verticalRepeat) {
        warnings.push(`第${r}行:序号“${noText.slice(0, 20)}”无法识别,该行已跳过`);
      }
      continue;
    }
    if (prog.verticalRepeat && !isBlank(prog.text)) {
      warnings.push(`第${r}行(序号${no}):进展情况与上一行合并,已沿用合并单元格的内容`);
    }
    const progress = isBlank(prog.text) ? '' : prog.text;
    const remark = isBlank(rem.text) ? '' : rem.text;
    const seen = byNo.get(no);
    if (!seen) {
      byNo.set(no, { no, progress, remark });
      continue;
    }
    if (!isBlank(progress) && !isBlank(seen.progress) && progress !== seen.progress) {
      warnings.push(`序号${no}出现多次,内容已合并`);
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

function findToken(wb: ExcelJS.Workbook, secret: string | undefined, warnings: string[]): string | null {
  const found: string[] = [];
  for (const text of tokenTexts(wb)) {
    for (const c of findTokenCandidates(text)) {
      if (secret === undefined || verifyCandidate(c, secret)) found.push(c.token);
    }
  }
  const distinct = [...new Set(found)];
  if (distinct.length > 1) warnings.push(`文件中有 ${distinct.length} 个不同的表单编号,采用 ${distinct[0]}`);
  return distinct[0] ?? null;
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

/**
 * Refuses workbooks whose merged ranges or defined names cover more than `maxCells` cells
 * before exceljs expands them (a merge of A1:Z100000 costs exceljs 3.4 s and 751 MB).
 * Reads the zip itself; a zip it cannot read is left for exceljs to reject.
 * @throws TaizhangError SHEET_TOO_LARGE
 */
export function guardExpansion(buf: Buffer, maxCells = MAX_EXPANDED_CELLS): void {
  let entries;
  try {
    entries = readZipDirectory(buf, 10_000);
  } catch {
    return;
  }
  let cells = 0;
  for (const e of entries) {
    const name = e.name.replace(/^\//, '').toLowerCase();
    const sheet = /^xl\/worksheets\/[^/]+\.xml$/.test(name);
    if (!sheet && name !== 'xl/workbook.xml') continue;
    let xml: string;
    try {
      xml = readZipEntry(buf, e, DEFAULT_ZIP_LIMITS.maxEntryBytes).toString('utf8');
    } catch (err) {
      if (err instanceof TaizhangError && err.code === 'SHEET_TOO_LARGE') throw err;
      continue;
    }
    const re = sheet ? /<(?:\w+:)?mergeCell\b[^>]*?\bref\s*=\s*"([^"]*)"/g : /<(?:\w+:)?definedName\b[^>]*>([^<]*)</g;
    for (const m of xml.matchAll(re)) {
      cells += rangeCells(m[1]);
      if (cells > maxCells) {
        throw new TaizhangError('SHEET_TOO_LARGE', `merged cells or defined names cover more than ${maxCells} cells (${sheet ? 'merge' : 'defined name'} ${m[1].slice(0, 40)})`);
      }
    }
  }
}

// ───────────────────────────── entry point ─────────────────────────────

/**
 * Loads a reply's workbook with exceljs `load()` and finds the token and the table.
 * The table may be on any sheet (the one with the most filled rows wins); its header row is the
 * first of the top 60 rows with a 序号 cell and a 进展情况 cell (备注 optional; spaces, full-width
 * forms, bracketed notes and inserted columns are tolerated).
 * Parts that only matter for display (data validations, conditional formats, drawings…) are not
 * parsed, and merges/defined names covering too many cells are refused first ({@link guardExpansion}).
 * @throws TaizhangError SHEET_CORRUPT when exceljs cannot read the file, SHEET_TOO_LARGE when
 *   merges are too wide or it runs out of string space, SHEET_NO_TABLE when no sheet has the
 *   header row.
 */
export async function readReplyWorkbook(buf: Buffer, opts: ReadOptions = {}): Promise<ReplyWorkbook> {
  guardExpansion(buf);
  const wb = new ExcelJS.Workbook();
  try {
    await wb.xlsx.load(buf as unknown as ArrayBuffer, { ignoreNodes: IGNORED_NODES } as Partial<ExcelJS.XlsxReadOptions>);
  } catch (err) {
    const msg = (err as Error)?.message ?? String(err);
    if (err instanceof RangeError || /Invalid string length|Array buffer allocation/i.test(msg)) {
      throw new TaizhangError('SHEET_TOO_LARGE', `workbook too large to read: ${msg}`, { cause: err });
    }
    throw new TaizhangError('SHEET_CORRUPT', `cannot read workbook: ${msg}`, { cause: err });
  }
  const warnings: string[] = [];
  let best: { ws: ExcelJS.Worksheet; rows: ReportRow[]; filled: number; warnings: string[] } | null = null;
  let tables = 0;
  for (const ws of wb.worksheets) {
    if (ws.name.toLowerCase().startsWith(IDENTITY_SHEET)) continue;
    const header = findHeader(ws);
    if (!header) continue;
    tables++;
    const w: string[] = [];
    const rows = readRows(ws, header, w);
    const filled = rows.filter((r) => !isBlank(r.progress) || !isBlank(r.remark)).length;
    if (!best || filled > best.filled || (filled === best.filled && rows.length > best.rows.length)) {
      best = { ws, rows, filled, warnings: w };
    }
  }
  if (!best) {
    const names = wb.worksheets.map((w) => w.name).join(', ') || '(none)';
    throw new TaizhangError('SHEET_NO_TABLE', `no sheet has a header row with 序号 and 进展情况 (sheets: ${names})`);
  }
  warnings.push(...best.warnings);
  if (tables > 1) warnings.push(`有 ${tables} 个工作表含台账表格,采用填写最多的“${best.ws.name}”`);
  const token = findToken(wb, opts.secret, warnings);
  return { token, rows: best.rows, sheetName: best.ws.name, warnings };
}
