import ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import { readZipDirectory, readZipEntry } from '../../src/sheet/zip.js';
import { LEDGER_SHEETS, writeLedgerWorkbook, type LedgerWorkbookInput } from '../../src/sheet/ledger.js';

const input: LedgerWorkbookInput = {
  title: '落实《濮阳市人民政府2020年法治政府建设冲刺方案》工作台账',
  periodLabel: '2020年6月',
  generatedAt: '2020年7月1日 9:00 & 更新',
  maker: '濮阳市科学技术局办公室',
  rows: [
    { no: 2, task: '提高政府立法公众参与度', due: '10.31', departments: '政法科', owners: '艾延坤', progress: '=HYPERLINK("http://evil")', remark: '' },
    { no: 1, task: '完善政府立法程序', due: '10.31', departments: ['办公室', '机关总支'], owners: ['王群才', '马红霞'], progress: '王群才:完成\n马红霞:进行中 😀', remark: '+1' },
  ],
  people: [
    { name: '艾延坤', department: '政法科', email: 'ai@example.com', statusLabel: '已报送', reportedAt: '2020年6月28日 10:00', reportCount: 2 },
    { name: '王群才', department: '办公室', email: 'wang@example.com', statusLabel: '未报送', reportCount: 0 },
    { name: '马红霞', department: '机关总支', email: 'ma@example.com', statusLabel: '逾期报送', reportedAt: '2020-07-02', sentBy: '王群才', reportCount: 1 },
  ],
  history: {
    periods: ['2020年5月', '2020年6月'],
    rows: [
      { no: 1, task: '完善政府立法程序', cells: ['完成', '完成'], unchanged: true },
      { no: 2, task: '提高政府立法公众参与度', cells: ['', '@开始'], unchanged: false },
    ],
  },
};

async function build() {
  const buf = await writeLedgerWorkbook(input);
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(buf as unknown as ArrayBuffer);
  return { buf, wb };
}

describe('writeLedgerWorkbook', () => {
  it('writes 台账 like the seed, sorted, with print settings', async () => {
    const { wb } = await build();
    expect(wb.worksheets.map((w) => w.name)).toEqual([...LEDGER_SHEETS]);
    const ws = wb.getWorksheet('台账')!;
    expect(ws.getCell('A1').value).toBe(input.title);
    expect(ws.getCell('G1').master.address).toBe('A1');
    expect(ws.getCell('A2').value).toBe('制表单位：濮阳市科学技术局办公室　　月份：2020年6月　　制表日期：2020年7月1日 9:00 & 更新');
    expect(ws.getRow(3).values).toEqual([undefined, '序号', '主要任务', '完成时间', '进展情况', '责任科室', '责任人', '备注']);
    expect(ws.getRow(4).values).toEqual([undefined, 1, '完善政府立法程序', '10.31', '王群才:完成\n马红霞:进行中 😀', '办公室、机关总支', '王群才 马红霞', '+1']);
    expect(ws.getCell('D5').value).toBe('=HYPERLINK("http://evil")');
    expect(ws.getCell('D5').type).toBe(ExcelJS.ValueType.String);
    expect(ws.pageSetup).toMatchObject({ paperSize: 9, orientation: 'landscape', fitToPage: true, fitToWidth: 1, fitToHeight: 0, printTitlesRow: '3:3' });
    // Later pages name the ledger in their header; the first page's 制表 line is not repeated there.
    expect(ws.headerFooter).toMatchObject({ differentFirst: true, oddHeader: `&L${input.title}&R2020年6月汇总台账` });
    expect(ws.headerFooter.firstHeader ?? '').toBe('');
    expect(ws.headerFooter.oddHeader).not.toContain('制表');
    const amp = await writeLedgerWorkbook({ ...input, title: 'A & B' });
    const wb2 = new ExcelJS.Workbook();
    await wb2.xlsx.load(amp as unknown as ArrayBuffer);
    expect(wb2.getWorksheet('台账')!.headerFooter.oddHeader).toContain('A && B'); // '&' escaped for the page header
    expect(ws.getCell('B4').font).toMatchObject({ name: '宋体' });
    expect(ws.getCell('D4').alignment).toMatchObject({ wrapText: true });
    expect(ws.getCell('G4').border?.right?.style).toBe('thin');
  });

  it('writes no formula anywhere', async () => {
    const { buf } = await build();
    for (const e of readZipDirectory(buf)) {
      if (!e.name.startsWith('xl/worksheets/')) continue;
      expect(readZipEntry(buf, e, 1e7).toString('utf8')).not.toMatch(/<f[ >]/);
    }
  });

  it('writes 填报情况, one row a person', async () => {
    const ws = (await build()).wb.getWorksheet('填报情况')!;
    expect(ws.getRow(1).values).toEqual([undefined, '责任人', '责任科室', '邮箱', '状态', '报送时间', '代报人', '报送次数']);
    // Empty text is written as an empty cell, bordered like the rest of the table.
    expect(ws.getRow(2).values).toEqual([undefined, '艾延坤', '政法科', 'ai@example.com', '已报送', '2020年6月28日 10:00', undefined, 2]);
    expect(ws.getCell('F2').border?.left?.style).toBe('thin');
    expect(ws.getRow(4).values).toEqual([undefined, '马红霞', '机关总支', 'ma@example.com', '逾期报送', '2020-07-02', '王群才', 1]);
    expect((ws.getCell('D3').fill as ExcelJS.FillPattern).fgColor?.argb).toBeDefined();
  });

  it('writes 历月进展, one column a month, unchanged marked', async () => {
    const ws = (await build()).wb.getWorksheet('历月进展')!;
    expect(ws.getRow(1).values).toEqual([undefined, '序号', '主要任务', '2020年5月', '2020年6月', '未变化']);
    expect(ws.getRow(2).values).toEqual([undefined, 1, '完善政府立法程序', '完成', '完成', '未变化']);
    expect((ws.getCell('D2').fill as ExcelJS.FillPattern).fgColor?.argb).toBeDefined();
    expect(ws.getCell('D3').value).toBe('@开始');
    expect((ws.getCell('D3').fill as ExcelJS.FillPattern | undefined)?.fgColor).toBeUndefined();
    expect(ws.getCell('E3').value).toBeNull();
    expect(ws.getCell('E3').border?.bottom?.style).toBe('thin');
    // Only yellow is used here, and only yellow is explained.
    expect(ws.getCell('A5').value).toBe('黄色底纹：本月进展与上月相同（未变化）。');
  });

  it('explains in 历月进展 only the shadings it uses', async () => {
    const legendOf = async (rows: LedgerWorkbookInput['history']['rows'], periods = ['2020年5月', '2020年6月', '2020年7月']) => {
      const buf = await writeLedgerWorkbook({ ...input, history: { periods, rows } });
      const wb = new ExcelJS.Workbook();
      await wb.xlsx.load(buf as unknown as ArrayBuffer);
      const texts: string[] = [];
      wb.getWorksheet('历月进展')!.eachRow((row) => { texts.push(String(row.getCell(1).value)); });
      return texts.filter((t) => t.includes('底纹'));
    };
    // A repeat in an earlier month (grey), then a change: no yellow.
    expect(await legendOf([{ no: 1, task: '任务', cells: ['甲', '甲', '乙'], unchanged: false }])).toEqual(['灰色底纹：与上月相同。']);
    // Unchanged in the last month only: yellow, no grey.
    expect(await legendOf([{ no: 1, task: '任务', cells: ['甲', '乙', '乙'], unchanged: true }])).toEqual(['黄色底纹：本月进展与上月相同（未变化）。']);
    expect(await legendOf([{ no: 1, task: '任务', cells: ['甲', '甲', '甲'], unchanged: true }])).toEqual(['灰色底纹：与上月相同；黄色底纹：本月进展与上月相同（未变化）。']);
    expect(await legendOf([{ no: 1, task: '任务', cells: ['甲', '乙', '丙'], unchanged: false }])).toEqual([]);
  });

  it('copes with nothing at all', async () => {
    const buf = await writeLedgerWorkbook({ ...input, rows: [], people: [], history: { periods: [], rows: [] } });
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(buf as unknown as ArrayBuffer);
    expect(wb.worksheets).toHaveLength(3);
  });
});
