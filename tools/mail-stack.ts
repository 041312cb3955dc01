/**
 * The local mail stack for tests and local runs: a real Dovecot (IMAP + LMTP, every address is a
 * mailbox with one password) plus an in-process SMTP relay that delivers into it over LMTP and can
 * inject faults. Everything listens on 127.0.0.1 on ports picked at run time; config, log and mail
 * live in a fresh folder under the system's temporary folder, removed on stop.
 *
 *   await ensureMailPackages();
 *   const stack = await startMailStack();
 *   ... stack.smtp.port, stack.imap.port, stack.password ...
 *   await stack.stop();
 */
import { existsSync, promises as fs } from 'node:fs';
import { ImapFlow } from 'imapflow';
import { DOVECOT_REQUIRED, DovecotProcess, freePort, makeStateDir } from './dovecot.js';
import { deliverLmtp, headerValue, startSmtpRelay, type AcceptedMessage, type SmtpFaultFn, type SmtpHoldFn } from './smtp-relay.js';
import { ensureDebianPackages } from './apt.js';

export type { AcceptedMessage, SmtpFault, SmtpFaultFn, SmtpFaultInput, SmtpHoldFn } from './smtp-relay.js';

const HOST = '127.0.0.1';

export interface Endpoint { host: string; port: number }

export interface ListedMessage {
  uid: number;
  subject?: string;
  from?: string;
  messageId?: string;
  inReplyTo?: string;
  autoSubmitted?: string;
  source: Buffer;
}

export interface ListedFolder {
  path: string;
  name: string;
  delimiter: string;
  specialUse?: string;
  subscribed: boolean;
}

export interface MailStack {
  imap: Endpoint;
  lmtp: Endpoint;
  smtp: Endpoint & {
    /** Every message the relay accepted and delivered, in order. */
    accepted: AcceptedMessage[];
    /** Make the relay answer with an error; null clears it. See SmtpFaultFn. */
    setFault(fn: SmtpFaultFn | null): void;
    /** Hold the answer to DATA after delivery for the returned milliseconds; null clears it. See SmtpHoldFn. */
    setHold(fn: SmtpHoldFn | null): void;
    /**
     * With a folder name: like Gmail, Exchange or QQ Mail (with its setting on), file a copy of every
     * accepted message in the authenticated sender's folder (by IMAP APPEND) before answering DATA.
     * null turns it off (the default, like 163.com).
     */
    setSaveSent(folder: string | null): void;
    /** Transactions whose DATA the relay is still handling. */
    readonly inFlight: number;
  };
  password: string;
  /** Dovecot's config, log and mail: a fresh folder under os.tmpdir(). */
  dir: string;
  dovecotLogPath: string;
  /** The Dovecot master's pid while it runs (it changes with restartImap). */
  readonly dovecotPid: number | undefined;
  /** Stops the SMTP relay and Dovecot and removes `dir` (kept with { keepDir: true }, to read it). */
  stop(opts?: { keepDir?: boolean }): Promise<void>;
  /** Stops Dovecot and starts it again on the same ports with the same mail. */
  restartImap(): Promise<void>;
  /** Delivers straight into the recipients' INBOXes over LMTP (for fixtures). */
  deliver(raw: Buffer | string, to: string[], from?: string): Promise<void>;
  listMessages(user: string, folder?: string): Promise<ListedMessage[]>;
  listFolders(user: string): Promise<ListedFolder[]>;
}

export interface MailStackOptions {
  /** The one password of every mailbox and of the SMTP relay. Default "secret". */
  password?: string;
  log?: (s: string) => void;
}

function missingPackages(): string[] {
  return DOVECOT_REQUIRED.filter((f) => !existsSync(f));
}

/** Installs dovecot-imapd and dovecot-lmtpd with apt-get when Dovecot's binaries are missing. */
export async function ensureMailPackages(log: (s: string) => void = () => {}): Promise<void> {
  await ensureDebianPackages('mail stack (Dovecot)', ['dovecot-imapd', 'dovecot-lmtpd'], DOVECOT_REQUIRED, log);
}

async function withImap<T>(stack: { imap: Endpoint; password: string }, user: string, fn: (c: ImapFlow) => Promise<T>): Promise<T> {
  const client = new ImapFlow({
    host: stack.imap.host, port: stack.imap.port, secure: false,
    auth: { user, pass: stack.password }, logger: false,
    clientInfo: { name: 'taizhang-mail-stack' },
  });
  client.on('error', () => {});
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.logout().catch(() => client.close());
  }
}

/** Dovecot on two free ports; they are free when picked but another process may take them first: retry. */
async function startDovecot(dir: string, password: string, log: (s: string) => void): Promise<DovecotProcess> {
  for (let attempt = 1; ; attempt++) {
    const imapPort = await freePort();
    let lmtpPort = await freePort();
    while (lmtpPort === imapPort) lmtpPort = await freePort();
    const d = new DovecotProcess({ dir, password, imapPort, lmtpPort, log });
    try {
      await d.start();
      return d;
    } catch (e) {
      const clash = /Address already in use/i.test(`${d.output}\n${(e as Error).message}`);
      if (!clash || attempt >= 5) throw e;
      log(`mail stack: port clash (${imapPort}/${lmtpPort}), trying others`);
    }
  }
}

export async function startMailStack(opts: MailStackOptions = {}): Promise<MailStack> {
  const log = opts.log ?? (() => {});
  const password = opts.password ?? 'secret';
  if (process.getuid?.() !== 0) {
    throw new Error('mail stack: must run as root (Dovecot switches to the users mail, dovecot and dovenull)');
  }
  const missing = missingPackages();
  if (missing.length) throw new Error(`mail stack: Dovecot is not installed (missing ${missing.join(', ')}); call ensureMailPackages() first`);

  const dir = await makeStateDir();
  let dovecot: DovecotProcess | undefined;
  let relay;
  try {
    dovecot = await startDovecot(dir, password, log);
    relay = await startSmtpRelay({ password, lmtp: { host: HOST, port: dovecot.lmtpPort }, log, host: HOST });
  } catch (e) {
    await dovecot?.stop();
    await fs.rm(dir, { recursive: true, force: true });
    throw e;
  }
  const d = dovecot;
  const r = relay;
  const imap = { host: HOST, port: d.imapPort };
  const lmtp = { host: HOST, port: d.lmtpPort };
  let stopped = false;

  const stack: MailStack = {
    imap,
    lmtp,
    smtp: {
      host: r.host,
      port: r.port,
      accepted: r.accepted,
      setFault: (fn) => r.setFault(fn),
      setHold: (fn) => r.setHold(fn),
      setSaveSent: (folder) => r.setSaveSent(folder === null ? null : async (user, raw) => {
        await withImap(stack, user, async (c) => { await c.append(folder, raw, ['\\Seen']); });
      }),
      get inFlight() { return r.inFlight; },
    },
    password,
    dir,
    dovecotLogPath: d.logPath,
    get dovecotPid() { return d.pid; },
    async stop(o = {}) {
      if (!stopped) {
        stopped = true;
        await Promise.allSettled([r.close(), d.stop()]);
      }
      if (!o.keepDir) await fs.rm(dir, { recursive: true, force: true });
    },
    async restartImap() {
      if (stopped) throw new Error('mail stack: stopped');
      await d.stop();
      await d.start();
    },
    deliver: (raw, to, from = 'fixtures@taizhang.test') => deliverLmtp(lmtp, raw, to, from),
    listMessages: (user, folder = 'INBOX') => withImap(stack, user, async (c) => {
      const box = await c.mailboxOpen(folder, { readOnly: true }).catch((e: Error & { responseText?: string }) => {
        throw new Error(`mail stack: cannot open folder "${folder}" of ${user}: ${e.responseText ?? e.message}`, { cause: e });
      });
      if (!box.exists) return [];
      const msgs = await c.fetchAll('1:*', { uid: true, envelope: true, source: true });
      return msgs.map((m) => {
        const source = m.source ?? Buffer.alloc(0);
        const sender = m.envelope?.from?.[0];
        return {
          uid: m.uid,
          subject: m.envelope?.subject,
          from: sender?.address ?? sender?.name,
          messageId: m.envelope?.messageId,
          inReplyTo: m.envelope?.inReplyTo,
          autoSubmitted: headerValue(source, 'Auto-Submitted'),
          source,
        };
      });
    }),
    listFolders: (user) => withImap(stack, user, async (c) => {
      const list = await c.list();
      return list.map((f) => ({
        path: f.path, name: f.name, delimiter: f.delimiter,
        ...(f.specialUse ? { specialUse: f.specialUse } : {}),
        subscribed: !!f.subscribed,
      }));
    }),
  };
  log(`mail stack up in ${dir}: imap ${imap.port}, lmtp ${lmtp.port}, smtp ${r.port}`);
  return stack;
}
