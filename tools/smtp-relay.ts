/**
 * An in-process SMTP submission server for tests: accepts AUTH PLAIN/LOGIN with one password,
 * hands every accepted message to Dovecot over LMTP, records it, and lets a test inject faults.
 */
import net from 'node:net';
import nodemailer from 'nodemailer';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';

export interface SmtpFaultInput {
  /** MAIL FROM ('' for the null sender). */
  from: string;
  /** At the rcpt phase: the one recipient being offered. At the data phase: all accepted recipients. */
  to: string[];
  /** The message as received (empty at the rcpt phase). */
  raw: Buffer;
  /** 1-based number of this transaction (MAIL FROM) since the server started. */
  count: number;
  /** Which step the server is at; a fault is applied only at the phase it names. */
  phase: 'rcpt' | 'data';
}

export interface SmtpFault {
  /** Reply code, e.g. 451, 550, 421 (421 also closes the connection). */
  code: number;
  message: string;
  /** When to answer with it: 'rcpt' (that RCPT TO only) or 'data' (the whole message; default). */
  phase?: 'rcpt' | 'data';
}

export type SmtpFaultFn = (m: SmtpFaultInput) => SmtpFault | undefined | null | void;

/**
 * Milliseconds to hold the final answer to DATA after the message was delivered (and recorded
 * in `accepted`): the window in which a client killed has handed over a message it never heard
 * was accepted. Called at the data phase only.
 */
export type SmtpHoldFn = (m: SmtpFaultInput) => number | undefined | null | void;

/** Keeps a copy of an accepted message for its authenticated sender, as providers that file SMTP submissions in Sent do. */
export type SaveSentFn = (user: string, raw: Buffer) => Promise<void>;

export interface AcceptedMessage {
  from: string;
  to: string[];
  messageId?: string;
  raw: Buffer;
}

export interface SmtpRelay {
  host: string;
  port: number;
  /** Every message accepted (after a successful LMTP delivery), in order. */
  accepted: AcceptedMessage[];
  setFault(fn: SmtpFaultFn | null): void;
  setHold(fn: SmtpHoldFn | null): void;
  /** With a function: every accepted message is also filed for its sender before the answer. */
  setSaveSent(fn: SaveSentFn | null): void;
  /** Transactions whose DATA is being handled (delivering, filing or held). */
  readonly inFlight: number;
  close(): Promise<void>;
}

export interface SmtpRelayOptions {
  password: string;
  lmtp: { host: string; port: number };
  log?: (s: string) => void;
  host?: string;
}

/** The unfolded value of the first header `name` in a raw message, or undefined. */
export function headerValue(raw: Buffer, name: string): string | undefined {
  const text = raw.toString('latin1');
  const end = text.search(/\r?\n\r?\n/);
  const head = (end < 0 ? text : text.slice(0, end)).replace(/\r?\n[ \t]+/g, ' ');
  const re = new RegExp(`^${name}:[ \\t]*(.*)$`, 'im');
  const m = re.exec(head);
  return m ? Buffer.from(m[1].trim(), 'latin1').toString('utf8') : undefined;
}

function smtpError(f: SmtpFault): Error & { responseCode: number } {
  return Object.assign(new Error(f.message), { responseCode: f.code });
}

/** Deliver one message to Dovecot over LMTP; throws unless every recipient was accepted. */
export async function deliverLmtp(lmtp: { host: string; port: number }, raw: Buffer | string, to: string[], from: string): Promise<void> {
  const transport = nodemailer.createTransport({ host: lmtp.host, port: lmtp.port, lmtp: true, connectionTimeout: 10_000 });
  try {
    const info = await transport.sendMail({ envelope: { from, to }, raw });
    const rejected = (info.rejected ?? []) as unknown[];
    if (rejected.length) throw new Error(`LMTP rejected ${rejected.join(', ')}: ${info.response ?? ''}`);
  } finally {
    transport.close();
  }
}

export async function startSmtpRelay(o: SmtpRelayOptions): Promise<SmtpRelay> {
  const host = o.host ?? '127.0.0.1';
  const log = o.log ?? (() => {});
  let fault: SmtpFaultFn | null = null;
  let hold: SmtpHoldFn | null = null;
  let saveSent: SaveSentFn | null = null;
  let inFlight = 0;
  let transactions = 0;
  const txOf = new Map<string, number>();
  const accepted: AcceptedMessage[] = [];

  const check = (input: SmtpFaultInput): SmtpFault | undefined => {
    const f = fault?.(input);
    return f && (f.phase ?? 'data') === input.phase ? f : undefined;
  };
  const fromOf = (s: SMTPServerSession) => (s.envelope.mailFrom ? s.envelope.mailFrom.address : '');

  const server = new SMTPServer({
    name: 'smtp.taizhang.test',
    banner: 'taizhang test relay',
    logger: false,
    secure: false,
    authMethods: ['PLAIN', 'LOGIN'],
    authOptional: false,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    closeTimeout: 200,
    onAuth(auth, _session, cb) {
      if (auth.password === o.password) cb(null, { user: auth.username ?? '' });
      else cb(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
    },
    onMailFrom(_address, session, cb) {
      txOf.set(session.id, ++transactions);
      cb();
    },
    onRcptTo(address, session, cb) {
      const f = check({ from: fromOf(session), to: [address.address], raw: Buffer.alloc(0), count: txOf.get(session.id) ?? transactions, phase: 'rcpt' });
      cb(f ? smtpError(f) : undefined);
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', (e) => cb(e));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        const from = fromOf(session);
        const to = session.envelope.rcptTo.map((r) => r.address);
        const input: SmtpFaultInput = { from, to, raw, count: txOf.get(session.id) ?? transactions, phase: 'data' };
        const f = check(input);
        if (f) { cb(smtpError(f)); return; }
        const user = session.user === undefined ? '' : String(session.user);
        const save = saveSent;
        inFlight++;
        void (async () => {
          try {
            await deliverLmtp(lmtpTarget, raw, to, from);
          } catch (e) {
            log(`smtp relay: LMTP delivery failed: ${(e as Error).message}`);
            cb(smtpError({ code: 451, message: `Local delivery failed, try again later: ${(e as Error).message}` }));
            return;
          }
          // Delivered: from here on the message is the server's responsibility, answered or not.
          if (save && user) await save(user, raw).catch((e: Error) => log(`smtp relay: could not file a Sent copy: ${e.message}`));
          const messageId = headerValue(raw, 'Message-ID');
          accepted.push({ from, to, messageId, raw });
          log(`smtp relay: ${from || '<>'} -> ${to.join(', ')} ${messageId ?? ''}`);
          const ms = hold?.(input);
          if (ms && ms > 0) await new Promise((r) => setTimeout(r, ms));
          cb(null, 'OK: queued');
        })().finally(() => { inFlight--; });
      });
    },
    onClose(session) {
      txOf.delete(session.id);
    },
  });
  const lmtpTarget = o.lmtp;
  server.on('error', (e) => log(`smtp relay error: ${e.message}`));

  const port = await new Promise<number>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(0, host, () => {
      server.server.off('error', reject);
      resolve((server.server.address() as net.AddressInfo).port);
    });
  });

  return {
    host,
    port,
    accepted,
    setFault(fn) { fault = fn; },
    setHold(fn) { hold = fn; },
    setSaveSent(fn) { saveSent = fn; },
    get inFlight() { return inFlight; },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
