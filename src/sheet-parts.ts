/**
 * The parts of a returned workbook that reading its values needs, and loading them. exceljs
 * `load()` parses every part it is given (theme, app properties, drawings, comments, every font
 * and border of the styles), and for a small form that is most of its work: a reply is read from
 * these parts alone, with the part readers `load()` itself uses.
 */
import { createRequire } from 'node:module';
import type ExcelJS from 'exceljs';
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

/** A part of a workbook as text: its name in the zip and its XML. */
export interface XmlPart { name: string; xml: string }

interface PartReader { parseStream(chunks: Iterable<string>): Promise<any> }
type PartReaderClass = new (options?: object) => PartReader;

// exceljs's readers of each kind of part, as its `load()` (lib/xlsx/xlsx.js) uses them.
const require = createRequire(import.meta.url);
const reader = (p: string) => require(`exceljs/lib/xlsx/xform/${p}.js`) as PartReaderClass;
const WorkbookXform = reader('book/workbook-xform');
const RelationshipsXform = reader('core/relationships-xform');
const SharedStringsXform = reader('strings/shared-strings-xform');
const StylesXform = reader('style/styles-xform');
const CoreXform = reader('core/core-xform');
const WorksheetXform = reader('sheet/worksheet-xform');
const WORKSHEET = /^xl\/worksheets\/sheet(\d+)\.xml$/;

/**
 * Loads `wb` from value parts (see {@link valueParts}) as exceljs `load()` would from a zip of
 * them: the same part readers, the same model, then its `reconcile`. What this spares is
 * exceljs's zip layer (JSZip and a stream per part): 40 % of the time to load a small form,
 * when the parts are already inflated. Throws what the part readers throw on bad XML.
 */
export async function loadValueParts(wb: ExcelJS.Workbook, parts: readonly XmlPart[], options: { ignoreNodes: string[] }): Promise<void> {
  const model: Record<string, any> = {
    worksheets: [], worksheetHash: {}, worksheetRels: [], themes: {}, media: [], mediaIndex: {},
    drawings: {}, drawingRels: {}, comments: {}, tables: {}, vmlDrawings: {},
  };
  for (const { name, xml } of parts) {
    const part = name.replace(/^\//, '');
    const chunks = [xml];
    if (part === 'xl/workbook.xml') {
      const { sheets, definedNames, views, properties, calcProperties } = await new WorkbookXform().parseStream(chunks);
      Object.assign(model, { sheets, definedNames, views, properties, calcProperties });
    } else if (part === 'xl/_rels/workbook.xml.rels') {
      model.workbookRels = await new RelationshipsXform().parseStream(chunks);
    } else if (part === 'xl/sharedStrings.xml') {
      model.sharedStrings = new SharedStringsXform();
      await model.sharedStrings.parseStream(chunks);
    } else if (part === 'xl/styles.xml') {
      model.styles = new StylesXform();
      await model.styles.parseStream(chunks);
    } else if (part === 'docProps/core.xml') {
      Object.assign(model, await new CoreXform().parseStream(chunks));
    } else {
      const sheetNo = WORKSHEET.exec(part)?.[1];
      if (sheetNo === undefined) continue;
      const worksheet = await new WorksheetXform(options).parseStream(chunks);
      worksheet.sheetNo = sheetNo;
      model.worksheetHash[part] = worksheet;
      model.worksheets.push(worksheet);
    }
  }
  const xlsx = wb.xlsx as unknown as { reconcile(model: object, options: object): void };
  xlsx.reconcile(model, options);
  (wb as unknown as { model: object }).model = model;
}
