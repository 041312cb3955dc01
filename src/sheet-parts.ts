/**
 * The parts of a returned workbook that reading its values needs. exceljs `load()` parses every
 * part it is given (theme, app properties, drawings, comments, every font and border of the
 * styles), and for a small form that is most of its work: a reply is read from these parts alone.
 */
import type { ZipFile } from './zip.js';

/**
 * What exceljs reads the values, merges, sheet names and document properties from. Worksheet
 * relationships go too: they only point at comments, drawings and hyperlinks, which are not read
 * (and a relationship to a missing comments part makes exceljs throw).
 */
const VALUE_PARTS = /^\/?(?:xl\/workbook\.xml|xl\/_rels\/workbook\.xml\.rels|xl\/worksheets\/sheet\d+\.xml|xl\/sharedStrings\.xml|docProps\/core\.xml)$/;
const STYLES_PART = /^\/?xl\/styles\.xml$/;

const SPREADSHEETML = 'http://schemas.openxmlformats.org/spreadsheetml/2006/main';

/**
 * A styles part with only what turns a cell's number into its text: the number formats, and
 * each cell format (`cellXfs`, in order, as cells refer to them by index) reduced to its
 * `numFmtId`. Fonts, fills, borders, alignment and the rest are dropped. Returns null when the
 * part is not written the plain way (e.g. with a namespace prefix), to be passed on unchanged.
 */
export function valueStyles(xml: string): string | null {
  const cellXfs = /<cellXfs\b[^>]*?(?:\/>|>([\s\S]*?)<\/cellXfs>)/.exec(xml);
  if (!cellXfs || !/<styleSheet\b/.test(xml)) return null;
  const numFmts = /<numFmts\b[^>]*?(?:\/>|>[\s\S]*?<\/numFmts>)/.exec(xml)?.[0] ?? '';
  const xfs: string[] = [];
  for (const m of (cellXfs[1] ?? '').matchAll(/<xf\b([^>]*?)\/?>/g)) {
    const id = /\bnumFmtId\s*=\s*["'](\d+)["']/.exec(m[1])?.[1];
    xfs.push(id ? `<xf numFmtId="${id}"/>` : '<xf/>');
  }
  return `<styleSheet xmlns="${SPREADSHEETML}">${numFmts}<cellXfs count="${xfs.length}">${xfs.join('')}</cellXfs></styleSheet>`;
}

/** Whether a workbook's part (by its name in the zip) is one that {@link valueParts} keeps. */
export function isValuePart(name: string): boolean {
  return VALUE_PARTS.test(name) || STYLES_PART.test(name);
}

/** The files of a workbook that {@link readReplyWorkbook} needs exceljs to parse, styles slimmed. */
export function valueParts(files: readonly ZipFile[]): ZipFile[] {
  const out: ZipFile[] = [];
  for (const f of files) {
    if (VALUE_PARTS.test(f.name)) out.push(f);
    else if (STYLES_PART.test(f.name)) {
      const slim = valueStyles(f.data.toString('utf8'));
      out.push(slim === null ? f : { name: f.name, data: Buffer.from(slim, 'utf8') });
    }
  }
  return out;
}
