import { ImapFlow, type ListResponse } from 'imapflow';
import type { Config } from '../app/config.js';
import { TaizhangError } from '../errors.js';
import type { Logger } from '../logger.js';

const VERSION = '0.1.0';

/** The IMAP ID this service sends (163.com refuses SELECT without one). */
export const CLIENT_INFO = { name: 'taizhang', version: VERSION, vendor: 'taizhang', 'support-url': 'https://example.invalid/taizhang' };

/** Opens an authenticated IMAP connection to the collection mailbox. */
export async function connectImap(cfg: Config['mailbox']['imap'], log: Logger): Promise<ImapFlow> {
  const client = new ImapFlow({
    host: cfg.host,
    port: cfg.port,
    secure: cfg.secure,
    doSTARTTLS: cfg.secure ? undefined : false,
    auth: { user: cfg.user, pass: cfg.password },
    clientInfo: CLIENT_INFO,
    logger: imapflowLogger(log.child({ component: 'imap' })),
    tls: { rejectUnauthorized: cfg.tlsVerify },
    emitLogs: false,
    disableAutoIdle: true,
    connectionTimeout: 30_000,
    greetingTimeout: 30_000,
    socketTimeout: 5 * 60_000,
  } as ConstructorParameters<typeof ImapFlow>[0]);
  client.on('error', (err: Error) => log.warn({ err }, 'IMAP connection error'));
  try {
    await client.connect();
  } catch (err) {
    throw classifyImapError(err);
  }
  await resendIdAfterLogin(client, log);
  return client;
}

/**
 * Some servers (163.com) answer the pre-login ID with a full record, so imapflow does not send
 * it again after LOGIN, yet they only honour an ID sent after authentication. Sending it once
 * more costs one round trip.
 */
async function resendIdAfterLogin(client: ImapFlow, log: Logger): Promise<void> {
  const c = client as unknown as { capabilities: Map<string, unknown>; serverInfo: Record<string, unknown> | null; run(cmd: string, ...args: unknown[]): Promise<unknown> };
  if (!c.capabilities?.has?.('ID')) return;
  // imapflow resends ID after login by itself when the first answer had fewer than two fields.
  if (Object.keys(c.serverInfo ?? {}).length < 2) return;
  try {
    await c.run('ID', CLIENT_INFO);
  } catch (err) {
    log.debug({ err }, 'ID after login failed');
  }
}

export function classifyImapError(err: unknown): TaizhangError {
  if (err instanceof TaizhangError) return err;
  const e = err as { authenticationFailed?: boolean; responseText?: string; message?: string; code?: string };
  const text = e.responseText ?? e.message ?? String(err);
  if (e.authenticationFailed || /AUTHENTICATIONFAILED|auth/i.test(e.code ?? '')) {
    return new TaizhangError('IMAP_AUTH', `IMAP login refused: ${text}`, { cause: err });
  }
  if (/ECONNREFUSED|ETIMEDOUT|ENOTFOUND|ECONNRESET|EHOSTUNREACH|NoConnection|closed/i.test(`${e.code} ${text}`)) {
    return new TaizhangError('IMAP_CONNECT', `IMAP connection failed: ${text}`, { cause: err });
  }
  return new TaizhangError('IMAP_COMMAND', `IMAP command failed: ${text}`, { cause: err });
}

/** Creates the folders the service moves mail into (and Sent), when missing. Returns the folders as listed before. */
export async function ensureFolders(client: ImapFlow, names: string[]): Promise<ListResponse[]> {
  const listed = await client.list();
  const existing = new Set(listed.map((f) => f.path));
  for (const name of names) {
    if (existing.has(name)) continue;
    try {
      await client.mailboxCreate(name);
    } catch (err) {
      const e = err as { serverResponseCode?: string; responseText?: string };
      if (e.serverResponseCode !== 'ALREADYEXISTS' && !/exists/i.test(e.responseText ?? '')) throw classifyImapError(err);
    }
  }
  return listed;
}

/**
 * The junk folder to read replies from: the configured one, else the one the server marks
 * \\Junk (SPECIAL-USE), else the provider's usual name (163: 垃圾邮件); null when none exists.
 */
export function junkFolderOf(listed: ReadonlyArray<Pick<ListResponse, 'path' | 'specialUse'>>, configured: string | undefined, presetName: string | undefined): string | null {
  const exists = (name: string | undefined) => !!name && listed.some((f) => f.path === name);
  if (configured) return exists(configured) ? configured : null;
  const flagged = listed.find((f) => f.specialUse === '\\Junk');
  if (flagged) return flagged.path;
  return exists(presetName) ? presetName! : null;
}

/** Whether a message with this Message-ID is in a folder (settles a send a crash interrupted). */
export async function folderHasMessageId(client: ImapFlow, folder: string, messageId: string): Promise<boolean> {
  let lock;
  try {
    lock = await client.getMailboxLock(folder);
  } catch (err) {
    // A folder that does not exist holds nothing; any other failure means "cannot tell".
    const e = err as { serverResponseCode?: string; responseText?: string };
    if (e.serverResponseCode === 'NONEXISTENT' || /doesn't exist|does not exist|not exist|no such/i.test(e.responseText ?? '')) return false;
    throw classifyImapError(err);
  }
  try {
    // A folder selected earlier may not show what other sessions added since: sync first.
    await client.noop();
    const uids = await client.search({ header: { 'message-id': messageId } }, { uid: true });
    return Array.isArray(uids) && uids.length > 0;
  } finally {
    lock.release();
  }
}

/** Adapts pino to imapflow's logger (debug-level chatter stays at debug). */
export function imapflowLogger(log: Logger) {
  const strip = (o: Record<string, unknown>) => {
    const { msg, src: _src, cid: _cid, ...rest } = o;
    return { rest, msg: typeof msg === 'string' ? msg : '' };
  };
  const at = (level: 'debug' | 'info' | 'warn' | 'error') => (o: Record<string, unknown>) => {
    const { rest, msg } = strip(o ?? {});
    log[level](rest, msg || `imap client ${level}`);
  };
  return { debug: at('debug'), info: at('debug'), warn: at('warn'), error: at('error') };
}

const sentFolders = new WeakMap<ImapFlow, string>();

/** The Sent folder: the configured one, else the one the server marks \\Sent, else "Sent". */
export async function sentFolderOf(client: ImapFlow, configured: string | undefined): Promise<string> {
  if (configured) return configured;
  let found = sentFolders.get(client);
  if (!found) {
    found = (await client.list()).find((f) => f.specialUse === '\\Sent')?.path ?? 'Sent';
    sentFolders.set(client, found);
  }
  return found;
}
