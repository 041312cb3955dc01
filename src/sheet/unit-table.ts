/**
 * Reads a subordinate unit's own ledger from its reply: the blank unit form filled in, the
 * unit's own Word or Excel ledger table, or the consolidated workbook a unit running taizhang
 * mails as its office (its 台账 sheet). The table is found as `taizhang import` finds it
 * (import-table.ts: 序号, 主要任务, 责任人 headers, merged cells, rows broken over pages), with its
 * 进展情况 column. Untrusted input: called in the parse worker (parse/unit-attachment.ts).
 */
import { TaizhangError } from '../errors.js';
import { periodFromText, unitTasksFrom, type UnitLedgerRead } from '../core/units.js';
import { loadLedgerWorkbook, readLedgerFile, readLedgerGrids, type LedgerTable } from './import-table.js';
import { excelGrid } from './read.js';
import { sniffSpreadsheet } from './sniff.js';
import type { SheetGrid } from './table.js';
import { checkZipLimits, type ZipLimits } from './zip.js';

/** The consolidated workbook's sheets (sheet/ledger.ts): what tells a taizhang ledger from any other. */
const TAIZHANG_SHEETS = ['台账', '填报情况'];
/** Rows above the header searched for the period (`月份：2020年6月`, or a title naming it). */
const PERIOD_ROWS = 6;

/** The period named in the sheet's first rows, above the table: a 月份 line first, else any text. */
function periodOfGrid(g: SheetGrid): string | null {
  const texts: string[] = [];
  for (let r = 1; r <= Math.min(g.rowCount, PERIOD_ROWS); r++) {
    for (const c of g.columns(r)) if (!g.master(r, c)) texts.push(g.text(r, c));
  }
  const month = texts.find((t) => /月份\s*[:：]/.test(t));
  const named = month ? periodFromText(month.slice(month.search(/月份\s*[:：]/))) : null;
  return named ?? texts.map(periodFromText).find((p) => p !== null) ?? null;
}

function fromTable(table: LedgerTable, taizhang: boolean, period: string | null): UnitLedgerRead {
  return { tasks: unitTasksFrom(table.tasks), taizhang, period: period ?? (table.title ? periodFromText(table.title) : null) };
}

async function readXlsxUnit(buf: Buffer, limits?: Partial<ZipLimits>): Promise<UnitLedgerRead> {
  const wb = await loadLedgerWorkbook(buf, limits);
  const names = wb.worksheets.map((w) => w.name);
  const taizhang = TAIZHANG_SHEETS.every((n) => names.includes(n));
  // A taizhang workbook's own tasks are on 台账 (its 局属单位 sheet holds its units' tasks, not its own).
  const sheets = taizhang ? wb.worksheets.filter((w) => w.name === TAIZHANG_SHEETS[0]) : wb.worksheets;
  let firstError: unknown;
  for (const ws of sheets) {
    const grid = excelGrid(ws);
    try {
      return fromTable(readLedgerGrids([grid]), taizhang, periodOfGrid(grid));
    } catch (err) {
      firstError ??= err;
    }
  }
  throw firstError ?? new TaizhangError('SHEET_NO_TABLE', 'the workbook has no sheet');
}

/**
 * A unit's ledger from a .xlsx or .docx (told by its bytes).
 * @throws TaizhangError SHEET_NO_TABLE, SHEET_UNSUPPORTED, SHEET_ENCRYPTED, SHEET_CORRUPT, SHEET_TOO_LARGE
 */
export async function readUnitLedger(buf: Buffer, filename: string, limits?: Partial<ZipLimits>): Promise<UnitLedgerRead> {
  const kind = sniffSpreadsheet(buf, filename).kind;
  if (kind === 'xlsx' || kind === 'xlsm') return readXlsxUnit(buf, limits);
  if (kind === 'docx') {
    checkZipLimits(buf, limits);
    return fromTable(await readLedgerFile(buf, filename), false, null);
  }
  await readLedgerFile(buf, filename); // throws what this kind of file is, and what to do
  throw new TaizhangError('SHEET_UNSUPPORTED', `${filename} is neither a Word .docx nor an Excel .xlsx file`);
}
