/**
 * The blank form a subordinate unit (局属单位) fills with its own ledger each period: the ledger's
 * columns, free numbered rows, print-ready like the 台账 sheet (A4 landscape, one page wide, the
 * header repeated on every page). Nothing is locked: the unit writes as many tasks as it has and
 * may insert rows. Read back by sheet/unit-table.ts (the 月份 line names the period).
 */
import ExcelJS from 'exceljs';
import { BODY_FONT, rowHeightFor, sheetText, styleTableRow, writeBanner } from './template.js';
import { xmlSafe } from './xml-text.js';

/** The unit form's columns, in the order the roll-up asks for them. */
export const UNIT_COLUMNS = ['序号', '主要任务', '完成时间', '责任科室', '责任人', '进展情况', '备注'] as const;
export const UNIT_WIDTHS = [6, 32, 11, 14, 11, 44, 16] as const;
/** Numbered free rows of a blank form (more may be inserted). */
export const UNIT_FREE_ROWS = 20;

export interface UnitFormInput {
  ledgerTitle: string;
  unitName: string;
  /** `2020年6月` */
  periodLabel: string;
  /** `2020年6月30日` */
  deadlineText: string;
}

const hf = (s: string) => xmlSafe(s).replace(/&/g, '&&');

/** @returns the .xlsx file */
export async function writeUnitForm(input: UnitFormInput): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  wb.creator = 'taizhang';
  wb.title = xmlSafe(`${input.unitName}工作台账`);
  const cols = UNIT_COLUMNS.length;
  const ws = wb.addWorksheet('局属单位台账', {
    pageSetup: {
      paperSize: 9, orientation: 'landscape', fitToPage: true, fitToWidth: 1, fitToHeight: 0, horizontalCentered: true,
      margins: { left: 0.5, right: 0.5, top: 0.7, bottom: 0.6, header: 0.3, footer: 0.3 },
    },
    views: [{ state: 'frozen', xSplit: 0, ySplit: 3, topLeftCell: 'A4', activeCell: 'B4' }],
  });
  ws.columns = UNIT_WIDTHS.map((width) => ({ width }));
  writeBanner(ws, 1, cols, `${input.unitName}落实“${input.ledgerTitle}”工作台账`, { ...BODY_FONT, size: 16, bold: true }, { center: true, height: 40 });
  writeBanner(ws, 2, cols, `填报单位：${input.unitName}　　月份：${input.periodLabel}　　截止时间：${input.deadlineText}`, { ...BODY_FONT }, { height: 22 });
  const header = ws.getRow(3);
  UNIT_COLUMNS.forEach((n, i) => { header.getCell(i + 1).value = n; });
  styleTableRow(header, cols, { header: true });
  header.height = 24;
  for (let i = 0; i < UNIT_FREE_ROWS; i++) {
    const row = ws.getRow(4 + i);
    row.getCell(1).value = i + 1;
    styleTableRow(row, cols);
    row.getCell(1).alignment = { vertical: 'middle', horizontal: 'center' };
    row.getCell(3).alignment = { vertical: 'middle', horizontal: 'center', wrapText: true };
    row.height = rowHeightFor([['', UNIT_WIDTHS[1]]], 36);
  }
  const last = 3 + UNIT_FREE_ROWS;
  writeBanner(ws, last + 2, cols, sheetText('说明：1.请逐行填写本单位的任务及本月进展情况，行数不够可插入行，多余的空行无需删除。2.填写后保存，直接回复通知邮件并附上本表格；也可附上本单位台账的Word或Excel文件（需有“序号”“主要任务”“责任人”“进展情况”表头）。3.同一月份多次报送的，以最后一次为准。'), { ...BODY_FONT, size: 10 }, { height: 44 });
  ws.pageSetup.printArea = `A1:G${last + 2}`;
  ws.pageSetup.printTitlesRow = '1:3';
  ws.headerFooter = { oddHeader: `&L${hf(input.unitName)}&R${hf(input.periodLabel)}`, oddFooter: '&C第 &P 页，共 &N 页' };
  return Buffer.from(await wb.xlsx.writeBuffer());
}
