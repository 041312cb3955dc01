import type { ImapFlow } from 'imapflow';
import { localParts } from '../core/calendar.js';
import { timingOf } from './timing.js';
import { warnCalendarGap } from './workdays.js';
import { collect, type CollectResult } from './collect.js';
import { consolidateDue } from './consolidate.js';
import type { Context } from './context.js';
import { errorMessage, TaizhangError } from '../errors.js';
import { connectImap, folderHasMessageId, sentFolderOf } from '../mail/imap.js';
import { copyExists } from '../mail/self-copy.js';
import { fileOwnCopies } from './copies.js';
import type { FlushResult } from '../mail/outbox.js';
import type { OutboxRow } from '../store/store.js';
import { queueReminders, queueRequests } from './requests.js';
import { createSmtpTransport, type MailTransport } from '../mail/smtp.js';
import { dueStatusDay, queueStatusMail } from './office-status.js';
import { notifyLedgers, type NotifyResult } from './notify.js';
import type { DueWork } from '../core/calendar.js';
import { withTimeout } from './timeout.js';
import { ledgerContexts } from './ledgers.js';

/** The mail connections a unit of work uses, opened on first use. */
export class Connections {
  private imap: ImapFlow | null = null;
  private connecting: Promise<ImapFlow> | null = null;
  private smtp: MailTransport | null = null;

  constructor(private readonly ctx: Context) {}

  async imapClient(): Promise<ImapFlow> {
    if (this.imap && this.imap.usable) return this.imap;
    // Sending and collecting run at once: both wait for the same new connection.
    this.connecting ??= connectImap(this.ctx.config.mailbox.imap, this.ctx.log).finally(() => { this.connecting = null; });
    this.imap = await this.connecting;
    return this.imap;
  }

  /**
   * For a long-running worker: a connection kept between units of work may have stalled (the
   * server stopped answering without closing it). A NOOP that gets no answer within `timeoutMs`
   * drops it, so the next unit connects afresh instead of hanging.
   */
  async probeImap(timeoutMs: number): Promise<void> {
    const client = this.imap;
    if (!client || !client.usable) return;
    try {
      await withTimeout(client.noop(), timeoutMs, 'no answer to NOOP');
    } catch (err) {
      this.ctx.log.warn({ err }, 'the mailbox connection stalled: replacing it');
      if (this.imap === client) this.imap = null;
      client.close();
    }
  }

  smtpTransport(): MailTransport {
    this.smtp ??= createSmtpTransport(this.ctx.config.mailbox.smtp, this.ctx.log);
    return this.smtp;
  }

  async close(): Promise<void> {
    this.smtp?.close();
    this.smtp = null;
    if (this.imap) await this.imap.logout().catch(() => this.imap?.close());
    this.imap = null;
  }
}

export interface TickReport {
  collected?: CollectResult;
  requests: number;
  reminders: number;
  ledgers: string[];
  flushed?: FlushResult;
  /** Group-chat notices (only with `notify:`). */
  notices?: NotifyResult;
  errors: string[];
}

/**
 * Sends what is queued; first settles sends a crash interrupted, by the copies the mailbox holds
 * (its own copy, see `self_copy`, or one in Sent). Given `until`, keeps sending what is queued
 * meanwhile until it settles (see Outbox.flush). Then files the copies of what it sent.
 */
export async function flushOutbox(ctx: Context, conn: Connections, until?: Promise<unknown>, settled = false): Promise<FlushResult> {
  const { mailbox } = ctx.config;
  const sent = (client: ImapFlow) => sentFolderOf(client, mailbox.folders.sent);
  if (!settled) await settleInterrupted(ctx, conn);
  // Our own copy in Sent, unless the provider filed the submission there already. With
  // self_copy, the mailbox's own copy is filed there instead.
  const afterSend = mailbox.saveSent && !mailbox.selfCopy
    ? async (row: OutboxRow, raw: Buffer) => {
      const client = await conn.imapClient();
      const folder = await sent(client);
      if (!(await folderHasMessageId(client, folder, row.message_id))) await client.append(folder, raw, ['\\Seen']);
    }
    : undefined;
  const result = await ctx.outbox.flush(conn.smtpTransport(), ctx.clock, (d, n) => ctx.progress('mails sent', d, n), afterSend, until);
  if (mailbox.selfCopy && result.sent > 0) {
    const client = await conn.imapClient().catch((err) => { ctx.log.warn({ err }, 'cannot reach the mailbox to file the own copies of sent mail'); return null; });
    if (client) await fileOwnCopies(ctx, client);
  }
  return result;
}

/**
 * Settles the sends a crash left undecided, by the copies the mailbox holds; in a tick, before
 * collecting starts filing copies, so that the lookups see a still mailbox.
 */
export async function settleInterrupted(ctx: Context, conn: Connections): Promise<void> {
  if (!ctx.store.stuckSending().length) return;
  const { mailbox } = ctx.config;
  const client = await conn.imapClient().catch((err) => {
    ctx.log.warn({ err }, 'cannot reach the mailbox to settle interrupted sends');
    return null;
  });
  await ctx.outbox.recover(client ? async (mid) => copyExists(client, mid, [await sentFolderOf(client, mailbox.folders.sent), mailbox.folders.machine]) : null, ctx.clock.now());
}

/** Collects new replies with the given connections, logging (not throwing) a mailbox failure. */
export async function collectStep(ctx: Context, conn: Connections, report: TickReport): Promise<void> {
  try {
    report.collected = await collect(ctx, await conn.imapClient());
  } catch (err) {
    report.errors.push(`collect: ${errorMessage(err)}`);
    ctx.log.error({ err, code: (err as TaizhangError).code }, 'could not read the collection mailbox');
  }
}

/** One ledger's part of a tick: its requests, reminder, status mail and ledger due at the clock's instant, on its own cadence. */
async function ledgerTick(ctx: Context, report: TickReport): Promise<readonly DueWork[]> {
  const now = ctx.clock.now();
  const timing = timingOf(ctx.config.schedule, ctx.config.timezone);
  const due = timing.due(now);
  const log = ctx.log.child({ ledger: ctx.store.ledger, period: timing.periodAt(now) });
  log.info({ open: due.map((d) => ({ period: d.period, reminder: d.reminder?.slot ?? null })) }, 'ledger due');
  warnCalendarGap(ctx.config.schedule, localParts(now, ctx.config.timezone), log);
  // Usually one open period; two while a deadline moved past a holiday overlaps the next send day.
  for (const d of due) {
    if (d.requests) report.requests += await queueRequests(ctx, d.period);
    if (d.reminder) report.reminders += await queueReminders(ctx, d.period, d.reminder.slot, { requestedBefore: d.reminder.at });
  }
  const statusDay = dueStatusDay(ctx);
  if (statusDay) await queueStatusMail(ctx, statusDay.period, statusDay.slot);
  // Not while the mailbox could not be read: replies waiting there belong in the ledger.
  if (report.collected) report.ledgers.push(...await consolidateDue(ctx));
  else log.warn('ledger held back until the collection mailbox can be read');
  return due;
}

/**
 * Everything due at the clock's instant, once: collect replies, the month's requests from the
 * send day, the due reminder, the ledger once the deadline has passed (and again after late
 * reports), then send what was queued. Safe to run twice at the same instant.
 */
export async function tick(ctx: Context, conn: Connections, only?: string): Promise<TickReport> {
  const report: TickReport = { requests: 0, reminders: 0, ledgers: [], errors: [] };
  const now = ctx.clock.now();
  const log = ctx.log;
  const ledgers = ledgerContexts(ctx, only); // the mailbox is read for all; the rest is per ledger
  log.info({ now: now.toISOString(), ledgers: ledgers.map((l) => l.store.ledger) }, 'tick');
  const dues: { ctx: Context; due: readonly DueWork[] }[] = [];
  // Mail goes out while the rest is prepared (receipts while replies are still being read,
  // requests while further forms are written), and whatever is left once all is queued.
  let prepared!: () => void;
  const preparing = new Promise<void>((resolve) => { prepared = resolve; });
  await settleInterrupted(ctx, conn); // before collecting files any copy
  const sending = flushOutbox(ctx, conn, preparing, true).then((flushed) => { report.flushed = flushed; }, (err: unknown) => {
    report.errors.push(`send: ${errorMessage(err)}`);
    log.error({ err, code: (err as TaizhangError).code }, 'could not send mail');
  });
  try {
    await collectStep(ctx, conn, report);
    for (const lctx of ledgers) dues.push({ ctx: lctx, due: await ledgerTick(lctx, report) });
  } finally {
    prepared();
    await sending;
  }
  report.notices = await notifyLedgers(ctx, dues);
  return report;
}
