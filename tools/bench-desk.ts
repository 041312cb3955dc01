/**
 * The desk's figures on a real `taizhang run`: the service started over the benchmark's data
 * (N people, their reports, the ledger) with `web:` configured, a clerk logged in over HTTP, the
 * status page of the month fetched a few times; its render times and the service's peak
 * resident memory (VmHWM) just before it is stopped. Called by tools/bench.ts after the ticks.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseYaml, stringifyYaml } from '../src/app/yaml.js';
import { hashPassword } from '../src/web/password.js';

export interface DeskFigures { statusMsMedian: number; statusMsMax: number; runPeakRssMb: number; fetches: number }

const PASSWORD = 'bench-desk-password';

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

const cookiesOf = (res: Response) => res.headers.getSetCookie().map((c) => c.split(';')[0]);

/** Logs in as a clerk would: the login page's CSRF token and cookie, then the form. */
async function login(base: string): Promise<string> {
  const page = await fetch(`${base}/login`);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await page.text())?.[1];
  if (!csrf) throw new Error('bench desk: no CSRF token on the login page');
  const res = await fetch(`${base}/login`, {
    method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: cookiesOf(page).join('; ') },
    body: new URLSearchParams({ _csrf: csrf, name: 'clerk', password: PASSWORD }).toString(),
  });
  const session = cookiesOf(res).find((c) => c.startsWith('taizhang_session='));
  if (!session) throw new Error(`bench desk: login refused (${res.status})`);
  return session;
}

async function waitForDesk(base: string, child: { exitCode: number | null }): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`bench desk: run exited with ${child.exitCode}`);
    try { if ((await fetch(`${base}/login`)).ok) return; } catch { /* not listening yet */ }
    await sleep(100);
  }
  throw new Error('bench desk: the desk did not answer within 60 s');
}

/**
 * Starts `run` on a copy of the bench's config with the desk on, fetches the status page of
 * `period` `fetches` times (the first one warms up and is counted), and stops the service.
 */
export async function measureDesk(o: { bin: string; configFile: string; workDir: string; env: NodeJS.ProcessEnv; period: string; expect: string; fetches?: number }): Promise<DeskFigures> {
  const fetches = o.fetches ?? 9;
  const port = await freePort();
  const doc = parseYaml(readFileSync(o.configFile, 'utf8')) as Record<string, unknown>;
  doc.web = { listen: `127.0.0.1:${port}`, users: [{ name: 'clerk', password_hash: await hashPassword(PASSWORD) }] };
  const file = path.join(o.workDir, 'taizhang-desk.yaml');
  writeFileSync(file, stringifyYaml(doc));
  const child = spawn(process.execPath, [o.bin, '--config', file, 'run'], { env: { ...o.env, TAIZHANG_LOG_LEVEL: 'warn' }, stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitForDesk(base, child);
    const session = await login(base);
    const times: number[] = [];
    for (let i = 0; i < fetches; i++) {
      const t0 = performance.now();
      const res = await fetch(`${base}/l/main/?period=${o.period}`, { headers: { cookie: session } });
      const body = await res.text();
      times.push(performance.now() - t0);
      if (res.status !== 200 || !body.includes(o.expect)) throw new Error(`bench desk: status page ${res.status} without ${o.expect}`);
    }
    const rss = peakRssMb(child.pid!);
    times.sort((a, b) => a - b);
    return { statusMsMedian: Math.round(times[Math.floor(fetches / 2)]), statusMsMax: Math.round(times[fetches - 1]), runPeakRssMb: rss, fetches };
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}
