/**
 * The collection mailbox's own copies of what it sends (`self_copy`: each mail also goes to the
 * mailbox itself, as an SMTP envelope recipient only). A copy in the mailbox proves the server
 * took the mail, whether or not the provider keeps a Sent copy: what settles a send a crash
 * interrupted. Copies are never replies: they are filed out of the inbox into the Sent folder
 * (or, where Sent holds that mail already, into the machine folder), so the office's inbox stays
 * clean and Sent shows each mail once.
 *
 * The server may take the copy and refuse every real recipient (a 4xx at RCPT): that copy proves
 * nothing. The outbox counts such stray copies per mail; a crash in a later attempt of that mail
 * is not settled by copies (it is sent again).
 */
import type { ImapFlow, MailboxObject } from 'imapflow';
import { ADDRESS_RE, headerEnd, normAddr } from './headers.js';
import { classifyImapError, ensureFolders, folderHasMessageId } from './imap.js';

const INBOX = 'INBOX';
/** Message-IDs looked up in one SEARCH. */
const SEARCH_CHUNK = 50;

/** The unfolded value of a header field of a raw message, or undefined. */
function rawHeader(raw: Buffer, name: string): string | undefined {
  const head = raw.subarray(0, Math.min(headerEnd(raw), 64 * 1024)).toString('latin1').replace(/\r?\n[ \t]+/g, ' ');
  return new RegExp(`^${name}:[ \\t]*(.*)$`, 'im').exec(head)?.[1];
}

/**
 * The Message-ID of a raw message when it is From our own address and `isOurs` knows the ID
 * (it is one of our outgoing mails): then it is our copy. Otherwise null.
 */
export function selfCopyId(raw: Buffer, address: string, isOurs: (messageId: string) => boolean): string | null {
  const mid = /<[^>\s]+>/.exec(rawHeader(raw, 'message-id') ?? '')?.[0];
  if (!mid || !isOurs(mid)) return null;
  const from = rawHeader(raw, 'from') ?? '';
  const addr = /<([^>]+)>/.exec(from)?.[1] ?? from.match(ADDRESS_RE)?.[0];
  return addr && normAddr(addr) === normAddr(address) ? mid : null;
}

/** Which of `ids` are in `folder` (one SEARCH per few dozen, then their envelopes). */
export async function messageIdsIn(client: ImapFlow, folder: string, ids: string[]): Promise<Set<string>> {
  const found = new Set<string>();
  if (ids.length === 0) return found;
  let lock;
  try {
    lock = await client.getMailboxLock(folder);
  } catch (err) {
    const e = err as { serverResponseCode?: string; responseText?: string };
    if (e.serverResponseCode === 'NONEXISTENT' || /doesn't exist|does not exist|not exist|no such/i.test(e.responseText ?? '')) return found;
    throw classifyImapError(err);
  }
  try {
    await client.noop();
    for (let i = 0; i < ids.length; i += SEARCH_CHUNK) {
      const chunk = ids.slice(i, i + SEARCH_CHUNK);
      const terms = chunk.map((id) => ({ header: { 'message-id': id } }));
      const uids = await client.search(terms.length === 1 ? terms[0] : { or: terms }, { uid: true });
      if (!Array.isArray(uids) || uids.length === 0) continue;
      const wanted = new Set(chunk);
      for await (const m of client.fetch(uids, { uid: true, envelope: true }, { uid: true })) {
        const mid = m.envelope?.messageId;
        if (mid && wanted.has(mid)) found.add(mid);
      }
    }
  } finally {
    lock.release();
  }
  return found;
}

export interface SelfCopyFolders {
  /** Where copies go: the Sent folder. */
  sent: string;
  /** Where a copy goes when Sent has that mail already (the provider filed one, or we did), or the mail reached no one. */
  duplicate: string;
}

/**
 * What a copy is: of a mail marked sent (or being sent), or of one that reached no one (the server
 * took the copy and refused the recipients), or none of ours (null).
 */
export type CopyKind = 'sent' | 'stray' | null;

/**
 * Moves our own copies out of the inbox (see the top of this file): a sent mail's into Sent,
 * unless Sent holds it already; those and stray ones into `duplicate`. The inbox is small (every
 * message is moved out once handled), so its envelopes are read whole. Returns how many moved.
 */
export async function fileSelfCopies(client: ImapFlow, address: string, kindOf: (messageId: string) => CopyKind, folders: SelfCopyFolders): Promise<number> {
  const copies: { uid: number; mid: string; kind: 'sent' | 'stray' }[] = [];
  let lock = await client.getMailboxLock(INBOX);
  try {
    await client.noop(); // mail delivered since the inbox was selected
    if ((client.mailbox as MailboxObject).exists > 0) {
      for await (const m of client.fetch('1:*', { uid: true, envelope: true })) {
        const from = m.envelope?.from?.[0]?.address;
        const mid = m.envelope?.messageId;
        const kind = from && mid && normAddr(from) === normAddr(address) ? kindOf(mid) : null;
        if (kind) copies.push({ uid: m.uid, mid: mid!, kind });
      }
    }
  } finally {
    lock.release();
  }
  if (copies.length === 0) return 0;
  await ensureFolders(client, [folders.sent, folders.duplicate]);
  const sent = copies.filter((c) => c.kind === 'sent');
  // Sent holds such mail only where the provider files what it takes (it then files every one):
  // one look-up tells, before looking up the rest.
  const probe = sent.length ? await messageIdsIn(client, folders.sent, [sent[0].mid]) : new Set<string>();
  const inSent = probe.size ? await messageIdsIn(client, folders.sent, sent.map((c) => c.mid)) : probe;
  const once = new Set<string>(); // two copies of one mail (a stray one, then the one that went) go to Sent once
  const toSent = sent.filter((c) => !inSent.has(c.mid) && !once.has(c.mid) && once.add(c.mid));
  const rest = copies.filter((c) => !toSent.includes(c));
  lock = await client.getMailboxLock(INBOX);
  try {
    for (const [folder, group] of [[folders.sent, toSent], [folders.duplicate, rest]] as const) {
      if (group.length) await client.messageMove(group.map((c) => c.uid).join(','), folder, { uid: true });
    }
  } finally {
    lock.release();
  }
  return copies.length;
}

/** The folder the server marks \\Junk, if any: a provider may file a copy there. */
export async function junkFolderOf(client: ImapFlow): Promise<string | undefined> {
  return (await client.list()).find((f) => f.specialUse === '\\Junk')?.path;
}

/**
 * Whether a copy of the mail with this Message-ID is where copies land: the inbox first, then
 * the folders copies are filed into (a copy being moved is in its target before it leaves the
 * inbox), then Junk. Throws when it cannot tell.
 */
export async function copyExists(client: ImapFlow, messageId: string, folders: string[]): Promise<boolean> {
  const junk = await junkFolderOf(client);
  for (const folder of new Set([INBOX, ...folders, ...(junk ? [junk] : [])])) {
    if (await folderHasMessageId(client, folder, messageId)) return true;
  }
  return false;
}
