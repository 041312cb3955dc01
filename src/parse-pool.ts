/**
 * A small pool of workers that parse untrusted spreadsheet attachments (src/parse-worker.ts).
 * Each worker has a V8 heap limit; each job has a time limit. A worker that overruns either is
 * killed and replaced, and the job resolves with SHEET_TIMEOUT or SHEET_TOO_LARGE. `parse`
 * never rejects and never waits longer than the time limit once its job has started (jobs
 * beyond the pool size wait in a FIFO queue first, and a new worker's start-up is not counted).
 *
 * Isolation: `'thread'` (worker_threads, the buffer is transferred without a copy) or
 * `'process'` (child processes over IPC). Threads are cheaper, but a heap limit in a thread is
 * best effort: some allocation shapes abort the whole process with "FATAL ERROR: … heap out of
 * memory" instead of ending the worker (nodejs/node#47224; seen here with exceljs expanding a
 * data validation). So the default is `'process'`: whatever a file does, only the child dies.
 *
 * Workers are started on demand and do not keep the process alive while idle.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ErrorCode } from './errors.js';
import type { ReplyWorkbook } from './sheet-read.js';
import type { SheetKind } from './sheet-sniff.js';
import type { ZipLimits } from './zip.js';

/** What parsing one attachment gave. `kind` is the sniffed file kind, when sniffing got that far. */
export type ParseOutcome =
  | { ok: true; workbook: ReplyWorkbook; kind?: SheetKind }
  | { ok: false; code: ErrorCode; message: string; kind?: SheetKind };

/** Options of {@link createParsePool}. */
export interface ParsePoolOptions {
  /** Number of workers. Default min(2, CPUs). */
  size?: number;
  /** Time limit of one job once started, ms. Default 15000. */
  timeoutMs?: number;
  /** V8 old-generation limit of each worker, MB. Default 256. */
  maxOldGenerationSizeMb?: number;
  /** `'process'` (default) or `'thread'`; see the module comment. */
  isolation?: 'process' | 'thread';
  /** Attachments larger than this are refused without parsing. Default 30 MB. */
  maxInputBytes?: number;
  /** Zip limits passed to the worker (see zip.ts `checkZipLimits`). */
  zipLimits?: Partial<ZipLimits>;
  /** Time a new worker may take to load its code before its first job counts, ms. Default 30000. */
  startupTimeoutMs?: number;
  /** Override the worker script (tests). */
  workerUrl?: URL;
}

/** Counters, for logs and tests. */
export interface ParsePoolStats {
  workers: number;
  busy: number;
  queued: number;
  /** Workers replaced after a timeout, out-of-memory or crash. */
  replaced: number;
  completed: number;
}

/** The pool. */
export interface ParsePool {
  /** Parses one attachment; the caller's buffer is copied, never detached. Never rejects. */
  parse(buf: Buffer, filename: string, secret?: string): Promise<ParseOutcome>;
  /** Refuses new jobs, lets started and queued ones finish (each within its time limit), stops the workers. */
  close(): Promise<void>;
  stats(): ParsePoolStats;
}

/** `workerData` key a worker thread checks before listening. */
export const WORKER_MARK = 'taizhangParseWorker';
/** argv flag a worker process checks before listening. */
export const WORKER_ARG = '--taizhang-parse-worker';

/**
 * Where the compiled worker lives. Under vitest this module runs from `src/*.ts`, and a worker
 * cannot load TypeScript, so the compiled `dist/parse-worker.js` is used (build first).
 */
export function defaultWorkerUrl(moduleUrl: string = import.meta.url): URL {
  if (/\/src\/[^/]+\.ts$/.test(moduleUrl)) return new URL(moduleUrl.replace(/\/src\/[^/]+\.ts$/, '/dist/parse-worker.js'));
  return new URL('./parse-worker.js', moduleUrl);
}

interface Job {
  id: number;
  data: Uint8Array;
  filename: string;
  secret?: string;
  resolve: (o: ParseOutcome) => void;
  done: boolean;
}

type Death = { oom: boolean; message: string };

/** What the pool needs of a worker, whichever the isolation. */
interface Runner {
  send(msg: { id: number; data: Uint8Array; filename: string; secret?: string; limits?: Partial<ZipLimits> }): void;
  /** Stops the worker; resolves once it is gone. */
  kill(): Promise<void>;
  ref(): void;
  unref(): void;
}

interface Slot {
  runner: Runner;
  job: Job | null;
  timer: NodeJS.Timeout | null;
  dead: boolean;
  /** The worker said it has loaded its code: from then on a job's time limit runs. */
  ready: boolean;
}

/** What a worker posts: `{ready: true}` once loaded, then one response per job. */
type WorkerMessage = { ready: true } | { id: number; outcome: ParseOutcome };

interface RunnerHooks {
  onMessage(msg: WorkerMessage): void;
  onDeath(d: Death): void;
}

function threadRunner(url: URL, maxOld: number, hooks: RunnerHooks): Runner {
  const worker = new Worker(url, {
    workerData: { [WORKER_MARK]: true },
    resourceLimits: { maxOldGenerationSizeMb: maxOld, maxYoungGenerationSizeMb: Math.min(64, Math.max(8, maxOld / 8)), stackSizeMb: 4 },
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
    send(msg) {
      // The job's bytes sit in their own ArrayBuffer: transfer it instead of cloning.
      worker.postMessage(msg, [msg.data.buffer as ArrayBuffer]);
    },
    kill() { dead = true; return worker.terminate().then(() => undefined, () => undefined); },
    ref() { worker.ref(); },
    unref() { worker.unref(); },
  };
}

function processRunner(url: URL, maxOld: number, hooks: RunnerHooks): Runner {
  const child: ChildProcess = fork(fileURLToPath(url), [WORKER_ARG], {
    // A small young generation: 90 MB a worker after 500 forms instead of 145, at the same speed.
    execArgv: [`--max-old-space-size=${maxOld}`, '--max-semi-space-size=2'],
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
    send(msg) {
      child.send(msg, (err) => {
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

/**
 * Creates the pool. Call `close()` when done (idle workers do not hold the process open, but a
 * clean close lets running jobs finish).
 */
export function createParsePool(options: ParsePoolOptions = {}): ParsePool {
  const size = Math.max(1, Math.floor(options.size ?? Math.min(2, availableParallelism())));
  const timeoutMs = options.timeoutMs ?? 15_000;
  const startupTimeoutMs = options.startupTimeoutMs ?? 30_000;
  const maxOld = options.maxOldGenerationSizeMb ?? 256;
  const maxInput = options.maxInputBytes ?? 30 * 1024 * 1024;
  const isolation = options.isolation ?? 'process';
  const workerUrl = options.workerUrl ?? defaultWorkerUrl();
  const slots: Slot[] = [];
  const queue: Job[] = [];
  let nextId = 1;
  let closed = false;
  let replaced = 0;
  let completed = 0;
  let idleWaiters: Array<() => void> = [];

  function settle(job: Job, outcome: ParseOutcome): void {
    if (job.done) return;
    job.done = true;
    completed++;
    job.resolve(outcome);
  }

  function finishSlot(slot: Slot, outcome: ParseOutcome, kill: boolean): void {
    const job = slot.job;
    slot.job = null;
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    if (kill && !slot.dead) {
      slot.dead = true;
      const i = slots.indexOf(slot);
      if (i >= 0) slots.splice(i, 1);
      void slot.runner.kill();
      replaced++;
    } else if (!kill) {
      slot.runner.unref();
    }
    if (job) settle(job, outcome);
    pump();
  }

  function spawn(): Slot {
    const slot: Slot = { runner: undefined as unknown as Runner, job: null, timer: null, dead: false, ready: false };
    const hooks: RunnerHooks = {
      onMessage(msg) {
        if (msg && 'ready' in msg) {
          slot.ready = true;
          if (slot.job && !slot.dead) armJobTimer(slot);
        } else if (slot.job && msg?.id === slot.job.id) {
          finishSlot(slot, msg.outcome, false);
        }
      },
      onDeath(d) {
        if (slot.dead) return;
        const outcome: ParseOutcome = d.oom
          ? { ok: false, code: 'SHEET_TOO_LARGE', message: `文件解析超出内存限制(${maxOld} MB)` }
          : { ok: false, code: 'INTERNAL', message: `parse worker failed: ${d.message}` };
        finishSlot(slot, outcome, true);
      },
    };
    slot.runner = isolation === 'thread' ? threadRunner(workerUrl, maxOld, hooks) : processRunner(workerUrl, maxOld, hooks);
    slot.runner.unref();
    slots.push(slot);
    return slot;
  }

  /** The job's time limit, counted from when the worker is ready (a cold start is not the file's fault). */
  function armJobTimer(slot: Slot): void {
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = setTimeout(() => {
      finishSlot(slot, { ok: false, code: 'SHEET_TIMEOUT', message: `文件解析超过 ${Math.round(timeoutMs / 100) / 10} 秒,已中止` }, true);
    }, timeoutMs);
  }

  function start(slot: Slot, job: Job): void {
    slot.job = job;
    slot.runner.ref();
    if (slot.ready) {
      armJobTimer(slot);
    } else {
      slot.timer = setTimeout(() => {
        finishSlot(slot, { ok: false, code: 'INTERNAL', message: `parse worker did not start within ${startupTimeoutMs} ms` }, true);
      }, startupTimeoutMs);
    }
    try {
      slot.runner.send({ id: job.id, data: job.data, filename: job.filename, secret: job.secret, limits: options.zipLimits });
    } catch (err) {
      finishSlot(slot, { ok: false, code: 'INTERNAL', message: `cannot post to parse worker: ${(err as Error).message}` }, true);
    }
  }

  function pump(): void {
    while (queue.length > 0) {
      let slot = slots.find((s) => !s.job && !s.dead);
      if (!slot && slots.length < size) {
        try {
          slot = spawn();
        } catch (err) {
          settle(queue.shift()!, { ok: false, code: 'INTERNAL', message: `cannot start parse worker: ${(err as Error).message}` });
          continue;
        }
      }
      if (!slot) break;
      start(slot, queue.shift()!);
    }
    if (queue.length === 0 && slots.every((s) => !s.job)) {
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  return {
    parse(buf: Buffer, filename: string, secret?: string): Promise<ParseOutcome> {
      if (closed) return Promise.resolve({ ok: false, code: 'INTERNAL', message: 'parse pool is closed' });
      if (buf.byteLength > maxInput) {
        return Promise.resolve({ ok: false, code: 'SHEET_TOO_LARGE', message: `附件超过 ${Math.round(maxInput / 1024 / 1024)} MB` });
      }
      // One copy into a fresh ArrayBuffer: the caller keeps its buffer, and a thread gets the
      // copy transferred (a process gets it over the IPC pipe).
      const data = new Uint8Array(new ArrayBuffer(buf.byteLength));
      data.set(buf);
      return new Promise<ParseOutcome>((resolve) => {
        queue.push({ id: nextId++, data, filename, secret, resolve, done: false });
        pump();
      });
    },
    async close(): Promise<void> {
      closed = true;
      if (queue.length > 0 || slots.some((s) => s.job)) await new Promise<void>((r) => idleWaiters.push(r));
      await Promise.all(slots.splice(0).map((s) => {
        s.dead = true;
        s.runner.ref(); // keep the event loop alive until the worker is really gone
        return s.runner.kill();
      }));
    },
    stats(): ParsePoolStats {
      return { workers: slots.length, busy: slots.filter((s) => s.job).length, queued: queue.length, replaced, completed };
    },
  };
}
