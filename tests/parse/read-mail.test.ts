/**
 * Reading one message as a parse worker does (readMail), with a stand-in sheet reader that only
 * records which files it was given: reports forwarded as attached messages are opened (real
 * fixtures from Thunderbird and Foxmail, and nesting built here) to a bounded depth, and a
 * message the MIME parser refuses is MAIL_UNREADABLE, not a fault of ours.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import { describe, expect, it } from 'vitest';
import { TaizhangError } from '../../src/errors.js';
import { MAX_ATTACHED_DEPTH, readMail, type SheetReader } from '../../src/parse/read-mail.js';

const fixture = (name: string) => readFileSync(fileURLToPath(new URL(`../fixtures/eml/${name}`, import.meta.url)));
const XLSX = readFileSync(fileURLToPath(new URL('../fixtures/xlsx/minimal.xlsx', import.meta.url)));

/** Reads `raw`; returns the analysis and the names of the files the sheet reader was given. */
async function read(raw: Buffer) {
  const given: string[] = [];
  const reader: SheetReader = async (buf, filename) => {
    given.push(filename);
    expect(buf.subarray(0, 2).toString('latin1')).toBe('PK');
    return { ok: true, workbook: { token: null, rows: [] } };
  };
  const analysis = await readMail(raw, { ownAddress: 'office@office.test' }, reader);
  return { analysis, given };
}

/** A mail from `from` carrying `attachments`. */
function compose(from: string, subject: string, attachments: NonNullable<ConstructorParameters<typeof MailComposer>[0]>['attachments']): Promise<Buffer> {
  return new MailComposer({ from, to: 'office@office.test', subject, text: '请查收。', attachments }).compile().build();
}

/** The form attached to a reply, then that reply forwarded as an attachment `levels` times (Content-Disposition: attachment). */
async function forwarded(levels: number): Promise<Buffer> {
  let raw = await compose('person@cases.test', '回复:进展情况', [{ filename: '进展情况.xlsx', content: XLSX }]);
  for (let i = 1; i <= levels; i++) {
    raw = await compose('person@cases.test', `Fwd${i}`, [{ filename: `fwd${i}.eml`, content: raw, contentType: 'message/rfc822', contentDisposition: 'attachment' }]);
  }
  return raw;
}

describe('attached messages', () => {
  it('Thunderbird "forward as attachment" (message/rfc822, RFC 2231 name): the form inside is read', async () => {
    const { analysis, given } = await read(fixture('thunderbird-forward-attached.eml'));
    expect(analysis.from).toBe('aiyankun@example.com');
    expect(analysis.class.kind).toBe('human');
    expect(given).toEqual(['进展情况-艾延坤.xlsx']);
    expect(analysis.files.map((f) => f.filename)).toEqual(['进展情况-艾延坤.xlsx']);
  });

  it('Foxmail attaching a saved .eml (octet-stream, base64, GBK name): the form inside is read, its raw GBK name repaired', async () => {
    const { analysis, given } = await read(fixture('foxmail-forward-eml-octet.eml'));
    expect(analysis.from).toBe('wangquncai@example.com');
    expect(given).toEqual(['进展情况-王群才.xlsx']);
  });

  it(`opens attached messages ${MAX_ATTACHED_DEPTH} levels deep, and no deeper`, async () => {
    for (let levels = 1; levels <= MAX_ATTACHED_DEPTH; levels++) {
      const { given } = await read(await forwarded(levels));
      expect(given, `${levels} levels`).toEqual(['进展情况.xlsx']);
    }
    const { analysis, given } = await read(await forwarded(MAX_ATTACHED_DEPTH + 1));
    expect(given).toEqual([]);
    expect(analysis.files).toEqual([]);
    expect(analysis.attachmentCount).toBe(1); // answered "no spreadsheet among the attachments"
  });

  it('an attached message that cannot be parsed stays an attachment (not a form), and the mail is still read', async () => {
    const parts = Array.from({ length: 1001 }, (_, i) => `--b\r\nContent-Type: text/plain\r\n\r\n${i}\r\n`).join('');
    const broken = Buffer.from(`From: a@cases.test\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n${parts}--b--\r\n`);
    const raw = await compose('person@cases.test', 'Fwd', [
      { filename: 'broken.eml', content: broken, contentType: 'message/rfc822', contentDisposition: 'attachment' },
      { filename: '进展情况.xlsx', content: XLSX },
    ]);
    const { analysis, given } = await read(raw);
    expect(given).toEqual(['进展情况.xlsx']);
    expect(analysis.attachmentCount).toBe(2);
  });
});

describe('a message the MIME parser refuses', () => {
  const expectUnreadable = async (raw: Buffer) => {
    const err = await read(raw).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaizhangError);
    expect((err as TaizhangError).code).toBe('MAIL_UNREADABLE');
    expect((err as TaizhangError).permanent).toBe(true);
  };

  it('a thousand MIME parts', async () => {
    const parts = Array.from({ length: 1001 }, (_, i) => `--b\r\nContent-Type: text/plain\r\n\r\npart ${i}\r\n`).join('');
    await expectUnreadable(Buffer.from(`From: person@cases.test\r\nSubject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n${parts}--b--\r\n`));
  });

  it('a header of a megabyte', async () => {
    await expectUnreadable(Buffer.from(`From: person@cases.test\r\nX-Filler: ${'a'.repeat(1024 * 1024)}\r\nSubject: x\r\n\r\nbody\r\n`));
  });
});
