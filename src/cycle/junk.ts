/**
 * The junk folder (163 and others file some replies with attachments there) is read for replies
 * to our own mail: a form of ours, or an answer in the thread of a mail we sent. Those are handled
 * exactly as in the inbox. Anything else stays in the junk folder as it is (not moved, not
 * answered, not marked read): spam, strangers, and mail that matches a person by its sender
 * address alone, which in the junk folder is too likely a forgery to answer.
 */
import type { Decision } from '../core/decide.js';
import type { Logger } from '../logger.js';
import type { MessageRow, Store } from '../store/store.js';

/** Whether a message found in the junk folder is taken: it matched a form of ours or our thread, or repeats one already handled. */
export function takenFromJunk(store: Pick<Store, 'duplicateOf'>, row: MessageRow, d: Decision): boolean {
  if (d.outcome === 'duplicate') return !!store.duplicateOf(row)?.person;
  return !!d.match && d.match.via !== 'sender';
}

/** Records a message as left where it is, in the junk folder (`moved`: nothing more to do with it). */
export function leaveInJunk(ctx: { store: Store }, row: MessageRow, log: Logger, why: string): string {
  ctx.store.updateMessage(row.id, { state: 'done', outcome: 'junk', target_folder: row.mailbox, moved: 1, error: null });
  log.info(`mail in the junk folder ${why}: left there, not answered`);
  return 'junk';
}

/**
 * The junk folder is searched from a day before the first request went out (its older mail
 * cannot be a reply to us); null while no request has gone out.
 */
export function junkSince(ctx: { store: Store }): Date | null {
  const first = ctx.store.firstRequestsAt(); // of any ledger
  return first ? new Date(Date.parse(first) - 24 * 3600_000) : null;
}
