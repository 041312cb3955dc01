/**
 * A data folder with history never starts over silently. Starting with a fresh database where
 * one was lost (disk trouble, a bad restore, a file deleted by hand) would send every request
 * again, forget the recorded reports and mail the office a ledger of 未报送. So a folder that
 * holds what only a running taizhang writes (received mail, forms, ledgers, backups, the
 * generated secret, a write-ahead log) but no usable database stops every command with
 * STORE_LOST, saying what to restore. A new, empty folder starts fresh.
 */
import type Database from 'better-sqlite3';
import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { TaizhangError } from '../errors.js';

export const DB_FILE = 'taizhang.sqlite';
export const BACKUP_DIR = 'backups';
/** What a data folder holds once taizhang has worked in it (the lock files are not history). */
const HISTORY = ['mail', 'forms', 'ledgers', BACKUP_DIR, 'secret', `${DB_FILE}-wal`];
const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');

export type LostHow = 'missing' | 'empty' | 'damaged';

/** The entries of HISTORY present in the data folder. */
export function historyOf(dataDir: string): string[] {
  return HISTORY.filter((name) => existsSync(path.join(dataDir, name)));
}

/** The newest backup under the data folder, to name in the error. */
function latestBackup(dataDir: string): string | undefined {
  const dir = path.join(dataDir, BACKUP_DIR);
  let names: string[];
  try { names = readdirSync(dir).filter((n) => n.endsWith('.sqlite')); } catch { return undefined; }
  const newest = names.map((n) => ({ n, t: statSync(path.join(dir, n)).mtimeMs })).sort((a, b) => b.t - a.t)[0];
  return newest && path.join(dir, newest.n);
}

const HOW: Record<LostHow, { en: string; zh: string }> = {
  missing: { en: 'is missing', zh: '缺失' },
  empty: { en: 'is empty', zh: '为空' },
  damaged: { en: 'is damaged (not a readable taizhang database)', zh: '已损坏' },
};

/** The error: one line, English then Chinese, what happened, that nothing was done, how to restore. */
export function storeLost(dataDir: string, how: LostHow, history: string[], detail?: string): TaizhangError {
  const db = path.join(dataDir, DB_FILE);
  const backup = latestBackup(dataDir);
  const from = backup ? `the latest backup is ${backup}` : 'a copy made by `taizhang backup`, or your own copy of the data folder';
  const zhFrom = backup ? `最近的备份为 ${backup}` : '备份可为 taizhang backup 命令生成的副本，或您自行备份的数据目录';
  const en = `the database ${db} ${HOW[how].en}${detail ? ` (${detail})` : ''}, but the data folder has history (${history.join(', ') || 'a database'}): `
    + 'nothing was done and nothing was sent, since starting over would send every request again and forget the recorded reports. '
    + `Restore it: stop taizhang, copy the backup to ${db}, delete ${DB_FILE}-wal and ${DB_FILE}-shm if present, start again (${from}).`;
  const zh = `数据库 ${db} ${HOW[how].zh}，但数据目录中已有历史数据。为免重发全部填报通知、丢失已登记的报送，本次未执行任何操作、未发送任何邮件。`
    + `请从备份恢复：停止 taizhang，将备份文件复制为 ${db}，如有 ${DB_FILE}-wal、${DB_FILE}-shm 一并删除，然后重新启动（${zhFrom}）。`;
  return new TaizhangError('STORE_LOST', `${en} ${zh}`, { details: { file: db, how, history, backup } });
}

/** The first bytes of a file (fewer when it is shorter). */
function head(file: string, n: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(n);
    return buf.subarray(0, readSync(fd, buf, 0, n, 0));
  } finally {
    closeSync(fd);
  }
}

/**
 * Checks the database file before it is opened: throws STORE_LOST when the folder has history and
 * the file is missing or empty, or when the file is not SQLite at all (history or not: it is not
 * ours to overwrite). Returns whether the folder is new (no history), which the store needs to
 * tell an empty database apart from a lost one once it has opened it.
 */
export function guardDataDir(dataDir: string): { fresh: boolean } {
  const file = path.join(dataDir, DB_FILE);
  const history = historyOf(dataDir);
  let size: number;
  try {
    size = statSync(file).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    if (history.length) throw storeLost(dataDir, 'missing', history);
    return { fresh: true };
  }
  if (size === 0) {
    if (history.length) throw storeLost(dataDir, 'empty', history);
    return { fresh: true };
  }
  if (!head(file, SQLITE_HEADER.length).equals(SQLITE_HEADER)) throw storeLost(dataDir, 'damaged', history, 'no SQLite header');
  return { fresh: history.length === 0 };
}

/** The tables every database of schema version 1 or later has. */
const CORE_TABLES = ['meta', 'periods', 'outbox', 'outbox_raw', 'mailbox_state', 'messages', 'reports'];

/**
 * Checks the opened database: one SQLite cannot read, one without tables in a folder with history,
 * and one stamped with a schema version but missing its tables, are lost (STORE_LOST).
 */
export function guardOpened(db: Database.Database, dataDir: string, fresh: boolean): void {
  let tables: string[];
  let version: number;
  try {
    tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[];
    version = db.pragma('user_version', { simple: true }) as number;
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    if (/^SQLITE_(CORRUPT|NOTADB)/.test(code)) throw storeLost(dataDir, 'damaged', historyOf(dataDir), (err as Error).message);
    throw err;
  }
  if (tables.length === 0) {
    if (!fresh) throw storeLost(dataDir, 'empty', historyOf(dataDir));
    return;
  }
  const missing = version >= 1 ? CORE_TABLES.filter((t) => !tables.includes(t)) : [];
  if (missing.length) throw storeLost(dataDir, 'damaged', historyOf(dataDir), `tables missing: ${missing.join(', ')}`);
  // The schema without a single record, next to mail, forms or ledgers that only records make:
  // a blank database put in the place of the real one.
  const made = historyOf(dataDir).filter((h) => RECORDED.includes(h));
  if (made.length && version >= 1 && !hasRecords(db)) throw storeLost(dataDir, 'empty', made, 'no records');
}

/** History that exists only once something was recorded (not the secret or a backup). */
const RECORDED = ['mail', 'forms', 'ledgers'];

function hasRecords(db: Database.Database): boolean {
  return ['periods', 'outbox', 'messages', 'reports'].some((t) => db.prepare(`SELECT 1 FROM ${t} LIMIT 1`).get() !== undefined);
}
