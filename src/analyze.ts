import { readFileSync } from 'node:fs';
import iconv from 'iconv-lite';
import { simpleParser, type ParsedMail } from 'mailparser';
import type { Context } from './context.js';
import { errorMessage, TaizhangError, type ErrorCode } from './errors.js';
import type { ReportRow } from './ledger.js';
import { classifyMail, type MailClass } from './mail-classify.js';
import { spreadsheetAttachments } from './mail-attachments.js';
import { referencedIds } from './reply.js';
import { findVerifiedToken, type TokenFields } from './sheet-identity.js';
import { sniffSpreadsheet } from './sheet-sniff.js';
import { timed, timedSync } from './profile.js';

/** What one incoming message says, reduced to what deciding needs (no attachment bytes kept). */
export interface Analysis {
  messageId: string | null;
  from: string;
  subject: string;
  date: Date | null;
  references: string[];
  class: MailClass;
  attachmentCount: number;
  files: FileResult[];
}

export type FileResult =
  | { filename: string; ok: true; token: TokenFields | null; rows: ReportRow[] }
  | { filename: string; ok: false; code: ErrorCode; kind: string; message: string };

const MAX_FILES = 5;

/**
 * The subject, also when an OA mailer wrote it as raw 8-bit GBK (no encoded words): mailparser
 * reads such bytes as UTF-8 and gives U+FFFD, which would hide a "自动回复" from the classifier.
 */
function subjectOf(raw: Buffer, parsed: string): string {
  if (!parsed.includes('\ufffd')) return parsed;
  const ends = [raw.indexOf('\r\n\r\n'), raw.indexOf('\n\n')].filter((i) => i >= 0);
  const head = raw.subarray(0, ends.length ? Math.min(...ends) : raw.length).toString('latin1');
  const m = /^subject:[ \t]*(.*(?:\r?\n[ \t].*)*)/im.exec(head);
  if (!m || m[1].includes('=?')) return parsed;
  const bytes = Buffer.from(m[1].replace(/\r?\n(?=[ \t])/g, ''), 'latin1');
  const text = iconv.decode(bytes, 'gb18030').trim();
  return text.includes('\ufffd') ? parsed : text;
}

/** Parses the raw message (always as bytes) and reads its spreadsheets in the worker pool. */
export async function analyzeMessage(ctx: Context, rawPath: string): Promise<Analysis> {
  const raw = timedSync('disk', () => readFileSync(rawPath));
  const mail: ParsedMail = await timed('mime.parse', simpleParser(raw, { skipHtmlToText: true, skipTextToHtml: true, skipTextLinks: true }));
  const from = mail.from?.value?.[0]?.address?.toLowerCase() ?? '';
  const subject = subjectOf(raw, mail.subject ?? '');
  const klass = classifyMail({
    headers: mail.headers, from, subject, text: mail.text ?? '',
    attachments: mail.attachments.map((a) => ({ contentType: a.contentType, content: a.content })),
    ownAddress: ctx.config.mailbox.address,
  });
  const sheets = klass.kind === 'human' ? spreadsheetAttachments(mail.attachments).slice(0, MAX_FILES) : [];
  const files: FileResult[] = [];
  for (const a of sheets) files.push(await readFile(ctx, a.filename, a.content));
  return {
    messageId: mail.messageId ? (mail.messageId.startsWith('<') ? mail.messageId : `<${mail.messageId}>`) : null,
    from, subject, date: mail.date ?? null,
    references: referencedIds(mail.inReplyTo, mail.references),
    class: klass,
    attachmentCount: mail.attachments.filter((a) => a.contentDisposition !== 'inline' || a.filename).length,
    files,
  };
}

async function readFile(ctx: Context, filename: string, content: Buffer): Promise<FileResult> {
  const outcome = await timed('xlsx.parse', ctx.pool.parse(content, filename, ctx.secret));
  if (outcome.ok) {
    const wb = outcome.workbook;
    const token = wb.token ? findVerifiedToken(wb.token, ctx.secret) : null;
    return { filename, ok: true, token, rows: wb.rows };
  }
  // The pool's own trouble (a worker that would not start or died): not the file's fault.
  if (outcome.code === 'INTERNAL') throw new TaizhangError('INTERNAL', outcome.message, { permanent: false });
  let kind = 'unknown';
  try { kind = sniffSpreadsheet(content, filename).kind; } catch (err) { ctx.log.debug({ err: errorMessage(err) }, 'sniff failed'); }
  return { filename, ok: false, code: outcome.code, kind, message: outcome.message };
}
