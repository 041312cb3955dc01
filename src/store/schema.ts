/**
 * The store's schema and its history. The database's `PRAGMA user_version` says how many of the
 * migrations below it has had; opening it applies the rest, in order, each in its own transaction.
 * To change the schema, append one migration; never edit one that has shipped.
 */
import type Database from 'better-sqlite3';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { TaizhangError } from '../errors.js';
import { tightenTree } from './files.js';
import { personIds, type MigrationContext } from './people.js';
import { ledgerColumns } from './ledger-migration.js';

export type { MigrationContext, Roster } from './people.js';

type Migration = string | ((db: Database.Database, ctx: MigrationContext) => void);

/**
 * Version 1: the schema as it was before it had a version. `IF NOT EXISTS` throughout, because
 * those versions ran it at every start: on a database they made (tables, user_version 0) it adds
 * nothing and the database is stamped 1 as it is; on an empty file it creates everything.
 */
const V1 = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS periods (
  period TEXT PRIMARY KEY, requests_at TEXT, consolidated_at TEXT,
  ledger_version INTEGER NOT NULL DEFAULT 0, dirty INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS outbox (
  id INTEGER PRIMARY KEY, kind TEXT NOT NULL, period TEXT NOT NULL, person TEXT, slot TEXT NOT NULL,
  recipients TEXT NOT NULL, message_id TEXT NOT NULL UNIQUE, subject TEXT NOT NULL, eml_path TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'queued', attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at TEXT NOT NULL,
  last_error TEXT, created_at TEXT NOT NULL, sent_at TEXT, bounced_at TEXT,
  UNIQUE (kind, period, person, slot));
CREATE INDEX IF NOT EXISTS outbox_state ON outbox (state, next_attempt_at);
CREATE INDEX IF NOT EXISTS outbox_person ON outbox (period, person);
CREATE TABLE IF NOT EXISTS outbox_raw (id INTEGER PRIMARY KEY REFERENCES outbox (id), raw BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS mailbox_state (mailbox TEXT PRIMARY KEY, uidvalidity INTEGER NOT NULL, last_uid INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
  id INTEGER PRIMARY KEY, mailbox TEXT NOT NULL, uidvalidity INTEGER NOT NULL, uid INTEGER NOT NULL,
  message_id TEXT, sha256 TEXT NOT NULL, raw_path TEXT NOT NULL, received_at TEXT NOT NULL,
  from_addr TEXT, subject TEXT, state TEXT NOT NULL DEFAULT 'received', outcome TEXT, target_folder TEXT,
  moved INTEGER NOT NULL DEFAULT 0, person TEXT, period TEXT, error TEXT, attempts INTEGER NOT NULL DEFAULT 0,
  UNIQUE (mailbox, uidvalidity, uid));
CREATE INDEX IF NOT EXISTS messages_mid ON messages (message_id);
CREATE INDEX IF NOT EXISTS messages_sha ON messages (sha256);
CREATE TABLE IF NOT EXISTS reports (
  id INTEGER PRIMARY KEY, period TEXT NOT NULL, person TEXT NOT NULL, message_row INTEGER,
  sender TEXT NOT NULL, received_at TEXT NOT NULL, late INTEGER NOT NULL DEFAULT 0,
  rows_json TEXT NOT NULL, superseded INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS reports_period ON reports (period, person);
CREATE INDEX IF NOT EXISTS reports_message ON reports (message_row);
`;

/**
 * Version 2: outgoing mail only in `outbox_raw`. Versions before it kept the bytes in a file
 * named by `outbox.eml_path`; those still readable are brought in first, so nothing queued is
 * lost (one whose file is gone fails when it is due, as it did before).
 */
function dropEmlPath(db: Database.Database): void {
  const legacy = db.prepare("SELECT id, eml_path AS file FROM outbox WHERE eml_path != '' AND id NOT IN (SELECT id FROM outbox_raw)").all() as { id: number; file: string }[];
  const keep = db.prepare('INSERT INTO outbox_raw (id, raw) VALUES (?, ?)');
  for (const { id, file } of legacy) {
    let raw: Buffer;
    try { raw = readFileSync(file); } catch { continue; }
    keep.run(id, raw);
  }
  db.exec('ALTER TABLE outbox DROP COLUMN eml_path');
}

/**
 * Version 4: the data folder is private. Earlier versions left raw mail, forms, ledgers and the
 * database readable by every local user (0644 in 0755 folders); everything under the database's
 * folder is made 0700 (folders) and 0600 (files), once. What is written from now on is so anyway.
 */
function privateFolder(db: Database.Database): void {
  if (db.name && db.name !== ':memory:') tightenTree(path.dirname(db.name));
}

/**
 * Version 5: reports held for their owner's consent (someone else sent a report for a person who
 * has one for the month); a held report becomes the owner's only when the owner confirms it.
 */
const HELD_REPORTS = `
CREATE TABLE IF NOT EXISTS held_reports (
  id INTEGER PRIMARY KEY, message_row INTEGER NOT NULL, period TEXT NOT NULL, person TEXT NOT NULL,
  sender TEXT NOT NULL, received_at TEXT NOT NULL, rows_json TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'held', confirmed_by INTEGER,
  UNIQUE (message_row, person));
`;

/**
 * Version 6: how many copies of a mail reached the collection mailbox without the mail reaching
 * anyone (the server refused every real recipient and took only the copy, see `self_copy`):
 * copies then prove nothing about a later attempt a crash interrupted.
 */
function addStrayCopies(db: Database.Database): void {
  // Only if missing: a database stamped with an older version by hand may have it already.
  const has = (db.prepare("SELECT 1 FROM pragma_table_info('outbox') WHERE name = 'stray_copies'").get());
  if (!has) db.exec('ALTER TABLE outbox ADD COLUMN stray_copies INTEGER NOT NULL DEFAULT 0');
}

/**
 * The clerk's desk (web): who did what, when, to what (`desk_audit`); the logged-in users'
 * sessions, kept by a hash of the session id, never the id itself (`desk_sessions`); and the
 * mails of the 需补正 and 隔离 lists the clerk settled by hand, attached or dismissed (`desk_settled`).
 */
const DESK_TABLES = `
CREATE TABLE IF NOT EXISTS desk_audit (
  id INTEGER PRIMARY KEY, at TEXT NOT NULL, user TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL, detail TEXT);
CREATE TABLE IF NOT EXISTS desk_sessions (
  id_hash TEXT PRIMARY KEY, user TEXT NOT NULL, created_at TEXT NOT NULL, expires_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS desk_settled (
  message_row INTEGER PRIMARY KEY, action TEXT NOT NULL, user TEXT NOT NULL, at TEXT NOT NULL, person TEXT, period TEXT);
`;

/**
 * Group-chat notices (`notify:`, src/cycle/notify.ts): each event is recorded per channel before
 * it is posted, with the message to post, so that it is posted once, and again after a failure.
 * `channel` is the platform and a hash of the webhook (never the webhook, which holds its token).
 */
const NOTIFY_POSTS = `
CREATE TABLE IF NOT EXISTS notify_posts (
  id INTEGER PRIMARY KEY, channel TEXT NOT NULL, event TEXT NOT NULL, period TEXT NOT NULL,
  message_json TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL, next_at TEXT NOT NULL, posted_at TEXT, last_error TEXT,
  UNIQUE (channel, event));
`;

/**
 * Subordinate units' reports (局属单位, `ledger.units`): each unit's own ledger for a period, its
 * tasks as rows_json; the latest is current (superseded = 0), as for people. Keyed by ledger id
 * ('main' for the single `ledger:`) and the unit's name.
 */
const UNIT_REPORTS = `
CREATE TABLE IF NOT EXISTS unit_reports (
  id INTEGER PRIMARY KEY, ledger TEXT NOT NULL DEFAULT 'main', period TEXT NOT NULL, unit TEXT NOT NULL,
  message_row INTEGER, sender TEXT NOT NULL, received_at TEXT NOT NULL, late INTEGER NOT NULL DEFAULT 0,
  rows_json TEXT NOT NULL, superseded INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS unit_reports_period ON unit_reports (ledger, period, unit);
CREATE INDEX IF NOT EXISTS unit_reports_message ON unit_reports (message_row);
`;

/** Oldest first: entry i takes a database from version i to i + 1. */
const MIGRATIONS: readonly Migration[] = [
  V1,
  dropEmlPath,
  personIds, // people.ts
  privateFolder,
  HELD_REPORTS,
  addStrayCopies,
  DESK_TABLES,
  NOTIFY_POSTS,
  UNIT_REPORTS,
  ledgerColumns, // ledger-migration.ts: several ledgers
];

/** The version this code writes and reads. */
export const SCHEMA_VERSION = MIGRATIONS.length;

export function schemaVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Refuses a database a later taizhang has migrated: this code would misread or damage it. */
export function refuseNewer(db: Database.Database): void {
  const v = schemaVersion(db);
  if (v <= SCHEMA_VERSION) return;
  throw new TaizhangError('STORE_TOO_NEW',
    `${db.name} has schema version ${v}, newer than this taizhang knows (${SCHEMA_VERSION}): it was written by a later version; run that one (or a later one) instead`,
    { details: { file: db.name, version: v, known: SCHEMA_VERSION } });
}

/** Brings the database up to {@link SCHEMA_VERSION}, one migration per transaction. */
export function migrate(db: Database.Database, ctx: MigrationContext = {}): void {
  refuseNewer(db);
  if (schemaVersion(db) === SCHEMA_VERSION) return;
  for (;;) {
    // The version is read again under the write lock: another process (`status` opens the store
    // without the data-folder lock) may have migrated in the meantime.
    const done = db.transaction(() => {
      refuseNewer(db);
      const v = schemaVersion(db);
      if (v === SCHEMA_VERSION) return true;
      const m = MIGRATIONS[v];
      if (typeof m === 'string') db.exec(m);
      else m(db, ctx);
      db.pragma(`user_version = ${v + 1}`);
      return false;
    }).immediate();
    if (done) return;
  }
}
