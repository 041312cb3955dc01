/**
 * The benchmark's report (tools/bench.ts runs it): the profile line of a tick, the markdown
 * table written to bench/results and the README, and the figures of runs with another N.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ImapCount } from './imap-count-proxy.js';
import type { Measured } from './measure.js';

export const secs = (ms: number) => Number((ms / 1000).toFixed(2));
export const mb = (x: number) => Math.round(x);

export interface Floor {
  totalMs: number;
  steps: Record<string, number>;
  /** CPU of this process over the floor's steps, and of the mail servers meanwhile (ms). */
  cpuMs?: number;
  mailServersCpuMs?: number;
  /** CPU other work on the machine used meanwhile (ms; see TickRun). */
  otherWorkCpuMs?: number;
  /** When the floor is the mean of several measurements: each one's total (ms). */
  measuredMs?: number[];
}

/**
 * The floor of a tick measured just before it and just after it: their mean, step by step. On a
 * shared machine load comes and goes within seconds; a floor measured on one side of the tick
 * only would carry whatever load happened to be there.
 */
export function meanFloor(floors: Floor[]): Floor {
  const mean = (f: (x: Floor) => number) => floors.reduce((a, x) => a + f(x), 0) / floors.length;
  return {
    totalMs: mean((x) => x.totalMs),
    steps: Object.fromEntries(Object.keys(floors[0].steps).map((k) => [k, mean((x) => x.steps[k] ?? 0)])),
    cpuMs: mean((x) => x.cpuMs ?? 0),
    mailServersCpuMs: mean((x) => x.mailServersCpuMs ?? 0),
    otherWorkCpuMs: mean((x) => x.otherWorkCpuMs ?? 0),
    measuredMs: floors.map((x) => x.totalMs),
  };
}

export interface TickRun extends Measured {
  summary: string;
  /** CPU the mail servers (relay, Dovecot) used meanwhile, on the same cores (ms). */
  mailServersCpuMs: number;
  /**
   * CPU that other work on the machine used meanwhile (ms): the machine's busy time less the
   * tick's, the mail servers' and the benchmark's own (its IMAP counting proxy); and the time
   * the hypervisor gave these cores to someone else.
   */
  otherWorkCpuMs: number;
  stealMs: number;
  imap: ImapCount;
  profile: Profile | null;
}

export interface Profile {
  totalMs: number; cpuUserMs: number; cpuSystemMs: number; maxRssMb: number; mainThreadBusy: number;
  phases: Record<string, { count: number; busyMs: number; wallMs: number; firstMs?: number; lastMs?: number }>;
  peak?: { heapUsedMb: number; externalMb: number; arrayBuffersMb: number };
  threadsCpuMs?: { main: number; parseWorkers: number; other: number };
}

const PROFILE_ORDER = ['imap.connect', 'imap.fetch', 'imap.other', 'mime.parse', 'xlsx.parse', 'xlsx.write', 'mime.compose', 'db', 'disk', 'smtp', 'consolidate'];

/** One line of where a tick's time went, from its TAIZHANG_PROFILE counters. */
export function profileLine(p: Profile | null): string {
  if (!p) return '(no profile)';
  const parts = PROFILE_ORDER.filter((k) => p.phases[k]).map((k) => {
    const ph = p.phases[k];
    const when = ph.firstMs === undefined || ph.lastMs === undefined ? '' : ` [${secs(ph.firstMs)}–${secs(ph.lastMs)}]`;
    return `${k} ${secs(ph.wallMs)}s${ph.busyMs > ph.wallMs * 1.05 ? ` (Σ${secs(ph.busyMs)}s)` : ''} ×${ph.count}${when}`;
  });
  const t = p.threadsCpuMs;
  const threads = t ? ` (main thread ${secs(t.main)}s${t.parseWorkers ? `, parse workers ${secs(t.parseWorkers)}s` : ''}, other threads ${secs(t.other)}s)` : '';
  return `${parts.join(', ')}; process ${secs(p.totalMs)}s, cpu ${secs(p.cpuUserMs + p.cpuSystemMs)}s${threads}, main thread busy ${Math.round(p.mainThreadBusy * 100)}%`;
}

/** The machine the figures come from. */
export function machine() {
  const cpus = os.cpus();
  return {
    cores: os.availableParallelism?.() ?? cpus.length,
    model: cpus[0]?.model.trim() ?? 'unknown',
    memGb: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    loadAverage: os.loadavg().map((x) => Number(x.toFixed(2))),
    node: process.version,
    os: `${os.type()} ${os.release()}`,
  };
}

/** The figures of runs with another N in the same folder: to see whether memory grows with N. */
export function otherRuns(dir: string, n: number): { n: number; date: string; peakRssMb: Record<string, number>; idleImapCommands: number }[] {
  const out = [];
  for (const f of existsSync(dir) ? readdirSync(dir) : []) {
    if (!/^latest(-n\d+)?\.json$/.test(f)) continue;
    try {
      const r = JSON.parse(readFileSync(path.join(dir, f), 'utf8'));
      if (r.n === n || !r.ticks?.idle) continue;
      out.push({
        n: r.n, date: r.date,
        peakRssMb: Object.fromEntries(Object.entries(r.ticks as Record<string, { peakRssMb: number }>).map(([k, t]) => [k, t.peakRssMb])),
        idleImapCommands: r.ticks.idle.imapCommands,
      });
    } catch {
      // not ours
    }
  }
  return out.sort((a, b) => a.n - b.n);
}

const README_START = '<!-- bench:start -->';
const README_END = '<!-- bench:end -->';

/** Puts the figures into the README between its bench markers, when it has them. */
export function updateReadme(root: string, md: string): boolean {
  const file = path.join(root, 'README.md');
  if (!existsSync(file)) return false;
  const text = readFileSync(file, 'utf8');
  const a = text.indexOf(README_START);
  const b = text.indexOf(README_END);
  if (a < 0 || b < a) return false;
  writeFileSync(file, `${text.slice(0, a + README_START.length)}\n${md}${text.slice(b)}`);
  return true;
}

/** The markdown of a run: the table, the floors, memory by N, where the time goes. */
export function markdown(r: any, ticks: Record<string, TickRun>, sendF: Floor, collectF: Floor): string {
  const yes = (ok: boolean) => (ok ? 'met' : '**missed**');
  const row = (name: string, t: TickRun, floor: Floor | null, goal: string) =>
    `| ${name} | ${secs(t.wallMs)} s | ${floor ? `${secs(floor.totalMs)} s` : '—'} | ${floor ? `${(t.wallMs / floor.totalMs).toFixed(2)}×` : '—'} | ${t.cpuMs === undefined ? '—' : `${secs(t.cpuMs)} s`} | ${secs(t.mailServersCpuMs)} s | ${secs(t.otherWorkCpuMs)} s | ${mb(t.peakRssMb)} MB | ${mb(t.treePeakMb)} MB | ${t.imap.commands.length} | ${goal} |`;
  const steps = (f: Floor) => Object.entries(f.steps).map(([k, v]) => `${k} ${secs(v)} s`).join(' + ');
  const measured = (f: Floor) => (f.measuredMs ?? [f.totalMs]).map((ms) => `${secs(ms)} s`).join(' / ');
  const g = r.goals;
  const memory = r.otherRuns.length
    ? `Peak RSS of the main process by N: ${[...r.otherRuns, { n: r.n, peakRssMb: Object.fromEntries(Object.entries(ticks).map(([k, t]) => [k, mb(t.peakRssMb)])) }]
      .sort((a: any, b: any) => a.n - b.n).map((o: any) => `N=${o.n}: ${Object.entries(o.peakRssMb).map(([k, v]) => `${k} ${v}`).join(', ')} MB`).join('; ')}.`
    : '';
  return [
    `N = ${r.n} people (${r.tasks} tasks), ${r.date.slice(0, 10)}, on ${r.machine.cores} cores (${r.machine.model}), ${r.machine.memGb} GB, Node ${r.machine.node}, ${r.machine.os}; load average ${r.loadAverageAtStart} at the start. Local Dovecot + SMTP relay in a separate process on the same cores; SMTP max_connections ${r.smtp.maxConnections}. Each tick is the real command line, a fresh process (\`node ${r.nodeFlags.join(' ')}\`).`,
    '',
    '| step | wall | floor | vs floor | CPU (all processes) | CPU (mail servers) | CPU (other work on the machine) | peak RSS (main) | peak RSS (with child processes) | IMAP commands | goal |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    row('send-day tick', ticks.send, sendF, `≤ 1.5× floor: ${yes(g.sendWithin1_5xFloor)}`),
    row('collect tick (N replies)', ticks.collect, collectF, `≤ 1.5× floor: ${yes(g.collectWithin1_5xFloor)}`),
    row('tick with nothing new', ticks.idle, null, `constant IMAP commands: ${yes(g.idleTickImapCommandsConstant)}`),
    row('consolidation tick', ticks.consolidate, null, `< 5 s: ${yes(g.consolidationUnder5s)}`),
    '',
    `Floors, one step after another in the benchmark's process, each the mean of a measurement just before the tick and one just after it (${measured(sendF)} and ${measured(collectF)}): send = ${steps(sendF)} (CPU ${secs(sendF.cpuMs ?? 0)} s, mail servers ${secs(sendF.mailServersCpuMs ?? 0)} s, other work ${secs(sendF.otherWorkCpuMs ?? 0)} s); collect = ${steps(collectF)} (CPU ${secs(collectF.cpuMs ?? 0)} s, mail servers ${secs(collectF.mailServersCpuMs ?? 0)} s, other work ${secs(collectF.otherWorkCpuMs ?? 0)} s).`,
    '',
    `Memory < 256 MB in every step: ${yes(g.peakMainProcessUnder256Mb && g.peakAllProcessesUnder256Mb)} (the parse workers are threads of the main process; child processes read only mail that a crashed run was reading). ${memory}`,
    '',
    `The tick with nothing new sends: ${ticks.idle.imap.commands.join(', ')}.`,
    '',
    'Where the time goes (per kind of operation: wall time with at least one in flight, Σ = summed durations when they overlap, × = count, [first start–last end] in s since the process started; asynchronous ones include waiting for the busy main thread):',
    '',
    ...Object.entries(ticks).map(([k, t]) => `- ${k}: ${profileLine(t.profile)}`),
    '',
    `\`${r.line}\``,
    '',
  ].join('\n');
}
