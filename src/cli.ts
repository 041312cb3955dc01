import { existsSync } from 'node:fs';
import { loadConfig, type Config } from './config.js';
import { openContext, type Context, type Progress } from './context.js';
import { errorMessage, TaizhangError } from './errors.js';
import { createLogger, type Logger } from './logger.js';
import { acquireLock } from './lock.js';
import { deadlineInstant, dueWork, inRange, parseNow, periodOf } from './calendar.js';
import { consolidatePeriod, previewLedger } from './consolidate.js';
import { queueReminders, queueRequests } from './requests.js';
import { defaultPeriod, statusJson, statusText } from './status.js';
import { collectStep, Connections, flushOutbox, tick, type TickReport } from './tick.js';
import { runDaemon } from './daemon.js';
import { runCheck } from './check.js';
import { writeProfile } from './profile.js';

const COMMANDS: Record<string, string> = {
  tick: 'tick [--now ISO-8601]          do once, at that instant, all that is due, then exit',
  run: 'run                             stay up: tick on a schedule and answer replies as they arrive',
  status: 'status [--period YYYY-MM] [--json]   who has reported',
  send: 'send [--period YYYY-MM]         send the month\'s requests now (to those who have none)',
  remind: 'remind [--period YYYY-MM]       remind now everyone who has not reported',
  collect: 'collect                         read and answer new replies now',
  consolidate: 'consolidate [--period YYYY-MM]  build the ledger and mail it to the office now',
  check: 'check                           validate the config, log in to IMAP and SMTP, create folders',
};

const USAGE = `Usage: taizhang [--config FILE] <command> [options]

Collects monthly progress reports for a work ledger (工作台账) by email.

Commands:
${Object.values(COMMANDS).map((c) => `  ${c}`).join('\n')}

Options:
  --config FILE   configuration file (default: config/taizhang.yaml)
  --now ISO-8601  act as if it were this instant (tick, status, send, remind, collect, consolidate)
  --help          show help (also after a command)
`;

interface Args { config: string; command?: string; now?: string; period?: string; json: boolean; help: boolean }

const VALUE_FLAGS = new Set(['--config', '--now', '--period']);

export function parseArgs(argv: string[]): Args {
  const args: Args = { config: 'config/taizhang.yaml', json: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    let value: string | undefined;
    if (a.startsWith('--') && a.includes('=')) [a, value] = [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)];
    if (VALUE_FLAGS.has(a)) {
      value ??= argv[++i];
      if (value === undefined || value === '') throw new TaizhangError('USAGE', `${a} needs a value`);
      if (a === '--config') args.config = value;
      else if (a === '--now') args.now = value;
      else args.period = value;
    } else if (a === '--json') args.json = true;
    else if (a === '--help' || a === '-h') args.help = true;
    else if (a.startsWith('-')) throw new TaizhangError('USAGE', `unknown option ${a}`);
    else if (!args.command) args.command = a;
    else throw new TaizhangError('USAGE', `unexpected argument ${a}`);
  }
  if (args.command && !COMMANDS[args.command]) throw new TaizhangError('USAGE', `unknown command "${args.command}" (try --help)`);
  if (args.period && !/^\d{4}-(0[1-9]|1[0-2])$/.test(args.period)) throw new TaizhangError('USAGE', `--period must be YYYY-MM, got "${args.period}"`);
  return args;
}

function terminalProgress(): Progress {
  if (!process.stderr.isTTY) return () => {};
  return (label, done, total) => {
    process.stderr.write(`\r${label}: ${done}/${total}${done >= total ? '\n' : ''}`);
  };
}

function clockFor(args: Args, config: Config) {
  if (!args.now) return { now: () => new Date() };
  const at = parseNow(args.now, config.timezone);
  if (!at) throw new TaizhangError('USAGE', `--now must be an ISO-8601 date or instant, got "${args.now}"`);
  return { now: () => at };
}

function summarizeTick(r: TickReport): string {
  const c = r.collected;
  const parts = [
    `collected ${c?.fetched ?? 0} new (${Object.entries(c?.outcomes ?? {}).map(([k, v]) => `${k} ${v}`).join(', ') || 'nothing to answer'})`,
    `requests ${r.requests}`, `reminders ${r.reminders}`,
    `sent ${r.flushed?.sent ?? 0}${r.flushed?.retrying ? `, retrying ${r.flushed.retrying}` : ''}${r.flushed?.failed ? `, failed ${r.flushed.failed}` : ''}`,
  ];
  return parts.join('; ');
}

function periodArg(args: Args, ctx: Context): string {
  if (args.period) return args.period;
  const p = periodOf(ctx.clock.now(), ctx.config.timezone);
  if (!inRange(p, ctx.config.schedule)) return defaultPeriod(ctx.config, ctx.store, ctx.clock.now());
  return p;
}

async function withWorker<T>(config: Config, log: Logger, args: Args, fn: (ctx: Context, conn: Connections) => Promise<T>): Promise<T> {
  const release = acquireLock(config.dataDir);
  const ctx = openContext(config, log, { clock: clockFor(args, config), progress: terminalProgress() });
  const conn = new Connections(ctx);
  try {
    return await fn(ctx, conn);
  } finally {
    await conn.close();
    await ctx.close();
    release();
  }
}

async function execute(args: Args, config: Config, log: Logger): Promise<number> {
  const out = (s: string) => process.stdout.write(`${s}\n`);
  switch (args.command) {
    case 'status': {
      const { Store } = await import('./store.js');
      const now = clockFor(args, config).now();
      const store = Store.open(config.dataDir);
      try {
        const period = args.period ?? defaultPeriod(config, store, now);
        const s = statusJson(config, store, period, now);
        out(args.json ? JSON.stringify(s, null, 2) : statusText(s, config));
      } finally {
        store.close();
      }
      return 0;
    }
    case 'run':
      return runDaemon(config, log);
    case 'check':
      return runCheck(config, log);
    default:
      return withWorker(config, log, args, async (ctx, conn) => {
        const report: TickReport = { requests: 0, reminders: 0, ledgers: [], errors: [] };
        switch (args.command) {
          case 'tick': Object.assign(report, await tick(ctx, conn)); break;
          case 'collect': await collectStep(ctx, conn, report); break;
          case 'send': report.requests = await queueRequests(ctx, periodArg(args, ctx)); break;
          case 'remind': {
            const day = dueWork(ctx.clock.now(), config.schedule, config.timezone);
            report.reminders = await queueReminders(ctx, periodArg(args, ctx), `manual-${ctx.clock.now().toISOString().slice(0, 10)}-${day.period}`);
            break;
          }
          case 'consolidate': {
            const period = periodArg(args, ctx);
            const passed = ctx.clock.now() >= deadlineInstant(period, config.schedule, config.timezone);
            report.ledgers.push(passed ? await consolidatePeriod(ctx, period) : await previewLedger(ctx, period));
            break;
          }
        }
        if (args.command !== 'tick') {
          try { report.flushed = await flushOutbox(ctx, conn); } catch (err) { report.errors.push(`send: ${errorMessage(err)}`); }
        }
        for (const f of report.ledgers) out(`ledger: ${f}`);
        process.stderr.write(`${args.command}: ${summarizeTick(report)}\n`);
        if (report.errors.length) {
          for (const e of report.errors) process.stderr.write(`error: ${e}\n`);
          return 1;
        }
        return 0;
      });
  }
}

/** The command line: parse, load config, run, map errors to exit codes (2 usage/config, 1 other). */
export async function main(argv: string[]): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (err) {
    process.stderr.write(`taizhang: ${errorMessage(err)}\n`);
    return 2;
  }
  if (args.help || !args.command) {
    const text = args.command ? `Usage: taizhang [--config FILE] ${COMMANDS[args.command]}\n` : USAGE;
    (args.help ? process.stdout : process.stderr).write(text);
    return args.help ? 0 : 2;
  }
  const log = createLogger({ pretty: process.stderr.isTTY });
  try {
    if (!existsSync(args.config)) throw new TaizhangError('CONFIG_INVALID', `config file ${args.config} not found (copy config/taizhang.example.yaml to start)`);
    const config = loadConfig(args.config);
    return await execute(args, config, log);
  } catch (err) {
    const code = err instanceof TaizhangError ? err.exitCode : 1;
    process.stderr.write(`taizhang: ${errorMessage(err)}\n`);
    if (!(err instanceof TaizhangError)) log.error({ err }, 'unexpected failure');
    return code;
  } finally {
    writeProfile();
  }
}
