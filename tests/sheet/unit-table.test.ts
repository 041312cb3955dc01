/**
 * Reading a subordinate unit's own ledger: the blank unit form as the unit fills it, a Word table
 * of its own, and the consolidated workbook a unit running taizhang mails (written here by the
 * same code that writes it, src/sheet/ledger.ts): each gives the unit's tasks exactly as written.
 */
import ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import { writeLedgerWorkbook } from '../../src/sheet/ledger.js';
import { UNIT_FREE_ROWS, writeUnitForm } from '../../src/sheet/unit-form.js';
import { readUnitLedger } from '../../src/sheet/unit-table.js';
import { parseUnitAttachment } from '../../src/parse/unit-attachment.js';
import { fixture } from '../helpers/replies.js';

const FORM = { ledgerTitle: '落实《法治政府建设冲刺方案》工作台账', unitName: '市司法局', periodLabel: '2020年6月', deadlineText: '2020年6月30日' };

async function fill(form: Buffer, rows: string[][], edit?: (ws: ExcelJS.Worksheet) => void): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(form as unknown as ArrayBuffer);
  const ws = wb.worksheets[0];
  rows.forEach((cells, i) => cells.forEach((v, j) => { ws.getRow(4 + i).getCell(2 + j).value = v; }));
  edit?.(ws);
  return Buffer.from(await wb.xlsx.writeBuffer());
}

describe('the unit form', () => {
  it('is blank, numbered, print-ready, and names the unit and the month', async () => {
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(await writeUnitForm(FORM) as unknown as ArrayBuffer);
    const ws = wb.worksheets[0];
    expect(ws.getRow(3).values).toEqual([undefined, '序号', '主要任务', '完成时间', '责任科室', '责任人', '进展情况', '备注']);
    expect(ws.getCell('A2').text).toContain('月份：2020年6月');
    expect(ws.getCell('A2').text).toContain('市司法局');
    expect(ws.getCell(3 + UNIT_FREE_ROWS, 1).value).toBe(UNIT_FREE_ROWS);
    expect(ws.getCell(4, 2).value).toBeNull();
    expect(ws.pageSetup.orientation).toBe('landscape');
    expect(ws.pageSetup.fitToWidth).toBe(1);
    expect(ws.pageSetup.printTitlesRow).toBe('1:3');
  });

  it('filled in, gives the unit\'s tasks as written, blank rows left out, the month from its 月份 line', async () => {
    const filled = await fill(await writeUnitForm(FORM), [
      ['修订行政执法公示办法', '10.31', '法规科', '张三', '已形成初稿,征求意见中', ''],
      ['=开展执法案卷评查', '长期', '执法监督科、法规科', '李四 王五', '已完成第一轮\n第二轮6月底', '按季度'],
    ]);
    const read = await readUnitLedger(filled, '市司法局.xlsx');
    expect(read.period).toBe('2020-06');
    expect(read.taizhang).toBe(false);
    expect(read.tasks).toEqual([
      { no: 1, task: '修订行政执法公示办法', due: '10.31', departments: '法规科', owners: '张三', progress: '已形成初稿,征求意见中', remark: '' },
      { no: 2, task: '=开展执法案卷评查', due: '长期', departments: '执法监督科、法规科', owners: '李四 王五', progress: '已完成第一轮\n第二轮6月底', remark: '按季度' },
    ]);
  });

  it('left blank, gives no task (the unit is asked to fill it in)', async () => {
    const read = await readUnitLedger(await writeUnitForm(FORM), 'blank.xlsx');
    expect(read.tasks).toEqual([]);
  });
});

describe('a child taizhang\'s consolidated workbook', () => {
  it('is recognised by its sheets, its 台账 sheet read (not its own units\' sheet), the month from its 月份 line', async () => {
    const book = await writeLedgerWorkbook({
      title: '市司法局落实法治政府建设工作台账', periodLabel: '2020年6月', generatedAt: '2020年7月1日 9:00',
      rows: [
        { no: 1, task: '修订行政执法公示办法', due: '10.31', departments: ['法规科'], owners: ['张三'], progress: '已形成初稿', remark: '' },
        { no: 2, task: '开展执法案卷评查', due: '长期', departments: ['执法监督科', '法规科'], owners: ['李四', '王五'], progress: '李四：已完成第一轮\n王五：未报送', remark: '' },
      ],
      people: [{ name: '张三', department: '法规科', email: 'z@x.test', statusLabel: '已报送', reportCount: 1 }],
      history: { periods: ['2020年6月'], rows: [] },
      units: [{ name: '某所', email: 'suo@x.test', statusLabel: '已报送', reportCount: 1, tasks: [{ no: 1, task: '孙单位的任务', due: '', departments: '', owners: '', progress: '不应读入', remark: '' }] }],
    });
    const read = await readUnitLedger(book, '2020年6月工作台账汇总.xlsx');
    expect(read.taizhang).toBe(true);
    expect(read.period).toBe('2020-06');
    expect(read.tasks).toEqual([
      { no: 1, task: '修订行政执法公示办法', due: '10.31', departments: '法规科', owners: '张三', progress: '已形成初稿', remark: '' },
      { no: 2, task: '开展执法案卷评查', due: '长期', departments: '执法监督科、法规科', owners: '李四 王五', progress: '李四：已完成第一轮\n王五：未报送', remark: '' },
    ]);
  });
});

describe('the unit\'s own Word or Excel ledger', () => {
  it('the seed\'s own table (.docx and .xlsx) is read as a unit\'s ledger of 17 tasks', async () => {
    for (const name of ['import/seed-ledger.docx', 'import/seed-ledger.xlsx']) {
      const read = await readUnitLedger(fixture(name), name);
      expect(read.tasks).toHaveLength(17);
      expect(read.tasks[0].no).toBe(1);
      expect(read.tasks.every((t) => t.task !== '' && t.owners !== '')).toBe(true);
    }
  });

  it('a file that is no ledger is a clear failure, never a crash', async () => {
    const out = await parseUnitAttachment(Buffer.from('序号,主要任务\n1,x\n'), 'a.csv');
    expect(out.ok).toBe(false);
    const pdf = await parseUnitAttachment(fixture('xlsx/pdf-renamed.xlsx'), 'a.xlsx');
    expect(pdf).toMatchObject({ ok: false });
    const wb = new ExcelJS.Workbook();
    wb.addWorksheet('Sheet1').addRow(['姓名', '电话']);
    const noTable = await parseUnitAttachment(Buffer.from(await wb.xlsx.writeBuffer()), 'list.xlsx');
    expect(noTable).toMatchObject({ ok: false, code: 'SHEET_NO_TABLE' });
  });
});
