/**
 * Reads a Word reply (.docx, from Word, WPS or LibreOffice) holding the form's table: every table
 * of the document body becomes a {@link SheetGrid}, and table.ts finds the header (序号, 进展情况,
 * 备注) and the rows exactly as for a spreadsheet.
 *
 * A small walk over `word/document.xml` (htmlparser2 in XML mode: no DTD, no entity expansion
 * beyond XML's own), rather than a converter to HTML: what a cell holds is kept exactly. A cell's
 * paragraphs are joined with newlines; tabs and line breaks are kept; tracked deletions, field
 * codes, drawings and text boxes are not the cell's words; of an `mc:AlternateContent` only the
 * first choice is read (WPS writes some without a fallback). Merged cells (`gridSpan`, `vMerge`)
 * become merges, as in a spreadsheet.
 *
 * A .docx has no hidden sheet: a token, if any, is in the document properties (core or custom)
 * or in a long cell. Untrusted input: call it inside the parse pool, after `checkZipLimits`.
 */
import type { Parser as XmlParser } from 'htmlparser2';
import { TaizhangError } from '../errors.js';
import { MAX_EXPANDED_CELLS, type ReadOptions, type ReplyWorkbook } from './read.js';
import { findToken, pickTable, tokenTexts, type SheetGrid } from './table.js';
import { DEFAULT_ZIP_LIMITS, readZipDirectory, readZipEntry, type ZipEntryInfo } from './zip.js';

/** Subtrees whose text is not the cell's own words. */
const SKIPPED = new Set(['del', 'moveFrom', 'delText', 'instrText', 'drawing', 'pict', 'object', 'txbxContent', 'fldData']);

export interface Cell { text: string; paragraphs: number; span: number; vMerge: 'restart' | 'continue' | null }
interface Table { rows: Cell[][]; row: Cell[] | null; cell: Cell | null; gridBefore: number }

type ParserClass = typeof XmlParser;
let Parser: ParserClass | undefined;
/** htmlparser2, loaded on the first Word reply: most workers never read one, and start sooner without it. */
async function loadParser(): Promise<ParserClass> {
  return (Parser ??= (await import('htmlparser2')).Parser);
}

const local = (name: string) => name.slice(name.indexOf(':') + 1);
const attr = (a: Record<string, string>, name: string) => a[`w:${name}`] ?? Object.entries(a).find(([k]) => local(k) === name)?.[1];

/** The tables of a document.xml, nested ones each on their own. */
export function documentTables(xml: string, P: ParserClass): Cell[][][] {
  const done: Cell[][][] = [];
  const stack: Table[] = [];
  let skip = 0;
  const alt: { taken: boolean }[] = [];
  let inText = false;
  const top = () => stack[stack.length - 1];
  const add = (s: string) => { const c = top()?.cell; if (c && !skip) c.text += s; };
  const parser = new P({
    onopentag(name, a) {
      const n = local(name);
      if (n === 'AlternateContent') alt.push({ taken: false });
      if (skip || SKIPPED.has(n)) { skip++; return; }
      if ((n === 'Choice' || n === 'Fallback') && alt.length) {
        const state = alt[alt.length - 1];
        if (state.taken) { skip++; return; }
        state.taken = true;
      }
      const t = top();
      switch (n) {
        case 'tbl': stack.push({ rows: [], row: null, cell: null, gridBefore: 0 }); break;
        case 'tr': if (t) { t.row = []; t.gridBefore = 0; } break;
        case 'gridBefore': if (t?.row && !t.cell) t.gridBefore = Number(attr(a, 'val')) || 0; break;
        case 'tc': if (t?.row) t.cell = { text: '', paragraphs: 0, span: 1, vMerge: null }; break;
        case 'gridSpan': if (t?.cell) t.cell.span = Math.max(1, Math.min(Number(attr(a, 'val')) || 1, 1000)); break;
        case 'vMerge': if (t?.cell) t.cell.vMerge = attr(a, 'val') === 'restart' ? 'restart' : 'continue'; break;
        case 'p': if (t?.cell && t.cell.paragraphs++ > 0) add('\n'); break;
        case 'tab': add('\t'); break;
        case 'br': case 'cr': add('\n'); break;
        case 'noBreakHyphen': add('-'); break;
      }
      inText = n === 't' && !skip;
    },
    ontext(text) { if (inText) add(text); },
    onclosetag(name) {
      const n = local(name);
      if (n === 't') inText = false;
      if (skip) {
        skip--;
        if (n === 'AlternateContent') alt.pop();
        return;
      }
      if (n === 'AlternateContent') alt.pop();
      const t = top();
      if (n === 'tc' && t?.row && t.cell) {
        if (t.row.length === 0 && t.gridBefore) t.row.push({ text: '', paragraphs: 0, span: t.gridBefore, vMerge: null });
        t.row.push(t.cell);
        t.cell = null;
      } else if (n === 'tr' && t?.row) {
        t.rows.push(t.row);
        t.row = null;
      } else if (n === 'tbl' && t) {
        done.push(stack.pop()!.rows);
      }
    },
  }, { xmlMode: true, decodeEntities: true });
  parser.write(xml);
  parser.end();
  return done;
}

/** A Word table as a {@link SheetGrid}: spans and vertical merges become merges. */
export function tableGrid(name: string, rows: Cell[][], budget: { cells: number }): SheetGrid {
  const texts = new Map<string, string>();
  const masters = new Map<string, { row: number; col: number }>();
  const cols = new Map<number, number[]>();
  const open = new Map<number, { row: number; col: number }>(); // grid column → master of a vertical merge going on
  rows.forEach((cells, i) => {
    const r = i + 1;
    let c = 1;
    const here: number[] = [];
    for (const cell of cells) {
      budget.cells -= cell.span;
      if (budget.cells < 0) throw new TaizhangError('SHEET_TOO_LARGE', `the document's tables have more than ${MAX_EXPANDED_CELLS} cells`);
      const above = cell.vMerge === 'continue' ? open.get(c) : undefined;
      const master = above ?? { row: r, col: c };
      if (!above) texts.set(`${r},${c}`, cell.text);
      for (let k = 0; k < cell.span; k++) {
        if (above || k > 0) masters.set(`${r},${c + k}`, master);
        if (cell.vMerge === 'restart') open.set(c + k, master);
        else if (!above) open.delete(c + k);
        here.push(c + k);
      }
      c += cell.span;
    }
    cols.set(r, here);
  });
  return {
    name,
    rowCount: rows.length,
    columns: (r) => cols.get(r) ?? [],
    text(r, c) {
      const m = masters.get(`${r},${c}`);
      return (m ? texts.get(`${m.row},${m.col}`) : texts.get(`${r},${c}`)) ?? '';
    },
    master: (r, c) => masters.get(`${r},${c}`) ?? null,
  };
}

/** Values of the core and custom document properties (where a form's identity may be). */
function propertyTexts(xml: string | null, P: ParserClass): string[] {
  if (!xml) return [];
  const out: string[] = [];
  let depth = 0;
  let text = '';
  const parser = new P({
    onopentag() { depth++; text = ''; },
    ontext(t) { if (depth >= 2) text += t; },
    onclosetag() { depth--; if (text) out.push(text); text = ''; },
  }, { xmlMode: true, decodeEntities: true });
  parser.write(xml);
  parser.end();
  return out;
}

export function entryText(buf: Buffer, entries: ZipEntryInfo[], name: string): string | null {
  const e = entries.find((x) => x.name.replace(/^\//, '').toLowerCase() === name.toLowerCase());
  return e ? readZipEntry(buf, e, DEFAULT_ZIP_LIMITS.maxEntryBytes).toString('utf8') : null;
}

/** The main document part: as [Content_Types].xml names it, else word/document.xml. */
export function mainPart(buf: Buffer, entries: ZipEntryInfo[]): string {
  const ct = entryText(buf, entries, '[Content_Types].xml') ?? '';
  for (const m of ct.matchAll(/<(?:\w+:)?Override\b[^>]*>/g)) {
    const part = /PartName\s*=\s*"([^"]*)"/.exec(m[0])?.[1];
    const type = /ContentType\s*=\s*"([^"]*)"/.exec(m[0])?.[1] ?? '';
    if (part && /wordprocessingml\.(document|template)\.main\+xml|ms-word\.(document|template)\.macroenabled\.main\+xml/i.test(type)) return part.replace(/^\//, '');
  }
  return 'word/document.xml';
}

/**
 * Reads a .docx reply: the table with the most filled rows among the document's tables, and
 * the token from the document properties or the cells.
 * @throws TaizhangError SHEET_CORRUPT (not a readable document), SHEET_TOO_LARGE (tables too
 *   large), SHEET_NO_TABLE (no table with 序号 and 进展情况).
 */
export async function readDocxReply(input: Buffer, opts: ReadOptions = {}): Promise<ReplyWorkbook> {
  const P = await loadParser();
  const entries = readZipDirectory(input);
  const xml = entryText(input, entries, mainPart(input, entries));
  if (xml === null) throw new TaizhangError('SHEET_CORRUPT', 'Word document without its main part (word/document.xml)');
  const budget = { cells: MAX_EXPANDED_CELLS };
  const grids = documentTables(xml, P).map((rows, i) => tableGrid(`表格${i + 1}`, rows, budget));
  const table = pickTable(grids);
  if (!table) throw new TaizhangError('SHEET_NO_TABLE', `no table with 序号 and 进展情况 in the document (${grids.length} table(s))`);
  const props = [...propertyTexts(entryText(input, entries, 'docProps/core.xml'), P), ...propertyTexts(entryText(input, entries, 'docProps/custom.xml'), P)];
  return { token: findToken(tokenTexts(grids, props), opts.secret), ...table };
}
