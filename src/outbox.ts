import { mkdirSync, readFileSync, unlinkSync, writeFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { composeRaw, newMessageId, type OutgoingMail } from './compose.js';
import type { Config } from './config.js';
import { errorMessage, TaizhangError } from './errors.js';
import type { Logger } from './logger.js';
import type { MailTransport } from './smtp.js';
import { timed, timedSync } from './profile.js';
import type { OutboxKind, OutboxRow, Store } from './store.js';

export interface Clock { now(): Date }
export type Sleep = (ms: number) => Promise<void>;
export const realSleep: Sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export interface FlushResult { sent: number; retrying: number; failed: number }

/** Looks a Message-ID up in the Sent folder: the answer for a send a crash left undecided. */
export type SentLookup = (messageId: string) => Promise<boolean>;

/**
 * Exactly-once outgoing mail. A mail is composed and recorded (raw bytes on disk, a row in
 * SQLite, unique per kind/period/person/slot) before it is sent, marked `sending` while the
 * SMTP transaction runs and `sent` once the server accepted it.
 */
export class Outbox {
  private readonly dir: string;

  constructor(
    private readonly store: Store,
    private readonly config: Config,
    private readonly log: Logger,
    private readonly sleep: Sleep = realSleep,
  ) {
    this.dir = path.join(config.dataDir, 'outbox');
    mkdirSync(this.dir, { recursive: true });
  }

  has(kind: OutboxKind, period: string, person: string | null, slot: string): boolean {
    return this.store.outboxExists(kind, period, person, slot);
  }

  /** Records a mail; false when the same mail was recorded before (nothing is written then). */
  async queue(key: { kind: OutboxKind; period: string; person: string | null; slot: string }, mail: OutgoingMail, now: Date): Promise<boolean> {
    if (this.has(key.kind, key.period, key.person, key.slot)) return false;
    const messageId = newMessageId(key.kind, this.config.mailbox.address);
    const raw = await timed('mime.compose', composeRaw(mail, { name: this.config.mailbox.senderName, address: this.config.mailbox.address }, messageId, now));
    const file = path.join(this.dir, `${messageId.slice(1, -1).replace(/[^A-Za-z0-9.@-]/g, '_')}.eml`);
    timedSync('disk', () => {
      writeFileSync(`${file}.tmp`, raw);
      renameSync(`${file}.tmp`, file);
    });
    const added = this.store.enqueue({
      ...key, recipients: mail.to.map((t) => t.address), messageId, subject: mail.subject, emlPath: file, now: now.toISOString(),
    });
    if (!added) unlinkSync(file);
    return added;
  }

  /** Settles sends a crash left in `sending`: sent if the Sent folder has them, else queued again. */
  async recover(lookup: SentLookup | null, now: Date): Promise<void> {
    for (const row of this.store.stuckSending()) {
      let found = false;
      if (lookup) {
        try { found = await lookup(row.message_id); } catch (err) { this.log.warn({ err: errorMessage(err) }, 'Sent folder lookup failed'); }
      }
      if (found) this.store.markSent(row.id, now.toISOString());
      else this.store.markRetry(row.id, 'interrupted while sending', now.toISOString());
      this.log.info({ messageId: row.message_id, found }, 'settled an interrupted send');
    }
  }

  /** Sends every queued mail that is due, a few at a time, retrying passing failures. */
  async flush(transport: MailTransport, clock: Clock, onProgress?: (done: number, total: number) => void, afterSend?: (row: OutboxRow, raw: Buffer) => Promise<void>): Promise<FlushResult> {
    const due = this.store.dueOutbox(clock.now().toISOString());
    const result: FlushResult = { sent: 0, retrying: 0, failed: 0 };
    let done = 0;
    let authFailure: TaizhangError | null = null;
    const worker = async (queue: OutboxRow[]) => {
      for (let row = queue.shift(); row; row = queue.shift()) {
        if (authFailure) break;
        const outcome = await this.sendOne(row, transport, clock, afterSend);
        if (outcome instanceof TaizhangError) authFailure = outcome;
        else result[outcome]++;
        onProgress?.(++done, due.length);
      }
    };
    const queue = [...due];
    const lanes = Math.max(1, this.config.mailbox.smtp.maxConnections * 2);
    await Promise.all(Array.from({ length: Math.min(lanes, queue.length) }, () => worker(queue)));
    if (authFailure) throw authFailure;
    return result;
  }

  private async sendOne(row: OutboxRow, transport: MailTransport, clock: Clock, afterSend?: (row: OutboxRow, raw: Buffer) => Promise<void>): Promise<keyof FlushResult | TaizhangError> {
    const log = this.log.child({ period: row.period, person: row.person || undefined, messageId: row.message_id });
    const raw = timedSync('disk', () => readFileSync(row.eml_path));
    const envelope = { from: this.config.mailbox.address, to: row.recipients.split(/,\s*/) };
    const delays = this.config.mailbox.smtp.retryDelaysMs;
    let attempts = row.attempts;
    for (let i = 0; ; i++) {
      this.store.markSending(row.id);
      attempts++;
      try {
        await transport.send(envelope, raw);
        this.store.markSent(row.id, clock.now().toISOString());
        log.info({ kind: row.kind, to: envelope.to }, 'mail sent');
        if (afterSend) await afterSend(row, raw).catch((err) => log.warn({ err: errorMessage(err) }, 'could not keep a copy in the Sent folder'));
        return 'sent';
      } catch (err) {
        const e = err instanceof TaizhangError ? err : new TaizhangError('SMTP_CONNECT', errorMessage(err));
        if (e.code === 'SMTP_AUTH') {
          this.store.markRetry(row.id, e.message, clock.now().toISOString());
          log.error({ code: e.code }, e.message);
          return e;
        }
        if (e.permanent || attempts >= this.config.mailbox.smtp.maxAttempts) {
          this.store.markFailed(row.id, e.message);
          log.warn({ code: e.code, kind: row.kind }, `mail not delivered: ${e.message}`);
          return 'failed';
        }
        if (i < delays.length) {
          log.info({ code: e.code, attempt: attempts }, `send failed, trying again: ${e.message}`);
          await this.sleep(withJitter(delays[i]));
          continue;
        }
        const next = new Date(clock.now().getTime() + backoffMs(attempts));
        this.store.markRetry(row.id, e.message, next.toISOString());
        log.warn({ code: e.code, attempt: attempts, next: next.toISOString() }, `send failed, will try again later: ${e.message}`);
        return 'retrying';
      }
    }
  }
}

function withJitter(ms: number): number {
  return Math.round(ms * (0.75 + Math.random() * 0.5));
}

/** Across ticks: 1, 2, 4 … minutes, capped at an hour, with jitter. */
export function backoffMs(attempts: number): number {
  return withJitter(Math.min(60, 2 ** Math.max(0, attempts - 1)) * 60_000);
}
