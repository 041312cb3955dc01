/**
 * A data folder with history never starts over: a missing, empty or damaged database stops the
 * store from opening (STORE_LOST) and nothing is created in its place; a new folder starts fresh.
 * Everything the store writes is private (0600 files, 0700 folders) under a umask of 022.
 */
import Database from 'better-sqlite3';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TaizhangError } from '../../src/errors.js';
import { Store } from '../../src/store/store.js';

let dir: string;
let umask: number;
beforeAll(() => { umask = process.umask(0o022); });
afterAll(() => { process.umask(umask); });
beforeEach(() => { dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'tz-guard-')), 'data'); });
afterEach(() => { rmSync(path.dirname(dir), { recursive: true, force: true }); });

const db = () => path.join(dir, 'taizhang.sqlite');
const mode = (file: string) => (statSync(file).mode & 0o777).toString(8);

function opened(): Store {
  const s = Store.open(dir);
  s.close();
  return s;
}

/** A database with a request recorded, and the history a worker leaves beside it. */
function workedIn(): void {
  const s = Store.open(dir);
  s.markRequestsStarted('2020-06', '2020-06-20T01:00:00.000Z');
  s.close();
  mkdirSync(path.join(dir, 'forms', '2020-06'), { recursive: true });
  writeFileSync(path.join(dir, 'secret'), 'abc\n');
}

function lost(): TaizhangError {
  try {
    opened();
  } catch (err) {
    expect(err).toBeInstanceOf(TaizhangError);
    return err as TaizhangError;
  }
  throw new Error('the store opened');
}

describe('a data folder with history', () => {
  it('a new folder, or one holding only the lock files, starts fresh', () => {
    opened();
    expect(existsSync(db())).toBe(true);
    rmSync(dir, { recursive: true });
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'taizhang-worker.lock'), '');
    writeFileSync(path.join(dir, 'taizhang.lock'), '123\n');
    opened();
  });

  it('whose database is missing stops, saying what to restore, in English and Chinese; nothing is created', () => {
    workedIn();
    rmSync(db());
    const err = lost();
    expect(err.code).toBe('STORE_LOST');
    expect(err.exitCode).toBe(1);
    expect(err.message).toContain(`the database ${db()} is missing, but the data folder has history (forms, secret)`);
    expect(err.message).toMatch(/nothing was done and nothing was sent.*Restore it: stop taizhang, copy the backup to .*taizhang\.sqlite, delete taizhang\.sqlite-wal and taizhang\.sqlite-shm/);
    expect(err.message).toContain('数据库');
    expect(err.message).toContain('缺失');
    expect(err.message).toContain('本次未执行任何操作、未发送任何邮件');
    // The Chinese half reads as an official notice: full-width punctuation around the paths.
    const zh = err.message.slice(err.message.indexOf('数据库'));
    expect(zh).toContain('缺失，但数据目录中已有历史数据');
    expect(zh).toContain('请从备份恢复：停止 taizhang，将备份文件复制为');
    expect(zh).toMatch(/一并删除，然后重新启动（备份可为 taizhang backup 命令生成的副本，或您自行备份的数据目录）。$/);
    expect(zh.replaceAll(db(), '').replace(/taizhang\.sqlite-(wal|shm)/g, '')).not.toMatch(/[,:()]/);
    expect(err.message).not.toContain('\n');
    expect(existsSync(db())).toBe(false);
  });

  it('each kind of history counts: received mail, forms, ledgers, backups, the secret, a write-ahead log', () => {
    for (const thing of ['mail', 'forms', 'ledgers', 'backups', 'secret', 'taizhang.sqlite-wal']) {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      if (thing.includes('.') || thing === 'secret') writeFileSync(path.join(dir, thing), 'x');
      else mkdirSync(path.join(dir, thing));
      expect(lost().message, thing).toContain(`has history (${thing})`);
    }
  });

  it('whose database was emptied (zero bytes, or a blank database without a record) stops; a new folder\'s does not', () => {
    workedIn();
    truncateSync(db(), 0);
    expect(lost().message).toContain('is empty');
    expect(statSync(db()).size).toBe(0); // left as it was, for whoever looks into it
    rmSync(db());
    new Database(db()).close(); // a valid SQLite file, no tables
    expect(lost().message).toContain('is empty');
    rmSync(db());
    Store.open(path.join(dir, '..', 'blank')).close(); // the schema, no record: a fresh installation's
    writeFileSync(db(), readFileSync(path.join(dir, '..', 'blank', 'taizhang.sqlite')));
    expect(lost().message).toMatch(/is empty \(no records\)/);
    // Without history, an empty file is a start.
    rmSync(dir, { recursive: true });
    mkdirSync(dir);
    writeFileSync(db(), '');
    opened();
  });

  it('whose database is damaged stops, and so does a folder holding something that is not SQLite at all', () => {
    workedIn();
    const good = readFileSync(db());
    writeFileSync(db(), Buffer.concat([Buffer.from('garbage!'), good.subarray(8)]));
    expect(lost().message).toMatch(/is damaged .*no SQLite header/);
    // The header intact, the schema page overwritten.
    writeFileSync(db(), Buffer.concat([good.subarray(0, 100), Buffer.alloc(good.length - 100, 0x5a)]));
    expect(lost().message).toContain('is damaged');
    // Stamped with a schema version but its tables gone.
    writeFileSync(db(), good);
    const raw = new Database(db());
    raw.exec('DROP TABLE reports');
    raw.close();
    expect(lost().message).toContain('tables missing: reports');
    rmSync(dir, { recursive: true });
    mkdirSync(dir);
    writeFileSync(db(), 'not a database');
    expect(lost().code).toBe('STORE_LOST');
    expect(readFileSync(db(), 'utf8')).toBe('not a database');
  });

  it('names the newest backup in the error', () => {
    workedIn();
    mkdirSync(path.join(dir, 'backups'));
    const older = path.join(dir, 'backups', 'taizhang-20200620-090000.sqlite');
    const newer = path.join(dir, 'backups', 'taizhang-20200621-090000.sqlite');
    writeFileSync(older, 'x');
    writeFileSync(newer, 'x');
    const t = Date.now() / 1000;
    for (const [f, ago] of [[older, 100], [newer, 10]] as const) utimesSync(f, t - ago, t - ago);
    rmSync(db());
    expect(lost().message).toContain(`the latest backup is ${newer}`);
    expect(lost().message).toContain(`最近的备份为 ${newer}`);
  });
});

describe('private files', () => {
  it('the folder is 0700 and the database and its -wal and -shm are 0600, under a umask of 022', () => {
    const s = Store.open(dir);
    s.setMeta('k', 'v');
    expect(mode(dir)).toBe('700');
    for (const f of ['', '-wal', '-shm']) expect(mode(`${db()}${f}`), f).toBe('600');
    s.close();
  });
});
