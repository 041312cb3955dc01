import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import iconv from 'iconv-lite';
import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { repairFilename, guessSpreadsheetContainer, spreadsheetAttachments, type AttachmentLike } from '../../src/mail/attachments.js';

const fixture = (name: string) => readFileSync(fileURLToPath(new URL(`../fixtures/eml/${name}`, import.meta.url)));
const parse = async (name: string) => simpleParser(fixture(name));

const ZIP = Buffer.from('504b0304', 'hex');
const CFB = Buffer.from('d0cf11e0a1b11ae1', 'hex');
const zipWith = (entry: string) => Buffer.concat([ZIP, Buffer.alloc(26), Buffer.from(entry, 'latin1'), Buffer.alloc(64)]);
const cfbWith = (stream: string) => Buffer.concat([CFB, Buffer.alloc(504), Buffer.from(stream, 'utf16le'), Buffer.alloc(64)]);

describe('spreadsheetAttachments on real-looking mail', () => {
  it.each([
    ['foxmail-reply-gbk.eml', '进展情况-艾延坤.xlsx'], // RFC 2047 word inside quotes
    ['thunderbird-rfc2231.eml', '2020年10月工作台账进展情况-发财科-李世想.xlsx'], // RFC 2231 continuation
    ['raw-gbk-filename.eml', '进展情况-王群才.xlsx'], // raw 8-bit GBK, repaired from Latin-1 mojibake
    ['outlook-reply-suppress.eml', '进展情况-马红霞.xlsx'],
  ])('%s → %s', async (file, expected) => {
    const mail = await parse(file);
    const sheets = spreadsheetAttachments(mail.attachments);
    expect(sheets.map((s) => s.filename)).toEqual([expected]);
    expect(sheets[0].content.subarray(0, 4).equals(ZIP)).toBe(true);
    expect(guessSpreadsheetContainer(sheets[0].content)).toBe('xlsx');
  });

  it('the raw GBK fixture really carries GBK bytes, and mailparser really gives mojibake', async () => {
    const raw = fixture('raw-gbk-filename.eml');
    expect(raw.includes(iconv.encode('进展情况-王群才.xlsx', 'gbk'))).toBe(true);
    const mail = await parse('raw-gbk-filename.eml');
    expect(mail.attachments[0].filename).toBe(Buffer.from(iconv.encode('进展情况-王群才.xlsx', 'gbk')).toString('latin1'));
  });

  it.each(['163-auto-reply.eml', 'outlook-auto-reply.eml', 'newsletter-bulk.eml'])('%s has no attachment', async (file) => {
    const mail = await parse(file);
    expect(spreadsheetAttachments(mail.attachments)).toEqual([]);
  });

  it('a bounce’s enclosed message is not a spreadsheet', async () => {
    const mail = await parse('163-bounce.eml');
    expect(spreadsheetAttachments(mail.attachments)).toEqual([]);
  });
});

describe('repairFilename', () => {
  const mojibake = (s: string) => iconv.encode(s, 'gbk').toString('latin1');

  it.each(['进展情况-艾延坤.xlsx', '工作台账(10月).xls', '2020年法治政府建设台账.et', '马红霞.xlsx'])('repairs %s', (name) => {
    expect(repairFilename(mojibake(name))).toBe(name);
  });

  it.each(['进展情况.xlsx', 'report.xlsx', 'Übersicht.xlsx', 'Café.xlsx', 'résumé-2020.xls', 'Ñandú.csv', ''])(
    'leaves %j alone',
    (name) => {
      expect(repairFilename(name)).toBe(name);
    },
  );
});

describe('spreadsheetAttachments rules', () => {
  const att = (filename: string | undefined, contentType: string, content: Buffer, extra: Partial<AttachmentLike> = {}): AttachmentLike => ({
    filename,
    contentType,
    content,
    ...extra,
  });

  it.each(['a.xlsx', 'a.XLSM', 'a.xls', 'a.et', 'a.ods', 'a.xlsb', 'a.csv', 'a.ett', 'a.xltx'])('keeps %s by extension', (name) => {
    expect(spreadsheetAttachments([att(name, 'application/octet-stream', Buffer.from('x'))])).toHaveLength(1);
  });

  it('keeps a file by content type when the extension says nothing', () => {
    const r = spreadsheetAttachments([att('台账', 'application/vnd.ms-excel', Buffer.from('x'))]);
    expect(r.map((a) => a.filename)).toEqual(['台账']);
  });

  it('keeps unnamed zip/CFB spreadsheets and names them', () => {
    const r = spreadsheetAttachments([
      att(undefined, 'application/octet-stream', zipWith('xl/workbook.xml')),
      att(undefined, 'application/octet-stream', cfbWith('Workbook')),
      att('data.bin', 'application/octet-stream', zipWith('[Content_Types].xml')),
    ]);
    expect(r.map((a) => a.filename)).toEqual(['attachment-1.xlsx', 'attachment-2.xls', 'data.bin']);
  });

  it('keeps Word documents (a table filled in Word is read; a .doc is answered)', () => {
    const r = spreadsheetAttachments([
      att('进展情况.docx', 'application/octet-stream', zipWith('word/document.xml')),
      att('进展情况.doc', 'application/msword', cfbWith('WordDocument')),
      att(undefined, 'application/octet-stream', zipWith('word/document.xml')),
      att(undefined, 'application/octet-stream', cfbWith('WordDocument')),
      att('表.bin', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', zipWith('word/document.xml')),
    ]);
    expect(r.map((a) => a.filename)).toEqual(['进展情况.docx', '进展情况.doc', 'attachment-3.docx', 'attachment-4.doc', '表.bin']);
  });

  it('drops other documents, images and zips named as such', () => {
    const r = spreadsheetAttachments([
      att('演示.pptx', 'application/octet-stream', zipWith('ppt/presentation.xml')),
      att('进展情况.wps', 'application/octet-stream', cfbWith('WordDocument')),
      att('scan.pdf', 'application/pdf', Buffer.from('%PDF-1.4')),
      att('image001.png', 'image/png', Buffer.from('89504e47', 'hex')),
      att('台账.zip', 'application/zip', zipWith('台账.xlsx')),
    ]);
    expect(r).toEqual([]);
  });

  it('ignores parts embedded in the HTML body, even ones that look like a spreadsheet', () => {
    const embedded = att('台账.xlsx', 'application/octet-stream', zipWith('xl/workbook.xml'), { related: true });
    const attached = att('台账.xlsx', 'application/octet-stream', zipWith('xl/workbook.xml'));
    expect(spreadsheetAttachments([embedded])).toEqual([]);
    expect(spreadsheetAttachments([embedded, attached]).map((s) => s.filename)).toEqual(['台账.xlsx']);
  });

  it('strips directories clients leave in names', () => {
    const r = spreadsheetAttachments([att('C:\\Users\\ayk\\Desktop\\进展情况.xlsx', 'application/octet-stream', Buffer.from('x'))]);
    expect(r[0].filename).toBe('进展情况.xlsx');
  });
});
