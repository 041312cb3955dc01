/**
 * The two ways pool.ts runs a parse worker: a worker thread or a child process. Both speak the
 * same protocol (worker.ts): `{ready: true}` once loaded, then for each job any number of
 * `{id, stage}` progress messages and one `{id, outcome}`.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { MailJob, MailOutcome } from './types.js';

/** `workerData` key a worker thread checks before listening. */
export const WORKER_MARK = 'taizhangParseWorker';
/** argv flag a worker process checks before listening. */
export const WORKER_ARG = '--taizhang-parse-worker';

export type Death = { oom: boolean; message: string };

/** What a worker posts. */
export type WorkerMessage =
  | { ready: true }
  | { id: number; stage: string }
  | { id: number; outcome: MailOutcome };

/** What the pool needs of a worker, whichever the isolation. */
export interface Runner {
  send(job: MailJob): void;
  /** Stops the worker; resolves once it is gone. */
  kill(): Promise<void>;
  ref(): void;
  unref(): void;
}

export interface RunnerHooks {
  onMessage(msg: WorkerMessage): void;
  onDeath(d: Death): void;
}

export interface RunnerLimits {
  /** V8 old-generation limit, MB. */
  maxOld: number;
  /** V8 young-generation limit, MB: small keeps the resident size down at little cost in speed. */
  maxYoung: number;
}

export function threadRunner(url: URL, limits: RunnerLimits, hooks: RunnerHooks): Runner {
  const worker = new Worker(url, {
    workerData: { [WORKER_MARK]: true },
    resourceLimits: { maxOldGenerationSizeMb: limits.maxOld, maxYoungGenerationSizeMb: limits.maxYoung, stackSizeMb: 4 },
    execArgv: [],
    stdout: false,
    stderr: false,
  });
  let dead = false;
  worker.on('message', (m) => hooks.onMessage(m));
  worker.on('error', (err: Error & { code?: string }) => {
    if (dead) return;
    dead = true;
    hooks.onDeath({ oom: err?.code === 'ERR_WORKER_OUT_OF_MEMORY', message: err?.message ?? String(err) });
  });
  worker.on('exit', (code) => {
    if (dead) return;
    dead = true;
    hooks.onDeath({ oom: false, message: `worker exited with code ${code}` });
  });
  return {
    send(job) { worker.postMessage(job); },
    kill() { dead = true; return worker.terminate().then(() => undefined, () => undefined); },
    ref() { worker.ref(); },
    unref() { worker.unref(); },
  };
}

export function processRunner(url: URL, limits: RunnerLimits, hooks: RunnerHooks): Runner {
  const child: ChildProcess = fork(fileURLToPath(url), [WORKER_ARG], {
    // The young generation is three semi-spaces.
    execArgv: [`--max-old-space-size=${limits.maxOld}`, `--max-semi-space-size=${Math.max(1, Math.floor(limits.maxYoung / 3))}`],
    serialization: 'advanced',
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    // Nothing of ours (mail passwords, NODE_OPTIONS that would override the heap limit) for a
    // process that reads strangers' files.
    env: { NODE_ENV: process.env.NODE_ENV ?? 'production' },
  });
  let dead = false;
  let stderrTail = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (s: string) => { stderrTail = (stderrTail + s).slice(-4096); });
  child.on('message', (m) => hooks.onMessage(m as WorkerMessage));
  child.on('error', (err) => {
    if (dead) return;
    dead = true;
    child.kill('SIGKILL');
    hooks.onDeath({ oom: false, message: err.message });
  });
  child.on('exit', (code, signal) => {
    if (dead) return;
    dead = true;
    const oom = /heap out of memory|Allocation failed|Reached heap limit/i.test(stderrTail) || signal === 'SIGKILL';
    hooks.onDeath({ oom, message: `worker process exited (${signal ?? `code ${code}`})${stderrTail ? `: ${stderrTail.trim().split('\n')[0]}` : ''}` });
  });
  const handles = () => [child, child.stderr, (child as unknown as { channel?: { ref(): void; unref(): void } }).channel];
  return {
    send(job) {
      child.send(job, (err) => {
        if (err && !dead) { dead = true; child.kill('SIGKILL'); hooks.onDeath({ oom: false, message: `cannot send to worker: ${err.message}` }); }
      });
    },
    kill() {
      dead = true;
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGKILL');
      return gone;
    },
    ref() { for (const h of handles()) (h as { ref?: () => void } | null | undefined)?.ref?.(); },
    unref() { for (const h of handles()) (h as { unref?: () => void } | null | undefined)?.unref?.(); },
  };
}
