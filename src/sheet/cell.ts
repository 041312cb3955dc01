/**
 * One cell's value as text, the way a person sees it in the spreadsheet: the one place where
 * exceljs's value kinds (rich text, formulas, hyperlinks, dates, errors …) become text.
 */
import ExcelJS from 'exceljs';


function round15(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  return String(Number(n.toPrecision(15)));
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** Strips quoted literals, escapes and [..] sections: what is left decides the format's kind. */
function formatSkeleton(fmt: string): string {
  return fmt.split(';')[0].replace(/"[^"]*"/g, '').replace(/\\./g, '').replace(/\[[^\]]*\]/g, '').replace(/General/gi, '');
}

/** A number format that shows a date or time. */
export function isDateFormat(fmt: string | undefined): boolean {
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
    .replace(/[(（[【<《][^)）\]】>》]*[)）\]】>》]/g, '')
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

