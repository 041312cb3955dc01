import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import { parseAttachment } from '../src/parse-worker.js';
import { isValuePart, loadValueParts, valueParts, valueStyles, type XmlPart } from '../src/sheet-parts.js';
import { excel, IGNORED_NODES, readReplyWorkbook } from '../src/sheet-read.js';
import { checkZipLimits } from '../src/zip.js';
import { storedZip } from './helpers/stored-zip.js';

const fx = (name: string) => readFileSync(fileURLToPath(new URL(`./fixtures/xlsx/${name}`, import.meta.url)));
const READABLE = ['kinds-exceljs.xlsx', 'lo-filled.xlsx', 'lo-merged.xlsx', 'lo-mutated.xlsx', 'lo-copied-sheet.xlsx', 'minimal.xlsx', 'template.xlsx', 'template-wang.xlsx'];

/** What the parse worker hands exceljs. */
const partsOf = (buf: Buffer) => valueParts(checkZipLimits(buf, {}, isValuePart).inflated ?? []);
const asXml = (parts: { name: string; data: Buffer }[]): XmlPart[] => parts.map((p) => ({ name: p.name, xml: p.data.toString('utf8') }));

describe('valueParts', () => {
  it.each(READABLE)('reads %s exactly as the whole file reads (dates, percents, rich text, merges, token)', async (name) => {
    const whole = await readReplyWorkbook(fx(name));
    expect(await readReplyWorkbook(storedZip(partsOf(fx(name))))).toEqual(whole); // exceljs load() of the parts alone
    expect(await readReplyWorkbook(partsOf(fx(name)))).toEqual(whole); // as the parse worker reads them
  });

  it('keeps the value parts and drops theme, app properties, comments and drawings', () => {
    const { inflated } = checkZipLimits(fx('lo-filled.xlsx'));
    const names = valueParts(inflated ?? []).map((f) => f.name).sort();
    expect(names).toEqual(['docProps/core.xml', 'xl/_rels/workbook.xml.rels', 'xl/sharedStrings.xml', 'xl/styles.xml',
      'xl/workbook.xml', 'xl/worksheets/sheet1.xml', 'xl/worksheets/sheet2.xml']);
  });

  it('a form carrying a comment and an image is still read, with its date cell as a date', async () => {
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('台账');
    ws.addRow(['序号', '进展情况', '备注']);
    ws.addRow([1, new Date(Date.UTC(2026, 10, 20)), '见批注']);
    ws.getCell('B2').numFmt = 'yyyy"年"m"月"d"日"';
    ws.getCell('C2').note = '批注内容';
    const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg==', 'base64');
    ws.addImage(wb.addImage({ buffer: png, extension: 'png' } as unknown as ExcelJS.Image), 'E2:F4');
    const buf = Buffer.from(await wb.xlsx.writeBuffer());
    const { inflated } = checkZipLimits(buf);
    expect(inflated?.some((f) => f.name.includes('comments'))).toBe(true);
    const outcome = await parseAttachment(buf, '回复.xlsx');
    expect(outcome.ok && outcome.workbook.rows).toEqual([{ no: 1, progress: '2026年11月20日', remark: '见批注' }]);
  });
});

describe('loadValueParts', () => {
  /** The workbook exceljs load() makes of a zip holding just these parts. */
  async function viaZip(parts: { name: string; data: Buffer }[]) {
    const wb = new excel.Workbook();
    await wb.xlsx.load(storedZip(parts) as unknown as ArrayBuffer, { ignoreNodes: IGNORED_NODES } as Partial<ExcelJS.XlsxReadOptions>);
    return wb.model;
  }
  async function direct(parts: { name: string; data: Buffer }[]) {
    const wb = new excel.Workbook();
    await loadValueParts(wb, asXml(parts), { ignoreNodes: IGNORED_NODES });
    return wb.model;
  }

  it.each(READABLE)('builds from the parts of %s the model exceljs load() builds from a zip of them', async (name) => {
    const parts = partsOf(fx(name));
    expect(JSON.parse(JSON.stringify(await direct(parts)))).toEqual(JSON.parse(JSON.stringify(await viaZip(parts))));
  });

  it('takes a part named twice as exceljs load() does through JSZip (the last one)', async () => {
    const parts = partsOf(fx('lo-filled.xlsx'));
    const sheet1 = parts.findIndex((p) => p.name === 'xl/worksheets/sheet1.xml');
    const other = { name: parts[sheet1].name, data: parts.find((p) => p.name === 'xl/worksheets/sheet2.xml')!.data };
    const twice = [...parts, other];
    const model = await direct(twice);
    expect(JSON.parse(JSON.stringify(model))).toEqual(JSON.parse(JSON.stringify(await viaZip(twice))));
    expect(JSON.stringify(model)).not.toEqual(JSON.stringify(await direct(parts)));
  });
});

describe('valueStyles', () => {
  it('keeps number formats and each cell format’s numFmtId, in order', () => {
    const xml = '<?xml version="1.0"?><styleSheet xmlns="x"><numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy\\年m\\月"/></numFmts>'
      + '<fonts count="1"><font><sz val="11"/></font></fonts>'
      + '<cellXfs count="3"><xf numFmtId="0" fontId="0" xfId="0"/><xf fontId="1"><alignment wrapText="1"/></xf>'
      + '<xf numFmtId="164" fontId="0" borderId="2" applyNumberFormat="1"><protection locked="0"/></xf></cellXfs></styleSheet>';
    const slim = valueStyles(xml) ?? '';
    expect(slim).toContain('<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy\\年m\\月"/></numFmts>');
    expect(slim).toContain('<cellXfs count="3"><xf numFmtId="0"/><xf/><xf numFmtId="164"/></cellXfs>');
    expect(slim).not.toContain('font');
  });

  it('passes on a styles part written with a namespace prefix (returns null)', () => {
    expect(valueStyles('<x:styleSheet xmlns:x="x"><x:cellXfs count="1"><x:xf numFmtId="14"/></x:cellXfs></x:styleSheet>')).toBeNull();
  });
});
