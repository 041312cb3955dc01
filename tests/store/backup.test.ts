/**
 * The database's backup (SQLite's online backup through a second connection, as `taizhang backup`
 * makes it beside a running worker) and the documented restore; and how people's records follow
 * their id: carried over to a renamed person, forms of older keys remembered.
 */
import Database from 'better-sqlite3';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addressKeyOf, personKeyOf } from '../../src/core/identity.js';
import { backupStore, defaultBackupFile } from '../../src/store/backup.js';
import { Store } from '../../src/store/store.js';

let root: string;
let dir: string;
const opened: Store[] = [];
beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'tz-backup-'));
  dir = path.join(root, 'data');
});
afterEach(() => {
  for (const s of opened.splice(0)) if (s.db.open) s.close();
  rmSync(root, { recursive: true, force: true });
});

function open(people?: { id: string; email: string }[]): Store {
  const s = Store.open(dir, { people });
  opened.push(s);
  return s;
}

let seq = 0;
const report = (s: Store, person: string, progress: string) => s.addReport({
  period: '2020-06', person, messageRow: null, sender: `${person}@x.cn`, receivedAt: `2020-06-21T00:00:${String(++seq % 60).padStart(2, '0')}.000Z`, late: false, rows: [{ no: 1, progress, remark: '' }],
});
const request = (s: Store, person: string, to: string, period = '2020-06') => s.enqueue({
  kind: 'request', period, person, slot: 'initial', recipients: [to], messageId: `<${++seq}@office>`, subject: '请填报', raw: Buffer.alloc(2000, 0x61), now: '2020-06-20T01:00:00.000Z',
});

describe('backup', () => {
  it('is a consistent copy while another connection keeps writing, 0600 in a 0700 folder, self-contained', async () => {
    const umask = process.umask(0o022);
    try {
      const worker = open();
      for (let i = 0; i < 3000; i++) request(worker, `p${i}`, `p${i}@x.cn`); // about 7 MB: the copy takes many steps
      const reader = open(); // what `taizhang backup` opens, without the lock
      // The worker goes on recording, a report and its counter in one transaction each time.
      let writes = 0;
      let copying = true;
      const writing = (async () => {
        while (copying) {
          worker.tx(() => { report(worker, 'ai', `第${++writes}次`); worker.setMeta('writes', String(writes)); });
          await new Promise((r) => setImmediate(r));
        }
      })();
      const dest = defaultBackupFile(dir, new Date('2020-06-21T01:00:00Z'), 'Asia/Shanghai');
      expect(dest).toBe(path.join(dir, 'backups', 'taizhang-20200621-090000.sqlite'));
      const r = await backupStore(reader, dest, { numbered: true });
      copying = false;
      await writing;
      expect(writes).toBeGreaterThan(0);
      expect(r).toMatchObject({ file: dest, mails: 3000 });
      expect((statSync(dest).mode & 0o777).toString(8)).toBe('600');
      expect((statSync(path.dirname(dest)).mode & 0o777).toString(8)).toBe('700');
      expect(readdirSync(path.dirname(dest))).toEqual([path.basename(dest)]); // no -wal, -shm, journal or partial file
      const copy = new Database(dest, { readonly: true });
      try {
        expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
        expect(copy.pragma('journal_mode', { simple: true })).toBe('delete');
        // One committed state: as many reports as the counter says.
        const n = Number(copy.prepare("SELECT value FROM meta WHERE key = 'writes'").pluck().get() ?? 0);
        expect(copy.prepare('SELECT COUNT(*) FROM reports').pluck().get()).toBe(n);
        expect(r.reports).toBe(n);
      } finally {
        copy.close();
      }
      // The same name again: the next free one beside it; given by hand, never over a file.
      expect((await backupStore(reader, dest, { numbered: true })).file).toBe(dest.replace(/\.sqlite$/, '-2.sqlite'));
      writeFileSync(path.join(root, 'taken.sqlite'), 'mine');
      await expect(backupStore(reader, path.join(root, 'taken.sqlite'))).rejects.toThrow(/exists already; give another name with --to/);
      expect(readdirSync(root).sort()).toEqual(['data', 'taken.sqlite']);
    } finally {
      process.umask(umask);
    }
  });

  it('restores as documented: stop, copy over taizhang.sqlite, delete -wal and -shm, start', async () => {
    const s = open();
    report(s, 'ai', '备份前');
    const file = (await backupStore(s, path.join(root, 'b.sqlite'))).file;
    report(s, 'ai', '备份后,数据库随后损坏');
    s.close();
    copyFileSync(file, path.join(dir, 'taizhang.sqlite'));
    for (const f of ['-wal', '-shm']) rmSync(path.join(dir, `taizhang.sqlite${f}`), { force: true });
    expect(open().currentReports('2020-06').get('ai')?.rows[0].progress).toBe('备份前');
  });
});

describe('people keyed by id', () => {
  it('a person renamed with the same address keeps their records under the new id, and their forms', () => {
    const s = open([{ id: '王群才', email: 'wang@x.cn' }, { id: '马红霞', email: 'ma@x.cn' }]);
    request(s, '王群才', 'wang@x.cn');
    request(s, '马红霞', 'ma@x.cn');
    report(s, '王群才', '王的进展');
    s.close();
    // 王群才 is renamed 王群材 (a typo fixed): the id, the name by default, changes; the address does not.
    const renamed = open([{ id: '王群材', email: 'wang@x.cn' }, { id: '马红霞', email: 'ma@x.cn' }]);
    expect(renamed.renamed).toEqual([{ from: '王群才', to: '王群材' }]);
    expect(renamed.currentReports('2020-06').get('王群材')?.rows[0].progress).toBe('王的进展');
    expect(renamed.outboxFor('request', '2020-06', '王群材')).toHaveLength(1);
    expect(renamed.formKeyPerson(personKeyOf({ id: '王群才' }))).toBe('王群材');
    renamed.close();
    expect(open([{ id: '王群材', email: 'wang@x.cn' }]).renamed).toEqual([]); // done once
  });

  it('carries nothing over when it is not clear: a new address too, or someone else with that address already asked', () => {
    const s = open([{ id: 'a', email: 'a@x.cn' }, { id: 'b', email: 'b@x.cn' }]);
    request(s, 'a', 'a@x.cn');
    request(s, 'b', 'b@x.cn');
    s.close();
    const other = open([{ id: 'a2', email: 'a-new@x.cn' }, { id: 'b', email: 'b@x.cn' }]);
    expect(other.renamed).toEqual([]);
    other.close();
    // b2 has b's old address, but b is still configured: no rename of b.
    const taken = open([{ id: 'b', email: 'b2@x.cn' }, { id: 'b2', email: 'b@x.cn' }]);
    expect(taken.renamed).toEqual([]);
    expect(taken.outboxFor('request', '2020-06', 'b')).toHaveLength(1);
  });

  it('remembers whose the forms sent before ids were, by the address they went to', () => {
    const legacy = path.join(dir, 'taizhang.sqlite');
    open().close();
    const raw = new Database(legacy);
    raw.prepare("INSERT INTO outbox (kind, period, person, slot, recipients, message_id, subject, next_attempt_at, created_at) VALUES ('request', '2020-06', 'wang-old@x.cn', 'initial', 'wang-old@x.cn', '<1@o>', 's', 'x', 'x')").run();
    raw.exec('DROP TABLE form_keys');
    raw.pragma('user_version = 2');
    raw.close();
    // 王群才's address changed in the config at the same time as the upgrade: nobody has the old one.
    const s = open([{ id: '王群才', email: 'wang-old@x.cn' }]);
    expect(s.formKeyPerson(addressKeyOf('wang-old@x.cn'))).toBe('王群才');
    expect(s.formKeyPerson(addressKeyOf('someone@x.cn'))).toBeUndefined();
    expect(existsSync(legacy)).toBe(true);
  });
});
