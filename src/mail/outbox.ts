import { composeRaw, newMessageId, type OutgoingMail } from './compose.js';
import type { Config } from '../app/config.js';
import { errorMessage, TaizhangError } from '../errors.js';
import type { Logger } from '../logger.js';
import { ADDRESS } from './headers.js';
import { clearPause, currentPause, DailyBudget, pauseEnd, pauseText, recordPause, type PauseReason, type SendingPause } from './quota.js';
import type { Envelope, MailTransport } from './smtp.js';
import type { OutboxKind, OutboxRow, Store } from '../store/store.js';

export interface Clock { now(): Date }
export type Sleep = (ms: number) => Promise<void>;
export const realSleep: Sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export interface FlushResult {
  sent: number;
  retrying: number;
  failed: number;
  /** Sending is paused (a quota) until this ISO instant; `waiting` mails wait for it. */
  pausedUntil?: string;
  waiting?: number;
}

/**
 * Looks a Message-ID up where a copy of a mail the server took would be (the Sent folder, and
 * the collection mailbox's own copy, see `self_copy`): the answer for a send a crash left
 * undecided. Throws when it cannot tell (the mailbox is unreachable); false means "not there".
 */
export type SentLookup = (messageId: string) => Promise<boolean>;

/**
 * Exactly-once outgoing mail. A mail is composed and recorded (a row in SQLite with its raw
 * bytes, unique per kind/period/person/slot) before it is sent, marked `sending` while the SMTP
 * transaction runs and `sent` once the server accepted it.
 */
export class Outbox {
  /** Tells a running flush that a mail was queued. */
  private queued: (() => void) | null = null;

  constructor(
    private readonly store: Store,
    private readonly config: Config,
    private readonly log: Logger,
    private readonly sleep: Sleep = realSleep,
  ) {}

  /**
   * This outbox recording one ledger's mail (`store`, a ledger's view of the store) under that
   * ledger's sender name (`config`). Sending stays the one outbox's: a flush sends every ledger's.
   */
  forLedger(store: Store, config: Config): Outbox {
    const view = Object.create(this) as Outbox;
    Object.defineProperty(view, 'store', { value: store });
    Object.defineProperty(view, 'config', { value: config });
    return view;
  }

  has(kind: OutboxKind, period: string, person: string | null, slot: string): boolean {
    return this.store.outboxExists(kind, period, person, slot);
  }

  /** Records a mail; false when the same mail was recorded before (nothing is written then). */
  async queue(key: { kind: OutboxKind; period: string; person: string | null; slot: string }, mail: OutgoingMail, now: Date): Promise<boolean> {
    if (this.has(key.kind, key.period, key.person, key.slot)) return false;
    const messageId = newMessageId(key.kind, this.config.mailbox.address);
    const raw = await composeRaw(mail, { name: this.config.mailbox.senderName, address: this.config.mailbox.address }, messageId, now);
    // The bytes go into the database with the record: one transaction, no file to create.
    const added = this.store.enqueue({
      ...key, recipients: mail.to.map((t) => t.address), messageId, subject: mail.subject, raw, now: now.toISOString(),
    });
    if (!added) return false;
    this.queued?.();
    return true;
  }

  /**
   * Settles sends a crash left in `sending`: sent if a copy is found (the collection mailbox's own
   * copy, the provider's in Sent, or ours appended there before the crash), else queued again.
   * When the mailbox cannot be read (no lookup, or it fails) the send stays undecided until it
   * can: sending it again blind could send it twice. Returns how many stay undecided.
   */
  async recover(lookup: SentLookup | null, now: Date): Promise<number> {
    let undecided = 0;
    for (const row of this.store.stuckSending()) {
      let found: boolean;
      try {
        // A copy the server took while refusing every recipient (a stray one) makes copies prove
        // nothing for this mail: sending it again risks a second copy, never a lost mail.
        if (row.stray_copies) found = false;
        else if (!lookup) throw new Error('the mailbox is not reachable');
        else found = await lookup(row.message_id);
      } catch (err) {
        undecided++;
        this.log.warn({ messageId: row.message_id, err: errorMessage(err) }, 'an interrupted send stays undecided until the Sent folder can be checked');
        continue;
      }
      if (found) this.store.markSent(row.id, now.toISOString());
      else this.store.markRetry(row.id, 'interrupted while sending', now.toISOString());
      this.log.info({ messageId: row.message_id, found }, 'settled an interrupted send');
    }
    return undecided;
  }

  /**
   * Sends every queued mail that is due, a few at a time, retrying passing failures. Given
   * `until`, also sends what is queued meanwhile, until `until` settles and nothing is left: the
   * mail of a tick goes out while the tick is still preparing more.
   */
  async flush(transport: MailTransport, clock: Clock, onProgress?: (done: number, total: number) => void, afterSend?: (row: OutboxRow, raw: Buffer) => Promise<void>, until?: Promise<unknown>): Promise<FlushResult> {
    const tz = this.config.timezone;
    clearPause(this.store, clock.now());
    const pausedAtStart = currentPause(this.store, clock.now());
    if (pausedAtStart) return this.pausedResult(pausedAtStart);
    const budget = new DailyBudget(this.store, this.config.mailbox.smtp.dailyLimit, clock.now(), tz);
    let pause: SendingPause | null = null;
    const pauseFor = (reason: PauseReason, answer: string | null) => {
      pause ??= { until: pauseEnd(reason, clock.now(), tz).toISOString(), reason, answer };
      recordPause(this.store, pause);
    };
    const due = this.store.dueOutbox(clock.now().toISOString());
    let lastId = due.reduce((m, r) => Math.max(m, r.id), 0);
    let open = !!until;
    let changed!: Promise<void>;
    let signal!: () => void;
    const arm = () => { changed = new Promise((r) => { signal = r; }); };
    const wake = () => { const s = signal; arm(); s(); };
    arm();
    void until?.then(() => { open = false; wake(); }, () => { open = false; wake(); });
    // Mail queued meanwhile is picked up a moment later, a few at a time (one commit for several).
    let soon: NodeJS.Timeout | null = null;
    const queued = () => { soon ??= setTimeout(() => { soon = null; wake(); }, QUEUED_PICKUP_MS); };
    this.queued = queued;
    const refill = () => {
      for (const row of this.store.dueOutbox(clock.now().toISOString(), lastId)) {
        due.push(row);
        queue.push(row);
        lastId = Math.max(lastId, row.id);
      }
    };
    /** The next mail to send; waits for more while `until` has not settled. */
    const next = async (): Promise<OutboxRow | undefined> => {
      for (;;) {
        const row = queue.shift();
        if (row) return row;
        refill();
        if (queue.length) continue;
        if (!open) return undefined;
        await changed;
      }
    };
    const result: FlushResult = { sent: 0, retrying: 0, failed: 0 };
    let done = 0;
    let authFailure: TaizhangError | null = null;
    // A lane that fails stops; the others finish what they hold before the failure is reported.
    let failure: unknown = null;
    // Mails are marked `sending` a few at a time, one commit for the lot, before any of them is
    // handed to SMTP; one that is not handed over in the end is marked back.
    const claimed = new Set<number>();
    const claim = (row: OutboxRow) => {
      if (claimed.has(row.id)) return;
      const group = [row, ...queue.filter((r) => !claimed.has(r.id)).slice(0, lanes - 1)];
      this.store.durable(() => { for (const r of group) this.store.markSending(r.id); });
      for (const r of group) claimed.add(r.id);
    };
    const marks: SendMarks = {
      sending: (id) => {
        if (claimed.delete(id)) return;
        this.store.durable(() => this.store.markSending(id));
      },
      // On disk before anything else happens: a crash after the server took the mail must not
      // leave it looking unsent (it would go out twice where the provider keeps no Sent copy).
      sent: (id, at) => this.store.durable(() => this.store.markSent(id, at)),
    };
    const worker = async () => {
      try {
        for (let row = await next(); row; row = await next()) {
          if (authFailure || pause) break;
          if (!budget.take()) {
            pauseFor('daily_limit', null);
            break;
          }
          claim(row);
          const outcome = await this.sendOne(row, transport, clock, marks, afterSend);
          if (outcome instanceof TaizhangError && outcome.code === 'SMTP_QUOTA') pauseFor(quotaReason(outcome), outcome.message);
          else if (outcome instanceof TaizhangError) authFailure = outcome;
          else result[outcome]++;
          onProgress?.(++done, due.length);
        }
      } catch (err) {
        failure ??= err;
      }
    };
    const queue = [...due];
    const lanes = Math.max(1, this.config.mailbox.smtp.maxConnections * 2);
    try {
      await Promise.all(Array.from({ length: until ? lanes : Math.min(lanes, queue.length) }, () => worker()));
    } finally {
      if (this.queued === queued) this.queued = null;
      if (soon) clearTimeout(soon);
      if (claimed.size) this.store.tx(() => { for (const id of claimed) this.store.unmarkSending(id); });
    }
    if (authFailure) throw authFailure;
    if (failure) throw failure;
    const paused = pause as SendingPause | null;
    return paused ? { ...this.pausedResult(paused), ...result } : result;
  }

  /** A flush that sends nothing while paused; says so in one line. */
  private pausedResult(p: SendingPause): FlushResult {
    const waiting = this.store.pendingOutboxCount();
    this.log.warn({ until: p.until, reason: p.reason, waiting }, `${pauseText(p, this.config.timezone)}; ${waiting} mails wait`);
    return { sent: 0, retrying: 0, failed: 0, pausedUntil: p.until, waiting };
  }

  private async sendOne(row: OutboxRow, transport: MailTransport, clock: Clock, marks: SendMarks, afterSend?: (row: OutboxRow, raw: Buffer) => Promise<void>): Promise<keyof FlushResult | TaizhangError> {
    const log = this.log.child({ period: row.period, person: row.person || undefined, messageId: row.message_id });
    const raw = this.store.outboxRaw(row.id);
    if (!raw) {
      this.store.markFailed(row.id, 'outgoing message missing from the store');
      log.error('outgoing message missing from the store; not sent');
      return 'failed';
    }
    // The collection mailbox gets a copy of its own: proof, after a crash, that the server took it.
    const envelope: Envelope = { from: this.config.mailbox.address, to: row.recipients.split(/,\s*/), copyTo: this.config.mailbox.selfCopy ? this.config.mailbox.address : undefined };
    // No server can deliver to an empty address (a reply whose From was `undisclosed-recipients:;`).
    if (!envelope.to.every((a) => ADDRESS.test(a))) {
      this.store.markFailed(row.id, `no valid recipient: "${row.recipients}"`);
      log.warn({ kind: row.kind, to: row.recipients }, 'mail not sent: no valid recipient');
      return 'failed';
    }
    const delays = this.config.mailbox.smtp.retryDelaysMs;
    let attempts = row.attempts;
    for (let i = 0; ; i++) {
      marks.sending(row.id);
      attempts++;
      try {
        await transport.send(envelope, raw);
        marks.sent(row.id, clock.now().toISOString());
        log.info({ kind: row.kind, to: envelope.to }, 'mail sent');
        if (afterSend) await afterSend(row, raw).catch((err) => log.warn({ err: errorMessage(err) }, 'could not keep a copy in the Sent folder'));
        return 'sent';
      } catch (err) {
        const e = err instanceof TaizhangError ? err : new TaizhangError('SMTP_CONNECT', errorMessage(err));
        if ((e.details as { strayCopy?: boolean } | undefined)?.strayCopy) this.store.durable(() => this.store.addStrayCopy(row.id));
        if (e.code === 'SMTP_AUTH') {
          this.store.markRetry(row.id, e.message, clock.now().toISOString());
          log.error({ code: e.code }, e.message);
          return e;
        }
        // Not this mail's fault: it waits for the pause, and the attempt does not count.
        if (e.code === 'SMTP_QUOTA') {
          const at = pauseEnd(quotaReason(e), clock.now(), this.config.timezone).toISOString();
          this.store.tx(() => { this.store.unmarkSending(row.id); this.store.markRetry(row.id, e.message, at); });
          return e;
        }
        // A server's 4xx about this mail gives up after max_attempts; a connection that could not be
        // made (the provider is down, the network is) is tried again for as long as it takes.
        if (e.permanent || (e.code !== 'SMTP_CONNECT' && attempts >= this.config.mailbox.smtp.maxAttempts)) {
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


/** Why a quota answer pauses sending: the day's quota, or a rate limit (see classifySmtpError). */
function quotaReason(e: TaizhangError): PauseReason {
  return (e.details as { quota?: string } | undefined)?.quota === 'throttle' ? 'throttle' : 'daily';
}

/** How long a flush waits after a mail is queued before picking it up, for others to join it. */
const QUEUED_PICKUP_MS = 25;

/** How a flush records a send: `sending` before the SMTP transaction (committed), `sent` after. */
interface SendMarks {
  sending(id: number): void;
  sent(id: number, at: string): void;
}

function withJitter(ms: number): number {
  return Math.round(ms * (0.75 + Math.random() * 0.5));
}

/** Across ticks: 1, 2, 4 … minutes, capped at an hour, with jitter. */
export function backoffMs(attempts: number): number {
  return withJitter(Math.min(60, 2 ** Math.max(0, attempts - 1)) * 60_000);
}
