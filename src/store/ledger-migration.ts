/**
 * The migration that brings several ledgers into one store (one deployment, one mailbox): every
 * month, mail, decided message, report and held report names its ledger. Everything recorded
 * before belongs to the one ledger there was, `main`. Where the ledger joins a key (periods,
 * the outbox's unique key, held reports) the table is rebuilt, rows and ids kept.
 */
import type Database from 'better-sqlite3';

export { MAIN_LEDGER } from '../core/ledger.js';

const PERIODS = `
CREATE TABLE periods_new (
  ledger TEXT NOT NULL DEFAULT 'main', period TEXT NOT NULL, requests_at TEXT, consolidated_at TEXT,
  ledger_version INTEGER NOT NULL DEFAULT 0, dirty INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (ledger, period));
INSERT INTO periods_new (ledger, period, requests_at, consolidated_at, ledger_version, dirty)
  SELECT 'main', period, requests_at, consolidated_at, ledger_version, dirty FROM periods;
DROP TABLE periods;
ALTER TABLE periods_new RENAME TO periods;
`;

/*
 * outbox_raw refers to outbox, and foreign keys are enforced (and cannot be turned off inside the
 * migration's transaction): both are built anew and the old ones dropped child first. Renaming
 * outbox_new to outbox rewrites outbox_raw_new's reference to it.
 */
const OUTBOX = `
CREATE TABLE outbox_new (
  id INTEGER PRIMARY KEY, kind TEXT NOT NULL, ledger TEXT NOT NULL DEFAULT 'main', period TEXT NOT NULL, person TEXT, slot TEXT NOT NULL,
  recipients TEXT NOT NULL, message_id TEXT NOT NULL UNIQUE, subject TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'queued',
  attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at TEXT NOT NULL, last_error TEXT, created_at TEXT NOT NULL,
  sent_at TEXT, bounced_at TEXT, stray_copies INTEGER NOT NULL DEFAULT 0,
  UNIQUE (kind, ledger, period, person, slot));
INSERT INTO outbox_new (id, kind, ledger, period, person, slot, recipients, message_id, subject, state, attempts,
    next_attempt_at, last_error, created_at, sent_at, bounced_at, stray_copies)
  SELECT id, kind, 'main', period, person, slot, recipients, message_id, subject, state, attempts,
    next_attempt_at, last_error, created_at, sent_at, bounced_at, stray_copies FROM outbox;
CREATE TABLE outbox_raw_new (id INTEGER PRIMARY KEY REFERENCES outbox_new (id), raw BLOB NOT NULL);
INSERT INTO outbox_raw_new (id, raw) SELECT id, raw FROM outbox_raw;
DROP TABLE outbox_raw;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
ALTER TABLE outbox_raw_new RENAME TO outbox_raw;
CREATE INDEX outbox_state ON outbox (state, next_attempt_at);
CREATE INDEX outbox_person ON outbox (ledger, period, person);
`;

const HELD = `
CREATE TABLE held_reports_new (
  id INTEGER PRIMARY KEY, message_row INTEGER NOT NULL, ledger TEXT NOT NULL DEFAULT 'main', period TEXT NOT NULL, person TEXT NOT NULL,
  sender TEXT NOT NULL, received_at TEXT NOT NULL, rows_json TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'held', confirmed_by INTEGER,
  UNIQUE (message_row, ledger, person));
INSERT INTO held_reports_new (id, message_row, ledger, period, person, sender, received_at, rows_json, state, confirmed_by)
  SELECT id, message_row, 'main', period, person, sender, received_at, rows_json, state, confirmed_by FROM held_reports;
DROP TABLE held_reports;
ALTER TABLE held_reports_new RENAME TO held_reports;
`;

/** Reports gain their ledger in place (no key changes). */
const REPORTS = `
ALTER TABLE reports ADD COLUMN ledger TEXT NOT NULL DEFAULT 'main';
DROP INDEX IF EXISTS reports_period;
CREATE INDEX reports_period ON reports (ledger, period, person);
`;

/** Messages gain the ledger they were decided for. */
const MESSAGES = `
ALTER TABLE messages ADD COLUMN ledger TEXT;
UPDATE messages SET ledger = 'main' WHERE person IS NOT NULL OR period IS NOT NULL;
`;

const STEPS: [table: string, sql: string][] = [['periods', PERIODS], ['outbox', OUTBOX], ['held_reports', HELD], ['reports', REPORTS], ['messages', MESSAGES]];

/**
 * Several ledgers: the ledger column in periods, outbox, held_reports, reports and messages,
 * `main` for what exists. A table that has it already is left as it is (a database stamped with
 * an older version by hand is migrated again).
 */
export function ledgerColumns(db: Database.Database): void {
  const has = db.prepare("SELECT 1 FROM pragma_table_info(?) WHERE name = 'ledger'").pluck();
  for (const [table, sql] of STEPS) if (!has.get(table)) db.exec(sql);
}
