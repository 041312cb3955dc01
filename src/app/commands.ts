import type { Config } from './config.js';
import { openContext, type Context, type Progress } from '../cycle/context.js';
import { errorMessage, TaizhangError } from '../errors.js';
import type { Logger } from '../logger.js';
import { acquireLock } from '../store/lock.js';
import { localParts, parseNow } from '../core/calendar.js';
import { checkPeriodArg, timingOf } from '../cycle/timing.js';
import { consolidatePeriod, previewLedger } from '../cycle/consolidate.js';
import { queueReminders, queueRequests } from '../cycle/requests.js';
import { defaultPeriod, statusJson, statusText } from '../cycle/status.js';
import { Store } from '../store/store.js';
import { backupStore, defaultBackupFile } from '../store/backup.js';
import { guardDataDir } from '../store/guard.js';
import { collectStep, Connections, flushOutbox, tick, type TickReport } from '../cycle/tick.js';
import { runDaemon, type Service } from './daemon.js';
import { runCheck } from './check.js';
import { chosenLedgers, ledgerById, ledgerConfig, ledgerContexts } from '../cycle/ledgers.js';
import type { Args } from './args.js';
import type { Io } from './io.js';
import { processIo } from './io.js';

function terminalProgress(io: Io): Progress {
  if (!io.tty) return () => {};
  return (label, done, total) => {
    io.err(`\r${label}: ${done}/${total}${done >= total ? '\n' : ''}`);
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
  if (r.notices) parts.push(`group chat notices ${r.notices.posted}${r.notices.waiting ? `, waiting ${r.notices.waiting}` : ''}${r.notices.failed ? `, failed ${r.notices.failed}` : ''}`);
  if (r.flushed?.pausedUntil) parts.push(`sending paused until ${r.flushed.pausedUntil}, ${r.flushed.waiting ?? 0} waiting`);
  return parts.join('; ');
}

/**
 * `status` of the chosen ledgers: one ledger's object with its id; several as `{ ledgers: [...] }`.
 * Through the service, on its store.
 */
function status(args: Args, config: Config, out: (s: string) => void, service?: Service): number {
  const now = clockFor(args, config).now();
  const store = service?.store ?? Store.open(config.dataDir, { people: config.people });
  try {
    const each = chosenLedgers(config, args.ledger).map((scope) => {
      const lconfig = ledgerConfig(config, scope);
      const lstore = store.forLedger(scope.id);
      const period = args.period !== undefined ? checkPeriodArg(args.period, lconfig.schedule) : defaultPeriod(lconfig, lstore, now);
      return { config: lconfig, json: { ...statusJson(lconfig, lstore, period, now), ledger: scope.id } };
    });
    if (args.json) out(JSON.stringify(each.length === 1 ? each[0].json : { ledgers: each.map((e) => e.json) }, null, 2));
    else out(each.map((e) => statusText(e.json, e.config)).join('\n\n'));
  } finally {
    if (!service) store.close();
  }
  return 0;
}

function periodArg(args: Args, ctx: Context): string {
  if (args.period) return checkPeriodArg(args.period, ctx.config.schedule);
  const t = timingOf(ctx.config.schedule, ctx.config.timezone);
  const p = t.periodAt(ctx.clock.now());
  if (!t.inRange(p)) return defaultPeriod(ctx.config, ctx.store, ctx.clock.now());
  return p;
}

async function withWorker<T>(config: Config, log: Logger, args: Args, io: Io, service: Service | undefined, fn: (ctx: Context, conn: Connections) => Promise<T>): Promise<T> {
  const clock = clockFor(args, config);
  if (service) return service.worker(clock, log, terminalProgress(io), fn);
  const release = acquireLock(config.dataDir);
  try {
    const ctx = openContext(config, log, { clock, progress: terminalProgress(io) });
    const conn = new Connections(ctx);
    try {
      return await fn(ctx, conn);
    } finally {
      await conn.close();
      await ctx.close();
    }
  } finally {
    release();
  }
}

/** `send`, `remind` or `consolidate` for one ledger. */
async function ledgerCommand(args: Args, ctx: Context, report: TickReport): Promise<void> {
  const { config } = ctx;
  switch (args.command) {
    case 'send': report.requests += await queueRequests(ctx, periodArg(args, ctx)); break;
    case 'remind': {
      const p = localParts(ctx.clock.now(), config.timezone);
      report.reminders += await queueReminders(ctx, periodArg(args, ctx), `manual-${p.year}-${p.month}-${p.day}`);
      break;
    }
    case 'consolidate': {
      const period = periodArg(args, ctx);
      const passed = ctx.clock.now() >= timingOf(config.schedule, config.timezone).deadlineInstant(period);
      report.ledgers.push(passed ? await consolidatePeriod(ctx, period) : await previewLedger(ctx, period));
      break;
    }
  }
}

/** `backup`: no worker lock (reading is allowed beside a running worker). Prints the copy's path. */
async function backup(args: Args, config: Config, io: Io, out: (s: string) => void): Promise<number> {
  const store = Store.open(config.dataDir, { people: config.people });
  try {
    const dest = args.to ?? defaultBackupFile(config.dataDir, clockFor(args, config).now(), config.timezone);
    const r = await backupStore(store, dest, { numbered: args.to === undefined });
    io.err(`backup: schema version ${r.version}, ${r.reports} reports, ${r.mails} mails; integrity check ok\n`);
    out(`backup: ${r.file}`);
    return 0;
  } finally {
    store.close();
  }
}

/**
 * Runs one parsed command with a loaded config, writing to `io`; returns the exit code. Given the
 * running service, the command works in it (its store, its worker) instead of taking the lock.
 */
export async function execute(args: Args, config: Config, log: Logger, io: Io = processIo, service?: Service): Promise<number> {
  const out = (s: string) => io.out(`${s}\n`);
  // Everything taizhang writes (raw mail, forms, ledgers, the database) is for its own account
  // alone, whatever umask it was started with.
  process.umask(0o077);
  // A folder with history whose database is gone stops every command before anything is done.
  guardDataDir(config.dataDir);
  if (args.ledger !== undefined) ledgerById(config, args.ledger); // an unknown id is a usage error, before anything is done
  switch (args.command) {
    case 'backup':
      return backup(args, config, io, out);
    case 'status':
      return status(args, config, out, service);
    case 'run':
      return runDaemon(config, log, execute, args.ledger);
    case 'check':
      return runCheck(config, log, clockFor(args, config).now());
    default:
      return withWorker(config, log, args, io, service, async (ctx, conn) => {
        const report: TickReport = { requests: 0, reminders: 0, ledgers: [], errors: [] };
        switch (args.command) {
          case 'tick': Object.assign(report, await tick(ctx, conn, args.ledger)); break;
          case 'collect': await collectStep(ctx, conn, report); break; // the mailbox is read for every ledger
          default:
            for (const lctx of ledgerContexts(ctx, args.ledger)) await ledgerCommand(args, lctx, report);
        }
        if (args.command !== 'tick') {
          try { report.flushed = await flushOutbox(ctx, conn); } catch (err) { report.errors.push(`send: ${errorMessage(err)}`); }
        }
        for (const f of report.ledgers) out(`ledger: ${f}`);
        io.err(`${args.command}: ${summarizeTick(report)}\n`);
        if (report.errors.length) {
          for (const e of report.errors) io.err(`error: ${e}\n`);
          return 1;
        }
        return 0;
      });
  }
}

