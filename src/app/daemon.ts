import { schedule, validate } from 'node-cron';
import type { ImapFlow } from 'imapflow';
import type { Config } from './config.js';
import { openContext } from '../cycle/context.js';
import { TaizhangError } from '../errors.js';
import { connectImap } from '../mail/imap.js';
import { withTimeout } from '../cycle/timeout.js';
import { acquireLock } from '../store/lock.js';
import type { Logger } from '../logger.js';
import { collectStep, Connections, flushOutbox, tick, type TickReport } from '../cycle/tick.js';

const HEARTBEAT_MS = 10 * 60_000;
const STOP_GRACE_MS = 10_000;

/** Serializes units of work: a tick and a collection never overlap. */
class WorkQueue {
  private tail: Promise<void> = Promise.resolve();
  private pendingCollect = false;

  constructor(private readonly log: Logger) {}

  push(name: string, fn: () => Promise<void>): Promise<void> {
    this.tail = this.tail.then(fn).catch((err) => this.log.error({ err, unit: name }, 'unit of work failed'));
    return this.tail;
  }

  /** Coalesces bursts of "new mail" into one collection. */
  collectSoon(fn: () => Promise<void>): void {
    if (this.pendingCollect) return;
    this.pendingCollect = true;
    void this.push('collect', async () => { this.pendingCollect = false; await fn(); });
  }

  idle(): Promise<void> { return this.tail; }
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

/** `taizhang run`: tick now and on the cron schedule, answer replies as they arrive, stop on SIGTERM. */
export async function runDaemon(config: Config, log: Logger, only?: string): Promise<number> {
  if (!validate(config.schedule.cron)) throw new TaizhangError('CONFIG_INVALID', `schedule.cron: "${config.schedule.cron}" is not a cron expression`);
  const release = acquireLock(config.dataDir);
  const ctx = openContext(config, log);
  const conn = new Connections(ctx);
  const work = new WorkQueue(log);
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
  const watcher = new InboxWatcher(config, log.child({ component: 'watch' }), runCollect);
  const cronTask = schedule(config.schedule.cron, () => { void runTick(); }, { timezone: config.timezone, noOverlap: true });
  const heartbeat = setInterval(() => log.info({ pendingMail: ctx.store.pendingOutboxCount() }, 'heartbeat'), HEARTBEAT_MS);
  log.info({ cron: config.schedule.cron, timezone: config.timezone }, 'taizhang running');
  void runTick();
  const watching = watcher.start();

  await new Promise<void>((resolve) => {
    const stop = (signal: string) => { log.info({ signal }, 'stopping'); resolve(); };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  clearInterval(heartbeat);
  await cronTask.stop();
  await watcher.stop();
  // Finish the unit of work in hand, or abandon it after a grace period (an interrupted send is
  // settled at the next start by the Sent folder).
  await withTimeout(work.idle(), STOP_GRACE_MS, 'grace period over').catch((err) => log.warn({ err }, 'abandoning the unit of work in hand'));
  await watching.catch(() => {});
  await conn.close();
  await ctx.close();
  release();
  log.info('stopped');
  return 0;
}

function logTick(log: Logger, r: TickReport): void {
  log.info({ fetched: r.collected?.fetched ?? 0, requests: r.requests, reminders: r.reminders, ledgers: r.ledgers.length, sent: r.flushed?.sent ?? 0, errors: r.errors.length }, 'tick done');
}
