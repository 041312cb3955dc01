/** Filing the collection mailbox's own copies of sent mail (see mail/self-copy.ts). */
import type { ImapFlow } from 'imapflow';
import { errorMessage } from '../errors.js';
import { sentFolderOf } from '../mail/imap.js';
import { fileSelfCopies, selfCopyId, type CopyKind } from '../mail/self-copy.js';
import type { Store } from '../store/store.js';
import type { Context } from './context.js';

/** Whether a Message-ID is of a mail of ours, and whether that mail went (or is going) out. */
function copyKind(store: Store, messageId: string): CopyKind {
  const row = store.outboxByMessageId(messageId);
  if (!row) return null;
  return row.state === 'sent' || row.state === 'sending' ? 'sent' : 'stray';
}

/** Whether a raw message is the mailbox's own copy of one of its outgoing mails. */
export function isOwnCopy(ctx: Pick<Context, 'config' | 'store'>, raw: Buffer): boolean {
  const { mailbox } = ctx.config;
  return mailbox.selfCopy && selfCopyId(raw, mailbox.address, (mid) => copyKind(ctx.store, mid) !== null) !== null;
}

/**
 * Files the own copies out of the inbox. A failure is logged, not thrown: the copies wait in
 * the inbox for the next pass, and are never read as replies meanwhile.
 */
export async function fileOwnCopies(ctx: Pick<Context, 'config' | 'store' | 'log'>, client: ImapFlow): Promise<void> {
  const { mailbox } = ctx.config;
  try {
    const filed = await fileSelfCopies(client, mailbox.address, (mid) => copyKind(ctx.store, mid), {
      sent: await sentFolderOf(client, mailbox.folders.sent), duplicate: mailbox.folders.machine,
    });
    if (filed) ctx.log.info({ filed }, 'own copies of sent mail filed out of the inbox');
  } catch (err) {
    ctx.log.warn({ err: errorMessage(err) }, 'could not file the own copies of sent mail; will try again');
  }
}
