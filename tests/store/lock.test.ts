/**
 * The worker lock of a data folder, within one process and against processes that hold it or
 * died holding it (plain Node children taking the same lock through the built module).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TaizhangError } from '../../src/errors.js';
import { acquireLock, LOCK_FILE, PID_FILE } from '../../src/store/lock.js';

const LOCK_MODULE = path.resolve(import.meta.dirname, '..', '..', 'dist', 'store', 'lock.js');

let dir: string;
const children: ReturnType<typeof spawn>[] = [];
beforeEach(() => { dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'tz-lock-')), 'data'); });
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(path.dirname(dir), { recursive: true, force: true });
});

function refusal(): TaizhangError {
  try {
    acquireLock(dir)();
  } catch (err) {
    expect(err).toBeInstanceOf(TaizhangError);
    expect((err as TaizhangError).code).toBe('LOCKED');
    return err as TaizhangError;
  }
  throw new Error('the lock was taken');
}

/** A child process that takes the lock and holds it until killed; resolves once it holds it. */
async function holder(): Promise<ReturnType<typeof spawn>> {
  const child = spawn(process.execPath, ['--input-type=module', '-e',
    `const { acquireLock } = await import(${JSON.stringify(LOCK_MODULE)}); acquireLock(${JSON.stringify(dir)}); console.log('held'); setInterval(() => {}, 1000);`,
  ], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d) => { if (String(d).includes('held')) resolve(); });
    child.once('exit', (code) => reject(new Error(`the holder exited (${code})`)));
  });
  return child;
}

/** A pid no process has (one that just exited). */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '']).pid!;
}

describe('the worker lock', () => {
  it('one holder per data folder, within a process too; released, it can be taken again', () => {
    const release = acquireLock(dir);
    expect(readFileSync(path.join(dir, PID_FILE), 'utf8')).toBe(`${process.pid}\nheld by ${LOCK_FILE}\n`);
    expect(refusal().message).toBe(`another taizhang worker is using ${dir}; only one may run at a time`); // our own pid is not named
    release();
    release(); // twice is harmless
    expect(existsSync(path.join(dir, PID_FILE))).toBe(false);
    expect(existsSync(path.join(dir, LOCK_FILE))).toBe(true); // never deleted
    acquireLock(dir)();
  });

  it('is held by the operating system: refused while another process holds it, free the moment it is killed', async () => {
    const child = await holder();
    expect(refusal().message).toBe(`another taizhang worker (pid ${child.pid}) is using ${dir}; only one may run at a time`);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    // What the dead holder left (the lock file, a pid file naming it) stops nobody.
    expect(readFileSync(path.join(dir, PID_FILE), 'utf8')).toContain(String(child.pid));
    const release = acquireLock(dir);
    expect(readFileSync(path.join(dir, PID_FILE), 'utf8')).toBe(`${process.pid}\nheld by ${LOCK_FILE}\n`);
    release();
  });

  it('refuses while a worker of an earlier version holds its pid file, and takes over one a dead worker left', () => {
    acquireLock(dir)(); // the folder exists
    // An earlier version's worker: alive, its pid alone in the file (it takes no OS lock).
    const sleeper = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    children.push(sleeper);
    writeFileSync(path.join(dir, PID_FILE), `${sleeper.pid}\n`);
    expect(refusal().message).toContain(`(pid ${sleeper.pid})`);
    writeFileSync(path.join(dir, PID_FILE), `${deadPid()}\n`);
    const release = acquireLock(dir);
    expect(readFileSync(path.join(dir, PID_FILE), 'utf8')).toContain(`${process.pid}\n`);
    release();
  });

  it('its files are 0600 in a 0700 folder, under a umask of 022', () => {
    const umask = process.umask(0o022);
    try {
      const release = acquireLock(dir);
      expect((statSync(dir).mode & 0o777).toString(8)).toBe('700');
      for (const f of [LOCK_FILE, PID_FILE]) expect((statSync(path.join(dir, f)).mode & 0o777).toString(8), f).toBe('600');
      release();
    } finally {
      process.umask(umask);
    }
  });
});
