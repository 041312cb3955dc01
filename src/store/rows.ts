/**
 * The rows of the store's tables, as its queries return them. `person` is always a person's
 * configured id (`people[].id`), never an address: '' or null where no person is concerned.
 */
import type { ReportRow } from '../core/ledger.js';

export type OutboxKind = 'request' | 'reminder' | 'receipt' | 'notice' | 'ledger' | 'status' | 'unit-request' | 'unit-reminder' | 'unit-receipt' | 'forward';
export type OutboxState = 'queued' | 'sending' | 'sent' | 'failed';

export interface OutboxRow {
  id: number;
  kind: OutboxKind;
  /** The ledger the mail is about (`main` for everything before ledgers had ids; absent in rows made by hand). */
  ledger?: string;
  period: string;
  person: string | null;
  slot: string;
  recipients: string;
  message_id: string;
  subject: string;
  state: OutboxState;
  attempts: number;
  next_attempt_at: string;
  last_error: string | null;
  created_at: string;
  sent_at: string | null;
  bounced_at: string | null;
  /** Copies that reached the collection mailbox while the mail reached no one (absent in rows made by hand). */
  stray_copies?: number;
}

/**
 * `reading`: handed to a parse worker, and recorded so before (committed). A run that finds a
 * message still `reading` died while reading it (see collect.ts).
 */
export type MessageState = 'received' | 'reading' | 'done' | 'retry';

export interface MessageRow {
  id: number;
  mailbox: string;
  uidvalidity: number;
  uid: number;
  message_id: string | null;
  sha256: string;
  raw_path: string;
  received_at: string;
  from_addr: string | null;
  subject: string | null;
  state: MessageState;
  outcome: string | null;
  target_folder: string | null;
  moved: number;
  person: string | null;
  period: string | null;
  /** The ledger the message was decided for (null: none, or decided before ledgers had ids and about no one). */
  ledger: string | null;
  error: string | null;
  attempts: number;
}

export interface ReportRecord {
  id: number;
  ledger: string;
  period: string;
  person: string;
  message_row: number | null;
  sender: string;
  received_at: string;
  late: number;
  rows: ReportRow[];
  superseded: number;
}

export interface PeriodRow {
  ledger: string;
  period: string;
  requests_at: string | null;
  consolidated_at: string | null;
  ledger_version: number;
  dirty: number;
}

/** A report someone sent for a person who had one: `held` until the owner confirms it (`applied`). */
export interface HeldReport {
  id: number;
  message_row: number;
  ledger: string;
  period: string;
  person: string;
  sender: string;
  received_at: string;
  rows: ReportRow[];
  state: 'held' | 'applied';
  confirmed_by: number | null;
}
