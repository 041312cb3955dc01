/**
 * Where a printed table's pages end, as Excel, WPS and LibreOffice lay them out: A4 landscape,
 * scaled to one page wide, the header row repeated. Used to keep a lone row off the last page:
 * when the table would end with one row on a page of its own, the sheet is fitted to one page
 * fewer (the programs shrink it a little), so the table ends cleanly. Pure arithmetic.
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

/** Leave this share of a page unused: the programs' own rounding of heights and scale. */
const SLACK = 0.04;

/** The scale fitting the table to one page wide (never enlarged), rounded down to a percent as Excel does. */
export function fitWidthScale(t: Pick<PagedTable, 'widths' | 'margins'>): number {
  const tablePoints = t.widths.reduce((a, w) => a + w * 7, 0) * 0.75;
  const printable = A4_LANDSCAPE.width - (t.margins.left + t.margins.right) * 72;
  return Math.min(1, Math.floor((100 * printable) / tablePoints) / 100);
}

/** How many data rows each printed page holds (a row never splits; one too tall for a page gets a page of its own). */
export function rowsPerPage(t: PagedTable, scale = fitWidthScale(t)): number[] {
  const page = ((A4_LANDSCAPE.height - (t.margins.top + t.margins.bottom) * 72) / scale) * (1 - SLACK);
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

/**
 * `fitToHeight` for the sheet: 0 (as many pages as it takes) unless the last page would hold a
 * single row of several pages' table; then one page fewer, which the programs reach by shrinking.
 */
export function fitToHeightAvoidingOrphan(t: PagedTable): number {
  const pages = rowsPerPage(t);
  return pages.length > 1 && pages[pages.length - 1] === 1 ? pages.length - 1 : 0;
}
