import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ImapFlow, MailboxObject } from 'imapflow';
import { analyzeMessage, type Analysis } from '../parse/analyze.js';
import { periodLabel } from '../core/calendar.js';
import type { Context } from './context.js';
import { errorMessage } from '../errors.js';
import { ensureFolders, junkFolderOf } from '../mail/imap.js';
import { headerEnd } from '../mail/headers.js';
import { applyDecision, decideMessage } from './apply.js';
import type { MessageRow } from '../store/store.js';
import { fileOwnCopies, isOwnCopy } from './copies.js';
import { junkSince, leaveInJunk, takenFromJunk } from './junk.js';
import { answerUnreadable, isUnreadable } from './unreadable.js';
import { providerPreset } from '../app/providers.js';
import { ledgerById, ledgerContext } from './ledgers.js';
import { alsoApply, alsoForLedgers, routeMessage, whichLedger } from './route.js';

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

/** A folder collected: the inbox, or the junk folder, from which only replies to our mail are taken. */
interface Source { path: string; junk: boolean }

/** Where a folder's raw messages are kept: `mail/<uidvalidity>` for the inbox, a folder of its own for the junk folder. */
function rawDir(ctx: Context, source: Source, uidvalidity: number): string {
  const name = source.junk ? `junk-${createHash('sha256').update(source.path).digest('hex').slice(0, 8)}-${uidvalidity}` : String(uidvalidity);
  return path.join(ctx.config.dataDir, 'mail', name);
}

/**
 * Fetches what is new since the last UID (per UIDVALIDITY) and keeps each raw message on disk
 * first; hands the stored rows to `reader` a few at a time while the fetch goes on. The
 * mailbox's own copies of its sent mail are no replies: skipped (counted in `copies`), to be
 * filed into Sent.
 */
async function fetchNew(ctx: Context, client: ImapFlow, mb: MailboxObject, reader: Readings, source: Source, copies: { n: number }): Promise<number> {
  const uidvalidity = Number(mb.uidValidity);
  const state = ctx.store.mailboxState(source.path);
  let lastUid = state?.last_uid ?? 0;
  if (state && state.uidvalidity !== uidvalidity) {
    ctx.log.warn({ folder: source.path, old: state.uidvalidity, now: uidvalidity }, 'UIDVALIDITY changed: reading the folder again (repeats are recognised)');
    lastUid = 0;
  }
  if (mb.exists === 0 || (mb.uidNext !== undefined && Number(mb.uidNext) <= lastUid + 1)) {
    if (!state || state.uidvalidity !== uidvalidity) ctx.store.setMailboxState(source.path, uidvalidity, lastUid);
    return 0;
  }
  ctx.pool.warm(); // the parse workers load their code while the first messages come in
  const dir = rawDir(ctx, source, uidvalidity);
  mkdirSync(dir, { recursive: true, mode: 0o700 }); // raw mail is private to taizhang's account
  let fetched = 0;
  let maxUid = lastUid;
  let stored: MessageRow[] = [];
  // The junk folder's older mail (spam from before any request went out) cannot be a reply to us.
  const range = source.junk ? { uid: `${lastUid + 1}:*`, since: junkSince(ctx) ?? undefined } : `${lastUid + 1}:*`;
  const messages = client.fetch(range, { uid: true, source: true, internalDate: true }, { uid: true })[Symbol.asyncIterator]();
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
      writeFileSync(`${file}.tmp`, msg.source!, { mode: 0o600 });
      renameSync(`${file}.tmp`, file);
      stored.push(ctx.store.insertMessage({
        mailbox: source.path, uidvalidity, uid: msg.uid, messageId: messageIdOf(msg.source),
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
    // What the junk folder's search left out is passed over for good.
    const seen = source.junk && mb.uidNext !== undefined ? Math.max(maxUid, Number(mb.uidNext) - 1) : maxUid;
    ctx.store.setMailboxState(source.path, uidvalidity, seen);
  });
  return fetched;
}

/**
 * One collection pass over the collection mailbox: fetch what is new, decide and answer each
 * message, then move it out of the inbox into the folder for its outcome; then the same in the
 * junk folder for replies to our mail (junk.ts). Never deletes mail.
 */
export async function collect(ctx: Context, client: ImapFlow): Promise<CollectResult> {
  const f = ctx.config.mailbox.folders;
  const listed = await ensureFolders(client, [f.processed, f.rejected, f.quarantine, f.machine]);
  const result: CollectResult = { fetched: 0, handled: 0, outcomes: {} };
  const copies = { n: 0 };
  await collectFolder(ctx, client, { path: INBOX, junk: false }, result, copies);
  if (copies.n > 0) await fileOwnCopies(ctx, client);
  const junk = junkFolderOf(listed, f.junk, providerPreset(ctx.config.mailbox.provider ?? '')?.junkFolder);
  if (!junk && f.junk) ctx.log.warn({ folder: f.junk }, 'the configured junk folder does not exist: not read');
  // Before any request went out, nothing in the junk folder can be a reply to us.
  // Our own copies there are left where they are (recovery looks for them there too).
  if (junk && junk !== INBOX && junkSince(ctx)) await collectFolder(ctx, client, { path: junk, junk: true }, result, { n: 0 });
  return result;
}

async function collectFolder(ctx: Context, client: ImapFlow, source: Source, result: CollectResult, copies: { n: number }): Promise<void> {
  // A connection kept from an earlier pass (the daemon's) may have the folder selected already, and
  // UIDNEXT is reported only by SELECT: select it afresh, or mail that arrived since stays unseen.
  const reused = !!client.mailbox && (client.mailbox as MailboxObject).path === source.path;
  const lock = await client.getMailboxLock(source.path);
  try {
    if (reused) await client.mailboxOpen(source.path);
    const mb = client.mailbox as MailboxObject;
    const uidvalidity = Number(mb.uidValidity);
    // Messages left unfinished by earlier runs are read first, the new ones as they are fetched.
    const reader = new Readings(ctx, ctx.store.unfinishedMessages(source.path, uidvalidity));
    let handled: number;
    try {
      result.fetched += await fetchNew(ctx, client, mb, reader, source, copies);
      handled = await handleAll(ctx, ctx.store.unfinishedMessages(source.path, uidvalidity), reader, result.outcomes, source);
      result.handled += handled;
    } catch (err) {
      await reader.stop();
      throw err;
    }
    if (handled > 0) await moveFinished(ctx, client, source.path, uidvalidity);
  } finally {
    lock.release();
  }
}

/**
 * Handles each message, in order, as soon as it is read, while the next are read. The records go
 * in a few transactions, all committed before anything is moved or sent. Returns how many
 * messages were looked at (also those finished before but not yet moved).
 */
async function handleAll(ctx: Context, todo: MessageRow[], reader: Readings, outcomes: Record<string, number>, source: Source): Promise<number> {
  let done = 0;
  await ctx.store.batch(async (unitDone) => {
    for (const row of todo) {
      if (row.state !== 'done') {
        const outcome = await handle(ctx, row, await reader.take(row.id), source);
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

async function handle(ctx: Context, row: MessageRow, analysis: Analysis | Error, source: Source): Promise<string | null> {
  const log = ctx.log.child({ uid: row.uid, messageId: row.message_id ?? undefined, ...(source.junk ? { folder: source.path } : {}) });
  try {
    if (analysis instanceof Error) throw analysis;
    ctx.store.updateMessage(row.id, { from_addr: analysis.from, subject: analysis.subject });
    const route = routeMessage(ctx, analysis);
    if ('ambiguous' in route) return await whichLedger(ctx, row, analysis, route.ambiguous, source.junk, log);
    const lctx = ledgerContext(ctx, ledgerById(ctx.config, route.id));
    const decision = decideMessage(lctx, row, analysis);
    if (source.junk && !takenFromJunk(ctx.store, row, decision)) return leaveInJunk(ctx, row, log, 'not a reply to our mail');
    await applyDecision(lctx, row, analysis, decision);
    if (decision.match) for (const id of alsoForLedgers(ctx, analysis, route.id)) await alsoApply(ctx, row, analysis, id, log);
    const folder = ctx.config.mailbox.folders[decision.folder];
    ctx.store.updateMessage(row.id, {
      state: 'done', outcome: decision.outcome, target_folder: folder, person: decision.person?.id ?? null, period: decision.period ?? null,
      ledger: decision.person ? lctx.store.ledger : null, error: null,
    });
    const several = ctx.config.ledgers.length > 1 ? { ledger: route.id, ledgerVia: route.via } : {};
    log.info({ outcome: decision.outcome, ...several, person: decision.person?.name, period: decision.period ? periodLabel(decision.period) : undefined, from: analysis.from }, decision.logLine);
    return decision.outcome;
  } catch (err) {
    const attempts = row.attempts + 1;
    // A message that cannot be read: refused by the parser, or still failing at the last attempt.
    if (isUnreadable(err) && (err.permanent || attempts >= MAX_ATTEMPTS)) {
      if (source.junk) return leaveInJunk(ctx, row, log, 'cannot be read');
      const outcome = await unreadableOutcome(ctx, row, err, log);
      if (outcome) return outcome;
    }
    // A fault of ours, not of the message: keep it in the inbox and try again next tick.
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

/**
 * A message that cannot be read, in quarantine, counted in `status`; a person of the roster is
 * asked to send the form again. Null when that fails (a fault of ours: tried again next tick).
 */
async function unreadableOutcome(ctx: Context, row: MessageRow, err: Error, log: Context['log']): Promise<string | null> {
  try {
    const { from, person } = await answerUnreadable(ctx, row);
    ctx.store.updateMessage(row.id, {
      state: 'done', outcome: 'unreadable', target_folder: ctx.config.mailbox.folders.quarantine, from_addr: from || null,
      person: person?.email ?? null, error: errorMessage(err), bumpAttempts: true,
    });
    log.warn({ err: errorMessage(err), from: from || undefined, person: person?.name }, person
      ? 'message cannot be read: kept in quarantine, the sender asked to send the form again'
      : 'message cannot be read and its sender is not on the roster: kept in quarantine, not answered');
    return 'unreadable';
  } catch (failure) {
    log.error({ err: failure }, 'could not answer a message that cannot be read');
    return null;
  }
}

/** Moves finished messages out of the folder, one MOVE per destination folder. */
async function moveFinished(ctx: Context, client: ImapFlow, folder: string, uidvalidity: number): Promise<void> {
  const byFolder = new Map<string, MessageRow[]>();
  for (const m of ctx.store.unfinishedMessages(folder, uidvalidity)) {
    if (m.state !== 'done' || m.moved || !m.target_folder) continue;
    byFolder.set(m.target_folder, [...(byFolder.get(m.target_folder) ?? []), m]);
  }
  for (const [target, rows] of byFolder) {
    try {
      await client.messageMove(rows.map((r) => r.uid).join(','), target, { uid: true });
      ctx.store.tx(() => rows.forEach((r) => ctx.store.updateMessage(r.id, { moved: 1 })));
    } catch (err) {
      ctx.log.warn({ folder: target, count: rows.length, err }, 'could not move messages; will try again');
    }
  }
}
