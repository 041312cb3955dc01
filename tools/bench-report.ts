/**
 * The benchmark's report (tools/bench.ts runs it): a run's figures and goals, the markdown
 * written into bench/RESULTS.md, and the figures of runs with another N.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DeskFigures } from './bench-desk.js';
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
}

export interface Ticks { send: TickRun; collect: TickRun; idle: TickRun; consolidate: TickRun }

export interface RunFigures {
  n: number;
  /** How many ledgers the N people are split into (`--ledgers`). */
  ledgers: number;
  ticks: Ticks;
  sendFloor: Floor;
  collectFloor: Floor & { bytes: number };
  maxConnections: number;
  /** The figures of runs with another N in the same results folder (see otherRuns). */
  others: ReturnType<typeof otherRuns>;
  loadAverageAtStart: number;
  runtimeMs: number;
  replyMs: number;
  /** `run` with the desk up over the same data (tools/bench-desk.ts). */
  desk: DeskFigures;
}

const ratio = (t: TickRun, f: Floor) => Number((t.wallMs / f.totalMs).toFixed(2));

function tickJson(t: TickRun) {
  return {
    wallS: secs(t.wallMs), cpuS: t.cpuMs === undefined ? null : secs(t.cpuMs), mailServersCpuS: secs(t.mailServersCpuMs),
    otherWorkCpuS: secs(t.otherWorkCpuMs), stealS: secs(t.stealMs),
    peakRssMb: mb(t.peakRssMb), peakRssAllProcessesMb: mb(t.treePeakMb), summary: t.summary,
    imapCommands: t.imap.commands.length, imapCommandList: t.imap.commands, imapConnections: t.imap.connections,
  };
}

function floorJson(f: Floor) {
  return {
    totalS: secs(f.totalMs), measuredS: (f.measuredMs ?? [f.totalMs]).map(secs), steps: Object.fromEntries(Object.entries(f.steps).map(([k, v]) => [k, secs(v)])),
    cpuS: secs(f.cpuMs ?? 0), mailServersCpuS: secs(f.mailServersCpuMs ?? 0), otherWorkCpuS: secs(f.otherWorkCpuMs ?? 0),
  };
}

/** A run's result as written to latest.json: the goals, the one-line summary and every figure. */
export function summarize(f: RunFigures) {
  const { n, ticks, sendFloor: sendF, collectFloor: collectF } = f;
  const { send, collect, idle, consolidate } = ticks;
  const all = Object.values(ticks);
  const goals = {
    sendWithin2xFloor: ratio(send, sendF) <= 2,
    collectWithin2xFloor: ratio(collect, collectF) <= 2,
    peakMainProcessUnder256Mb: all.every((t) => t.peakRssMb < 256),
    peakAllProcessesUnder256Mb: all.every((t) => t.treePeakMb < 256),
    consolidationUnder5s: consolidate.wallMs < 5000,
    idleTickImapCommandsConstant: idle.imap.commands.length <= 12 && f.others.every((o) => o.idleImapCommands === idle.imap.commands.length),
    deskStatusPageUnder300ms: f.desk.statusMsMedian < 300,
    deskRunUnder256Mb: f.desk.runPeakRssMb < 256,
  };
  const m = machine();
  const rss = (t: TickRun) => `${mb(t.peakRssMb)} MB${t.treePeakMb > t.peakRssMb + 5 ? ` (with child processes ${mb(t.treePeakMb)} MB)` : ''}`;
  const line = `bench N=${n}${f.ledgers > 1 ? ` in ${f.ledgers} ledgers` : ''} (${m.cores} cores, node ${m.node}): `
    + `send ${secs(send.wallMs)}s = ${ratio(send, sendF)}× floor ${secs(sendF.totalMs)}s, ${rss(send)} | `
    + `collect ${secs(collect.wallMs)}s = ${ratio(collect, collectF)}× floor ${secs(collectF.totalMs)}s, ${rss(collect)} | `
    + `consolidate ${secs(consolidate.wallMs)}s, ${rss(consolidate)} | `
    + `nothing-new tick ${secs(idle.wallMs)}s, ${idle.imap.commands.length} IMAP commands, ${rss(idle)} | `
    + `desk status page ${f.desk.statusMsMedian} ms, run ${f.desk.runPeakRssMb} MB`;
  return {
    date: new Date().toISOString(), n, ledgers: f.ledgers, tasks: 2 * n, machine: m, loadAverageAtStart: f.loadAverageAtStart, line,
    smtp: { maxConnections: f.maxConnections, ratePerMinute: 100000 },
    floors: { send: floorJson(sendF), collect: { ...floorJson(collectF), fetchedKiB: Math.round(collectF.bytes / 1024) } },
    ticks: Object.fromEntries(Object.entries(ticks).map(([k, t]) => [k, tickJson(t)])) as Record<keyof Ticks, ReturnType<typeof tickJson>>,
    ratios: { send: ratio(send, sendF), collect: ratio(collect, collectF) },
    goals,
    otherRuns: f.others,
    benchRuntimeS: secs(f.runtimeMs),
    replyGenerationS: secs(f.replyMs),
    desk: f.desk,
  };
}

export type RunResult = ReturnType<typeof summarize>;

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

const RESULTS_START = '<!-- bench:start -->';
const RESULTS_END = '<!-- bench:end -->';

/**
 * Puts the figures into a markdown file between its bench markers (bench/RESULTS.md keeps its
 * prose around them); a file without them gets the markers and the figures at its end.
 */
export function writeFigures(file: string, md: string): void {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const a = text.indexOf(RESULTS_START);
  const b = text.indexOf(RESULTS_END);
  const block = `${RESULTS_START}\n${md}${RESULTS_END}`;
  const head = text.trimEnd();
  writeFileSync(file, a >= 0 && b > a
    ? `${text.slice(0, a)}${block}${text.slice(b + RESULTS_END.length)}`
    : `${head}${head ? '\n\n' : ''}${block}\n`);
}

/** The markdown of a run: the table, the floors, memory by N. */
export function markdown(r: RunResult, ticks: Ticks, sendF: Floor, collectF: Floor): string {
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
    `N = ${r.n} people (${r.tasks} tasks${r.ledgers > 1 ? `, in ${r.ledgers} ledgers of their own, one mailbox` : ''}), ${r.date.slice(0, 10)}, on ${r.machine.cores} cores (${r.machine.model}), ${r.machine.memGb} GB, Node ${r.machine.node}, ${r.machine.os}; load average ${r.loadAverageAtStart} at the start. Local Dovecot + SMTP relay in a separate process on the same cores; SMTP max_connections ${r.smtp.maxConnections}. Each tick is the real command line in a fresh process (\`node bin/taizhang tick --now …\`).`,
    '',
    '| step | wall | floor | vs floor | CPU (all processes) | CPU (mail servers) | CPU (other work on the machine) | peak RSS (main) | peak RSS (with child processes) | IMAP commands | goal |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    row('send-day tick', ticks.send, sendF, `≤ 2× floor: ${yes(g.sendWithin2xFloor)}`),
    row('collect tick (N replies)', ticks.collect, collectF, `≤ 2× floor: ${yes(g.collectWithin2xFloor)}`),
    row('tick with nothing new', ticks.idle, null, `constant IMAP commands: ${yes(g.idleTickImapCommandsConstant)}`),
    row('consolidation tick', ticks.consolidate, null, `< 5 s: ${yes(g.consolidationUnder5s)}`),
    '',
    `Floors, one step after another in the benchmark's process, each the mean of a measurement just before the tick and one just after it (${measured(sendF)} and ${measured(collectF)}): send = ${steps(sendF)} (CPU ${secs(sendF.cpuMs ?? 0)} s, mail servers ${secs(sendF.mailServersCpuMs ?? 0)} s, other work ${secs(sendF.otherWorkCpuMs ?? 0)} s); collect = ${steps(collectF)} (CPU ${secs(collectF.cpuMs ?? 0)} s, mail servers ${secs(collectF.mailServersCpuMs ?? 0)} s, other work ${secs(collectF.otherWorkCpuMs ?? 0)} s).`,
    '',
    `Memory < 256 MB in every step: ${yes(g.peakMainProcessUnder256Mb && g.peakAllProcessesUnder256Mb)} (the parse workers are threads of the main process; child processes read only mail that a crashed run was reading). ${memory}`,
    '',
    `The tick with nothing new sends: ${ticks.idle.imap.commands.join(', ')}.`,
    '',
    `The desk (\`taizhang run\` with \`web:\` over this data, a clerk logged in over HTTP): the month's status page of ${r.n} people in ${r.desk.statusMsMedian} ms (median of ${r.desk.fetches}; slowest ${r.desk.statusMsMax} ms, the first): under 300 ms: ${yes(g.deskStatusPageUnder300ms)}; the service's peak RSS ${r.desk.runPeakRssMb} MB: under 256 MB: ${yes(g.deskRunUnder256Mb)}.`,
    '',
    `\`${r.line}\``,
    '',
  ].join('\n');
}
