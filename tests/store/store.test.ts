/**
 * The SQLite store on a real database file in a temp folder: what each table keeps, the batching
 * and durable-commit semantics (watched from a second connection, as another process sees the
 * file), and opening databases of other schema versions.
 */
import Database from 'better-sqlite3';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TaizhangError } from '../../src/errors.js';
import { SCHEMA_VERSION } from '../../src/store/schema.js';
import { Store } from '../../src/store/store.js';

let dir: string;
const opened: { close(): unknown }[] = [];
beforeEach(() => { dir = mkdtempSync(path.join(os.tmpdir(), 'tz-store-')); });
afterEach(() => {
  for (const s of opened.splice(0)) s.close();
  rmSync(dir, { recursive: true, force: true });
});

const dbFile = () => path.join(dir, 'taizhang.sqlite');
function open(opts: Parameters<typeof Store.open>[1] = {}): Store {
  const s = Store.open(dir, opts);
  opened.push(s);
  return s;
}
/** A second connection to the file: sees only what is committed. */
function watch(): Database.Database {
  const db = new Database(dbFile(), { readonly: true });
  opened.push(db);
  return db;
}

let mids = 0;
function mail(over: Partial<Parameters<Store['enqueue']>[0]> = {}): Parameters<Store['enqueue']>[0] {
  return {
    kind: 'request', period: '2020-06', person: 'ai@x.cn', slot: 'first', recipients: ['ai@x.cn'],
    messageId: `<m${++mids}@office>`, subject: '请填报', raw: Buffer.from(`mail ${mids}`), now: '2020-06-20T01:00:00.000Z', ...over,
  };
}

function message(s: Store, uid: number, over: { sha?: string; mid?: string | null } = {}) {
  return s.insertMessage({
    mailbox: 'INBOX', uidvalidity: 7, uid, messageId: over.mid === undefined ? `<r${uid}@ai>` : over.mid, sha256: over.sha ?? `sha${uid}`,
    rawPath: `/data/mail/7/${uid}.eml`, receivedAt: '2020-06-21T00:00:00.000Z', from: null, subject: null,
  });
}

const report = (receivedAt: string, progress: string, late = false) => ({
  period: '2020-06', person: 'ai@x.cn', messageRow: null, sender: 'ai@x.cn', receivedAt, late, rows: [{ no: 1, progress, remark: '' }],
});

describe('periods', () => {
  it('keeps when requests first went out, counts ledger versions and marks a sent ledger dirty', () => {
    const s = open();
    expect(s.period('2020-06')).toBeUndefined();
    s.markRequestsStarted('2020-06', '2020-06-20T01:00:00.000Z');
    s.markRequestsStarted('2020-06', '2020-06-21T01:00:00.000Z');
    s.markDirty('2020-06'); // no ledger sent yet: nothing to update
    expect(s.period('2020-06')).toMatchObject({ requests_at: '2020-06-20T01:00:00.000Z', consolidated_at: null, ledger_version: 0, dirty: 0 });

    expect(s.markConsolidated('2020-06', '2020-07-01T00:00:00.000Z')).toBe(1);
    s.markDirty('2020-06');
    expect(s.period('2020-06')?.dirty).toBe(1);
    expect(s.markConsolidated('2020-06', '2020-07-02T00:00:00.000Z')).toBe(2);
    expect(s.period('2020-06')).toMatchObject({ consolidated_at: '2020-07-01T00:00:00.000Z', ledger_version: 2, dirty: 0 });

    s.markRequestsStarted('2020-05', '2020-05-20T01:00:00.000Z');
    expect(s.periods().map((p) => p.period)).toEqual(['2020-05', '2020-06']);
  });
});

describe('outbox', () => {
  it('records one mail per (kind, period, person, slot), with its bytes', () => {
    const s = open();
    const first = mail();
    expect(s.enqueue(first)).toBe(true);
    expect(s.enqueue(mail())).toBe(false); // another Message-ID, same slot
    expect(s.enqueue(mail({ slot: 'day-25' }))).toBe(true);
    expect(s.enqueue(mail({ kind: 'reminder' }))).toBe(true);
    expect(s.enqueue(mail({ person: 'wang@x.cn', recipients: ['wang@x.cn'] }))).toBe(true);
    expect(s.enqueue(mail({ kind: 'ledger', person: null, recipients: ['office@x.cn', 'boss@x.cn'] }))).toBe(true);
    expect(s.enqueue(mail({ kind: 'ledger', person: null }))).toBe(false);

    const rows = s.outboxFor('request', '2020-06', 'ai@x.cn');
    expect(rows.map((r) => r.slot)).toEqual(['first', 'day-25']);
    expect(rows[0]).toMatchObject({ message_id: first.messageId, state: 'queued', attempts: 0, recipients: 'ai@x.cn' });
    expect(rows[0]).not.toHaveProperty('eml_path');
    expect(s.outboxRaw(rows[0].id)).toEqual(first.raw);
    expect(s.outboxFor('ledger', '2020-06', null)[0].recipients).toBe('office@x.cn, boss@x.cn');
    expect(s.outboxExists('reminder', '2020-06', 'ai@x.cn', 'first')).toBe(true);
    expect(s.outboxExists('reminder', '2020-06', 'ai@x.cn', 'day-28')).toBe(false);
    expect(s.outboxOfPerson('2020-06', 'ai@x.cn').map((r) => `${r.kind}/${r.slot}`)).toEqual(['request/first', 'request/day-25', 'reminder/first']);
  });

  it('hands out what is due, and follows a mail through sending, retry, failure and bounce', () => {
    const s = open();
    s.enqueue(mail({ slot: 'a' }));
    s.enqueue(mail({ slot: 'b', now: '2020-06-20T02:00:00.000Z' }));
    const [a, b] = s.outboxFor('request', '2020-06', 'ai@x.cn');
    expect(s.dueOutbox('2020-06-20T01:30:00.000Z').map((r) => r.id)).toEqual([a.id]);
    expect(s.dueOutbox('2020-06-20T03:00:00.000Z', a.id).map((r) => r.id)).toEqual([b.id]);

    s.markSending(a.id);
    expect(s.stuckSending().map((r) => r.id)).toEqual([a.id]);
    expect(s.pendingOutboxCount()).toBe(2);
    s.unmarkSending(a.id);
    expect(s.outboxByMessageId(a.message_id)).toMatchObject({ state: 'queued', attempts: 0 });

    s.markSending(a.id);
    s.markRetry(a.id, '451 later', '2020-06-20T05:00:00.000Z');
    expect(s.dueOutbox('2020-06-20T03:00:00.000Z').map((r) => r.id)).toEqual([b.id]);
    s.markSending(a.id);
    s.markSent(a.id, '2020-06-20T05:00:01.000Z');
    s.markFailed(b.id, '550 no such user');
    expect(s.pendingOutboxCount()).toBe(0);
    expect(s.outboxByMessageId(a.message_id)).toMatchObject({ state: 'sent', attempts: 2, last_error: null, sent_at: '2020-06-20T05:00:01.000Z' });
    expect(s.outboxByMessageId(b.message_id)).toMatchObject({ state: 'failed', last_error: '550 no such user' });

    s.markBounced(a.id, '2020-06-21T00:00:00.000Z');
    s.markBounced(a.id, '2020-06-22T00:00:00.000Z');
    expect(s.outboxByMessageId(a.message_id)?.bounced_at).toBe('2020-06-21T00:00:00.000Z');
    // The daily limits count what was queued to an address since the day began.
    expect(s.countOutboxTo('request', 'ai@x.cn', '2020-06-20T00:00:00.000Z')).toBe(2);
    expect(s.countOutboxTo('request', 'ai@x.cn', '2020-06-20T01:30:00.000Z')).toBe(1);
    expect(s.countOutboxTo('receipt', 'ai@x.cn', '2020-06-20T00:00:00.000Z')).toBe(0);
  });
});

describe('messages', () => {
  it('records a message once per mailbox, UIDVALIDITY and UID', () => {
    const s = open();
    const m = message(s, 1);
    expect(message(s, 1, { sha: 'other' })).toEqual(m);
    expect(s.messageByUid('INBOX', 7, 1)).toMatchObject({ state: 'received', sha256: 'sha1', attempts: 0 });
    s.setMailboxState('INBOX', 7, 1);
    s.setMailboxState('INBOX', 8, 3);
    expect(s.mailboxState('INBOX')).toEqual({ uidvalidity: 8, last_uid: 3 });
  });

  it('knows a finished message delivered again (same bytes, same Message-ID, or both without one)', () => {
    const s = open();
    const first = message(s, 1, { sha: 'x' });
    const again = message(s, 2, { sha: 'x', mid: first.message_id });
    expect(s.duplicateOf(again)).toBeUndefined(); // the first is not finished yet
    s.updateMessage(first.id, { state: 'done', outcome: 'accepted' });
    expect(s.duplicateOf(again)?.id).toBe(first.id);
    expect(s.duplicateOf(message(s, 3, { sha: 'x', mid: '<other@ai>' }))).toBeUndefined();
    expect(s.duplicateOf(message(s, 4, { sha: 'y', mid: first.message_id }))).toBeUndefined();
    const bare = message(s, 5, { sha: 'z', mid: null });
    s.updateMessage(bare.id, { state: 'done' });
    expect(s.duplicateOf(message(s, 6, { sha: 'z', mid: null }))?.id).toBe(bare.id);
  });

  it('tracks reading, retries and moving', () => {
    const s = open();
    const [a, b, c] = [message(s, 3), message(s, 1), message(s, 2)];
    s.updateMessage(c.id, { state: 'done', outcome: 'note', target_folder: 'Done' });
    s.markReading([a.id, b.id, c.id]);
    expect([a, b, c].map((m) => s.messageByUid('INBOX', 7, m.uid)?.state)).toEqual(['reading', 'reading', 'done']);
    s.markReading([a.id, c.id], false);
    expect([a, b, c].map((m) => s.messageByUid('INBOX', 7, m.uid)?.state)).toEqual(['received', 'reading', 'done']);

    s.updateMessage(a.id, { state: 'retry', error: 'boom', bumpAttempts: true });
    s.updateMessage(a.id, { bumpAttempts: true });
    expect(s.messageByUid('INBOX', 7, a.uid)).toMatchObject({ state: 'retry', error: 'boom', attempts: 2 });
    // Unfinished, or finished and not moved yet; by UID.
    expect(s.unfinishedMessages('INBOX', 7).map((m) => m.uid)).toEqual([1, 2, 3]);
    s.updateMessage(c.id, { moved: 1 });
    expect(s.unfinishedMessages('INBOX', 7).map((m) => m.uid)).toEqual([1, 3]);
    expect(s.unfinishedMessages('INBOX', 8)).toEqual([]);
    expect(s.countByOutcome('note')).toBe(1);
  });
});

describe('reports', () => {
  it('the one that arrived last is current, whatever order they were read in', () => {
    const s = open();
    s.addReport(report('2020-06-22T00:00:00.000Z', 'second'));
    s.addReport(report('2020-06-21T00:00:00.000Z', 'first')); // read later (a retry), arrived earlier
    expect(s.currentReports('2020-06').get('ai@x.cn')?.rows[0].progress).toBe('second');
    s.addReport(report('2020-07-02T00:00:00.000Z', 'third', true));
    expect(s.currentReports('2020-06').get('ai@x.cn')).toMatchObject({ late: 1, rows: [{ no: 1, progress: 'third', remark: '' }] });
    expect(s.reportTally('2020-06').get('ai@x.cn')).toEqual({ count: 3, anyOnTime: true });
    expect(s.hasCurrentReport('2020-06', 'ai@x.cn')).toBe(true);
    expect(s.hasCurrentReport('2020-06', 'wang@x.cn')).toBe(false);
    expect(s.hasCurrentReport('2020-07', 'ai@x.cn')).toBe(false);
  });

  it('finds the report a message gave, and tallies a late one alone as not on time', () => {
    const s = open();
    const m = message(s, 1);
    const id = s.addReport({ ...report('2020-07-02T00:00:00.000Z', 'x', true), messageRow: m.id });
    expect(s.reportOfMessage(m.id)).toEqual({ id });
    expect(s.reportOfMessage(m.id + 1)).toBeUndefined();
    expect(s.reportTally('2020-06').get('ai@x.cn')).toEqual({ count: 1, anyOnTime: false });
  });
});

describe('transactions', () => {
  it('a batch commits every `every` units and at its end; durable work commits at once', async () => {
    const s = open();
    const seen = watch();
    const committed = () => (seen.prepare('SELECT COUNT(*) AS n FROM meta').get() as { n: number }).n;
    await s.batch(async (unitDone) => {
      s.setMeta('a', '1');
      unitDone();
      expect(committed()).toBe(0);
      s.setMeta('b', '1');
      unitDone();
      expect(committed()).toBe(2);
      s.setMeta('c', '1');
      s.durable(() => s.setMeta('d', '1'));
      expect(committed()).toBe(4);
      s.setMeta('e', '1');
      expect(committed()).toBe(4);
    }, 2);
    expect(committed()).toBe(5);
  });

  it('what a failing batch did is kept, as it would have been unbatched; a failing transaction in it is undone', async () => {
    const s = open();
    const run = s.batch(async () => {
      s.setMeta('a', '1');
      expect(() => s.tx(() => { s.setMeta('b', '1'); throw new Error('inner'); })).toThrow('inner');
      await s.batch(async () => { s.setMeta('c', '1'); }); // joins the batch
      throw new Error('outer');
    });
    await expect(run).rejects.toThrow('outer');
    expect(s.db.inTransaction).toBe(false);
    expect(watch().prepare('SELECT key FROM meta ORDER BY key').all()).toEqual([{ key: 'a' }, { key: 'c' }]);
  });

  it('durable outside a batch is a plain transaction', () => {
    const s = open();
    s.durable(() => { s.setMeta('k', 'v'); s.setMeta('k', 'w'); });
    expect(s.db.inTransaction).toBe(false);
    expect(s.getMeta('k')).toBe('w');
  });
});

describe('schema versions', () => {
  /** 艾延坤 with an id of her own, 王群才 by his name (the default), his address written otherwise. */
  const ROSTER = [{ id: 'ai-01', email: 'ai@x.cn' }, { id: '王群才', email: 'WANG@x.cn' }];
  const v1 = readFileSync(new URL('../fixtures/store/v1.sql', import.meta.url), 'utf8');
  const version = (file: string) => { const db = new Database(file, { readonly: true }); try { return db.pragma('user_version', { simple: true }); } finally { db.close(); } };
  const columns = (s: Store, table: string) => (s.db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name);

  /** A database as the versions before user_version left it, with a row in every table. */
  function oldDatabase(stamp?: number): { legacyFile: string } {
    mkdirSync(dir, { recursive: true });
    const db = new Database(dbFile());
    db.exec(v1);
    const legacyFile = path.join(dir, 'outbox', 'legacy.eml');
    mkdirSync(path.dirname(legacyFile));
    writeFileSync(legacyFile, 'legacy bytes');
    const out = db.prepare(`INSERT INTO outbox (kind, period, person, slot, recipients, message_id, subject, eml_path, next_attempt_at, created_at)
      VALUES ('request', '2020-06', ?, 'first', ?, ?, '请填报', ?, '2020-06-20T01:00:00.000Z', '2020-06-20T01:00:00.000Z')`);
    out.run('ai@x.cn', 'ai@x.cn', '<in-db@office>', '');
    db.prepare('INSERT INTO outbox_raw (id, raw) VALUES (1, ?)').run(Buffer.from('stored bytes'));
    out.run('wang@x.cn', 'wang@x.cn', '<in-file@office>', legacyFile);
    out.run('ma@x.cn', 'ma@x.cn', '<file-gone@office>', path.join(dir, 'outbox', 'gone.eml'));
    db.exec(`INSERT INTO meta VALUES ('k', 'v');
      INSERT INTO periods (period, requests_at) VALUES ('2020-06', '2020-06-20T01:00:00.000Z');
      INSERT INTO mailbox_state VALUES ('INBOX', 7, 12);
      INSERT INTO messages (mailbox, uidvalidity, uid, message_id, sha256, raw_path, received_at, state, outcome)
        VALUES ('INBOX', 7, 12, '<r@ai>', 'abc', '/m/12.eml', '2020-06-21T00:00:00.000Z', 'done', 'accepted');
      INSERT INTO reports (period, person, message_row, sender, received_at, rows_json)
        VALUES ('2020-06', 'ai@x.cn', 1, 'ai@x.cn', '2020-06-21T00:00:00.000Z', '[{"no":1,"progress":"已完成","remark":""}]');`);
    if (stamp !== undefined) db.pragma(`user_version = ${stamp}`);
    db.close();
    return { legacyFile };
  }

  it('a new database is at the latest version, without the outbox eml_path column', () => {
    const s = open();
    expect(SCHEMA_VERSION).toBeGreaterThanOrEqual(2);
    expect(version(dbFile())).toBe(SCHEMA_VERSION);
    expect(columns(s, 'outbox')).not.toContain('eml_path');
    expect(columns(s, 'outbox')).toContain('bounced_at');
  });

  for (const stamp of [undefined, 1]) {
    it(`a database of ${stamp ? 'version 1' : 'the versions before user_version (0, taken as 1)'} is migrated with every row kept`, () => {
      oldDatabase(stamp);
      const s = open({ people: ROSTER });
      expect(version(dbFile())).toBe(SCHEMA_VERSION);
      expect(columns(s, 'outbox')).not.toContain('eml_path');
      expect(s.getMeta('k')).toBe('v');
      expect(s.period('2020-06')?.requests_at).toBe('2020-06-20T01:00:00.000Z');
      expect(s.mailboxState('INBOX')).toEqual({ uidvalidity: 7, last_uid: 12 });
      expect(s.messageByUid('INBOX', 7, 12)).toMatchObject({ message_id: '<r@ai>', state: 'done', outcome: 'accepted' });
      expect(s.currentReports('2020-06').get('ai-01')?.rows).toEqual([{ no: 1, progress: '已完成', remark: '' }]);
      // Outgoing mail: its bytes in the database, brought in from the old file, or (file gone) none.
      const raw = (mid: string) => s.outboxRaw(s.outboxByMessageId(mid)!.id)?.toString();
      expect(raw('<in-db@office>')).toBe('stored bytes');
      expect(raw('<in-file@office>')).toBe('legacy bytes');
      expect(raw('<file-gone@office>')).toBeUndefined();
      expect(s.dueOutbox('2020-06-21T00:00:00.000Z')).toHaveLength(3);
      // And it goes on working: new mail, new messages.
      expect(s.enqueue(mail({ person: 'li@x.cn' }))).toBe(true);
      expect(message(s, 13).id).toBe(2);
      s.close();
      expect(version(dbFile())).toBe(SCHEMA_VERSION);
      expect(open().outboxFor('request', '2020-06', 'li@x.cn')).toHaveLength(1);
      s.close();
    });

    it(`a database of ${stamp ? 'version 1' : 'the versions before user_version'} has its people keyed by id: the configured address's id, else as it was`, () => {
      oldDatabase(stamp);
      const s = open({ people: ROSTER });
      const people = (table: string) => s.db.prepare(`SELECT person FROM ${table} ORDER BY id`).pluck().all();
      expect(people('outbox')).toEqual(['ai-01', '王群才', 'ma@x.cn']); // 马红霞 left the roster: her history stays as it was
      expect(people('reports')).toEqual(['ai-01']);
      expect(s.outboxFor('request', '2020-06', '王群才')[0].recipients).toBe('wang@x.cn'); // the address it went to stays
    });
  }

  it('will not convert stored addresses without the roster, and leaves the database as it was', () => {
    oldDatabase(1);
    expect(() => open()).toThrow(/needs the roster/);
    expect(version(dbFile())).toBe(2); // migration 2 was done and committed; 3 was not
    const s = open({ people: ROSTER });
    expect(s.hasCurrentReport('2020-06', 'ai-01')).toBe(true);
  });

  it('refuses a database a later version migrated, also for reading, and leaves it as it is', () => {
    oldDatabase(SCHEMA_VERSION + 1);
    for (const readonly of [false, true]) {
      const err = (() => { try { Store.open(dir, { readonly }); } catch (e) { return e; } })();
      expect(err).toBeInstanceOf(TaizhangError);
      expect((err as TaizhangError).code).toBe('STORE_TOO_NEW');
      expect((err as TaizhangError).message).toContain(`schema version ${SCHEMA_VERSION + 1}`);
    }
    expect(version(dbFile())).toBe(SCHEMA_VERSION + 1);
    const db = new Database(dbFile(), { readonly: true });
    opened.push(db);
    expect(db.prepare('SELECT COUNT(*) AS n FROM outbox').get()).toEqual({ n: 3 });
    expect((db.prepare('PRAGMA table_info(outbox)').all() as { name: string }[]).map((c) => c.name)).toContain('eml_path');
    expect(db.pragma('journal_mode', { simple: true })).toBe('delete'); // not switched to WAL either
  });
});
