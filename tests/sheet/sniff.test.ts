import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { deflateRawSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { TaizhangError } from '../../src/errors.js';
import { listCfbNames, sniffSpreadsheet } from '../../src/sheet/sniff.js';
import { readReplyWorkbook } from '../../src/sheet/read.js';
import { checkZipLimits, readZipDirectory, readZipEntry } from '../../src/sheet/zip.js';
import { storedZip } from '../helpers/stored-zip.js';

const fx = (name: string) => readFileSync(fileURLToPath(new URL(`../fixtures/xlsx/${name}`, import.meta.url)));

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TaizhangError);
    return (err as TaizhangError).code;
  }
  return undefined;
}

describe('sniffSpreadsheet on real files', () => {
  it.each([
    ['template.xlsx', 'xlsx'], // exceljs
    ['lo-filled.xlsx', 'xlsx'], // LibreOffice 7.4
    ['lo-mutated.xlsx', 'xlsx'],
    ['lo-filled.ods', 'ods'],
    ['lo-filled.xls', 'xls'],
    ['lo-filled.et', 'et'], // BIFF under a WPS name
    ['lo-encrypted.xlsx', 'encrypted'], // LibreOffice, password 1234 (ECMA-376 standard encryption)
    ['lo-filled.csv', 'csv'],
    ['pdf-renamed.xlsx', 'unknown'],
    ['text-renamed.xlsx', 'unknown'],
    ['word-renamed.xlsx', 'docx'], // a Word document under a spreadsheet's name
    ['minimal.xlsx', 'xlsx'],
    ['truncated.xlsx', 'xlsx'], // named from its local headers; checkZipLimits reports the damage
  ])('%s is %s', (name, kind) => {
    expect(sniffSpreadsheet(fx(name), name).kind).toBe(kind);
  });

  it.each([
    ['wang-filled.docx', 'docx'], // the docx writer
    ['lo-wang.docx', 'docx'], // LibreOffice Writer
    ['lo-wang.doc', 'doc'],
    ['filled.xlsb', 'xlsb'],
    ['lo-encrypted.xls', 'xls'], // RC4 inside the BIFF stream: the reader tells
  ])('formats/%s is %s', (name, kind) => {
    const buf = readFileSync(fileURLToPath(new URL(`../fixtures/formats/${name}`, import.meta.url)));
    expect(sniffSpreadsheet(buf, name).kind).toBe(kind);
  });

  it('reports the truncation and keeps .xls/.et apart only by name', () => {
    expect(sniffSpreadsheet(fx('truncated.xlsx'), 'a.xlsx').detail).toMatch(/truncated/);
    expect(sniffSpreadsheet(fx('lo-filled.xls'), '进展.ET').kind).toBe('et');
    expect(sniffSpreadsheet(fx('lo-filled.et'), '进展.xls').kind).toBe('xls');
  });

  it('reads CFB directory names', () => {
    expect(listCfbNames(fx('lo-encrypted.xlsx'))).toEqual(expect.arrayContaining(['EncryptionInfo', 'EncryptedPackage']));
    expect(listCfbNames(fx('lo-filled.xls'))).toContain('Workbook');
    expect(listCfbNames(fx('lo-filled.xls').subarray(0, 600))).toEqual([]); // truncated: no throw
    expect(listCfbNames(Buffer.alloc(10))).toEqual([]);
  });

  it('tells text apart: csv by content or name, html and xml 2003 are not csv', () => {
    expect(sniffSpreadsheet(Buffer.from('序号,进展情况\n1,完成\n2,进行中\n'), 'x.txt').kind).toBe('csv');
    expect(sniffSpreadsheet(Buffer.from('只有一行'), 'x.csv').kind).toBe('csv');
    expect(sniffSpreadsheet(Buffer.from('序号\t进展\n1\t好\n', 'utf16le'), 'x.txt').kind).toBe('unknown'); // UTF-16 without BOM: NULs, not text
    expect(sniffSpreadsheet(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('序号\t进展\n1\t好\n', 'utf16le')]), 'x.txt').kind).toBe('csv');
    expect(sniffSpreadsheet(Buffer.from('<html><table><tr><td>1</td></tr></table></html>'), 'x.xls')).toMatchObject({ kind: 'unknown', detail: expect.stringMatching(/HTML/) });
    expect(sniffSpreadsheet(Buffer.from('<?xml version="1.0"?><?mso-application progid="Excel.Sheet"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"/>'), 'x.xls').detail).toMatch(/2003/);
    expect(sniffSpreadsheet(Buffer.alloc(0), 'x.xlsx')).toEqual({ kind: 'unknown', detail: 'empty file' });
    expect(sniffSpreadsheet(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]), 'x.xlsx').kind).toBe('unknown');
  });
});

describe('checkZipLimits', () => {
  it('passes real files and measures them', () => {
    for (const name of ['template.xlsx', 'lo-filled.xlsx', 'lo-filled.ods', 'minimal.xlsx']) {
      const r = checkZipLimits(fx(name));
      expect(r.entries).toBeGreaterThan(3);
      expect(r.totalBytes).toBeGreaterThan(1000);
    }
  });

  it('refuses declared and lying bombs, truncation and too many entries', () => {
    expect(codeOf(() => checkZipLimits(fx('bomb-declared.xlsx')))).toBe('SHEET_TOO_LARGE');
    expect(codeOf(() => checkZipLimits(fx('bomb-lying.xlsx')))).toBe('SHEET_TOO_LARGE'); // caught by the capped inflate
    expect(codeOf(() => checkZipLimits(fx('bomb-lying.xlsx'), { verifyInflate: false }))).toBeUndefined(); // declared sizes alone lie
    expect(codeOf(() => checkZipLimits(fx('truncated.xlsx')))).toBe('SHEET_CORRUPT');
    expect(codeOf(() => checkZipLimits(fx('template.xlsx'), { maxEntries: 3 }))).toBe('SHEET_TOO_LARGE');
    expect(codeOf(() => checkZipLimits(fx('template.xlsx'), { maxTotalBytes: 10_000 }))).toBe('SHEET_TOO_LARGE');
    expect(codeOf(() => checkZipLimits(Buffer.from('PK\u0003\u0004 not really')))).toBe('SHEET_CORRUPT');
  });

  it('inflates only the wanted entries; the declared sizes of all still count', () => {
    const wanted = (name: string) => name.startsWith('xl/worksheets/');
    const some = checkZipLimits(fx('template.xlsx'), {}, wanted);
    expect(some.inflated!.map((f) => f.name).sort()).toEqual(['xl/worksheets/sheet1.xml', 'xl/worksheets/sheet2.xml']);
    expect(some.totalBytes).toBeLessThan(checkZipLimits(fx('template.xlsx')).totalBytes);
    // A lying entry nobody reads is never inflated; a declared bomb is refused whatever is wanted.
    expect(checkZipLimits(fx('bomb-lying.xlsx'), {}, () => false).inflated).toEqual([]);
    expect(codeOf(() => checkZipLimits(fx('bomb-declared.xlsx'), {}, () => false))).toBe('SHEET_TOO_LARGE');
  });

  it('applies the ratio check to big entries only', () => {
    const zeros = Buffer.alloc(2 * 1024 * 1024);
    const comp = deflateRawSync(zeros);
    const name = Buffer.from('a.xml');
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0); lh.writeUInt16LE(8, 8); lh.writeUInt32LE(comp.length, 18); lh.writeUInt32LE(zeros.length, 22); lh.writeUInt16LE(name.length, 26);
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0); ch.writeUInt16LE(8, 10); ch.writeUInt32LE(comp.length, 20); ch.writeUInt32LE(zeros.length, 24); ch.writeUInt16LE(name.length, 28);
    const eocd = Buffer.alloc(22);
    eocd.writeUInt32LE(0x06054b50, 0); eocd.writeUInt16LE(1, 8); eocd.writeUInt16LE(1, 10); eocd.writeUInt32LE(46 + name.length, 12); eocd.writeUInt32LE(30 + name.length + comp.length, 16);
    const z = Buffer.concat([lh, name, comp, ch, name, eocd]);
    expect(readZipDirectory(z)).toHaveLength(1);
    expect(codeOf(() => checkZipLimits(z))).toBe('SHEET_TOO_LARGE');
    expect(codeOf(() => checkZipLimits(z, { maxRatio: 10_000 }))).toBeUndefined();
  });
});

describe('storedZip', () => {
  it('hands on what checkZipLimits inflated: same entries, uncompressed, with correct CRCs', () => {
    const original = fx('lo-filled.xlsx');
    const { inflated } = checkZipLimits(original);
    const copy = storedZip(inflated!);
    const entries = readZipDirectory(copy);
    expect(entries.map((e) => e.name)).toEqual(inflated!.map((f) => f.name));
    for (const [i, e] of entries.entries()) {
      expect(e.method).toBe(0);
      const data = readZipEntry(copy, e, Number.MAX_SAFE_INTEGER);
      expect(data.equals(inflated![i].data)).toBe(true);
      // gzip's trailer carries the CRC-32 of its input: an independent reference.
      const gz = gzipSync(data);
      expect(copy.readUInt32LE(e.localHeaderOffset + 14)).toBe(gz.readUInt32LE(gz.length - 8));
    }
    expect(checkZipLimits(copy).totalBytes).toBe(checkZipLimits(original).totalBytes);
  });

  it('reads the same workbook as the original, token and all', async () => {
    const seed = JSON.parse(fx('seed-ledger.json').toString('utf8'));
    const original = fx('lo-filled.xlsx');
    const copy = storedZip(checkZipLimits(original).inflated!);
    expect(copy.length).toBeGreaterThan(original.length); // nothing compressed
    expect(await readReplyWorkbook(copy, { secret: seed.secret })).toEqual(await readReplyWorkbook(original, { secret: seed.secret }));
  });
});
