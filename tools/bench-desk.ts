/**
 * The desk's figures: how long the status page of a month with N people takes to render (login
 * and all, through fastify's inject, no network), and the process's resident memory with the
 * desk up over a store of that size. `npx tsx tools/bench-desk.ts [N]`, or `benchDesk(n)` from
 * the benchmark.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/app/config.js';
import { parseYaml, stringifyYaml } from '../src/app/yaml.js';
import { Serial } from '../src/app/serial.js';
import { openContext } from '../src/cycle/context.js';
import { createLogger } from '../src/logger.js';
import { hashPassword } from '../src/web/password.js';
import { buildDesk } from '../src/web/server.js';

const ROOT = path.resolve(import.meta.dirname, '..');

export interface DeskFigures { n: number; statusMsMedian: number; statusMsMax: number; rssMb: number }

export async function benchDesk(n = 1000, runs = 9): Promise<DeskFigures> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tz-bench-desk-'));
  const doc = parseYaml(readFileSync(path.join(ROOT, 'config', 'taizhang.example.yaml'), 'utf8')) as Record<string, any>;
  doc.data_dir = path.join(dir, 'data');
  doc.people = Array.from({ length: n }, (_, i) => ({ name: `测试员${i + 1}`, department: `第${(i % 20) + 1}科`, email: `p${i + 1}@bench.test` }));
  doc.ledger.tasks = doc.people.map((p: { name: string }, i: number) => ({ no: i + 1, task: `任务${i + 1}`, due: '10.31', departments: ['测试科'], owners: [p.name] }));
  doc.web = { listen: '127.0.0.1:8080', users: [{ name: 'clerk', password_hash: await hashPassword('bench-password') }] };
  const file = path.join(dir, 'c.yaml');
  writeFileSync(file, stringifyYaml(doc));
  const config = loadConfig(file, { TAIZHANG_MAIL_PASSWORD: 'x' }, { mail: false });
  const log = createLogger({ pretty: false });
  log.level = 'warn';
  const ctx = openContext(config, log, { clock: { now: () => new Date('2020-06-27T09:00:00+08:00') } });
  try {
    ctx.store.markRequestsStarted('2020-06', '2020-06-20T01:00:00.000Z');
    ctx.store.tx(() => config.people.forEach((p, i) => {
      if (i % 2 === 0) ctx.store.addReport({ period: '2020-06', person: p.id, messageRow: null, sender: p.email, receivedAt: '2020-06-21T01:00:00.000Z', late: false, rows: [{ no: i + 1, progress: '按计划推进。'.repeat(10), remark: '' }] });
    }));
    const app = await buildDesk({ ctx, serial: new Serial(), flush: () => {}, log }, config.web!);
    const login = await app.inject({ method: 'GET', url: '/login' });
    const csrf = /name="_csrf" value="([^"]+)"/.exec(login.body)![1];
    const cookies = Object.fromEntries(login.cookies.map((c) => [c.name, c.value]));
    const done = await app.inject({ method: 'POST', url: '/login', cookies, payload: { _csrf: csrf, name: 'clerk', password: 'bench-password' } });
    const session = done.cookies.find((c) => c.name === 'taizhang_session')!.value;
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      const r = await app.inject({ method: 'GET', url: '/l/main/?period=2020-06', cookies: { taizhang_session: session } });
      times.push(performance.now() - t0);
      if (r.statusCode !== 200 || !r.body.includes(`测试员${n}`)) throw new Error(`status page failed: ${r.statusCode}`);
    }
    await app.close();
    times.sort((a, b) => a - b);
    return { n, statusMsMedian: Math.round(times[Math.floor(runs / 2)]), statusMsMax: Math.round(times[runs - 1]), rssMb: Math.round(process.memoryUsage().rss / 1024 / 1024) };
  } finally {
    await ctx.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  benchDesk(Number(process.argv[2] ?? 1000)).then((f) => console.log(JSON.stringify(f)), (err: unknown) => { console.error(err); process.exit(1); });
}
