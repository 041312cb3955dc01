/**
 * Runs a command as a child process and measures it: wall time, the peak resident memory of its
 * largest process (GNU time's %M when /usr/bin/time exists, else the polled VmHWM), and the peak
 * of the whole process tree (the command and any worker processes it forks), polled from /proc.
 */
import { spawn } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

export interface Measured {
  code: number;
  wallMs: number;
  /** Peak RSS of the biggest single process, MB. */
  peakRssMb: number;
  /** Peak of the summed RSS of the process and its descendants, MB (polled every 20 ms). */
  treePeakMb: number;
  /** CPU time (user + system) of the command and its children, ms, when /usr/bin/time exists. */
  cpuMs?: number;
}

const GNU_TIME = '/usr/bin/time';

function children(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const s = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (s) out.push(...s.split(/\s+/).map(Number));
    }
  } catch {
    // gone
  }
  return out;
}

function statusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function tree(pid: number): number[] {
  const all = [pid];
  for (let i = 0; i < all.length; i++) all.push(...children(all[i]));
  return all;
}

/**
 * CPU time (ms) used so far by a process and its descendants, counting children they have
 * already reaped (for the mail servers' share of a step). Assumes 100 clock ticks a second.
 */
function treeCpuMs(pid: number): number {
  let ticks = 0;
  for (const p of tree(pid)) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // fields 14–17 of stat (utime, stime, cutime, cstime) are 11–14 after the command name
      ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    } catch {
      // gone
    }
  }
  return ticks * 10;
}

/**
 * CPU time (ms) the whole machine has spent busy so far, and stolen by the hypervisor, from
 * /proc/stat (100 clock ticks a second): what else ran during a step is the difference with
 * what the measured processes used.
 */
function machineCpuMs(): { busyMs: number; stealMs: number } {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is counted in user already)
    const [user, nice, system, , , irq, softirq, steal] = f;
    return { busyMs: (user + nice + system + irq + softirq) * 10, stealMs: (steal ?? 0) * 10 };
  } catch {
    return { busyMs: 0, stealMs: 0 };
  }
}

/** CPU used around one step (ms); see {@link watchCpu}. */
export interface StepCpu { ownCpuMs: number; serversCpuMs: number; otherWorkCpuMs: number; stealMs: number }

/**
 * Starts counting CPU around a step. `stop(childCpuMs)` gives this process's CPU meanwhile, that
 * of the process tree at `serversPid` (the mail servers), and what other work on the machine
 * used: its busy time less those and `childCpuMs` (a measured child process); and steal time.
 */
export function watchCpu(serversPid: number): (childCpuMs?: number) => StepCpu {
  const own0 = process.cpuUsage();
  const servers0 = treeCpuMs(serversPid);
  const machine0 = machineCpuMs();
  return (childCpuMs = 0) => {
    const own = process.cpuUsage(own0);
    const ownCpuMs = (own.user + own.system) / 1000;
    const serversCpuMs = treeCpuMs(serversPid) - servers0;
    const machine = machineCpuMs();
    const otherWorkCpuMs = Math.max(0, machine.busyMs - machine0.busyMs - childCpuMs - ownCpuMs - serversCpuMs);
    return { ownCpuMs, serversCpuMs, otherWorkCpuMs, stealMs: machine.stealMs - machine0.stealMs };
  };
}

/** Runs `cmd args` with stdout and stderr appended to `logFile`. */
export async function measure(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; logFile: string; cwd?: string }): Promise<Measured> {
  const useTime = existsSync(GNU_TIME);
  const timeFile = `${opts.logFile}.time`;
  const [file, argv] = useTime ? [GNU_TIME, ['-f', '%M %U %S', '-o', timeFile, cmd, ...args]] : [cmd, args];
  const fd = openSync(opts.logFile, 'a');
  const t0 = performance.now();
  const child = spawn(file, argv, { env: opts.env, cwd: opts.cwd, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  let treePeak = 0;
  let hwm = 0;
  const poll = () => {
    if (!child.pid) return;
    const pids = useTime ? tree(child.pid).slice(1) : tree(child.pid);
    let sum = 0;
    for (const p of pids) sum += statusKb(p, 'VmRSS');
    treePeak = Math.max(treePeak, sum);
    for (const p of pids) hwm = Math.max(hwm, statusKb(p, 'VmHWM'));
  };
  const timer = setInterval(poll, 20);
  const code = await new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (c, s) => resolve(c ?? (s ? 128 : 1)));
  });
  clearInterval(timer);
  const wallMs = performance.now() - t0;
  let peakKb = hwm;
  let cpuMs: number | undefined;
  if (useTime && existsSync(timeFile)) {
    const last = readFileSync(timeFile, 'utf8').trim().split('\n').pop() ?? '';
    const m = /^(\d+) ([\d.]+) ([\d.]+)$/.exec(last);
    if (m) {
      peakKb = Number(m[1]);
      cpuMs = (Number(m[2]) + Number(m[3])) * 1000;
    }
    rmSync(timeFile, { force: true });
  }
  return { code, wallMs, peakRssMb: peakKb / 1024, treePeakMb: Math.max(treePeak, peakKb) / 1024, cpuMs };
}
