/**
 * Reading one incoming message, as a parse worker does it (worker.ts): MIME, the kind of mail,
 * and each spreadsheet it carries, reduced to what deciding needs (no bytes kept). It runs off
 * the main thread because the input is a stranger's and the work is the costly part of
 * collecting.
 */
import iconv from 'iconv-lite';
import type * as MailParser from 'mailparser';
import { createRequire } from 'node:module';
import { errorMessage, TaizhangError, type ErrorCode } from '../errors.js';
import type { ReportRow } from '../core/ledger.js';
import type { UnitLedgerRead } from '../core/units.js';
import { authFailure, authResultsFields } from '../mail/auth-results.js';
import { classifyMail } from '../mail/classify.js';
import { isAttachedMessage, spreadsheetAttachments, type AttachmentLike } from '../mail/attachments.js';
import { headerEnd } from '../mail/headers.js';
import { referencedIds } from '../core/reply.js';
import { findVerifiedToken } from '../core/identity.js';
import { sniffSpreadsheet } from '../sheet/sniff.js';
import { MAX_FILES, type FileResult, type MailAnalysis, type MailJob } from './types.js';

/** What parsing one spreadsheet gives (attachment.ts `parseAttachment`). */
export type SheetReader = (buf: Buffer, filename: string) => Promise<
  | { ok: true; workbook: { token: string | null; rows: ReportRow[]; taskTexts?: { no: number; text: string }[] }; kind?: string }
  | { ok: false; code: ErrorCode; message: string; kind?: string }
>;

/** What reading a subordinate unit's file as its own ledger gives (unit-attachment.ts). */
export type UnitSheetReader = (buf: Buffer, filename: string) => Promise<
  | { ok: true; ledger: UnitLedgerRead; kind?: string }
  | { ok: false; code: ErrorCode; message: string; kind?: string }
>;

export interface ReadMailOptions extends Omit<MailJob, 'id' | 'rawPath'> {
  /** Called before each stage: `mime`, then `sheet:<index>` for each spreadsheet parsed. */
  onStage?: (stage: string) => void;
}

// mailparser's CommonJS build: its ES build loads a second copy of libmime (its splitter requires
// the CommonJS one), which V8 compiles again, and Node's CommonJS lexer runs over each dependency
// an ES module imports: the worker starts sooner.
const { simpleParser } = createRequire(import.meta.url)('mailparser') as typeof MailParser;

/**
 * The subject, also when an OA mailer wrote it as raw 8-bit GBK (no encoded words): mailparser
 * reads such bytes as UTF-8 and gives U+FFFD, which would hide a "自动回复" from the classifier.
 */
function subjectOf(raw: Buffer, parsed: string): string {
  if (!parsed.includes('\ufffd')) return parsed;
  const head = raw.subarray(0, headerEnd(raw)).toString('latin1');
  const m = /^subject:[ \t]*(.*(?:\r?\n[ \t].*)*)/im.exec(head);
  if (!m || m[1].includes('=?')) return parsed;
  const bytes = Buffer.from(m[1].replace(/\r?\n(?=[ \t])/g, ''), 'latin1');
  const text = iconv.decode(bytes, 'gb18030').trim();
  return text.includes('\ufffd') ? parsed : text;
}

/** The failure of an attachment refused for its size alone (never parsed). */
function tooLarge(maxBytes: number): { code: ErrorCode; message: string } {
  return { code: 'SHEET_TOO_LARGE', message: `附件超过 ${Math.round(maxBytes / 1024 / 1024)} MB` };
}

function kindOf(content: Buffer, filename: string): string {
  try { return sniffSpreadsheet(content, filename).kind; } catch { return 'unknown'; }
}

/** How much of a header block is searched for Authentication-Results (the server's own come first). */
const MAX_HEADER_SCAN = 256 * 1024;

const NAMED: Record<string, string> = {
  nbsp: ' ', lt: '<', gt: '>', quot: '"', amp: '&', apos: "'", ldquo: '“', rdquo: '”', lsquo: '‘', rsquo: '’', mdash: '—', ndash: '–', hellip: '…', middot: '·',
};

/** One HTML character reference as text; an unknown one as written. */
function entity(whole: string, name: string): string {
  if (name[0] !== '#') return NAMED[name.toLowerCase()] ?? whole;
  const code = name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : Number(name.slice(1));
  return code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff) ? String.fromCodePoint(code) : whole;
}

/** How much of a body is kept for reading a report typed in it (the sender's own words come first). */
export const MAX_BODY_CHARS = 100_000;

/** A mail's text: its text part, else its HTML part as plain lines (quoted blocks left out), at most {@link MAX_BODY_CHARS}. */
export function bodyText(text: string | undefined, html: string | undefined): string {
  let body = text ?? '';
  if (!body.trim() && html) {
    body = html.slice(0, 4 * MAX_BODY_CHARS).replace(/<(style|script|head|blockquote)\b[\s\S]*?<\/\1>/gi, '')
      .replace(/<br\s*\/?>|<\/(p|div|tr|li|h\d)>/gi, '\n').replace(/<[^>]*>/g, '')
      .replace(/&(#x[0-9a-f]{1,6}|#\d{1,7}|[a-z]{2,8});/gi, (whole, name: string) => entity(whole, name));
  }
  return body.slice(0, MAX_BODY_CHARS);
}

/**
 * The first line the sender wrote (a reply's own words come before what it quotes), at most
 * 200 characters: what an owner's "确认" is read from. From the HTML part when there is no text.
 */
export function leadLine(text: string | undefined, html: string | undefined): string {
  const line = bodyText(text, html).split(/\r?\n/).map((l) => l.trim()).find((l) => l !== '') ?? '';
  return line.slice(0, 200);
}

/** The format a receipt names: a WPS .et is called so whether BIFF or xlsx is inside. */
function formatOf(kind: string, filename: string): string {
  return /\.ett?\s*$/i.test(filename) && (kind === 'xlsx' || kind === 'xls') ? 'et' : kind;
}

const PARSE_OPTIONS = { skipHtmlToText: true, skipTextToHtml: true, skipTextLinks: true };

/** How many levels of attached messages are opened (a report forwarded as an attachment, and that forwarded again). */
export const MAX_ATTACHED_DEPTH = 3;
/** Attached messages opened in one mail at most; the rest stay attachments that are not forms. */
const MAX_ATTACHED_MESSAGES = 10;

/**
 * The attachments, each attached message replaced by its own attachments, to a bounded depth:
 * a form inside a forwarded .eml is read as if attached directly. mailparser already opens
 * messages attached inline; these are the ones attached as files. One that cannot be parsed
 * stays as it is (an attachment that is not a spreadsheet).
 */
async function openAttachedMessages(list: AttachmentLike[], depth = 0, budget = { left: MAX_ATTACHED_MESSAGES }): Promise<AttachmentLike[]> {
  const out: AttachmentLike[] = [];
  for (const a of list) {
    if (depth >= MAX_ATTACHED_DEPTH || budget.left <= 0 || !isAttachedMessage(a)) {
      out.push(a);
      continue;
    }
    budget.left--;
    const inner = await simpleParser(a.content, PARSE_OPTIONS).catch(() => null);
    if (inner) out.push(...await openAttachedMessages(inner.attachments, depth + 1, budget));
    else out.push(a);
  }
  return out;
}

/** Parses the MIME structure; a message mailparser refuses (too many parts, a header too large) is the sender's to send again. */
async function parseMime(raw: Buffer): Promise<MailParser.ParsedMail> {
  try {
    return await simpleParser(raw, PARSE_OPTIONS);
  } catch (err) {
    throw new TaizhangError('MAIL_UNREADABLE', `the message cannot be parsed: ${errorMessage(err)}`, { cause: err });
  }
}

/** A unit's file as its own ledger (no form, no identity: the unit is known by its address). */
async function readUnitFile(read: UnitSheetReader, content: Buffer, filename: string): Promise<FileResult> {
  const outcome = await read(content, filename);
  if (!outcome.ok && outcome.code === 'INTERNAL') throw new TaizhangError('INTERNAL', outcome.message, { permanent: false });
  const kind = outcome.kind ?? kindOf(content, filename);
  if (!outcome.ok) return { filename, ok: false, code: outcome.code, kind, message: outcome.message };
  return { filename, ok: true, token: null, rows: [], format: formatOf(kind, filename), unitLedger: outcome.ledger };
}

/** Reads a raw message (always as bytes). Throws only on faults of ours and on a message that cannot be parsed at all (MAIL_UNREADABLE); a bad file is a FileResult. */
export async function readMail(raw: Buffer, o: ReadMailOptions, readSheet: SheetReader, readUnitSheet?: UnitSheetReader): Promise<MailAnalysis> {
  o.onStage?.('mime');
  const mail = await parseMime(raw);
  const from = mail.from?.value?.[0]?.address?.toLowerCase() ?? '';
  const subject = subjectOf(raw, mail.subject ?? '');
  const klass = classifyMail({
    headers: mail.headers, from, subject, text: mail.text ?? '',
    attachments: mail.attachments.map((a) => ({ contentType: a.contentType, content: a.content })),
    ownAddress: o.ownAddress,
  });
  // A unit's files are its own ledger; one running taizhang mails it as machine mail (Auto-Submitted).
  const unit = !!readUnitSheet && !!from && (o.unitAddresses ?? []).includes(from) && klass.kind !== 'bounce' && klass.kind !== 'own';
  const sheets = klass.kind === 'human' || unit ? spreadsheetAttachments(await openAttachedMessages(mail.attachments)).slice(0, MAX_FILES) : [];
  const files: FileResult[] = [];
  for (const [i, a] of sheets.entries()) {
    const known = o.failed?.[i] ?? (o.maxInputBytes !== undefined && a.content.byteLength > o.maxInputBytes ? tooLarge(o.maxInputBytes) : undefined);
    if (known) {
      files.push({ filename: a.filename, ok: false, code: known.code, kind: kindOf(a.content, a.filename), message: known.message });
      continue;
    }
    o.onStage?.(`sheet:${i}`);
    if (unit) {
      files.push(await readUnitFile(readUnitSheet!, a.content, a.filename));
      continue;
    }
    const outcome = await readSheet(a.content, a.filename);
    // Not the file's fault (a bug of ours or of a library): the message is tried again later.
    if (!outcome.ok && outcome.code === 'INTERNAL') throw new TaizhangError('INTERNAL', outcome.message, { permanent: false });
    if (outcome.ok) {
      const token = outcome.workbook.token ? findVerifiedToken(outcome.workbook.token, o.secret ?? '') : null;
      files.push({
        filename: a.filename, ok: true, token, rows: outcome.workbook.rows,
        format: formatOf(outcome.kind ?? kindOf(a.content, a.filename), a.filename), taskTexts: outcome.workbook.taskTexts ?? [],
      });
    } else {
      files.push({ filename: a.filename, ok: false, code: outcome.code, kind: outcome.kind ?? kindOf(a.content, a.filename), message: outcome.message });
    }
  }
  const analysis: MailAnalysis = {
    lead: leadLine(mail.text, typeof mail.html === 'string' ? mail.html : undefined),
    body: bodyText(mail.text, typeof mail.html === 'string' ? mail.html : undefined),
    authFail: authFailure(authResultsFields(raw.subarray(0, Math.min(headerEnd(raw), MAX_HEADER_SCAN)).toString('latin1')), from),
    messageId: mail.messageId ? (mail.messageId.startsWith('<') ? mail.messageId : `<${mail.messageId}>`) : null,
    from, subject, date: mail.date ?? null,
    references: referencedIds(mail.inReplyTo, mail.references),
    class: klass,
    attachmentCount: mail.attachments.filter((a) => a.contentDisposition !== 'inline' || a.filename).length,
    files,
  };
  return analysis;
}
