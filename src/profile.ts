/**
 * Where a run spends its time, for the benchmark (`npm run bench`): per-phase counters that cost
 * nothing unless the environment variable TAIZHANG_PROFILE names a file, to which the command
 * line writes them as JSON when it exits.
 *
 * Each phase counts its operations, their summed duration (`busyMs`, more than the wall time when
 * operations overlap) and the wall time during which at least one was in flight (`wallMs`).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { constants as perfConstants, performance, PerformanceObserver } from 'node:perf_hooks';
import { isMainThread } from 'node:worker_threads';

export type Phase =
  | 'imap.connect' | 'imap.fetch' | 'imap.other'
  | 'mime.parse' | 'mime.compose'
  | 'xlsx.parse' | 'xlsx.write'
  | 'db' | 'disk' | 'smtp' | 'consolidate';

interface Counter { count: number; busyMs: number; wallMs: number; firstMs: number; lastMs: number; active: number; since: number }

/** A phase's figures in the profile; `firstMs`/`lastMs`: when its first operation began and its last ended (ms since start). */
interface PhaseFigures { count: number; busyMs: number; wallMs: number; firstMs: number; lastMs: number }

const file = process.env.TAIZHANG_PROFILE;
export const profiling = !!file;
const counters = new Map<Phase, Counter>();
const noop = (): void => {};

/** Peaks of the main thread's memory, sampled every 200 ms while profiling. */
const memory = { heapUsedMb: 0, externalMb: 0, arrayBuffersMb: 0 };
/** The process's memory once a second: [ms since start, RSS, main heap total, main heap used] in MB. */
const memoryTimeline: number[][] = [];
/** Takes one memory sample; every fifth (and the last) also goes into the timeline. */
function sampleMemory(toTimeline: boolean): void {
  const m = process.memoryUsage();
  if (toTimeline) memoryTimeline.push([Math.round(performance.now()), ...[m.rss, m.heapTotal, m.heapUsed].map((b) => Math.round(b / 2 ** 20))]);
  memory.heapUsedMb = Math.max(memory.heapUsedMb, Math.round(m.heapUsed / 2 ** 20));
  memory.externalMb = Math.max(memory.externalMb, Math.round(m.external / 2 ** 20));
  memory.arrayBuffersMb = Math.max(memory.arrayBuffersMb, Math.round(m.arrayBuffers / 2 ** 20));
}
if (profiling && isMainThread) {
  let samples = 0;
  setInterval(() => sampleMemory(samples++ % 5 === 0), 200).unref();
}

/** The main thread's garbage collections: count and summed pause (ms), of the young generation and the rest. */
const gc = { young: { count: 0, ms: 0 }, full: { count: 0, ms: 0 } };
if (profiling && isMainThread) {
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = ((e as { detail?: { kind?: number } }).detail)?.kind === perfConstants.NODE_PERFORMANCE_GC_MINOR ? gc.young : gc.full;
      kind.count++;
      kind.ms += e.duration;
    }
  }).observe({ entryTypes: ['gc'] });
}

/** Starts timing one operation of a phase; call the result when it ends. */
export function span(phase: Phase): () => void {
  if (!profiling) return noop;
  let c = counters.get(phase);
  const t0 = performance.now();
  if (!c) counters.set(phase, (c = { count: 0, busyMs: 0, wallMs: 0, firstMs: t0, lastMs: t0, active: 0, since: 0 }));
  if (c.active++ === 0) c.since = t0;
  c.count++;
  let ended = false;
  return () => {
    if (ended) return;
    ended = true;
    const t = performance.now();
    c.busyMs += t - t0;
    c.lastMs = Math.max(c.lastMs, t);
    if (--c.active === 0) c.wallMs += t - c.since;
  };
}

/** Operations timed by a parse worker: phase, start and end in ms since the epoch. */
const external = new Map<Phase, Array<[number, number]>>();

/** Adds operations a worker timed (mail-read.ts), so the profile also shows the work off the main thread. */
export function addSpans(spans: ReadonlyArray<readonly [Phase, number, number]>): void {
  if (!profiling) return;
  for (const [phase, start, end] of spans) {
    let list = external.get(phase);
    if (!list) external.set(phase, (list = []));
    list.push([start, end]);
  }
}

/** Count, summed duration and wall time (union of the intervals) of a worker's operations. */
function externalCounter(list: Array<[number, number]>): PhaseFigures {
  const sorted = [...list].sort((a, b) => a[0] - b[0]);
  const origin = performance.timeOrigin;
  let lastMs = 0;
  let busyMs = 0;
  let wallMs = 0;
  let [from, to] = [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY];
  for (const [s, e] of sorted) {
    busyMs += e - s;
    lastMs = Math.max(lastMs, e - origin);
    if (s > to) {
      if (to > from) wallMs += to - from;
      [from, to] = [s, e];
    } else {
      to = Math.max(to, e);
    }
  }
  if (to > from) wallMs += to - from;
  return { count: list.length, busyMs, wallMs, firstMs: sorted.length ? sorted[0][0] - origin : 0, lastMs };
}

/** CPU time of each parse worker thread, by thread id, as last reported (ms). */
const workerCpu = new Map<number, number>();

/** Notes a parse worker thread's CPU time so far (parse-worker.ts reports it with each result). */
export function noteWorkerCpu(cpu: { tid: number; ms: number } | undefined): void {
  if (profiling && cpu) workerCpu.set(cpu.tid, Math.max(cpu.ms, workerCpu.get(cpu.tid) ?? 0));
}

/** CPU time (user + system) of one thread, from /proc (Linux); undefined elsewhere. */
export function threadCpuMs(statFile: string): number | undefined {
  try {
    const fields = readFileSync(statFile, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10; // clock ticks of 10 ms (USER_HZ = 100)
  } catch {
    return undefined;
  }
}

/**
 * CPU time of each other thread still running that used any (Linux): V8's helper threads, which
 * compile hot functions for every JavaScript thread of the process, and libuv's pool.
 */
function otherThreadsCpuMs(): number[] | undefined {
  try {
    return readdirSync('/proc/self/task').filter((tid) => Number(tid) !== process.pid)
      .map((tid) => threadCpuMs(`/proc/self/task/${tid}/stat`) ?? 0).filter((ms) => ms > 0);
  } catch {
    return undefined;
  }
}

/** Times a promise (or async function) as one operation of a phase. */
export async function timed<T>(phase: Phase, work: Promise<T> | (() => Promise<T>)): Promise<T> {
  const end = span(phase);
  try {
    return await (typeof work === 'function' ? work() : work);
  } finally {
    end();
  }
}

/** Times a synchronous call as one operation of a phase. */
export function timedSync<T>(phase: Phase, fn: () => T): T {
  const end = span(phase);
  try {
    return fn();
  } finally {
    end();
  }
}

/**
 * The object with each method call timed under a phase (outermost calls only, so a transaction
 * calling other methods counts once). Returns the object itself when not profiling.
 */
export function profiled<T extends object>(obj: T, phase: Phase): T {
  if (!profiling) return obj;
  let depth = 0;
  return new Proxy(obj, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        if (depth > 0) return v.apply(target, args);
        depth++;
        const end = span(phase);
        try {
          return v.apply(target, args);
        } finally {
          end();
          depth--;
        }
      };
    },
  });
}

/** Writes the counters to the TAIZHANG_PROFILE file, with the process's CPU time and peak memory. */
export function writeProfile(): void {
  if (!file) return;
  sampleMemory(true);
  const ru = process.resourceUsage();
  const phases: Record<string, PhaseFigures> = {};
  const add = (k: Phase, c: PhaseFigures) => {
    const p = phases[k];
    const r = (x: number) => Math.round(x);
    if (!p) phases[k] = { count: c.count, busyMs: r(c.busyMs), wallMs: r(c.wallMs), firstMs: r(c.firstMs), lastMs: r(c.lastMs) };
    else Object.assign(p, { count: p.count + c.count, busyMs: p.busyMs + r(c.busyMs), wallMs: p.wallMs + r(c.wallMs), firstMs: Math.min(p.firstMs, r(c.firstMs)), lastMs: Math.max(p.lastMs, r(c.lastMs)) });
  };
  for (const [k, c] of counters) add(k, c);
  for (const [k, list] of external) add(k, externalCounter(list));
  const out = {
    totalMs: Math.round(performance.now()),
    cpuUserMs: Math.round(ru.userCPUTime / 1000),
    cpuSystemMs: Math.round(ru.systemCPUTime / 1000),
    maxRssMb: Math.round(ru.maxRSS / 1024),
    peak: memory,
    mainThreadBusy: Number(performance.eventLoopUtilization().utilization.toFixed(3)),
    // Where the CPU went: this thread, the parse worker threads, and the rest (V8's helper
    // threads for garbage collection and compilation, libuv's pool).
    threadsCpuMs: (() => {
      const main = threadCpuMs(`/proc/self/task/${process.pid}/stat`);
      if (main === undefined) return undefined;
      const parse = [...workerCpu.values()].reduce((a, b) => a + b, 0);
      const total = Math.round((ru.userCPUTime + ru.systemCPUTime) / 1000);
      return { main, parseWorkers: parse, other: Math.max(0, total - main - parse), otherLive: otherThreadsCpuMs() };
    })(),
    phases,
    gc: { young: { count: gc.young.count, ms: Math.round(gc.young.ms) }, full: { count: gc.full.count, ms: Math.round(gc.full.ms) } },
    memoryTimeline,
  };
  try {
    writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  } catch {
    // a profile is never worth failing a run for
  }
}
