/**
 * The store with several ledgers: a database of schema version 6 (before ledgers had ids, from
 * tests/fixtures/store/v6.sql) is migrated with every row kept as the ledger `main`'s, and each
 * ledger's view of the store keeps its months, mail and reports apart from the others'.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION } from '../../src/store/schema.js';
import { Store } from '../../src/store/store.js';

let dir: string;
let store: Store | undefined;
beforeEach(() => { dir = mkdtempSync(path.join(os.tmpdir(), 'tz-ledgers-')); });
afterEach(() => {
  store?.close();
  store = undefined;
  rmSync(dir, { recursive: true, force: true });
});

function v6Database(): void {
  const db = new Database(path.join(dir, 'taizhang.sqlite'));
  db.exec(readFileSync(new URL('../fixtures/store/v6.sql', import.meta.url), 'utf8'));
  expect(db.pragma('user_version', { simple: true })).toBe(6);
  db.close();
}

const mail = (over: Partial<Parameters<Store['enqueue']>[0]> = {}): Parameters<Store['enqueue']>[0] => ({
  kind: 'request', period: '2020-06', person: 'ai-01', slot: 'initial', recipients: ['ai@x.cn'],
  messageId: `<${Math.random()}@office>`, subject: '请填报', raw: Buffer.from('bytes'), now: '2020-06-20T01:00:00.000Z', ...over,
});

describe('several ledgers in the store', () => {
  it('migrates a version 6 database: every row kept, all of it the ledger main\'s', () => {
    v6Database();
    store = Store.open(dir, { people: [{ id: 'ai-01', email: 'ai@x.cn' }] });
    const s = store;
    expect(s.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(s.ledger).toBe('main');
    expect(s.getMeta('k')).toBe('v');
    expect(s.period('2020-06')).toMatchObject({ ledger: 'main', requests_at: '2020-06-20T01:00:00.000Z', consolidated_at: '2020-07-01T01:00:00.000Z', ledger_version: 1 });
    expect(s.outboxFor('request', '2020-06', 'ai-01')).toEqual([expect.objectContaining({ id: 1, ledger: 'main', state: 'sent', message_id: '<req@office>' })]);
    expect(s.outboxRaw(1)?.toString()).toBe('request bytes');
    expect(s.outboxRaw(2)?.toString()).toBe('ledger bytes');
    expect(s.outboxByMessageId('<ledger@office>')).toMatchObject({ ledger: 'main', stray_copies: 1, state: 'queued' });
    expect(s.outboxExists('request', '2020-06', 'ai-01', 'initial')).toBe(true);
    expect(s.enqueue(mail())).toBe(false); // the unique key still holds: nothing sent twice
    expect(s.messageByUid('INBOX', 7, 12)).toMatchObject({ ledger: 'main', person: 'ai-01', outcome: 'accepted' });
    expect(s.currentReports('2020-06').get('ai-01')).toMatchObject({ ledger: 'main', rows: [{ no: 1, progress: '已完成', remark: '' }] });
    expect(s.heldReport({ messageRow: 1, person: 'ai-01' })).toMatchObject({ ledger: 'main', state: 'held', sender: 'li@x.cn' });
    expect(s.mailboxState('INBOX')).toEqual({ uidvalidity: 7, last_uid: 12 });
    // The foreign key from outbox_raw still names the outbox, and the database is sound.
    expect(s.db.pragma('foreign_key_check')).toEqual([]);
    expect(s.db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(() => s.db.prepare('INSERT INTO outbox_raw (id, raw) VALUES (999, ?)').run(Buffer.from('x'))).toThrow(/FOREIGN KEY/);
  });

  it('keeps each ledger\'s months, mail, reports and held reports apart; the mailbox\'s messages are shared', () => {
    v6Database();
    store = Store.open(dir, { people: [{ id: 'ai-01', email: 'ai@x.cn' }] });
    const safety = store.forLedger('safety');
    expect(safety.forLedger('main')).not.toBe(safety);
    expect(safety.period('2020-06')).toBeUndefined();
    expect(safety.outboxExists('request', '2020-06', 'ai-01', 'initial')).toBe(false);
    expect(safety.enqueue(mail({ messageId: '<safety@office>' }))).toBe(true); // same kind, period, person, slot: another ledger
    expect(safety.outboxFor('request', '2020-06', 'ai-01')).toEqual([expect.objectContaining({ ledger: 'safety', message_id: '<safety@office>' })]);
    expect(store.outboxFor('request', '2020-06', 'ai-01')).toHaveLength(1);
    expect(store.outboxByMessageId('<safety@office>')?.ledger).toBe('safety');
    safety.markRequestsStarted('2020-06', '2020-06-19T01:00:00.000Z');
    expect(safety.periods().map((p) => p.ledger)).toEqual(['safety']);
    expect(store.periods().map((p) => p.ledger)).toEqual(['main']);
    expect(store.firstRequestsAt()).toBe('2020-06-19T01:00:00.000Z');
    safety.addReport({ period: '2020-06', person: 'ai-01', messageRow: 1, sender: 'ai@x.cn', receivedAt: '2020-06-22T00:00:00.000Z', late: false, rows: [{ no: 1, progress: '安全', remark: '' }] });
    expect(safety.currentReports('2020-06').get('ai-01')?.rows[0].progress).toBe('安全');
    expect(store.currentReports('2020-06').get('ai-01')?.rows[0].progress).toBe('已完成'); // not superseded by the other ledger's
    safety.holdReport({ period: '2020-06', person: 'ai-01', messageRow: 1, sender: 'li@x.cn', receivedAt: '2020-06-22T00:00:00.000Z', rows: [] });
    expect(safety.heldReport({ messageRow: 1, person: 'ai-01' })?.ledger).toBe('safety');
    expect(store.heldReport({ messageRow: 1, person: 'ai-01' })?.ledger).toBe('main');
    // A batch in one ledger's view is the store's batch: the other view's durable write commits it.
    return store.batch(async () => {
      safety.setMeta('x', '1');
      store!.durable(() => store!.setMeta('y', '2'));
      const other = new Database(path.join(dir, 'taizhang.sqlite'), { readonly: true });
      try { expect(other.prepare("SELECT value FROM meta WHERE key = 'x'").pluck().get()).toBe('1'); } finally { other.close(); }
    });
  });
});

describe('the ledgers migration again', () => {
  it('leaves a database that has the ledger columns as it is when stamped with an older version by hand', () => {
    v6Database();
    store = Store.open(dir, { people: [{ id: 'ai-01', email: 'ai@x.cn' }] });
    store.forLedger('safety').markRequestsStarted('2020-06', '2020-06-19T01:00:00.000Z');
    store.db.pragma('user_version = 6');
    store.close();
    store = Store.open(dir, { people: [{ id: 'ai-01', email: 'ai@x.cn' }] });
    expect(store.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(store.forLedger('safety').periods()).toHaveLength(1);
    expect(store.periods()).toHaveLength(1);
  });
});
