import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ImapFlow, MailboxObject } from 'imapflow';
import { analyzeMessage, type Analysis } from '../parse/analyze.js';
import { periodLabel } from '../core/calendar.js';
import type { Context } from './context.js';
import { errorMessage } from '../errors.js';
import { ensureFolders } from '../mail/imap.js';
import { headerEnd } from '../mail/headers.js';
import { applyDecision, decideMessage } from './apply.js';
import type { MessageRow } from '../store/store.js';
import { fileOwnCopies, isOwnCopy } from './copies.js';

export const INBOX = 'INBOX';
const MAX_ATTEMPTS = 5;

export interface CollectResult { fetched: number; handled: number; outcomes: Record<string, number> }

function messageIdOf(raw: Buffer): string | null {
  const head = raw.subarray(0, Math.min(headerEnd(raw), 64 * 1024)).toString('latin1');
  const m = /^message-id:\s*(<[^>\r\n]+>)/im.exec(head);
  return m ? m[1] : null;
}

/**
 * What makes two deliveries one message: the sender's own header fields and the body. Not the
 * whole raw message: every hop prepends trace fields (Return-Path, Received, Delivered-To …) that
 * differ from one delivery of the same message to the next.
 */
export function contentHash(raw: Buffer): string {
  const end = headerEnd(raw);
  const fields = raw.subarray(0, end).toString('latin1').replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)
    .filter((l) => /^(from|to|cc|date|subject|message-id|in-reply-to|references|content-type)[ \t]*:/i.test(l))
    .map((l) => l.replace(/\s+/g, ' ').trim());
  return createHash('sha256').update(fields.join('\n')).update('\n\n').update(raw.subarray(end)).digest('hex');
}

/** When a message arrived: the server's date, but never after the (possibly injected) present. */
function arrival(internalDate: Date | string | undefined, now: Date): Date {
  const d = internalDate ? new Date(internalDate) : now;
  return Number.isNaN(d.getTime()) || d > now ? now : d;
}

/** How many fetched messages are recorded as being read at once, before the parse workers get them. */
const READ_BATCH = 8;

/**
 * Fetches what is new since the last UID (per UIDVALIDITY) and keeps each raw message on disk
 * first; hands the stored rows to `reader` a few at a time while the fetch goes on. The
 * mailbox's own copies of its sent mail are no replies: skipped (counted in `copies`), to be
 * filed into Sent.
 */
async function fetchNew(ctx: Context, client: ImapFlow, mb: MailboxObject, reader: Readings, copies: { n: number }): Promise<number> {
  const uidvalidity = Number(mb.uidValidity);
  const state = ctx.store.mailboxState(INBOX);
  let lastUid = state?.last_uid ?? 0;
  if (state && state.uidvalidity !== uidvalidity) {
    ctx.log.warn({ old: state.uidvalidity, now: uidvalidity }, 'UIDVALIDITY changed: reading the inbox again (repeats are recognised)');
    lastUid = 0;
  }
  if (mb.exists === 0 || (mb.uidNext !== undefined && Number(mb.uidNext) <= lastUid + 1)) {
    if (!state || state.uidvalidity !== uidvalidity) ctx.store.setMailboxState(INBOX, uidvalidity, lastUid);
    return 0;
  }
  ctx.pool.warm(); // the parse workers load their code while the first messages come in
  const dir = path.join(ctx.config.dataDir, 'mail', String(uidvalidity));
  mkdirSync(dir, { recursive: true });
  let fetched = 0;
  let maxUid = lastUid;
  let stored: MessageRow[] = [];
  const messages = client.fetch(`${lastUid + 1}:*`, { uid: true, source: true, internalDate: true }, { uid: true })[Symbol.asyncIterator]();
  // The rows go in a few transactions (the files are on disk first; a crash re-fetches).
  await ctx.store.batch(async (unitDone) => {
    for (;;) {
      const next = await messages.next();
      if (next.done) break;
      const msg = next.value;
      if (msg.uid <= lastUid || !msg.source) continue;
      if (isOwnCopy(ctx, msg.source)) {
        copies.n++;
        maxUid = Math.max(maxUid, msg.uid);
        continue;
      }
      const file = path.join(dir, `${msg.uid}.eml`);
      writeFileSync(`${file}.tmp`, msg.source!);
      renameSync(`${file}.tmp`, file);
      stored.push(ctx.store.insertMessage({
        mailbox: INBOX, uidvalidity, uid: msg.uid, messageId: messageIdOf(msg.source),
        sha256: contentHash(msg.source), rawPath: file,
        receivedAt: arrival(msg.internalDate, ctx.clock.now()).toISOString(), from: null, subject: null,
      }));
      maxUid = Math.max(maxUid, msg.uid);
      fetched++;
      unitDone();
      if (stored.length >= READ_BATCH) {
        reader.add(stored);
        stored = [];
      }
      ctx.progress('messages fetched', fetched, Math.max(fetched, mb.exists));
    }
    reader.add(stored);
    ctx.store.setMailboxState(INBOX, uidvalidity, maxUid);
  });
  return fetched;
}

/**
 * One collection pass over the collection mailbox: fetch what is new, decide and answer each
 * message, then move it out of the inbox into the folder for its outcome. Never deletes mail.
 */
export async function collect(ctx: Context, client: ImapFlow): Promise<CollectResult> {
  const f = ctx.config.mailbox.folders;
  await ensureFolders(client, [f.processed, f.rejected, f.quarantine, f.machine]);
  // A connection kept from an earlier pass (the daemon's) has INBOX selected already, and UIDNEXT
  // is reported only by SELECT: select it afresh, or mail that arrived since stays unseen.
  const reused = !!client.mailbox && (client.mailbox as MailboxObject).path === INBOX;
  const lock = await client.getMailboxLock(INBOX);
  const result: CollectResult = { fetched: 0, handled: 0, outcomes: {} };
  const copies = { n: 0 };
  try {
    if (reused) await client.mailboxOpen(INBOX);
    const mb = client.mailbox as MailboxObject;
    const uidvalidity = Number(mb.uidValidity);
    // Messages left unfinished by earlier runs are read first, the new ones as they are fetched.
    const reader = new Readings(ctx, ctx.store.unfinishedMessages(INBOX, uidvalidity));
    try {
      result.fetched = await fetchNew(ctx, client, mb, reader, copies);
      result.handled = await handleAll(ctx, ctx.store.unfinishedMessages(INBOX, uidvalidity), reader, result.outcomes);
    } catch (err) {
      await reader.stop();
      throw err;
    }
    if (result.handled > 0) await moveFinished(ctx, client, uidvalidity);
  } finally {
    lock.release();
  }
  if (copies.n > 0) await fileOwnCopies(ctx, client);
  return result;
}

/**
 * Handles each message, in order, as soon as it is read, while the next are read. The records go
 * in a few transactions, all committed before anything is moved or sent. Returns how many
 * messages were looked at (also those finished before but not yet moved).
 */
async function handleAll(ctx: Context, todo: MessageRow[], reader: Readings, outcomes: Record<string, number>): Promise<number> {
  let done = 0;
  await ctx.store.batch(async (unitDone) => {
    for (const row of todo) {
      if (row.state !== 'done') {
        const outcome = await handle(ctx, row, await reader.take(row.id));
        if (outcome) outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
        unitDone();
      }
      ctx.progress('messages handled', ++done, todo.length);
    }
  });
  return done;
}

const READ_LANES = 4;

/**
 * Reads messages in the parse pool, in the order added, keeping only the gist: one promise per
 * message, which never rejects, released when taken (memory does not grow with the inbox).
 *
 * A file that aborts the whole process from a worker thread (see parse/pool.ts) would do so again
 * at every run. So each message is recorded as `reading` (committed) before it is handed to a
 * worker: one still so when a run starts was being read when a run died, and is read in a child
 * process, where a file can kill only its own process.
 */
class Readings {
  private readonly results = new Map<number, Promise<Analysis | Error>>();
  private readonly added = new Set<number>();
  private readonly queue: Array<{ row: MessageRow; settle: (a: Analysis | Error) => void }> = [];
  private readonly suspects = new Set<number>();
  private readonly lanes = new Set<Promise<void>>();

  /** Starts with the messages earlier runs left unfinished. */
  constructor(private readonly ctx: Context, earlier: MessageRow[]) {
    for (const m of earlier) if (m.state === 'reading') this.suspects.add(m.id);
    if (this.suspects.size > 0) ctx.log.warn({ count: this.suspects.size }, 'an earlier run stopped while reading messages; reading those in separate processes');
    this.add(earlier);
  }

  /** Records these rows as being read and starts reading them; finished or known rows are skipped. */
  add(rows: MessageRow[]): void {
    const fresh = rows.filter((r) => r.state !== 'done' && !this.added.has(r.id));
    if (fresh.length === 0) return;
    this.ctx.store.durable(() => this.ctx.store.markReading(fresh.map((r) => r.id)));
    for (const row of fresh) {
      this.added.add(row.id);
      this.results.set(row.id, new Promise((settle) => this.queue.push({ row, settle })));
    }
    while (this.lanes.size < READ_LANES && this.queue.length > 0) {
      const lane = this.lane().finally(() => this.lanes.delete(lane));
      this.lanes.add(lane);
    }
  }

  /**
   * Stops reading (a run that ends early): what is queued is dropped, what is being read is
   * awaited, and no message is left `reading`, since no worker died on it (those an earlier run
   * died on stay so, to be read in a child process next time too).
   */
  async stop(): Promise<void> {
    this.queue.length = 0;
    await Promise.all(this.lanes);
    const innocent = [...this.added].filter((id) => !this.suspects.has(id));
    this.ctx.store.durable(() => this.ctx.store.markReading(innocent, false));
  }

  /** The reading of a message added earlier (once: it is released). */
  take(id: number): Promise<Analysis | Error> {
    const reading = this.results.get(id) ?? Promise.resolve(new Error('message was not read'));
    this.results.delete(id);
    return reading;
  }

  private async lane(): Promise<void> {
    for (let job = this.queue.shift(); job; job = this.queue.shift()) {
      const pool = this.suspects.has(job.row.id) ? this.ctx.isolatedPool() : this.ctx.pool;
      job.settle(await analyzeMessage(this.ctx, job.row.raw_path, pool).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err)))));
    }
  }
}

async function handle(ctx: Context, row: MessageRow, analysis: Analysis | Error): Promise<string | null> {
  const log = ctx.log.child({ uid: row.uid, messageId: row.message_id ?? undefined });
  try {
    if (analysis instanceof Error) throw analysis;
    ctx.store.updateMessage(row.id, { from_addr: analysis.from, subject: analysis.subject });
    const decision = decideMessage(ctx, row, analysis);
    await applyDecision(ctx, row, analysis, decision);
    const folder = ctx.config.mailbox.folders[decision.folder];
    ctx.store.updateMessage(row.id, { state: 'done', outcome: decision.outcome, target_folder: folder, person: decision.person?.email ?? null, period: decision.period ?? null, error: null });
    log.info({ outcome: decision.outcome, person: decision.person?.name, period: decision.period ? periodLabel(decision.period) : undefined, from: analysis.from }, decision.logLine);
    return decision.outcome;
  } catch (err) {
    // A fault of ours, not of the message: keep it in the inbox and try again next tick.
    const attempts = row.attempts + 1;
    if (attempts >= MAX_ATTEMPTS) {
      ctx.store.updateMessage(row.id, { state: 'done', outcome: 'error', target_folder: ctx.config.mailbox.folders.quarantine, error: errorMessage(err), bumpAttempts: true });
      log.error({ err, attempts }, 'message could not be processed; kept in quarantine');
      return 'error';
    }
    ctx.store.updateMessage(row.id, { state: 'retry', error: errorMessage(err), bumpAttempts: true });
    log.warn({ err, attempts }, 'message not processed; will try again at the next tick');
    return null;
  }
}

/** Moves finished messages out of the inbox, one MOVE per destination folder. */
async function moveFinished(ctx: Context, client: ImapFlow, uidvalidity: number): Promise<void> {
  const byFolder = new Map<string, MessageRow[]>();
  for (const m of ctx.store.unfinishedMessages(INBOX, uidvalidity)) {
    if (m.state !== 'done' || m.moved || !m.target_folder) continue;
    byFolder.set(m.target_folder, [...(byFolder.get(m.target_folder) ?? []), m]);
  }
  for (const [folder, rows] of byFolder) {
    try {
      await client.messageMove(rows.map((r) => r.uid).join(','), folder, { uid: true });
      ctx.store.tx(() => rows.forEach((r) => ctx.store.updateMessage(r.id, { moved: 1 })));
    } catch (err) {
      ctx.log.warn({ folder, count: rows.length, err }, 'could not move messages; will try again');
    }
  }
}
