import nodemailer from 'nodemailer';
import { setTimeout as delay } from 'node:timers/promises';
import type { Config } from '../app/config.js';
import { smtpQuotaAnswer } from '../app/providers.js';
import { TaizhangError } from '../errors.js';
import type { Logger } from '../logger.js';

/** What the outbox and `check` need of a mail transport. Failures are classified ({@link classifySmtpError}). */
/**
 * Who an SMTP transaction goes to: `to`, the mail's recipients, and `copyTo`, one more envelope
 * recipient that gets a copy (the collection mailbox itself; no header names it).
 */
export interface Envelope { from: string; to: string[]; copyTo?: string }

export interface MailTransport {
  /**
   * Sends these bytes, as they are, to these recipients. Fails when the server took none of
   * `to` (a copy to `copyTo` alone is no delivery).
   */
  send(envelope: Envelope, raw: Buffer): Promise<void>;
  /** Connects and logs in, sending nothing. */
  verify(): Promise<void>;
  /** Closes idle connections now and busy ones when their message is done; later sends fail. */
  close(): void;
}

/** Time as the rate limit sees it; tests give their own. */
export interface RateClock {
  /** Milliseconds on a clock that never goes back. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

const realClock: RateClock = { now: () => performance.now(), sleep: (ms) => delay(ms) };

/**
 * Adapts a pino logger to nodemailer's bunyan-style logger (printf-style arguments, which pino
 * formats). All at debug: every failure also reaches the caller, classified, which logs it once
 * at the level it deserves (nodemailer reports one failure from several of its layers).
 */
export function nodemailerLogger(log: Logger): Record<string, (...args: unknown[]) => void> {
  const debug = (...args: unknown[]) => {
    const fields = args[0] && typeof args[0] === 'object' && !(args[0] instanceof Error) ? args.shift() as object : {};
    const [message, ...values] = args;
    log.debug(fields, message === undefined ? undefined : String(message), ...values);
  };
  return { trace: debug, debug, info: debug, warn: debug, error: debug, fatal: debug, level: () => {} };
}

/**
 * How to reach and log in to the SMTP server: implicit TLS, or STARTTLS that must succeed when
 * `requireTLS`; plaintext without STARTTLS only on loopback.
 */
export function smtpConnectionOptions(cfg: Config['mailbox']['smtp']) {
  const loopback = ['127.0.0.1', 'localhost', '::1'].includes(cfg.host);
  return {
    host: cfg.host,
    port: cfg.port,
    secure: cfg.secure,
    requireTLS: !cfg.secure && cfg.requireTLS,
    ignoreTLS: !cfg.secure && !cfg.requireTLS && loopback,
    auth: { user: cfg.user, pass: cfg.password },
    tls: { rejectUnauthorized: cfg.tlsVerify },
  };
}

/**
 * The collection mailbox's SMTP transport, for sending and for `check` alike: nodemailer's
 * pooled transport (at most `max_connections` connections, each replaced after 100 messages),
 * handed each message as recorded in the outbox, at most `rate_per_minute` of them a minute.
 */
export function createSmtpTransport(cfg: Config['mailbox']['smtp'], log: Logger, clock: RateClock = realClock): MailTransport {
  const pool = nodemailer.createTransport({
    ...smtpConnectionOptions(cfg),
    pool: true,
    maxConnections: cfg.maxConnections,
    maxMessages: 100,
    connectionTimeout: 30_000,
    greetingTimeout: 30_000,
    socketTimeout: 60_000,
    logger: nodemailerLogger(log.child({ component: 'smtp' })),
    debug: false,
  });
  const withinRate = rateGate(cfg.ratePerMinute, 60_000, clock);
  return {
    async send(envelope, raw) {
      await withinRate();
      const to = envelope.copyTo && !envelope.to.includes(envelope.copyTo) ? [...envelope.to, envelope.copyTo] : envelope.to;
      let info: { accepted?: unknown[]; rejected?: unknown[]; rejectedErrors?: unknown[] };
      try {
        // `raw`: sent as it is, no header added or changed (tests/mail/smtp.test.ts).
        info = await pool.sendMail({ envelope: { from: envelope.from, to }, raw });
      } catch (err) {
        throw classifySmtpError(err);
      }
      // With a copy recipient the server may take the copy and refuse every real recipient;
      // nodemailer reports that as a success (some recipient was taken). It is not one.
      const accepted = new Set((info.accepted ?? []).map((a) => String(a).toLowerCase()));
      if (!envelope.to.some((a) => accepted.has(a.toLowerCase()))) {
        const e = classifySmtpError(info.rejectedErrors?.[0] ?? new Error(`no recipient accepted: ${envelope.to.join(', ')}`));
        // The copy went in without the mail: the outbox counts it, so it is not taken for proof.
        throw new TaizhangError(e.code, e.message, { cause: e, permanent: e.permanent, details: { ...(e.details as object | undefined), strayCopy: true } });
      }
    },
    async verify() {
      try {
        await pool.verify();
      } catch (err) {
        throw classifySmtpError(err);
      }
    },
    close() { pool.close(); },
  };
}

/**
 * Waits until one more message keeps within `limit` in any `windowMs`, and counts it. Not
 * nodemailer's `rateLimit`: that one counts in windows that start afresh, lets every connection
 * waiting at a window's end send at once and does not hold back a connection opened mid-window,
 * so it lets through more than `limit` a minute.
 */
export function rateGate(limit: number, windowMs: number, clock: RateClock): () => Promise<void> {
  const handedOver: number[] = []; // when the last `limit` messages were let through, oldest first
  return async () => {
    for (;;) {
      const now = clock.now();
      while (handedOver.length > 0 && handedOver[0] <= now - windowMs) handedOver.shift();
      if (handedOver.length < limit) {
        handedOver.push(now);
        return;
      }
      await clock.sleep(handedOver[0] + windowMs - now);
    }
  };
}

/** nodemailer's codes for a connection that could not be set up or was lost. */
const CONNECTION_CODES = new Set(['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'ETLS', 'EGREETING', 'EPROTOCOL', 'EDNS', 'ECONNRESET', 'ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'EPIPE']);

/** Maps a nodemailer failure to a stable code: 4xx and dropped connections retry, 5xx is final. */
export function classifySmtpError(err: unknown): TaizhangError {
  if (err instanceof TaizhangError) return err;
  const e = err as { responseCode?: number; code?: string; response?: string; message?: string };
  const text = (e.response ?? e.message ?? String(err)).replace(/\s+/g, ' ').slice(0, 300);
  const rc = e.responseCode;
  if (e.code === 'EAUTH' || rc === 535 || rc === 534 || rc === 530) return new TaizhangError('SMTP_AUTH', `SMTP login refused: ${text}`, { cause: err });
  // A quota answer says nothing about this mail: all sending waits (5xx or not).
  const quota = rc && rc >= 400 ? smtpQuotaAnswer(text) : null;
  if (quota) return new TaizhangError('SMTP_QUOTA', `SMTP ${rc}: ${text}`, { cause: err, details: { responseCode: rc, quota } });
  // Failing to set up the connection (greeting, STARTTLS, the socket) says nothing about the
  // message or its recipients, whatever the reply code: try again later.
  if (e.code && CONNECTION_CODES.has(e.code)) return new TaizhangError('SMTP_CONNECT', `SMTP connection failed: ${text}`, { cause: err, details: rc ? { responseCode: rc } : undefined });
  // nodemailer refusing the envelope itself (no recipient, an address it cannot send to): final.
  if (e.code === 'EENVELOPE' && !rc) return new TaizhangError('SMTP_REJECTED', `SMTP envelope refused: ${text}`, { cause: err });
  if (rc && rc >= 500) return new TaizhangError('SMTP_REJECTED', `SMTP ${rc}: ${text}`, { cause: err, details: { responseCode: rc } });
  if (rc && rc >= 400) return new TaizhangError('SMTP_TRANSIENT', `SMTP ${rc}: ${text}`, { cause: err, details: { responseCode: rc } });
  return new TaizhangError('SMTP_CONNECT', `SMTP connection failed: ${text}`, { cause: err });
}
