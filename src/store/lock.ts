/**
 * One worker per data folder, held by the operating system: an exclusive SQLite lock (fcntl) on a
 * small lock database, kept from start to exit. The kernel drops it when the process ends, however
 * it ends, so there is no stale lock to take over and no race in taking one over: of any number
 * of workers started at once, exactly one gets it. The lock file itself is never deleted (a
 * worker waiting on the old file and one creating a new file could otherwise both hold "the" lock).
 *
 * `taizhang.lock` names the holder's pid, for the message a refused worker prints and for the
 * versions before this one, which locked by that file alone: they refuse while it names a live
 * process, and this version refuses while one of them holds it.
 */
import Database from 'better-sqlite3';
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { TaizhangError } from '../errors.js';
import { FILE_MODE, privateDir, privateFile } from './files.js';

export const LOCK_FILE = 'taizhang-worker.lock';
export const PID_FILE = 'taizhang.lock';
/** The second line of a pid file this version writes; the earlier versions wrote the pid alone. */
const MARK = `held by ${LOCK_FILE}`;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readPidFile(file: string): { pid: number; legacy: boolean } | undefined {
  let text: string;
  try { text = readFileSync(file, 'utf8'); } catch { return undefined; }
  const pid = Number.parseInt(text, 10);
  return Number.isInteger(pid) && pid > 0 ? { pid, legacy: !text.includes(MARK) } : undefined;
}

function locked(dataDir: string, pid?: number): TaizhangError {
  const who = pid !== undefined && pid !== process.pid && alive(pid) ? ` (pid ${pid})` : '';
  return new TaizhangError('LOCKED', `another taizhang worker${who} is using ${dataDir}; only one may run at a time`);
}

/** Opens the lock database and takes its exclusive lock for as long as the connection lives. */
function takeOsLock(file: string): Database.Database | null {
  const db = new Database(file, { timeout: 0 });
  try {
    // EXCLUSIVE locking mode keeps the lock the first write takes until the connection closes;
    // the journal in memory leaves no file behind.
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('journal_mode = MEMORY');
    db.exec('CREATE TABLE IF NOT EXISTS holder (id INTEGER PRIMARY KEY CHECK (id = 1), pid INTEGER NOT NULL, since TEXT NOT NULL)');
    db.prepare('INSERT OR REPLACE INTO holder (id, pid, since) VALUES (1, ?, ?)').run(process.pid, new Date().toISOString());
    return db;
  } catch (err) {
    db.close();
    const code = (err as { code?: string }).code;
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') return null;
    throw new TaizhangError('STATE', `cannot use the lock file ${file} (${(err as Error).message}); remove it while no taizhang runs`, { cause: err });
  }
}

/** Takes the data folder's worker lock, or throws LOCKED. Returns its release. */
export function acquireLock(dataDir: string): () => void {
  privateDir(dataDir);
  const file = path.join(dataDir, LOCK_FILE);
  const pidFile = path.join(dataDir, PID_FILE);
  privateFile(file);
  const db = takeOsLock(file);
  if (!db) throw locked(dataDir, readPidFile(pidFile)?.pid);
  const earlier = readPidFile(pidFile);
  if (earlier?.legacy && earlier.pid !== process.pid && alive(earlier.pid)) {
    db.close();
    throw locked(dataDir, earlier.pid);
  }
  writeFileSync(pidFile, `${process.pid}\n${MARK}\n`, { mode: FILE_MODE });
  let released = false;
  return () => {
    if (released) return;
    released = true;
    // Removed while the lock is still held, and only when it is ours: what remains after a kill
    // names a dead process, which nobody (earlier versions included) takes for a holder.
    if (readPidFile(pidFile)?.pid === process.pid) {
      try { unlinkSync(pidFile); } catch { /* already gone */ }
    }
    db.close();
  };
}
