/**
 * One worker per data folder, provably: many `taizhang run` started at once over a stale lock
 * (its holder killed with SIGKILL, and a pid file naming a dead process), again and again: each
 * time exactly one proceeds and every other one is refused with exit 1. A preloaded barrier
 * (tests/fixtures/workers/lock-barrier.mjs) holds each worker just before it takes the lock and
 * lets them all go at the same instant.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, openSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { useMailStack } from '../helpers/mail-stack.js';
import { makeProject } from '../helpers/project.js';
import { isolate, spawnCli, until, type Child } from '../helpers/fleet.js';

const mail = useMailStack();
const WORKERS = 8;
const ROUNDS = 3;
const RUNNING = /taizhang running/;
const REFUSED = /^taizhang: another taizhang worker(?: \(pid (\d+)\))? is using .* only one may run at a time$/m;

const children: Child[] = [];
afterAll(() => {
  for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
});

const alive = (c: Child) => c.proc.exitCode === null && c.proc.signalCode === null;
const BARRIER = path.resolve(import.meta.dirname, '..', 'fixtures', 'workers', 'lock-barrier.mjs');

/** Lets every worker held at the barrier go at once, when all `n` are there. */
async function release(fifo: string, n: number): Promise<void> {
  const ready = () => readdirSync(path.dirname(fifo)).filter((f) => f.startsWith(`${path.basename(fifo)}.ready-`));
  await until(`${n} workers at the barrier`, () => ready().length >= n || undefined, 60_000, 50);
  await new Promise((r) => setTimeout(r, 300)); // the last one from its ready file into its open()
  closeSync(openSync(fifo, 'w'));
  for (const f of ready()) rmSync(path.join(path.dirname(fifo), f));
}

describe('one worker per data folder', () => {
  it(`of ${WORKERS} workers started at once over a stale lock, exactly one proceeds, round after round`, async () => {
    const stack = mail();
    const p = makeProject(stack, (d) => { isolate(d); d.mailbox.imap.poll_seconds = 5; });
    // A worker killed while holding the lock leaves its lock file and a pid file naming it.
    let holder = spawnCli(p, stack, ['run']);
    children.push(holder);
    await until('the first worker runs', () => RUNNING.test(holder.stderr()) || undefined, 30_000);
    for (let round = 1; round <= ROUNDS; round++) {
      holder.proc.kill('SIGKILL');
      await holder.exited;
      if (round === 2) {
        // And as an earlier version would have left it: the pid alone, of a process that is gone.
        writeFileSync(path.join(p.dataDir, 'taizhang.lock'), `${spawnSync(process.execPath, ['-e', '']).pid}\n`);
      }
      const fifo = path.join(p.dir, `barrier-${round}`);
      execFileSync('mkfifo', [fifo]);
      const env = { NODE_OPTIONS: `--import=${BARRIER}`, TZ_BARRIER_DATA_DIR: p.dataDir, TZ_BARRIER_FIFO: fifo };
      const fleet = Array.from({ length: WORKERS }, () => spawnCli(p, stack, ['run'], env));
      children.push(...fleet);
      await release(fifo, WORKERS);
      await until(`round ${round}: all but one refused`, () => fleet.filter(alive).length <= 1 || undefined, 60_000, 100);
      const running = fleet.filter(alive);
      expect(running, `round ${round}:\n${fleet.map((c) => c.stderr().slice(-300)).join('\n---\n')}`).toHaveLength(1);
      holder = running[0];
      await until(`round ${round}: the one left runs`, () => RUNNING.test(holder.stderr()) || undefined, 30_000);
      for (const c of fleet.filter((x) => x !== holder)) {
        expect(await c.exited).toEqual({ code: 1, signal: null });
        const refused = REFUSED.exec(c.stderr());
        expect(refused, c.stderr()).not.toBeNull();
        if (refused?.[1]) expect(Number(refused[1])).toBe(holder.proc.pid);
        expect(c.stderr()).not.toMatch(RUNNING);
      }
      expect(alive(holder)).toBe(true);
    }
    holder.proc.kill('SIGTERM');
    expect(await holder.exited).toEqual({ code: 0, signal: null });
  }, 300_000);
});
