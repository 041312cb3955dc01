/**
 * Where a printed table's pages end, as Excel, WPS and LibreOffice lay them out: A4 landscape,
 * scaled to one page wide, the header row repeated. Used to keep a lone row off the last page:
 * when the table would end with one row on a page of its own, every row is made a little taller
 * until the row before it moves over too. Neither "fit to N pages tall" (LibreOffice 7.4 then
 * leaves the rows that do not fit off the page) nor manual page breaks (Excel ignores them in
 * "fit to" mode) do that reliably. Pure arithmetic.
 */

/** A4 landscape in points. */
export const A4_LANDSCAPE = { width: 841.89, height: 595.28 } as const;

/** Page margins in inches, as exceljs takes them. */
export interface Margins { left: number; right: number; top: number; bottom: number }

/** What the paging needs to know of a sheet. */
export interface PagedTable {
  /** Column widths in characters (exceljs `width`): 7 px each in the default font. */
  widths: readonly number[];
  /** Heights (points) of the rows above the table's data on the first page, header included. */
  top: readonly number[];
  /** Height (points) of the header row repeated on every later page. */
  repeated: number;
  /** Heights (points) of the data rows, in order. */
  rows: readonly number[];
  margins: Margins;
}

/**
 * How far the programs' page may differ from ours: their scale, fonts and rounding of heights
 * differ a little (LibreOffice fits a row or two more than Excel's nominal page), so a table is
 * paged for each of these page sizes, and a lone last row on any of them counts.
 */
const PAGE_FACTORS = [0.94, 0.96, 0.98, 1, 1.02, 1.04, 1.06];

/** The scale fitting the table to one page wide (never enlarged), rounded down to a percent as Excel does. */
export function fitWidthScale(t: Pick<PagedTable, 'widths' | 'margins'>): number {
  const tablePoints = t.widths.reduce((a, w) => a + w * 7, 0) * 0.75;
  const printable = A4_LANDSCAPE.width - (t.margins.left + t.margins.right) * 72;
  return Math.min(1, Math.floor((100 * printable) / tablePoints) / 100);
}

/**
 * How many data rows each printed page holds (a row never splits; one too tall for a page gets a
 * page of its own), for a page `factor` times the nominal one.
 */
export function rowsPerPage(t: PagedTable, factor = 1, scale = fitWidthScale(t)): number[] {
  const page = ((A4_LANDSCAPE.height - (t.margins.top + t.margins.bottom) * 72) / scale) * factor;
  const pages: number[] = [];
  let used = t.top.reduce((a, h) => a + h, 0);
  let count = 0;
  for (const h of t.rows) {
    if (count > 0 && used + h > page) {
      pages.push(count);
      used = t.repeated;
      count = 0;
    }
    used += h;
    count++;
  }
  if (count > 0 || pages.length === 0) pages.push(count);
  return pages;
}

const lone = (pages: number[]) => pages.length > 1 && pages[pages.length - 1] === 1;

/**
 * Points to add to every data row so that, at each page size the programs may use, the table
 * does not end with one row alone on its last page: 0 when it does not anyway, or when no
 * padding helps (up to half the tallest row, or 24 points: rows are never made much taller).
 */
export function paddingAvoidingOrphan(t: PagedTable): number {
  const most = Math.max(24, Math.ceil(Math.max(0, ...t.rows) / 2));
  for (let pad = 0; pad <= most; pad++) {
    const rows = t.rows.map((h) => Math.min(409, h + pad));
    if (!PAGE_FACTORS.some((f) => lone(rowsPerPage({ ...t, rows }, f)))) return pad;
  }
  return 0;
}
