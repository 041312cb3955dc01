import { schedule, validate } from 'node-cron';
import type { ImapFlow } from 'imapflow';
import { Writable } from 'node:stream';
import { parseArgs, SERVICE_COMMANDS, type Args } from './args.js';
import type { Config } from './config.js';
import { listenControl, type ControlHandler } from './control.js';
import { reportFailure, type Io } from './io.js';
import { Serial } from './serial.js';
import { openContext, type Context, type Progress } from '../cycle/context.js';
import { TaizhangError } from '../errors.js';
import { connectImap } from '../mail/imap.js';
import { Outbox, type Clock } from '../mail/outbox.js';
import { withTimeout } from '../cycle/timeout.js';
import { acquireLock } from '../store/lock.js';
import type { Store } from '../store/store.js';
import { createLogger, type Logger } from '../logger.js';
import { collectStep, Connections, flushOutbox, tick, type TickReport } from '../cycle/tick.js';

/**
 * The running service, to a command that came over its control socket: its store, and its
 * worker, which runs the command's work in turn with the ticks, on the same connections.
 */
export interface Service {
  store: Store;
  worker<T>(clock: Clock, log: Logger, progress: Progress, fn: (ctx: Context, conn: Connections) => Promise<T>): Promise<T>;
}

/** Runs a parsed command (commands.ts `execute`, handed in: commands.ts starts the daemon). */
export type Execute = (args: Args, config: Config, log: Logger, io: Io, service: Service) => Promise<number>;

const HEARTBEAT_MS = 10 * 60_000;
const STOP_GRACE_MS = 10_000;

/** Serializes units of work: a tick, a collection, a command and the desk's actions never overlap. */
class WorkQueue {
  private pendingCollect = false;

  constructor(private readonly log: Logger, readonly serial = new Serial()) {}

  push(name: string, fn: () => Promise<void>): Promise<void> {
    return this.serial.run(fn).catch((err) => this.log.error({ err, unit: name }, 'unit of work failed'));
  }

  /** Coalesces bursts of "new mail" into one collection. */
  collectSoon(fn: () => Promise<void>): void {
    if (this.pendingCollect) return;
    this.pendingCollect = true;
    void this.push('collect', async () => { this.pendingCollect = false; await fn(); });
  }

  idle(): Promise<void> { return this.serial.run(async () => {}); }
}

/**
 * Watches the inbox on a connection of its own: IDLE where the server has it (new mail is
 * answered within seconds), polling otherwise; either way a NOOP every poll interval proves the
 * connection still answers (a stalled one is replaced). Reconnects with backoff when the server
 * goes away, and collects on every (re)connect what arrived in the meantime.
 */
class InboxWatcher {
  private client: ImapFlow | null = null;
  private stopped = false;
  private backoffMs = 1000;
  private wake: (() => void) | null = null;

  constructor(private readonly config: Config, private readonly log: Logger, private readonly onMail: () => void) {}

  async start(): Promise<void> {
    while (!this.stopped) {
      try {
        this.client = await connectImap(this.config.mailbox.imap, this.log);
        const client = this.client;
        const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
        client.on('exists', () => this.onMail());
        await client.mailboxOpen('INBOX', { readOnly: true });
        this.backoffMs = 1000;
        this.log.info({ idle: this.useIdle(client) }, 'watching the collection mailbox');
        this.onMail(); // pick up what arrived while we were away
        await Promise.race([closed, this.watch(client)]);
        if (!this.stopped) this.log.warn('the mailbox connection closed');
      } catch (err) {
        if (!this.stopped) this.log.warn({ err }, 'mailbox watch interrupted');
      }
      if (this.stopped) break;
      this.client?.close();
      this.client = null;
      const wait = Math.round(this.backoffMs * (0.75 + Math.random() * 0.5));
      this.log.info({ retryInMs: wait }, 'reconnecting to the collection mailbox');
      await this.pause(wait);
      this.backoffMs = Math.min(this.backoffMs * 2, 60_000);
    }
    // Stopped while (re)connecting: the connection made after stop() was called is closed here.
    this.client?.close();
    this.client = null;
  }

  private useIdle(c: ImapFlow): boolean {
    return this.config.mailbox.imap.idle && !!(c as unknown as { capabilities: Map<string, unknown> }).capabilities?.has('IDLE');
  }

  /** Waits `ms`, or less when stopped. */
  private pause(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() { clearTimeout(timer); resolve(); }
      this.wake = () => { this.wake = null; done(); };
    });
  }

  private async watch(c: ImapFlow): Promise<void> {
    const pollMs = this.config.mailbox.imap.pollSeconds * 1000;
    const idle = this.useIdle(c);
    while (!this.stopped && c.usable) {
      // IDLE runs until a command breaks it; the server reports new mail meanwhile ('exists').
      const idling = idle ? c.idle().catch((err: unknown) => this.log.debug({ err }, 'IDLE ended')) : null;
      await this.pause(pollMs);
      if (this.stopped) break;
      // Breaks IDLE; a connection that does not answer is replaced.
      await withTimeout(c.noop(), noopTimeoutMs(this.config), 'NOOP got no answer: replacing the connection');
      await idling;
      if (!idle) this.onMail();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    if (this.client) await withTimeout(this.client.logout(), 2000, 'logout timed out').catch(() => this.client?.close());
  }
}

/** How long a NOOP may go unanswered before the connection counts as stalled: the poll interval, 5 to 30 s. */
function noopTimeoutMs(config: Config): number {
  return Math.min(30_000, Math.max(5_000, config.mailbox.imap.pollSeconds * 1000));
}

/** A logger writing a command's lines to its client's stderr, at the client's level. */
function clientLogger(level: string | undefined, io: Io): Logger {
  const destination = new Writable({ write(chunk: Buffer, _enc, done) { io.err(chunk.toString('utf8')); done(); } });
  return createLogger({ level: level ?? 'info', destination });
}

/** Answers the control socket: the command runs here as the command line would run it. */
function controlHandler(config: Config, log: Logger, execute: Execute, service: Service): ControlHandler {
  return async (request, io) => {
    const clientLog = clientLogger(request.logLevel, io);
    let args: Args;
    try {
      args = parseArgs(request.argv);
      if (!args.command || args.help || !SERVICE_COMMANDS.has(args.command)) {
        throw new TaizhangError('USAGE', `${args.command ?? 'this'} is not run through the service`);
      }
    } catch (err) {
      return reportFailure(err, io, clientLog);
    }
    log.info({ command: args.command, argv: request.argv }, 'command through the control socket');
    let code: number;
    try {
      code = await execute(args, config, clientLog, io, service);
    } catch (err) {
      code = reportFailure(err, io, clientLog);
    }
    log.info({ command: args.command, exitCode: code }, 'command done');
    return code;
  };
}

/** `taizhang run`: tick now and on the cron schedule, answer replies as they arrive, stop on SIGTERM. */
export async function runDaemon(config: Config, log: Logger, execute: Execute, only?: string): Promise<number> {
  if (!validate(config.schedule.cron)) throw new TaizhangError('CONFIG_INVALID', `schedule.cron: "${config.schedule.cron}" is not a cron expression`);
  const release = acquireLock(config.dataDir);
  const ctx = openContext(config, log);
  const conn = new Connections(ctx);
  const work = new WorkQueue(log);
  const service: Service = {
    store: ctx.store,
    worker: (clock, cmdLog, progress, fn) => work.serial.run(async () => {
      await conn.probeImap(noopTimeoutMs(config));
      // Its own outbox only for its log lines ("mail sent" …), which go to its caller.
      return fn({ ...ctx, clock, log: cmdLog, progress, outbox: new Outbox(ctx.store, config, cmdLog) }, conn);
    }),
  };
  // Without its socket the service still runs; commands are then refused by the lock, as before.
  const control = await listenControl(config.dataDir, controlHandler(config, log, execute, service), (err) => log.warn({ err }, 'control socket'))
    .catch((err: unknown) => { log.error({ err }, 'cannot open the control socket: commands cannot run while the service runs'); return null; });
  const runTick = () => work.push('tick', async () => {
    await conn.probeImap(noopTimeoutMs(config));
    logTick(log, await tick(ctx, conn, only));
  });
  const runCollect = () => work.collectSoon(async () => {
    await conn.probeImap(noopTimeoutMs(config));
    const report: TickReport = { requests: 0, reminders: 0, ledgers: [], errors: [] };
    await collectStep(ctx, conn, report);
    if (report.collected?.fetched || ctx.store.pendingOutboxCount()) await flushOutbox(ctx, conn);
  });
  const desk = config.web ? await openDesk(config.web, { ctx, serial: work.serial, log: log.child({ component: 'desk' }), flush: () => { void work.push('desk-send', async () => { await flushOutbox(ctx, conn); }); } }).catch(async (err: unknown) => {
    await ctx.close();
    release();
    throw err;
  }) : null;
  const watcher = new InboxWatcher(config, log.child({ component: 'watch' }), runCollect);
  const cronTask = schedule(config.schedule.cron, () => { void runTick(); }, { timezone: config.timezone, noOverlap: true });
  const heartbeat = setInterval(() => log.info({ pendingMail: ctx.store.pendingOutboxCount() }, 'heartbeat'), HEARTBEAT_MS);
  log.info({ cron: config.schedule.cron, timezone: config.timezone, control: control?.path }, 'taizhang running');
  void runTick();
  const watching = watcher.start();

  await new Promise<void>((resolve) => {
    const stop = (signal: string) => { log.info({ signal }, 'stopping'); resolve(); };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  clearInterval(heartbeat);
  control?.close();
  await desk?.close();
  await cronTask.stop();
  await watcher.stop();
  // Finish the unit of work in hand, or abandon it after a grace period (an interrupted send is
  // settled at the next start by the Sent folder).
  await withTimeout(work.idle(), STOP_GRACE_MS, 'grace period over').catch((err) => log.warn({ err }, 'abandoning the unit of work in hand'));
  control?.drop();
  await watching.catch(() => {});
  await conn.close();
  await ctx.close();
  release();
  log.info('stopped');
  return 0;
}

/** The desk (web) is loaded only when configured: fastify costs every other command its start-up time. */
async function openDesk(web: NonNullable<Config['web']>, deps: import('../web/server.js').DeskDeps) {
  const { startDesk } = await import('../web/server.js');
  return startDesk(deps, web);
}

function logTick(log: Logger, r: TickReport): void {
  log.info({ fetched: r.collected?.fetched ?? 0, requests: r.requests, reminders: r.reminders, ledgers: r.ledgers.length, sent: r.flushed?.sent ?? 0, errors: r.errors.length }, 'tick done');
}
