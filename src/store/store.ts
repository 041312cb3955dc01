import Database from 'better-sqlite3';
import path from 'node:path';
import type { ReportRow } from '../core/ledger.js';
import { DIR_MODE, FILE_MODE, privateDir, privateFile, tighten } from './files.js';
import { DB_FILE, guardDataDir, guardOpened } from './guard.js';
import type { HeldReport, MessageRow, OutboxKind, OutboxRow, PeriodRow, ReportRecord } from './rows.js';
import { carryOverRenamed, formKeyPerson } from './people.js';
import { migrate, refuseNewer, type MigrationContext } from './schema.js';
import { MAIN_LEDGER } from './ledger-migration.js';

export type { HeldReport, MessageRow, MessageState, OutboxKind, OutboxRow, OutboxState, PeriodRow, ReportRecord } from './rows.js';

export interface OpenOptions extends MigrationContext {
  readonly?: boolean;
}

/**
 * The SQLite state store under the data folder. All writes are small transactions. People are
 * keyed by their configured id (`person` columns), never by their address.
 */
export class Store {
  readonly db: Database.Database;
  /**
   * The ledger this view of the store reads and writes months, mail, reports and held reports
   * of (see {@link forLedger}); messages, mailbox state and meta are the mailbox's, shared.
   */
  readonly ledger: string = MAIN_LEDGER;
  /** People whose records were carried over to their new id at opening (see people.ts), to log. */
  readonly renamed: { from: string; to: string }[] = [];

  private constructor(dataDir: string, opts: OpenOptions) {
    const readonly = opts.readonly ?? false;
    const { fresh } = guardDataDir(dataDir); // a folder with history never starts over
    const file = path.join(dataDir, DB_FILE);
    if (!readonly) privateFile(file);
    this.db = new Database(file, { readonly, fileMustExist: readonly });
    try {
      guardOpened(this.db, dataDir, fresh);
      refuseNewer(this.db); // before anything is changed in it
      if (!readonly) {
        this.setUp();
        migrate(this.db, opts);
        this.privateModes(dataDir);
        if (opts.people) this.renamed = carryOverRenamed(this.db, opts.people);
      }
    } catch (err) {
      this.db.close();
      throw err;
    }
  }

  /** The folder and the database's files stay private (the whole folder was tightened by migration 4). */
  private privateModes(dataDir: string): void {
    tighten(dataDir, DIR_MODE);
    for (const suffix of ['-wal', '-shm']) tighten(`${this.db.name}${suffix}`, FILE_MODE);
  }

  private setUp(): void {
    this.db.pragma('journal_mode = WAL');
    // WAL + NORMAL: a commit survives the worker being killed at any moment (what exactly-once
    // sending needs, tested with SIGKILL); only a power cut may lose the last commits. FULL
    // would wait for the disk at every mail marked sent.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    // better-sqlite3 builds SQLite with a 16 MB page cache, which fills as the database grows
    // with the roster (the forms and receipts are kept in it). The working set of a tick is
    // recent rows and the indexes; the operating system caches the rest of the file anyway.
    this.db.pragma('cache_size = -4000');
  }

  /** `people`: the roster, which a migration may need (see schema.ts). */
  static open(dataDir: string, opts: OpenOptions = {}): Store {
    privateDir(dataDir);
    return new Store(dataDir, opts);
  }

  close(): void { this.db.close(); }

  private readonly statements = new Map<string, Database.Statement>();

  /** A prepared statement, kept: preparing costs more than running most of these. */
  private prepare(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) this.statements.set(sql, (s = this.db.prepare(sql)));
    return s;
  }

  tx<T>(fn: () => T): T { return this.db.transaction(fn)(); }

  /**
   * The same store (one connection, one transaction state) reading and writing the ledger `id`'s
   * months, mail and reports: every per-ledger query below names `this.ledger`.
   */
  forLedger(id: string): Store {
    if (id === this.ledger) return this;
    const view = Object.create(this) as Store;
    Object.defineProperty(view, 'ledger', { value: id, enumerable: true });
    return view;
  }

  /** Shared by every ledger's view of the store (a view's own field would hide the batch from the others). */
  private readonly batchState = { batching: false };

  /**
   * Runs `fn` in a transaction that is on disk when this returns, also inside a batch (whose
   * work so far is committed with it): for what must be recorded before something is done
   * outside the database, such as marking a mail `sending` before handing it to SMTP.
   */
  durable<T>(fn: () => T): T {
    const r = this.tx(fn);
    if (this.batchState.batching && this.db.inTransaction) {
      this.db.exec('COMMIT');
      this.db.exec('BEGIN');
    }
    return r;
  }

  /**
   * Groups the writes of a run of units of work into a few transactions instead of one (or
   * more) each, since every commit waits for the disk: `fn` calls `unitDone()` after each unit,
   * and every `every` units what is done so far is committed. What was done is committed at the
   * end whatever happens, as it would have been unbatched.
   *
   * Only for work that no other writer interleaves with (units of work run one at a time: the
   * data-folder lock, the daemon's work queue) and that does nothing outside the database that
   * depends on rows not yet committed (no mail sent, nothing moved on the server): a crash then
   * loses whole units only, as if it had come a little earlier. Transactions inside become
   * savepoints, `durable` ones commit the batch so far; a batch inside a batch joins it.
   */
  async batch<T>(fn: (unitDone: () => void) => Promise<T>, every = 200): Promise<T> {
    if (this.batchState.batching || this.db.inTransaction) return fn(() => {});
    const commit = () => { if (this.db.inTransaction) this.db.exec('COMMIT'); };
    this.db.exec('BEGIN');
    this.batchState.batching = true;
    let units = 0;
    try {
      return await fn(() => {
        if (++units % every !== 0) return;
        commit();
        this.db.exec('BEGIN');
      });
    } finally {
      this.batchState.batching = false;
      commit();
    }
  }

  getMeta(key: string): string | undefined {
    return (this.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;
  }

  setMeta(key: string, value: string): void {
    this.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  // ── periods ──
  period(period: string): PeriodRow | undefined {
    return this.prepare('SELECT * FROM periods WHERE ledger = ? AND period = ?').get(this.ledger, period) as PeriodRow | undefined;
  }

  private ensurePeriod(period: string): void {
    this.prepare('INSERT OR IGNORE INTO periods (ledger, period) VALUES (?, ?)').run(this.ledger, period);
  }

  markRequestsStarted(period: string, at: string): void {
    this.ensurePeriod(period);
    this.prepare('UPDATE periods SET requests_at = COALESCE(requests_at, ?) WHERE ledger = ? AND period = ?').run(at, this.ledger, period);
  }

  markConsolidated(period: string, at: string): number {
    this.ensurePeriod(period);
    this.prepare('UPDATE periods SET consolidated_at = COALESCE(consolidated_at, ?), ledger_version = ledger_version + 1, dirty = 0 WHERE ledger = ? AND period = ?').run(at, this.ledger, period);
    return this.period(period)!.ledger_version;
  }

  markDirty(period: string): void {
    this.prepare('UPDATE periods SET dirty = 1 WHERE ledger = ? AND period = ? AND consolidated_at IS NOT NULL').run(this.ledger, period);
  }

  periods(): PeriodRow[] {
    return this.prepare('SELECT * FROM periods WHERE ledger = ? ORDER BY period').all(this.ledger) as PeriodRow[];
  }

  /** When the first request of any ledger went out (ISO), or undefined. */
  firstRequestsAt(): string | undefined {
    return (this.prepare('SELECT MIN(requests_at) AS at FROM periods').get() as { at: string | null }).at ?? undefined;
  }

  // ── outbox ──
  /** Records a mail to send; returns false when the same (kind, ledger, period, person, slot) exists already. */
  enqueue(m: { kind: OutboxKind; period: string; person: string | null; slot: string; recipients: string[]; messageId: string; subject: string; raw: Buffer; now: string }): boolean {
    return this.tx(() => {
      const r = this.prepare(`INSERT OR IGNORE INTO outbox (kind, ledger, period, person, slot, recipients, message_id, subject, next_attempt_at, created_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(m.kind, this.ledger, m.period, m.person ?? '', m.slot, m.recipients.join(', '), m.messageId, m.subject, m.now, m.now);
      if (r.changes !== 1) return false;
      this.prepare('INSERT INTO outbox_raw (id, raw) VALUES (?, ?)').run(r.lastInsertRowid, m.raw);
      return true;
    });
  }

  /** The raw bytes of a recorded mail. */
  outboxRaw(id: number): Buffer | undefined {
    return (this.prepare('SELECT raw FROM outbox_raw WHERE id = ?').get(id) as { raw: Buffer } | undefined)?.raw;
  }

  outboxExists(kind: OutboxKind, period: string, person: string | null, slot: string): boolean {
    return !!this.prepare('SELECT 1 FROM outbox WHERE kind = ? AND ledger = ? AND period = ? AND person = ? AND slot = ?').get(kind, this.ledger, period, person ?? '', slot);
  }

  outboxFor(kind: OutboxKind, period: string, person: string | null): OutboxRow[] {
    return this.prepare('SELECT * FROM outbox WHERE kind = ? AND ledger = ? AND period = ? AND person = ? ORDER BY id').all(kind, this.ledger, period, person ?? '') as OutboxRow[];
  }

  /** Queued mail due by `now` (ISO), oldest first. */
  dueOutbox(now: string, afterId = 0): OutboxRow[] {
    return this.prepare("SELECT * FROM outbox WHERE state = 'queued' AND next_attempt_at <= ? AND id > ? ORDER BY id").all(now, afterId) as OutboxRow[];
  }

  /** How many mails were sent at or after `at` (ISO): the day's count against a daily limit. */
  sentSince(at: string): number {
    return (this.prepare("SELECT COUNT(*) AS n FROM outbox WHERE state = 'sent' AND sent_at >= ?").get(at) as { n: number }).n;
  }

  pendingOutboxCount(): number {
    return (this.prepare("SELECT COUNT(*) AS n FROM outbox WHERE state IN ('queued', 'sending')").get() as { n: number }).n;
  }

  stuckSending(): OutboxRow[] {
    return this.prepare("SELECT * FROM outbox WHERE state = 'sending' ORDER BY id").all() as OutboxRow[];
  }

  /** Undoes `markSending` for a mail that was never handed to SMTP after all. */
  unmarkSending(id: number): void {
    this.prepare("UPDATE outbox SET state = 'queued', attempts = MAX(0, attempts - 1) WHERE id = ? AND state = 'sending'").run(id);
  }

  markSending(id: number): void {
    this.prepare("UPDATE outbox SET state = 'sending', attempts = attempts + 1 WHERE id = ?").run(id);
  }

  markSent(id: number, at: string): void {
    this.prepare("UPDATE outbox SET state = 'sent', sent_at = ?, last_error = NULL WHERE id = ?").run(at, id);
  }

  markRetry(id: number, error: string, nextAt: string): void {
    this.prepare("UPDATE outbox SET state = 'queued', last_error = ?, next_attempt_at = ? WHERE id = ?").run(error, nextAt, id);
  }

  /** Counts a copy that reached the collection mailbox while the mail itself reached no one. */
  addStrayCopy(id: number): void {
    this.prepare('UPDATE outbox SET stray_copies = stray_copies + 1 WHERE id = ?').run(id);
  }

  markFailed(id: number, error: string): void {
    this.prepare("UPDATE outbox SET state = 'failed', last_error = ? WHERE id = ?").run(error, id);
  }

  outboxByMessageId(messageId: string): OutboxRow | undefined {
    return this.prepare('SELECT * FROM outbox WHERE message_id = ?').get(messageId) as OutboxRow | undefined;
  }

  markBounced(id: number, at: string): void {
    this.prepare('UPDATE outbox SET bounced_at = COALESCE(bounced_at, ?) WHERE id = ?').run(at, id);
  }

  /** Mail to one person in one period (requests, reminders, receipts), for delivery status. */
  outboxOfPerson(period: string, person: string): OutboxRow[] {
    return this.prepare('SELECT * FROM outbox WHERE ledger = ? AND period = ? AND person = ? ORDER BY id').all(this.ledger, period, person) as OutboxRow[];
  }

  // ── mailbox and messages ──
  mailboxState(mailbox: string): { uidvalidity: number; last_uid: number } | undefined {
    return this.prepare('SELECT uidvalidity, last_uid FROM mailbox_state WHERE mailbox = ?').get(mailbox) as { uidvalidity: number; last_uid: number } | undefined;
  }

  setMailboxState(mailbox: string, uidvalidity: number, lastUid: number): void {
    this.prepare(`INSERT INTO mailbox_state (mailbox, uidvalidity, last_uid) VALUES (?, ?, ?)
      ON CONFLICT(mailbox) DO UPDATE SET uidvalidity = excluded.uidvalidity, last_uid = excluded.last_uid`).run(mailbox, uidvalidity, lastUid);
  }

  messageByUid(mailbox: string, uidvalidity: number, uid: number): MessageRow | undefined {
    return this.prepare('SELECT * FROM messages WHERE mailbox = ? AND uidvalidity = ? AND uid = ?').get(mailbox, uidvalidity, uid) as MessageRow | undefined;
  }

  insertMessage(m: { mailbox: string; uidvalidity: number; uid: number; messageId: string | null; sha256: string; rawPath: string; receivedAt: string; from: string | null; subject: string | null }): MessageRow {
    this.prepare(`INSERT OR IGNORE INTO messages (mailbox, uidvalidity, uid, message_id, sha256, raw_path, received_at, from_addr, subject)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(m.mailbox, m.uidvalidity, m.uid, m.messageId, m.sha256, m.rawPath, m.receivedAt, m.from, m.subject);
    return this.messageByUid(m.mailbox, m.uidvalidity, m.uid)!;
  }

  /** Records these messages as being read (see MessageState), or, `false`, as no longer. */
  markReading(ids: number[], reading = true): void {
    const mark = reading
      ? this.prepare("UPDATE messages SET state = 'reading' WHERE id = ? AND state != 'done'")
      : this.prepare("UPDATE messages SET state = 'received' WHERE id = ? AND state = 'reading'");
    this.tx(() => { for (const id of ids) mark.run(id); });
  }

  /**
   * An earlier, finished message that is the same delivery (same Message-ID and same bytes). Not
   * one left in the junk folder: moved to the inbox by hand, it is read as new.
   */
  duplicateOf(row: MessageRow): MessageRow | undefined {
    return this.prepare(`SELECT * FROM messages WHERE id != ? AND state = 'done' AND outcome IS NOT 'junk' AND sha256 = ?
      AND (message_id IS ? OR message_id = ?) ORDER BY id LIMIT 1`).get(row.id, row.sha256, row.message_id, row.message_id) as MessageRow | undefined;
  }

  updateMessage(id: number, f: Partial<Pick<MessageRow, 'state' | 'outcome' | 'target_folder' | 'moved' | 'person' | 'period' | 'ledger' | 'error' | 'from_addr' | 'subject'>> & { bumpAttempts?: boolean }): void {
    const sets: string[] = [];
    const vals: unknown[] = [];
    for (const [k, v] of Object.entries(f)) {
      if (k === 'bumpAttempts') continue;
      sets.push(`${k} = ?`);
      vals.push(v);
    }
    if (f.bumpAttempts) sets.push('attempts = attempts + 1');
    if (sets.length === 0) return;
    this.prepare(`UPDATE messages SET ${sets.join(', ')} WHERE id = ?`).run(...vals, id);
  }

  /** Messages to look at again: unfinished, or finished but not yet moved out of the inbox. */
  unfinishedMessages(mailbox: string, uidvalidity: number): MessageRow[] {
    return this.prepare("SELECT * FROM messages WHERE mailbox = ? AND uidvalidity = ? AND (state != 'done' OR moved = 0) ORDER BY uid").all(mailbox, uidvalidity) as MessageRow[];
  }

  countByOutcome(outcome: string): number {
    return (this.prepare('SELECT COUNT(*) AS n FROM messages WHERE outcome = ?').get(outcome) as { n: number }).n;
  }

  /** How many mails of a kind were queued to an address since an instant (ISO): for the daily limits. */
  countOutboxTo(kind: OutboxKind, address: string, since: string): number {
    return (this.prepare('SELECT COUNT(*) AS n FROM outbox WHERE kind = ? AND recipients = ? AND created_at >= ?').get(kind, address, since) as { n: number }).n;
  }

  /** The person (id) a form key names when it is not derived from a configured person's id or address. */
  formKeyPerson(key: string): string | undefined {
    return formKeyPerson(this.db, key);
  }

  // ── reports ──
  reportOfMessage(messageRow: number): { id: number } | undefined {
    return this.prepare('SELECT id FROM reports WHERE message_row = ?').get(messageRow) as { id: number } | undefined;
  }

  /** Records a report; the one that arrived last is the person's current report for the period. */
  addReport(r: { period: string; person: string; messageRow: number | null; sender: string; receivedAt: string; late: boolean; rows: ReportRow[] }): number {
    // The report that arrived last wins, whatever order they were read in (a retried one may come late).
    const newer = this.prepare('SELECT 1 FROM reports WHERE ledger = ? AND period = ? AND person = ? AND superseded = 0 AND received_at > ?').get(this.ledger, r.period, r.person, r.receivedAt);
    if (!newer) this.prepare('UPDATE reports SET superseded = 1 WHERE ledger = ? AND period = ? AND person = ? AND superseded = 0').run(this.ledger, r.period, r.person);
    return Number(this.prepare(`INSERT INTO reports (ledger, period, person, message_row, sender, received_at, late, rows_json, superseded)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(this.ledger, r.period, r.person, r.messageRow, r.sender, r.receivedAt, r.late ? 1 : 0, JSON.stringify(r.rows), newer ? 1 : 0).lastInsertRowid);
  }

  /** The accepted (latest) report of each person for a period. */
  currentReports(period: string): Map<string, ReportRecord> {
    const rows = this.prepare('SELECT * FROM reports WHERE ledger = ? AND period = ? AND superseded = 0').all(this.ledger, period) as (Omit<ReportRecord, 'rows'> & { rows_json: string })[];
    return new Map(rows.map((r) => [r.person, { ...r, rows: JSON.parse(r.rows_json) as ReportRow[] }]));
  }

  /** The person's current (latest) report for a period, if any. */
  currentReport(period: string, person: string): ReportRecord | undefined {
    const r = this.prepare('SELECT * FROM reports WHERE period = ? AND person = ? AND superseded = 0').get(period, person) as (Omit<ReportRecord, 'rows'> & { rows_json: string }) | undefined;
    return r && { ...r, rows: JSON.parse(r.rows_json) as ReportRow[] };
  }

  /** Whether the person has a current (not superseded) report for the period. */
  hasCurrentReport(period: string, person: string): boolean {
    return !!this.prepare('SELECT 1 FROM reports WHERE ledger = ? AND period = ? AND person = ? AND superseded = 0').get(this.ledger, period, person);
  }

  /** Per person: how many reports the period has, and whether any came before the ledger went out. */
  reportTally(period: string): Map<string, { count: number; anyOnTime: boolean }> {
    const rows = this.prepare('SELECT person, COUNT(*) AS n, MAX(late = 0) AS on_time FROM reports WHERE ledger = ? AND period = ? GROUP BY person').all(this.ledger, period) as { person: string; n: number; on_time: number }[];
    return new Map(rows.map((r) => [r.person, { count: r.n, anyOnTime: r.on_time === 1 }]));
  }

  /** Every report of a period, superseded ones included, in the order recorded. */
  reportsOf(period: string): ReportRecord[] {
    const rows = this.prepare('SELECT * FROM reports WHERE ledger = ? AND period = ? ORDER BY id').all(this.ledger, period) as (Omit<ReportRecord, 'rows'> & { rows_json: string })[];
    return rows.map((r) => ({ ...r, rows: JSON.parse(r.rows_json) as ReportRow[] }));
  }

  // ── reports held for their owner ──
  /** Keeps a report for its owner's consent; once per message and person. */
  holdReport(r: { period: string; person: string; messageRow: number; sender: string; receivedAt: string; rows: ReportRow[] }): void {
    this.prepare(`INSERT OR IGNORE INTO held_reports (message_row, ledger, period, person, sender, received_at, rows_json)
      VALUES (?, ?, ?, ?, ?, ?, ?)`).run(r.messageRow, this.ledger, r.period, r.person, r.sender, r.receivedAt, JSON.stringify(r.rows));
  }

  heldReport(by: { id: number } | { messageRow: number; person: string }): HeldReport | undefined {
    const row = ('id' in by
      ? this.prepare('SELECT * FROM held_reports WHERE id = ?').get(by.id)
      : this.prepare('SELECT * FROM held_reports WHERE message_row = ? AND ledger = ? AND person = ?').get(by.messageRow, this.ledger, by.person)) as (Omit<HeldReport, 'rows'> & { rows_json: string }) | undefined;
    return row && { ...row, rows: JSON.parse(row.rows_json) as ReportRow[] };
  }

  /** Records that the owner's message `confirmedBy` made a held report theirs. */
  markHeldApplied(id: number, confirmedBy: number): void {
    this.prepare("UPDATE held_reports SET state = 'applied', confirmed_by = ? WHERE id = ?").run(confirmedBy, id);
  }

  /** Whether a message's reports for this ledger were recorded or held already (applying a decision is done once per ledger). */
  messageRecorded(messageRow: number): boolean {
    return !!this.prepare('SELECT 1 FROM reports WHERE message_row = ? AND ledger = ? UNION ALL SELECT 1 FROM held_reports WHERE message_row = ? AND ledger = ? LIMIT 1')
      .get(messageRow, this.ledger, messageRow, this.ledger);
  }
}
