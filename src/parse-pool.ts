/**
 * A small pool of worker threads that parse untrusted spreadsheet attachments
 * (src/parse-worker.ts). Each worker has a V8 heap limit; each job has a time limit. A worker
 * that overruns either is terminated and replaced, and the job resolves with SHEET_TIMEOUT or
 * SHEET_TOO_LARGE. `parse` never rejects and never waits longer than the time limit once its
 * job has started (jobs beyond the pool size wait in a FIFO queue first).
 *
 * Workers are started on demand and do not keep the process alive while idle.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { ErrorCode } from './errors.js';
import type { ReplyWorkbook } from './sheet-read.js';
import type { SheetKind, ZipLimits } from './sheet-sniff.js';

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
  /** Attachments larger than this are refused without parsing. Default 30 MB. */
  maxInputBytes?: number;
  /** Zip limits passed to the worker (see sheet-sniff `checkZipLimits`). */
  zipLimits?: Partial<ZipLimits>;
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

/** `workerData` key the worker checks before listening. */
export const WORKER_MARK = 'taizhangParseWorker';

/**
 * Where the compiled worker lives. Under vitest this module runs from `src/*.ts`, and a worker
 * thread cannot load TypeScript, so the compiled `dist/parse-worker.js` is used (build first).
 */
export function defaultWorkerUrl(moduleUrl: string = import.meta.url): URL {
  if (/\/src\/[^/]+\.ts$/.test(moduleUrl)) return new URL(moduleUrl.replace(/\/src\/[^/]+\.ts$/, '/dist/parse-worker.js'));
  return new URL('./parse-worker.js', moduleUrl);
}

interface Job {
  id: number;
  data: ArrayBuffer;
  filename: string;
  secret?: string;
  resolve: (o: ParseOutcome) => void;
  done: boolean;
}

interface Slot {
  worker: Worker;
  job: Job | null;
  timer: NodeJS.Timeout | null;
  dead: boolean;
}

/**
 * Creates the pool. Call `close()` when done (idle workers do not hold the process open, but a
 * clean close lets running jobs finish).
 */
export function createParsePool(options: ParsePoolOptions = {}): ParsePool {
  const size = Math.max(1, Math.floor(options.size ?? Math.min(2, availableParallelism())));
  const timeoutMs = options.timeoutMs ?? 15_000;
  const maxOld = options.maxOldGenerationSizeMb ?? 256;
  const maxInput = options.maxInputBytes ?? 30 * 1024 * 1024;
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

  function retire(slot: Slot): void {
    if (slot.dead) return;
    slot.dead = true;
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    const i = slots.indexOf(slot);
    if (i >= 0) slots.splice(i, 1);
    slot.worker.removeAllListeners('message');
    void slot.worker.terminate().catch(() => undefined);
  }

  function finishSlot(slot: Slot, outcome: ParseOutcome, kill: boolean): void {
    const job = slot.job;
    slot.job = null;
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    if (kill) {
      retire(slot);
      replaced++;
    } else {
      slot.worker.unref();
    }
    if (job) settle(job, outcome);
    pump();
  }

  function spawn(): Slot {
    const worker = new Worker(workerUrl, {
      workerData: { [WORKER_MARK]: true },
      resourceLimits: { maxOldGenerationSizeMb: maxOld, maxYoungGenerationSizeMb: Math.min(64, Math.max(8, maxOld / 8)), stackSizeMb: 4 },
      execArgv: [],
      stdout: false,
      stderr: false,
    });
    const slot: Slot = { worker, job: null, timer: null, dead: false };
    worker.on('message', (msg: { id: number; outcome: ParseOutcome }) => {
      if (slot.job && msg?.id === slot.job.id) finishSlot(slot, msg.outcome, false);
    });
    worker.on('error', (err: Error & { code?: string }) => {
      if (slot.dead) return;
      const oom = err?.code === 'ERR_WORKER_OUT_OF_MEMORY' || /out of memory|heap limit/i.test(err?.message ?? '');
      const outcome: ParseOutcome = oom
        ? { ok: false, code: 'SHEET_TOO_LARGE', message: `文件解析超出内存限制(${maxOld} MB)` }
        : { ok: false, code: 'INTERNAL', message: `parse worker failed: ${err?.message ?? String(err)}` };
      finishSlot(slot, outcome, true);
    });
    worker.on('exit', (code) => {
      if (slot.dead) return;
      finishSlot(slot, { ok: false, code: 'INTERNAL', message: `parse worker exited with code ${code}` }, true);
    });
    worker.unref();
    slots.push(slot);
    return slot;
  }

  function start(slot: Slot, job: Job): void {
    slot.job = job;
    slot.worker.ref();
    slot.timer = setTimeout(() => {
      finishSlot(slot, { ok: false, code: 'SHEET_TIMEOUT', message: `文件解析超过 ${Math.round(timeoutMs / 1000)} 秒,已中止` }, true);
    }, timeoutMs);
    try {
      slot.worker.postMessage({ id: job.id, data: job.data, filename: job.filename, secret: job.secret, limits: options.zipLimits }, [job.data]);
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
          const job = queue.shift()!;
          settle(job, { ok: false, code: 'INTERNAL', message: `cannot start parse worker: ${(err as Error).message}` });
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
      // One copy into a fresh ArrayBuffer, which is then transferred (not cloned) to the worker.
      const data = new ArrayBuffer(buf.byteLength);
      new Uint8Array(data).set(buf);
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
        return s.worker.terminate().catch(() => undefined);
      }));
    },
    stats(): ParsePoolStats {
      return { workers: slots.length, busy: slots.filter((s) => s.job).length, queued: queue.length, replaced, completed };
    },
  };
}
