/**
 * What the main thread and a parse worker say to each other about one message (pool.ts sends,
 * worker.ts answers): kept apart from both so that neither imports the other, and so that the
 * main thread does not load the worker's parsers to learn a type.
 */
import type { ErrorCode } from '../errors.js';
import type { TokenFields } from '../core/identity.js';
import type { ReportRow } from '../core/ledger.js';
import type { UnitLedgerRead } from '../core/units.js';
import type { MailClass } from '../mail/classify.js';
import type { SheetKind } from '../sheet/sniff.js';
import type { ZipLimits } from '../sheet/zip.js';

/** The spreadsheets of one message that are read at most; more are ignored. */
export const MAX_FILES = 5;

/** What a message's reader needs besides the file. */
export interface ReadMailRequest {
  /** The collection mailbox's address (mail from it is our own). */
  ownAddress: string;
  secret?: string;
  /** Spreadsheets (by index among the message's spreadsheets) not to parse, with the failure to report instead. */
  failed?: Record<number, { code: ErrorCode; message: string }>;
  /** Subordinate units' addresses: their files are read as their own ledgers (sheet/unit-table.ts). */
  unitAddresses?: string[];
}

/** A job as the pool posts it to a worker: read the raw message stored at `rawPath`. */
export interface MailJob extends ReadMailRequest {
  id: number;
  rawPath: string;
  limits?: Partial<ZipLimits>;
  /** Attachments larger than this are refused without parsing. */
  maxInputBytes?: number;
}

/** One spreadsheet of a message: its table and verified token, or why it could not be read. */
export type FileResult =
  | { filename: string; ok: true; token: TokenFields | null; rows: ReportRow[]; format?: string; taskTexts?: { no: number; text: string }[]; unitLedger?: UnitLedgerRead }
  | { filename: string; ok: false; code: ErrorCode; kind: string; message: string };

/** What one incoming message says, reduced to what deciding needs (no attachment bytes kept). */
export interface MailAnalysis {
  messageId: string | null;
  from: string;
  subject: string;
  date: Date | null;
  references: string[];
  class: MailClass;
  attachmentCount: number;
  files: FileResult[];
  /** The first line the sender wrote (see read-mail.ts leadLine). */
  lead?: string;
  /** The body as text (read-mail.ts bodyText): progress typed in it, or a question, when there is no form. */
  body?: string;
  /** Why the receiving server's Authentication-Results show the From address forged; null when they do not. */
  authFail?: string | null;
}

/** A job that did not give a result: the code, a message fit for a receipt, and where it stopped. */
export interface JobFailure { ok: false; code: ErrorCode; message: string; kind?: SheetKind; stage?: string }

/** What reading one message gave. */
export type MailOutcome = { ok: true; analysis: MailAnalysis } | JobFailure;
