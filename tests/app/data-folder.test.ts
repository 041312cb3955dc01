/**
 * The data folder through the real command line and the real mail servers: a lost database stops
 * every command and sends nothing, `backup` (also beside a running `run`) and the documented
 * restore bring the month back without a second request; everything written is private (0600 /
 * 0700) under a umask of 022, also a folder an earlier version left readable.
 */
import Database from 'better-sqlite3';
import { chmodSync, copyFileSync, existsSync, readdirSync, rmSync, statSync, truncateSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replyToRequest } from '../../tools/respondent.js';
import { useMailStack } from '../helpers/mail-stack.js';
import { makeProject, type Project } from '../helpers/project.js';
import { acceptedBy, isolate, spawnCli, until, type Child } from '../helpers/fleet.js';

const mail = useMailStack();
const REQUEST = /请填报/;
const REMINDER = /提醒/;

let umask: number;
const children: Child[] = [];
// Children inherit the umask: as a shell with the common default would start taizhang.
beforeAll(() => { umask = process.umask(0o022); });
afterAll(() => {
  process.umask(umask);
  for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
});

async function replyAs(p: Project, email: string, words: string): Promise<void> {
  const req = (await p.inbox(email)).find((m) => REQUEST.test(m.subject ?? ''));
  if (!req) throw new Error(`no request for ${email}`);
  await replyToRequest({ smtp: p.smtp, from: email, original: req.raw, answer: () => ({ progress: words }) });
}

/** Every folder and file under `dir` with its mode, e.g. `mail/123/1.eml 600`. */
function modes(dir: string, rel = ''): string[] {
  return readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((e) => {
    const r = path.join(rel, e.name);
    const m = `${r} ${(statSync(path.join(dir, r)).mode & 0o777).toString(8)}`;
    return e.isDirectory() ? [m, ...modes(dir, r)] : [m];
  });
}

describe('a lost database', () => {
  it('stops every command with one clear line and sends nothing; a backup restored brings the month back', async () => {
    const stack = mail();
    const p = makeProject(stack, (d) => isolate(d));
    const [ai, wang] = p.people;
    expect((await p.tick('2020-06-20T09:00:00+08:00')).code).toBe(0); // a new data folder starts fresh
    await replyAs(p, ai.email, '艾延坤:已完成。');
    expect((await p.tick('2020-06-21T09:00:00+08:00')).code).toBe(0);
    const backup = await p.cli('backup');
    expect(backup.code, backup.stderr).toBe(0);
    const file = /^backup: (.+)$/m.exec(backup.stdout)?.[1] ?? '';
    expect(path.dirname(file)).toBe(path.join(p.dataDir, 'backups'));
    expect(backup.stderr).toMatch(/schema version \d+, 1 reports, \d+ mails; integrity check ok/);

    const db = path.join(p.dataDir, 'taizhang.sqlite');
    const sent = stack.smtp.accepted.length;
    const lost = async (how: string) => {
      for (const args of [['tick', '--now', '2020-06-25T09:00:00+08:00'], ['send', '--period', '2020-06'], ['remind'], ['collect'], ['consolidate'], ['status'], ['backup'], ['check']]) {
        const r = await p.cli(...args);
        expect(r.code, `${args[0]}: ${r.stderr}`).toBe(1);
        expect(r.stderr.trim().split('\n'), args[0]).toHaveLength(1);
        expect(r.stderr).toContain(`taizhang: the database ${db} ${how}`);
        expect(r.stderr).toContain(`the latest backup is ${file}`);
        expect(r.stderr).toContain('本次未执行任何操作、未发送任何邮件');
      }
      expect(stack.smtp.accepted.length).toBe(sent);
    };
    truncateSync(db, 0); // emptied by disk trouble or a bad restore
    await lost('is empty');
    expect(statSync(db).size).toBe(0);
    rmSync(db);
    await lost('is missing');
    expect(existsSync(db)).toBe(false);

    // The documented restore: copy the backup over taizhang.sqlite (-wal and -shm are gone), start.
    copyFileSync(file, db);
    const r = await p.tick('2020-06-25T09:00:00+08:00');
    expect(r.code, r.stderr).toBe(0);
    for (const person of p.people) expect(acceptedBy(stack.smtp.accepted, REQUEST).get(person.email), person.email).toBe(1);
    const reminded = acceptedBy(stack.smtp.accepted.slice(sent), REMINDER);
    expect(reminded.get(ai.email)).toBeUndefined(); // her report is still there
    expect(reminded.get(wang.email)).toBe(1);
    const s = await p.status('2020-06');
    expect(s.people.find((x: { email: string }) => x.email === ai.email)).toMatchObject({ status: 'submitted', id: ai.name });
  }, 180_000);

  it('backup works beside a running `run`, which goes on answering', async () => {
    const stack = mail();
    const p = makeProject(stack, (d) => { isolate(d); d.mailbox.imap.poll_seconds = 5; });
    expect((await p.tick('2020-06-20T09:00:00+08:00')).code).toBe(0);
    const daemon = spawnCli(p, stack, ['run']);
    children.push(daemon);
    await until('the daemon watches the mailbox', () => /watching the collection mailbox/.test(daemon.stderr()) || undefined, 30_000);
    const to = path.join(p.dir, 'copies', 'june.sqlite');
    const r = await p.cli('backup', '--to', to);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(`backup: ${to}`);
    expect(modes(path.join(p.dir, 'copies'))).toEqual(['june.sqlite 600']);
    const copy = new Database(to, { readonly: true });
    expect(copy.prepare("SELECT COUNT(*) FROM outbox WHERE kind = 'request'").pluck().get()).toBe(p.people.length);
    copy.close();
    expect((await p.cli('backup', '--to', to)).stderr).toMatch(/exists already; give another name with --to/);
    // The daemon still holds the data folder and answers.
    const [ai] = p.people;
    await replyAs(p, ai.email, '运行中报送。');
    await until('a receipt while running', async () => (await p.inbox(ai.email)).some((m) => /【回执】/.test(m.subject ?? '')) || undefined, 30_000, 250);
    daemon.proc.kill('SIGTERM');
    expect(await daemon.exited).toEqual({ code: 0, signal: null });
  }, 120_000);
});

describe('private files', () => {
  it('every folder is 0700 and every file 0600 under a umask of 022, also in a folder an earlier version left readable', async () => {
    const stack = mail();
    const p = makeProject(stack, (d) => isolate(d));
    const [ai] = p.people;
    expect((await p.tick('2020-06-20T09:00:00+08:00')).code).toBe(0);
    await replyAs(p, ai.email, '已完成。');
    expect((await p.tick('2020-06-21T09:00:00+08:00')).code).toBe(0);
    expect((await p.tick('2020-07-01T09:00:00+08:00')).code).toBe(0); // the ledger
    expect((await p.cli('backup')).code).toBe(0);
    const all = modes(p.dataDir);
    for (const kind of ['mail', 'forms', 'ledgers', 'backups', 'secret', 'taizhang.sqlite', 'taizhang-worker.lock']) {
      expect(all.some((m) => m.startsWith(kind)), kind).toBe(true);
    }
    expect(all.filter((m) => !/ (600|700)$/.test(m))).toEqual([]);
    expect(all.filter((m) => m.endsWith(' 700')).every((m) => statSync(path.join(p.dataDir, m.split(' ')[0])).isDirectory())).toBe(true);
    expect((statSync(p.dataDir).mode & 0o777).toString(8)).toBe('700');

    // As an earlier version left it: 0755 folders, 0644 files, the database before migration 4.
    const loosen = (dir: string) => {
      chmodSync(dir, 0o755);
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        if (e.isDirectory()) loosen(path.join(dir, e.name));
        else chmodSync(path.join(dir, e.name), 0o644);
      }
    };
    loosen(p.dataDir);
    const db = new Database(path.join(p.dataDir, 'taizhang.sqlite'));
    db.pragma('user_version = 3');
    db.close();
    expect((await p.tick('2020-07-02T09:00:00+08:00')).code).toBe(0);
    expect(modes(p.dataDir).filter((m) => !/ (600|700)$/.test(m))).toEqual([]);
  }, 120_000);
});
