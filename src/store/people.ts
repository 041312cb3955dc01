/**
 * People in the store are keyed by their configured id (`people[].id`, by default the name),
 * never by their address: a new address keeps the month's report and request. What links older
 * records and forms to today's roster is here: the migration from address keys, the form keys
 * of forms written before ids (or before a rename), and carrying records over to a renamed
 * person's new id.
 */
import type Database from 'better-sqlite3';
import { addressKeyOf, personKeyOf } from '../core/identity.js';
import { TaizhangError } from '../errors.js';

/** A configured person as the store needs them. */
export interface Roster { id: string; email: string }

/** What a migration may need besides the database: the configured roster. */
export interface MigrationContext {
  people?: readonly Roster[];
}

const TABLES = ['reports', 'outbox', 'messages'] as const;

function rekey(db: Database.Database, from: string, to: string): void {
  for (const t of TABLES) db.prepare(`UPDATE OR IGNORE ${t} SET person = ? WHERE person = ?`).run(to, from);
}

/**
 * Version 3 of the schema. Every `person` column holding the address of a configured person is
 * rewritten to that person's id; one holding an address nobody has any more is kept as it is
 * (history of someone no longer on the roster). The forms already sent carry a key derived from
 * the address they went to: `form_keys` remembers whose they are, so that they are still
 * recognised after the person's address changes.
 */
export function personIds(db: Database.Database, ctx: MigrationContext): void {
  db.exec('CREATE TABLE IF NOT EXISTS form_keys (key TEXT PRIMARY KEY, person TEXT NOT NULL)');
  const stored = new Set(TABLES.flatMap((t) =>
    (db.prepare(`SELECT DISTINCT person FROM ${t} WHERE person LIKE '%@%'`).pluck().all() as string[])));
  if (stored.size === 0) return;
  if (!ctx.people) throw new TaizhangError('INTERNAL', `${db.name}: converting stored addresses to people's ids needs the roster`);
  const idOf = new Map(ctx.people.map((p) => [p.email.toLowerCase(), p.id]));
  const remember = db.prepare('INSERT OR IGNORE INTO form_keys (key, person) VALUES (?, ?)');
  for (const address of stored) {
    const id = idOf.get(address.toLowerCase());
    if (id === undefined) continue;
    rekey(db, address, id);
    remember.run(addressKeyOf(address), id);
  }
}

/** The id of the person a form key names, for keys that are not derived from a configured person. */
export function formKeyPerson(db: Database.Database, key: string): string | undefined {
  return db.prepare('SELECT person FROM form_keys WHERE key = ?').pluck().get(key) as string | undefined;
}

/**
 * A person whose id changed (renamed while the id is the default name) but whose address did
 * not: the records kept under the old id are carried over to the new one, and forms written
 * under the old id stay theirs. Only when it is unambiguous: the old id is no longer configured,
 * its latest request or reminder went to an address exactly one configured person has, and that
 * person has had no request or reminder under their own id. Returns what was carried over.
 */
export function carryOverRenamed(db: Database.Database, people: readonly Roster[]): { from: string; to: string }[] {
  if (renames(db, people).size === 0) return []; // the usual case: nothing written, no write lock taken
  const moved: { from: string; to: string }[] = [];
  // Looked at again under the write lock: `status` may open the store beside a worker.
  db.transaction(() => {
    for (const [to, from] of renames(db, people)) {
      rekey(db, from, to);
      db.prepare('UPDATE form_keys SET person = ? WHERE person = ?').run(to, from);
      db.prepare('INSERT OR REPLACE INTO form_keys (key, person) VALUES (?, ?)').run(personKeyOf({ id: from }), to);
      moved.push({ from, to });
    }
  }).immediate();
  return moved;
}

/** New id → old id, for each unambiguous rename (see carryOverRenamed). */
function renames(db: Database.Database, people: readonly Roster[]): Map<string, string> {
  const ids = new Set(people.map((p) => p.id));
  const asked = db.prepare("SELECT DISTINCT person FROM outbox WHERE kind IN ('request', 'reminder')").pluck().all() as string[];
  const stale = asked.filter((k) => !ids.has(k));
  if (stale.length === 0) return new Map();
  const latestTo = db.prepare("SELECT recipients FROM outbox WHERE person = ? AND kind IN ('request', 'reminder') ORDER BY id DESC LIMIT 1").pluck();
  const byEmail = new Map(people.map((p) => [p.email.toLowerCase(), p.id]));
  const claims = new Map<string, string[]>();
  for (const from of stale) {
    const to = byEmail.get(String(latestTo.get(from) ?? '').toLowerCase());
    if (to !== undefined && !asked.includes(to)) claims.set(to, [...(claims.get(to) ?? []), from]);
  }
  return new Map([...claims].filter(([, from]) => from.length === 1).map(([to, [from]]) => [to, from]));
}
