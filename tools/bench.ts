/**
 * The benchmark (`npm run bench [-- --n 200] [-- --runs 1] [-- --keep]`): N people with two tasks each on the
 * local mail servers (Dovecot + SMTP relay, run as a separate process so its CPU is not in the
 * measured one). It runs the real command line for each step and holds each tick against its
 * floor, measured in the same run with the same libraries, one step after another in this
 * process, just before the tick and again just after it (the floor is the mean of the two):
 *
 *   send tick     vs  exceljs writing N templates + N mails carrying them (one pooled transport)
 *   collect tick  vs  one IMAP FETCH of the N replies + exceljs loading the N files
 *                     + N receipt-sized mails (one pooled transport)
 *   consolidation     (goal: under 5 s)
 *   idle tick         a tick with nothing new on a mailbox holding N processed messages: the IMAP
 *                     commands it sends (counted by a proxy), which must not grow with N
 *
 * Prints one line of figures and writes bench/results/latest.json and latest.md (latest-n200.json
 * and so on for another N), and puts the N = 1000 figures into the README between its
 * `<!-- bench:start -->` and `<!-- bench:end -->` markers. The machine is shared and noisy, so it
 * runs the whole benchmark `--runs` times (default 3) and reports the run with the median collect
 * ratio, listing every run's ratios. `--cpu-prof` keeps the work folder with
 * a V8 CPU profile of each tick; `--node-flags "..."` runs the ticks with other Node/V8 flags than
 * bin/taizhang's (for experiments). Ticks log at TAIZHANG_LOG_LEVEL (default info) into the work
 * folder, and write their per-phase counters there (TAIZHANG_PROFILE, see src/profile.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import ExcelJS from 'exceljs';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import { stringifyYaml as stringify } from '../src/app/yaml.js';
import { deadlineDate, formatLocalDate, periodLabel } from '../src/core/calendar.js';
import { loadConfig, type Config } from '../src/app/config.js';
import { tasksOf, type Person } from '../src/core/ledger.js';
import { Templates } from '../src/mail/templates.js';
import { formFileName } from '../src/cycle/requests.js';
import { ledgerKeyOf, makeToken, personKeyOf } from '../src/core/identity.js';
import { writePersonTemplate } from '../src/sheet/template.js';
import { localConfig } from './demo.js';
import { startImapCountProxy, type ImapCount } from './imap-count-proxy.js';
import type { MailStack } from './mail-stack.js';
import { machine, markdown, mb, meanFloor, otherRuns, profileLine, secs, updateReadme, type Floor, type Profile, type TickRun } from './bench-report.js';
import { measure, watchCpu } from './measure.js';
import { fillForm } from './respondent.js';
import { deliverLmtp } from './smtp-relay.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const BIN = path.join(ROOT, 'bin', 'taizhang');
const DEFAULT_OUT = path.join(ROOT, 'bench', 'results');
const PERIOD = '2020-06';
const AT = {
  send: '2020-06-20T09:00:00+08:00',
  collect: '2020-06-22T09:00:00+08:00',
  idle: '2020-06-23T09:00:00+08:00',
  consolidate: '2020-07-01T09:00:00+08:00',
};
const say = (s: string) => process.stderr.write(`${s}\n`);

interface Args { n: number; runs: number; keep: boolean; out: string; maxConnections: number; cpuProf: boolean; nodeFlags?: string[] }

function parseArgs(argv: string[]): Args {
  const a: Args = { n: 1000, runs: 3, keep: false, out: DEFAULT_OUT, maxConnections: 4, cpuProf: false };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].includes('=') ? [argv[i].slice(0, argv[i].indexOf('=')), argv[i].slice(argv[i].indexOf('=') + 1)] : [argv[i], undefined];
    const value = () => inline ?? argv[++i];
    if (flag === '--n') a.n = Number(value());
    else if (flag === '--runs') a.runs = Number(value());
    else if (flag === '--keep') a.keep = true;
    else if (flag === '--cpu-prof') a.cpuProf = a.keep = true;
    else if (flag === '--out') a.out = path.resolve(value());
    else if (flag === '--max-connections') a.maxConnections = Number(value());
    else if (flag === '--node-flags') a.nodeFlags = value().split(/\s+/).filter(Boolean);
    else throw new Error(`unknown option ${flag} (usage: bench [--n N] [--runs K] [--keep] [--cpu-prof] [--out DIR] [--max-connections K] [--node-flags "FLAGS"])`);
  }
  if (!Number.isInteger(a.n) || a.n < 1) throw new Error('--n must be a positive integer');
  if (!Number.isInteger(a.runs) || a.runs < 1) throw new Error('--runs must be a positive integer');
  return a;
}

// ── the mail stack, as its own process ──

interface StackInfo { imap: { host: string; port: number }; smtp: { host: string; port: number }; lmtp: { host: string; port: number }; password: string; dir: string }

async function startStack(dir: string): Promise<{ info: StackInfo; proc: ChildProcess }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'tools', 'mail-stack-cli.ts'), 'start', '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-4000); });
  const info = await new Promise<StackInfo>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)) as StackInfo);
    });
    proc.on('exit', (code) => reject(new Error(`mail stack exited (${code}): ${err}`)));
  });
  return { info, proc };
}

async function stopStack(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null) return;
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  proc.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
}

// ── the installation ──

function benchConfig(stack: StackInfo, imapPort: number, dataDir: string, n: number, maxConnections: number): Record<string, any> {
  const doc = localConfig({ imap: { port: imapPort }, smtp: { port: stack.smtp.port } } as unknown as MailStack, dataDir) as Record<string, any>;
  doc.mailbox.smtp = { ...doc.mailbox.smtp, rate_per_minute: 100000, max_connections: maxConnections };
  doc.schedule = { first_period: PERIOD, last_period: '2020-07', send_day: 20, deadline_day: 30, reminder_days: [25] };
  doc.office = [{ name: '办公室', email: 'office@bench.test' }];
  const pad = (i: number) => String(i).padStart(String(n).length, '0');
  const depts = Array.from({ length: Math.max(1, Math.ceil(n / 20)) }, (_, i) => `第${i + 1}科`);
  doc.people = Array.from({ length: n }, (_, i) => ({ name: `责任人${pad(i + 1)}`, department: depts[i % depts.length], email: `p${pad(i + 1)}@bench.test` }));
  doc.ledger = {
    title: `落实${n}人规模工作台账(基准测试)`,
    tasks: doc.people.flatMap((p: Person, i: number) => [1, 2].map((k) => ({
      no: 2 * i + k,
      task: `${p.department}第${k}项重点任务:完善工作机制,推进制度落实`,
      due: '10.31',
      departments: [p.department],
      owners: [p.name],
      requirements: '1.健全工作机制,明确责任分工,细化工作措施。2.按月报送进展情况,及时协调解决推进中的困难和问题。3.做好总结评估,形成可复制推广的经验做法。',
    }))),
  };
  return doc;
}

/** Creates every recipient's mailbox up front (one LMTP delivery), so no step pays for it. */
async function warmMailboxes(stack: StackInfo, addresses: string[]): Promise<void> {
  for (let i = 0; i < addresses.length; i += 200) {
    await deliverLmtp(stack.lmtp, 'Subject: warm-up\r\nFrom: bench@bench.test\r\n\r\nwarm-up\r\n', addresses.slice(i, i + 200), 'bench@bench.test');
  }
}

function smtpPool(stack: StackInfo, user: string, maxConnections: number) {
  return nodemailer.createTransport({
    host: stack.smtp.host, port: stack.smtp.port, secure: false, ignoreTLS: true,
    auth: { user, pass: stack.password }, pool: true, maxConnections, maxMessages: 100,
  });
}

function requestData(config: Config, person: Person) {
  return {
    person, ledgerTitle: config.ledger.title, periodLabel: periodLabel(PERIOD),
    deadline: formatLocalDate(deadlineDate(PERIOD, config.schedule)),
    attachmentName: formFileName(PERIOD, person), officeName: config.mailbox.senderName, sentDate: '2020年6月20日',
    tasks: tasksOf(config.ledger, person.name).map((t) => ({ ...t, departments: t.departments.join('、') })),
  };
}

// ── floors ──

/** Runs a floor, adding the CPU it took here and in the mail servers. */
async function withCpu<F extends Floor>(stackPid: number, fn: () => Promise<F>): Promise<F> {
  const stop = watchCpu(stackPid);
  const f = await fn();
  const c = stop();
  return { ...f, cpuMs: c.ownCpuMs, mailServersCpuMs: c.serversCpuMs, otherWorkCpuMs: c.otherWorkCpuMs };
}

async function timeStep<T>(steps: Record<string, number>, name: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const r = await fn();
  steps[name] = performance.now() - t0;
  return r;
}

/** exceljs writing N templates, then N mails carrying them through one pooled transport. */
async function sendFloor(stack: StackInfo, config: Config, templates: Templates, maxConnections: number): Promise<Floor> {
  const steps: Record<string, number> = {};
  const secret = 'bench-floor-secret';
  const files = await timeStep(steps, 'xlsx write', async () => {
    const out: Buffer[] = [];
    for (const person of config.people) {
      out.push(await writePersonTemplate({
        ledger: config.ledger, person, periodLabel: periodLabel(PERIOD), deadlineText: formatLocalDate(deadlineDate(PERIOD, config.schedule)),
        token: makeToken({ ledgerKey: ledgerKeyOf(config.ledger.title), period: PERIOD, personKey: personKeyOf(person), secret }),
      }));
    }
    return out;
  });
  const transport = smtpPool(stack, config.mailbox.address, maxConnections);
  await timeStep(steps, 'smtp', () => Promise.all(config.people.map((person, i) => {
    const mail = templates.render('request', requestData(config, person));
    return transport.sendMail({
      from: { name: config.mailbox.senderName, address: config.mailbox.address }, to: { name: person.name, address: person.email },
      subject: mail.subject, text: mail.text, html: mail.html,
      attachments: [{ filename: formFileName(PERIOD, person), content: files[i], contentType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' }],
    });
  })));
  transport.close();
  return { totalMs: Object.values(steps).reduce((a, b) => a + b, 0), steps };
}

/** One IMAP FETCH of the N replies, exceljs loading the N files, N receipt-sized mails pooled. */
async function collectFloor(stack: StackInfo, config: Config, files: Buffer[], templates: Templates, maxConnections: number, folder: string): Promise<Floor & { fetched: number; bytes: number }> {
  const steps: Record<string, number> = {};
  const client = new ImapFlow({ host: stack.imap.host, port: stack.imap.port, secure: false, auth: { user: config.mailbox.address, pass: stack.password }, logger: false });
  client.on('error', () => {});
  await client.connect();
  await client.mailboxOpen(folder, { readOnly: true });
  let fetched = 0;
  let bytes = 0;
  await timeStep(steps, 'imap fetch', async () => {
    for await (const m of client.fetch('1:*', { uid: true, source: true, internalDate: true })) {
      fetched++;
      bytes += m.source?.length ?? 0;
    }
  });
  await client.logout();
  await timeStep(steps, 'xlsx load', async () => {
    for (const f of files) await new ExcelJS.Workbook().xlsx.load(f as unknown as ArrayBuffer);
  });
  const transport = smtpPool(stack, config.mailbox.address, maxConnections);
  await timeStep(steps, 'smtp', () => Promise.all(config.people.map((person) => {
    const tasks = tasksOf(config.ledger, person.name);
    const mail = templates.render('receipt', {
      personName: person.name, periodLabel: periodLabel(PERIOD), accepted: true, late: false, receivedAt: '2020-06-21 10:00',
      rows: tasks.map((t) => ({ no: t.no, task: t.task, progress: progressText(t.no), remark: '' })), emptyRows: [],
      onBehalfOf: false, sender: person.email, officeName: config.mailbox.senderName,
    });
    return transport.sendMail({ from: { name: config.mailbox.senderName, address: config.mailbox.address }, to: person.email, subject: mail.subject, text: mail.text, inReplyTo: '<reply@bench.test>' });
  })));
  transport.close();
  return { totalMs: Object.values(steps).reduce((a, b) => a + b, 0), steps, fetched, bytes };
}

const progressText = (no: number) => `第${no}项:已召开专题会议研究部署,制定实施方案,各项措施按计划推进。下一步:继续抓好落实。`;

// ── the replies ──

/** Each person fills the form they were sent and replies to the request; delivered over LMTP. */
async function makeReplies(stack: StackInfo, config: Config): Promise<Buffer[]> {
  const db = new Database(path.join(config.dataDir, 'taizhang.sqlite'), { readonly: true });
  const requests = new Map((db.prepare("SELECT person, message_id, subject FROM outbox WHERE kind = 'request' AND period = ?").all(PERIOD) as { person: string; message_id: string; subject: string }[]).map((r) => [r.person, r]));
  db.close();
  const files: Buffer[] = [];
  const pending: Promise<void>[] = [];
  let inFlight = 0;
  // Each form is kept as `<person key>-<content hash>.xlsx`.
  const formDir = path.join(config.dataDir, 'forms', PERIOD);
  const formFiles = new Map(readdirSync(formDir).map((n) => [n.split('-')[0], path.join(formDir, n)]));
  for (const person of config.people) {
    const req = requests.get(person.id);
    if (!req) throw new Error(`no request was queued for ${person.id}`);
    const form = readFileSync(formFiles.get(personKeyOf(person)) ?? path.join(formDir, 'missing.xlsx'));
    const filled = await fillForm(form, (no) => ({ progress: progressText(no) }));
    files.push(filled);
    const raw = await new MailComposer({
      from: { name: person.name, address: person.email }, to: config.mailbox.address, subject: `回复:${req.subject}`,
      text: '已填写,请查收。', inReplyTo: req.message_id, references: [req.message_id],
      attachments: [{ filename: formFileName(PERIOD, person), content: filled }],
    }).compile().build();
    while (inFlight >= 8) await Promise.race(pending);
    inFlight++;
    const p: Promise<void> = deliverLmtp(stack.lmtp, raw, [config.mailbox.address], person.email).finally(() => {
      inFlight--;
      pending.splice(pending.indexOf(p), 1);
    });
    pending.push(p);
  }
  await Promise.all(pending);
  return files;
}

// ── ticks ──

/** The node flags of bin/taizhang's shebang line, which a tick run with other flags replaces. */
function binNodeFlags(): string[] {
  const shebang = readFileSync(BIN, 'utf8').split('\n')[0];
  return shebang.split(/\s+/).filter((w) => w.startsWith('--'));
}

async function runTick(name: string, now: string, o: { configFile: string; workDir: string; password: string; proxy: { take(): ImapCount }; cpuProf: boolean; nodeFlags?: string[]; stackPid: number }): Promise<TickRun> {
  const logFile = path.join(o.workDir, `tick-${name}.log`);
  const profileFile = path.join(o.workDir, `profile-${name}.json`);
  o.proxy.take();
  const cli = ['--config', o.configFile, 'tick', '--now', now];
  const flags = [...(o.nodeFlags ?? binNodeFlags()), ...(o.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${path.join(o.workDir, `cpuprof-${name}`)}`] : [])];
  const [cmd, argv] = o.cpuProf || o.nodeFlags ? [process.execPath, [...flags, BIN, ...cli]] : [BIN, cli];
  const stop = watchCpu(o.stackPid);
  const m = await measure(cmd, argv, {
    logFile, env: { ...process.env, TAIZHANG_MAIL_PASSWORD: o.password, TAIZHANG_LOG_LEVEL: process.env.TAIZHANG_LOG_LEVEL ?? 'info', TAIZHANG_PROFILE: profileFile },
  });
  // This process's own CPU meanwhile is the IMAP counting proxy's: not other work.
  const { serversCpuMs: mailServersCpuMs, otherWorkCpuMs, stealMs } = stop(m.cpuMs ?? 0);
  const imap = o.proxy.take();
  const log = readFileSync(logFile, 'utf8');
  const summary = log.split('\n').filter((l) => l.startsWith('tick:')).pop() ?? '';
  if (m.code !== 0) throw new Error(`tick ${name} failed (exit ${m.code}); see ${logFile}:\n${log.split('\n').slice(-20).join('\n')}`);
  let profile: Profile | null = null;
  try { profile = JSON.parse(readFileSync(profileFile, 'utf8')) as Profile; } catch { /* none */ }
  say(`  tick ${name}: ${secs(m.wallMs)} s${m.cpuMs === undefined ? '' : ` (cpu ${secs(m.cpuMs)} s, mail servers ${secs(mailServersCpuMs)} s, other work ${secs(otherWorkCpuMs)} s, steal ${secs(stealMs)} s)`}, peak ${mb(m.peakRssMb)} MB (all processes ${mb(m.treePeakMb)} MB), ${imap.commands.length} IMAP commands — ${summary}`);
  return { ...m, summary, imap, profile, mailServersCpuMs, otherWorkCpuMs, stealMs };
}

function expect(ok: boolean, what: string): void {
  if (!ok) throw new Error(`bench: ${what}`);
}

interface Run { result: Record<string, any> & { ratios: { send: number; collect: number }; line: string }; md: string; profiles: string[] }

/** One whole run: a fresh work folder and mail stack, the floors and the ticks. */
async function runOnce(args: Args): Promise<Run> {
  const n = args.n;
  const t0 = performance.now();
  const loadBefore = os.loadavg()[0];
  if (loadBefore > os.availableParallelism() * 0.5) say(`note: load average ${loadBefore.toFixed(1)} on ${os.availableParallelism()} cores: other work will be in the figures`);
  const work = mkdtempSync(path.join(os.tmpdir(), `taizhang-bench-${n}-`));
  chmodSync(work, 0o755); // Dovecot's users must be able to enter it
  say(`taizhang bench: N=${n} people, ${2 * n} tasks; work dir ${work}`);
  const { info: stack, proc } = await startStack(path.join(work, 'mail'));
  const proxy = await startImapCountProxy(stack.imap);
  try {
    const dataDir = path.join(work, 'data');
    const configFile = path.join(work, 'taizhang.yaml');
    writeFileSync(configFile, stringify(benchConfig(stack, proxy.port, dataDir, n, args.maxConnections)));
    const config = loadConfig(configFile, { ...process.env, TAIZHANG_MAIL_PASSWORD: stack.password });
    const templates = new Templates();
    const tickOpts = { configFile, workDir: work, password: stack.password, proxy, cpuProf: args.cpuProf, nodeFlags: args.nodeFlags, stackPid: proc.pid! };
    await warmMailboxes(stack, [...config.people.map((p) => p.email), ...config.office.map((o) => o.email)]);

    // Each floor is measured just before its tick and just after it (see meanFloor).
    const floor = async <F extends Floor>(what: string, fn: () => Promise<F>): Promise<F> => {
      const f = await withCpu(proc.pid!, fn);
      say(`  ${what} floor ${secs(f.totalMs)} s (${Object.entries(f.steps).map(([k, v]) => `${k} ${secs(v)} s`).join(', ')}; cpu ${secs(f.cpuMs!)} s, mail servers ${secs(f.mailServersCpuMs!)} s, other work ${secs(f.otherWorkCpuMs!)} s)`);
      return f;
    };
    say('send floor: exceljs writing N templates + N mails carrying them (pooled)');
    const sendBefore = await floor('send', () => sendFloor(stack, config, templates, args.maxConnections));
    const send = await runTick('send', AT.send, tickOpts);
    expect(new RegExp(`requests ${n};`).test(send.summary) && new RegExp(`sent ${n}\\b`).test(send.summary), `send tick did not queue and send ${n} requests: ${send.summary}`);
    const sendF = meanFloor([sendBefore, await floor('send', () => sendFloor(stack, config, templates, args.maxConnections))]);

    say('replies: each person fills the form and replies (delivered over LMTP, not timed)');
    const tr = performance.now();
    const files = await makeReplies(stack, config);
    const replyMs = performance.now() - tr;
    say(`  ${n} replies in ${secs(replyMs)} s`);

    say('collect floor: one IMAP FETCH of the N replies + exceljs loading the N files + N receipt-sized mails (pooled)');
    const collectFloorIn = async (folder: string) => {
      const f = await floor('collect', () => collectFloor(stack, config, files, templates, args.maxConnections, folder));
      expect(f.fetched === n, `collect floor fetched ${f.fetched} messages from ${folder}, expected ${n}`);
      return f;
    };
    const collectBefore = await collectFloorIn('INBOX');
    const collect = await runTick('collect', AT.collect, tickOpts);
    expect(new RegExp(`collected ${n} new \\(accepted ${n}\\)`).test(collect.summary) && new RegExp(`sent ${n}\\b`).test(collect.summary), `collect tick did not accept and answer ${n} replies: ${collect.summary}`);
    // The tick moved the replies to the processed folder: the floor fetches them there.
    const collectF = meanFloor([collectBefore, await collectFloorIn(config.mailbox.folders.processed)]);
    files.length = 0;

    const idle = await runTick('idle', AT.idle, tickOpts);
    expect(/collected 0 new/.test(idle.summary), `idle tick found something: ${idle.summary}`);
    const consolidate = await runTick('consolidate', AT.consolidate, tickOpts);
    expect(/sent 1\b/.test(consolidate.summary), `consolidation did not send the ledger: ${consolidate.summary}`);

    const ratio = (t: TickRun, f: Floor) => Number((t.wallMs / f.totalMs).toFixed(2));
    const ticks = { send, collect, idle, consolidate };
    const others = otherRuns(args.out, n);
    const goals = {
      sendWithin1_5xFloor: ratio(send, sendF) <= 1.5,
      collectWithin1_5xFloor: ratio(collect, collectF) <= 1.5,
      peakMainProcessUnder256Mb: Object.values(ticks).every((t) => t.peakRssMb < 256),
      peakAllProcessesUnder256Mb: Object.values(ticks).every((t) => t.treePeakMb < 256),
      consolidationUnder5s: consolidate.wallMs < 5000,
      idleTickImapCommandsConstant: idle.imap.commands.length <= 12 && others.every((o) => o.idleImapCommands === idle.imap.commands.length),
    };
    const m = machine();
    const rss = (t: TickRun) => `${mb(t.peakRssMb)} MB${t.treePeakMb > t.peakRssMb + 5 ? ` (with child processes ${mb(t.treePeakMb)} MB)` : ''}`;
    const line = `bench N=${n} (${m.cores} cores, node ${m.node}): `
      + `send ${secs(send.wallMs)}s = ${ratio(send, sendF)}× floor ${secs(sendF.totalMs)}s, ${rss(send)} | `
      + `collect ${secs(collect.wallMs)}s = ${ratio(collect, collectF)}× floor ${secs(collectF.totalMs)}s, ${rss(collect)} | `
      + `consolidate ${secs(consolidate.wallMs)}s, ${rss(consolidate)} | `
      + `nothing-new tick ${secs(idle.wallMs)}s, ${idle.imap.commands.length} IMAP commands, ${rss(idle)}`;
    const tickJson = (t: TickRun) => ({
      wallS: secs(t.wallMs), cpuS: t.cpuMs === undefined ? null : secs(t.cpuMs), mailServersCpuS: secs(t.mailServersCpuMs),
      otherWorkCpuS: secs(t.otherWorkCpuMs), stealS: secs(t.stealMs),
      peakRssMb: mb(t.peakRssMb), peakRssAllProcessesMb: mb(t.treePeakMb), summary: t.summary,
      imapCommands: t.imap.commands.length, imapCommandList: t.imap.commands, imapConnections: t.imap.connections, profile: t.profile,
    });
    const floorJson = (f: Floor) => ({
      totalS: secs(f.totalMs), measuredS: (f.measuredMs ?? [f.totalMs]).map(secs), steps: Object.fromEntries(Object.entries(f.steps).map(([k, v]) => [k, secs(v)])),
      cpuS: secs(f.cpuMs ?? 0), mailServersCpuS: secs(f.mailServersCpuMs ?? 0), otherWorkCpuS: secs(f.otherWorkCpuMs ?? 0),
    });
    const result = {
      date: new Date().toISOString(), n, tasks: 2 * n, machine: m, loadAverageAtStart: Number(loadBefore.toFixed(2)), nodeFlags: args.nodeFlags ?? binNodeFlags(), line,
      smtp: { maxConnections: args.maxConnections, ratePerMinute: 100000 },
      floors: { send: floorJson(sendF), collect: { ...floorJson(collectF), fetchedKiB: Math.round(collectBefore.bytes / 1024) } },
      ticks: Object.fromEntries(Object.entries(ticks).map(([k, t]) => [k, tickJson(t)])),
      ratios: { send: ratio(send, sendF), collect: ratio(collect, collectF) },
      goals,
      otherRuns: others,
      benchRuntimeS: secs(performance.now() - t0),
      replyGenerationS: secs(replyMs),
    };
    const profiles = Object.entries(ticks).map(([k, t]) => `  ${k.padEnd(11)} ${profileLine(t.profile)}`);
    say(`goals: ${Object.entries(goals).map(([k, v]) => `${k} ${v ? 'met' : 'MISSED'}`).join(', ')}`);
    say(line);
    return { result, md: markdown(result, ticks, sendF, collectF), profiles };
  } finally {
    await proxy.close();
    await stopStack(proc);
    if (!args.keep) rmSync(work, { recursive: true, force: true });
    else say(`kept ${work}`);
  }
}

/** Runs the benchmark `--runs` times and reports the run with the median collect ratio, listing all. */
async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const t0 = performance.now();
  const runs: Run[] = [];
  for (let i = 1; i <= args.runs; i++) {
    if (args.runs > 1) say(`\n── run ${i} of ${args.runs}`);
    runs.push(await runOnce(args));
  }
  const sorted = [...runs].sort((a, b) => a.result.ratios.collect - b.result.ratios.collect);
  const chosen = sorted[Math.floor((sorted.length - 1) / 2)];
  const result = {
    ...chosen.result,
    benchRuntimeS: secs(performance.now() - t0),
    runs: runs.map((r) => ({ date: r.result.date, loadAverageAtStart: r.result.loadAverageAtStart, collectOtherWorkCpuS: r.result.ticks.collect.otherWorkCpuS, ratios: r.result.ratios, line: r.result.line })),
  };
  const list = (k: 'send' | 'collect') => runs.map((r) => `${r.result.ratios[k]}×`).join(', ');
  // Other work on the machine weighs more on the tick, which keeps both cores busy, than on the
  // floor, which mostly runs on one: each run's share of it goes with its ratios.
  const others = runs.map((r) => `${r.result.ticks.collect.otherWorkCpuS} s`).join(', ');
  const md = runs.length === 1 ? chosen.md
    : `${chosen.md}\nThese are the figures of the run with the median collect ratio of ${runs.length} runs in a row (each with its own mail servers and data): collect ${list('collect')}; send ${list('send')}; CPU other work on the machine used during each collect tick: ${others}.\n`;
  mkdirSync(args.out, { recursive: true });
  const suffix = args.n === 1000 ? '' : `-n${args.n}`;
  writeFileSync(path.join(args.out, `latest${suffix}.json`), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(path.join(args.out, `latest${suffix}.md`), md);
  if (args.n === 1000 && args.out === DEFAULT_OUT && updateReadme(ROOT, md)) say('README figures updated');
  say('\nprofile of the reported run (wall time with at least one operation in flight; Σ = summed when they overlap):');
  for (const l of chosen.profiles) say(l);
  say(`\nbench ran ${result.benchRuntimeS} s; written ${path.join(args.out, `latest${suffix}.json`)}`);
  if (runs.length > 1) say(`collect ratio by run: ${list('collect')}; send: ${list('send')}; other work during each collect tick: ${others}`);
  process.stdout.write(`${chosen.result.line}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
