/**
 * A small pool of workers that read untrusted input (worker.ts): whole incoming messages (MIME,
 * classification, their spreadsheets). Each worker has a V8 heap limit; each stage of a job
 * (reading the MIME, each spreadsheet) has a time limit. A worker that overruns either is killed
 * and replaced, and the job resolves with SHEET_TIMEOUT or SHEET_TOO_LARGE and the stage it died
 * in. Jobs never reject and never wait longer than the limits once started (jobs beyond the pool
 * size wait in a FIFO queue first, and a new worker's start-up is not counted). A worker thread
 * busy with a message gets the next message ahead, so that it never waits for the main thread
 * between two; should it die, that one is started again elsewhere, not blamed.
 *
 * Isolation: `'thread'` (the default: worker_threads in this process, little memory) or
 * `'process'` (child processes over IPC). A heap limit in a thread is best effort: some
 * allocation shapes abort the whole process with "FATAL ERROR: … heap out of memory" instead of
 * ending the worker (nodejs/node#47224; seen with exceljs expanding a data validation, which the
 * reader now skips). The collector therefore re-reads messages that were in flight when a run
 * died in a `'process'` pool, where only the child can die (collect.ts).
 *
 * Workers are started on demand and do not keep the process alive while idle.
 */
import { availableParallelism } from 'node:os';
import type { ErrorCode } from '../errors.js';
import { processRunner, threadRunner, type Runner, type RunnerHooks } from './runners.js';
import type { ZipLimits } from '../sheet/zip.js';
import type { JobFailure, MailJob, MailOutcome, ReadMailRequest } from './types.js';

/** Options of {@link createParsePool}. */
export interface ParsePoolOptions {
  /**
   * Number of workers. Default: one fewer than the CPUs (the main thread, which fetches,
   * decides and sends, needs one), at least 1 and at most 4. On 2 cores a second worker was
   * measured to cost a quarter more CPU and 45 MB for no gain in time (README, Performance).
   */
  size?: number;
  /** Time limit of one stage of a job once started, ms. Default 15000. */
  timeoutMs?: number;
  /** V8 old-generation limit of each worker, MB. Default 256. */
  maxOldGenerationSizeMb?: number;
  /** V8 young-generation limit of each worker, MB. Default 6. */
  maxYoungGenerationSizeMb?: number;
  /** `'thread'` (default) or `'process'`; see the module comment. */
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
  /** Jobs sent ahead to a busy worker, to start when it is done. */
  ahead: number;
  /** Jobs waiting in the pool. */
  queued: number;
  /** Workers replaced after a timeout, out-of-memory or crash. */
  replaced: number;
  completed: number;
}

/** The pool. */
export interface ParsePool {
  readonly isolation: 'process' | 'thread';
  /** Reads the raw message stored at `rawPath`: MIME, kind of mail, its spreadsheets. Never rejects. */
  readMail(rawPath: string, request: ReadMailRequest): Promise<MailOutcome>;
  /**
   * Starts the workers now, ahead of the jobs, so that loading their code overlaps whatever the
   * caller does before it has jobs to give (collect: fetching the new mail).
   */
  warm(): void;
  /** Refuses new jobs, lets started and queued ones finish (each within its time limit), stops the workers. */
  close(): Promise<void>;
  stats(): ParsePoolStats;
}

/**
 * Where the compiled worker lives. Under vitest this module runs from `src/parse/pool.ts`, and a
 * worker cannot load TypeScript, so the compiled `dist/parse/worker.js` is used (the tests' global
 * setup builds it).
 */
export function defaultWorkerUrl(moduleUrl: string = import.meta.url): URL {
  if (/\/src\/parse\/[^/]+\.ts$/.test(moduleUrl)) return new URL(moduleUrl.replace(/\/src\/parse\/[^/]+\.ts$/, '/dist/parse/worker.js'));
  return new URL('./worker.js', moduleUrl);
}

interface Job {
  message: MailJob;
  resolve: (o: MailOutcome) => void;
  done: boolean;
  /** The stage the worker last reported. */
  stage?: string;
}

interface Slot {
  runner: Runner;
  /** The job the worker is on. */
  job: Job | null;
  /**
   * The job sent ahead, waiting in the worker's queue, so that the worker goes straight on to it
   * rather than waiting for this (often busy) thread to hand out the next one. Threads only.
   */
  next: Job | null;
  timer: NodeJS.Timeout | null;
  dead: boolean;
  /** The worker said it has loaded its code: from then on a job's time limit runs. */
  ready: boolean;
}

/**
 * Creates the pool. Call `close()` when done (idle workers do not hold the process open, but a
 * clean close lets running jobs finish).
 */
export function createParsePool(options: ParsePoolOptions = {}): ParsePool {
  const size = Math.max(1, Math.floor(options.size ?? Math.min(4, availableParallelism() - 1)));
  const timeoutMs = options.timeoutMs ?? 15_000;
  const startupTimeoutMs = options.startupTimeoutMs ?? 30_000;
  const limits = { maxOld: options.maxOldGenerationSizeMb ?? 256, maxYoung: options.maxYoungGenerationSizeMb ?? 6 };
  const maxInput = options.maxInputBytes ?? 30 * 1024 * 1024;
  const isolation = options.isolation ?? 'thread';
  const workerUrl = options.workerUrl ?? defaultWorkerUrl();
  const slots: Slot[] = [];
  const queue: Job[] = [];
  let nextId = 1;
  let closed = false;
  let replaced = 0;
  let completed = 0;
  let idleWaiters: Array<() => void> = [];

  function settle(job: Job, outcome: MailOutcome): void {
    if (job.done) return;
    job.done = true;
    completed++;
    job.resolve(outcome);
  }

  /** Ends the slot's current job with `outcome`; the job sent ahead becomes current, or goes back to the queue when the worker is killed. */
  function finishSlot(slot: Slot, outcome: MailOutcome, kill: boolean): void {
    const job = slot.job;
    slot.job = slot.next;
    slot.next = null;
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    if (kill && !slot.dead) {
      slot.dead = true;
      const i = slots.indexOf(slot);
      if (i >= 0) slots.splice(i, 1);
      void slot.runner.kill();
      replaced++;
    }
    if (kill && slot.job) {
      queue.unshift(slot.job); // never started: not its fault
      slot.job = null;
    } else if (slot.job) {
      if (slot.ready) armJobTimer(slot); // the worker has started it
    } else if (!kill) {
      slot.runner.unref();
    }
    if (job) settle(job, outcome);
    pump();
  }

  const failure = (slot: Slot, code: ErrorCode, message: string): JobFailure =>
    (slot.job?.stage ? { ok: false, code, message, stage: slot.job.stage } : { ok: false, code, message });

  function spawn(): Slot {
    const slot: Slot = { runner: undefined as unknown as Runner, job: null, next: null, timer: null, dead: false, ready: false };
    const hooks: RunnerHooks = {
      onMessage(msg) {
        if (msg && 'ready' in msg) {
          slot.ready = true;
          if (slot.job && !slot.dead) armJobTimer(slot);
        } else if (slot.job && msg?.id === slot.job.message.id) {
          if ('stage' in msg) {
            slot.job.stage = msg.stage;
            armJobTimer(slot); // each stage has its own time limit
          } else {
            finishSlot(slot, msg.outcome, false);
          }
        }
      },
      onDeath(d) {
        if (slot.dead) return;
        const outcome = d.oom
          ? failure(slot, 'SHEET_TOO_LARGE', `文件解析超出内存限制(${limits.maxOld} MB)`)
          : failure(slot, 'INTERNAL', `parse worker failed: ${d.message}`);
        finishSlot(slot, outcome, true);
      },
    };
    slot.runner = isolation === 'thread' ? threadRunner(workerUrl, limits, hooks) : processRunner(workerUrl, limits, hooks);
    slot.runner.unref();
    slots.push(slot);
    return slot;
  }

  /** The time limit of the job's current stage, counted from when the worker is ready (a cold start is not the file's fault). */
  function armJobTimer(slot: Slot): void {
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = setTimeout(() => {
      finishSlot(slot, failure(slot, 'SHEET_TIMEOUT', `文件解析超过 ${Math.round(timeoutMs / 100) / 10} 秒,已中止`), true);
    }, timeoutMs);
  }

  function start(slot: Slot, job: Job): void {
    slot.job = job;
    slot.runner.ref();
    if (slot.ready) {
      armJobTimer(slot);
    } else {
      slot.timer = setTimeout(() => {
        finishSlot(slot, failure(slot, 'INTERNAL', `parse worker did not start within ${startupTimeoutMs} ms`), true);
      }, startupTimeoutMs);
    }
    post(slot, job);
  }

  function post(slot: Slot, job: Job): void {
    try {
      slot.runner.send(job.message);
    } catch (err) {
      finishSlot(slot, failure(slot, 'INTERNAL', `cannot post to parse worker: ${(err as Error).message}`), true);
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
      if (slot) {
        start(slot, queue.shift()!);
        continue;
      }
      // Every worker is busy: send one job ahead to each (a message's path, sent again elsewhere
      // if the worker dies first). Only to a thread: a process's messages and death are not
      // ordered, so a job ahead could be blamed for the one before.
      const busy = isolation === 'thread' ? slots.find((s) => s.job && !s.next && !s.dead) : undefined;
      if (!busy) break;
      busy.next = queue.shift()!;
      post(busy, busy.next);
    }
    if (queue.length === 0 && slots.every((s) => !s.job)) {
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  return {
    isolation,
    readMail(rawPath: string, request: ReadMailRequest): Promise<MailOutcome> {
      if (closed) return Promise.resolve({ ok: false, code: 'INTERNAL', message: 'parse pool is closed' });
      return new Promise<MailOutcome>((resolve) => {
        const message: MailJob = { ...request, id: nextId++, rawPath, limits: options.zipLimits, maxInputBytes: maxInput };
        queue.push({ message, resolve, done: false });
        pump();
      });
    },
    warm(): void {
      while (!closed && slots.length < size) {
        try {
          spawn();
        } catch {
          return; // the first job reports why
        }
      }
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
      return { workers: slots.length, busy: slots.filter((s) => s.job).length, ahead: slots.filter((s) => s.next).length, queued: queue.length, replaced, completed };
    },
  };
}
