/**
 * `taizhang backup`: a consistent copy of the database made with SQLite's online backup, which
 * reads one committed state while a running worker goes on writing. The copy is written beside
 * its destination, checked (`PRAGMA integrity_check`), switched to a plain rollback journal so
 * that it is one self-contained file, and only then given its name, never over an existing file.
 */
import Database from 'better-sqlite3';
import { linkSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { TaizhangError } from '../errors.js';
import { privateDir, privateFile } from './files.js';
import { BACKUP_DIR } from './guard.js';
import type { Store } from './store.js';

export interface BackupResult {
  file: string;
  /** Schema version and what it holds, as told to the person who made it. */
  version: number;
  reports: number;
  mails: number;
}

/** `backups/taizhang-20200621-090000.sqlite` under the data folder: `now` in the configured time zone. */
export function defaultBackupFile(dataDir: string, now: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
  }).formatToParts(now);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '00';
  return path.join(dataDir, BACKUP_DIR, `taizhang-${get('year')}${get('month')}${get('day')}-${get('hour')}${get('minute')}${get('second')}.sqlite`);
}

function removeQuietly(file: string): void {
  try { unlinkSync(file); } catch { /* not there */ }
}

/** Checks a finished copy and makes it self-contained; returns what it holds. */
function verifyCopy(file: string): Omit<BackupResult, 'file'> {
  const db = new Database(file);
  try {
    const check = db.pragma('integrity_check', { simple: true });
    if (check !== 'ok') throw new TaizhangError('STATE', `the backup copy failed its integrity check: ${String(check)}`);
    db.pragma('journal_mode = DELETE');
    const count = (table: string) => db.prepare(`SELECT COUNT(*) FROM ${table}`).pluck().get() as number;
    return { version: db.pragma('user_version', { simple: true }) as number, reports: count('reports'), mails: count('outbox') };
  } finally {
    db.close();
  }
}

/** Gives the finished copy its name: `file`, else (`numbered`) `file-2`, `file-3`… */
function name(partial: string, file: string, numbered: boolean): string {
  for (let n = 1; ; n++) {
    const target = n === 1 ? file : file.replace(/(\.sqlite)?$/, `-${n}$1`);
    try {
      linkSync(partial, target); // atomic, and fails rather than replace
      return target;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (!numbered || n >= 100) throw new TaizhangError('USAGE', `${target} exists already; give another name with --to`);
    }
  }
}

/**
 * Copies the store's database to `dest` (0600, its folder made 0700 when missing), never over an
 * existing file (`numbered`: a free name is found beside it). The store may be opened without the
 * worker lock.
 */
export async function backupStore(store: Store, dest: string, opts: { numbered?: boolean } = {}): Promise<BackupResult> {
  const file = path.resolve(dest);
  privateDir(path.dirname(file));
  const partial = `${file}.partial-${process.pid}`;
  privateFile(partial, { exclusive: true }); // SQLite keeps the mode of the file it writes into
  try {
    // All pages in one step, under one read transaction: copied in steps, the copy would start over
    // at every commit of a busy worker (WAL lets the worker go on writing meanwhile).
    await store.db.backup(partial, { progress: () => 0x7fffffff });
    const held = verifyCopy(partial);
    return { file: name(partial, file, opts.numbered ?? false), ...held };
  } finally {
    removeQuietly(partial);
    removeQuietly(`${partial}-journal`);
  }
}
