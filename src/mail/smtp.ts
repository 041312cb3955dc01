import type { Config } from '../app/config.js';
import { TaizhangError } from '../errors.js';
import type { Logger } from '../logger.js';
import { createSmtpPool } from './smtp-pool.js';

/** What the outbox needs of a mail transport: send these bytes to these recipients. */
export interface MailTransport {
  send(envelope: { from: string; to: string[] }, raw: Buffer): Promise<void>;
  close(): void;
}

/** Adapts a pino logger to nodemailer's bunyan-style logger. */
export function nodemailerLogger(log: Logger): Record<string, (...args: unknown[]) => void> {
  const wrap = (level: 'debug' | 'info' | 'warn' | 'error') => (...args: unknown[]) => {
    const [first, ...rest] = args;
    if (first && typeof first === 'object' && !(first instanceof Error)) log[level](first as object, rest.map(String).join(' '));
    else log[level](args.map(String).join(' '));
  };
  return { trace: wrap('debug'), debug: wrap('debug'), info: wrap('debug'), warn: wrap('warn'), error: wrap('error'), fatal: wrap('error'), level: () => {} };
}

/**
 * How to reach and log in to the SMTP server (shared by the transport and `check`): implicit TLS,
 * or STARTTLS that must succeed when `requireTLS`; plaintext without STARTTLS only on loopback.
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

/** A pooled SMTP transport for the collection mailbox, within its provider's rate limit. */
export function createSmtpTransport(cfg: Config['mailbox']['smtp'], log: Logger): MailTransport {
  const { auth, ...connection } = smtpConnectionOptions(cfg);
  const pool = createSmtpPool({
    connection: {
      ...connection,
      connectionTimeout: 30_000,
      greetingTimeout: 30_000,
      socketTimeout: 60_000,
      logger: nodemailerLogger(log.child({ component: 'smtp' })) as never,
      debug: false,
    },
    auth,
    maxConnections: cfg.maxConnections,
    maxMessages: 100,
    rateLimit: cfg.ratePerMinute,
  });
  return {
    async send(envelope, raw) {
      try {
        await pool.send(envelope, raw);
      } catch (err) {
        throw classifySmtpError(err);
      }
    },
    close() { pool.close(); },
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
  // Failing to set up the connection (greeting, STARTTLS, the socket) says nothing about the
  // message or its recipients, whatever the reply code: try again later.
  if (e.code && CONNECTION_CODES.has(e.code)) return new TaizhangError('SMTP_CONNECT', `SMTP connection failed: ${text}`, { cause: err, details: rc ? { responseCode: rc } : undefined });
  // nodemailer refusing the envelope itself (no recipient, an address it cannot send to): final.
  if (e.code === 'EENVELOPE' && !rc) return new TaizhangError('SMTP_REJECTED', `SMTP envelope refused: ${text}`, { cause: err });
  if (rc && rc >= 500) return new TaizhangError('SMTP_REJECTED', `SMTP ${rc}: ${text}`, { cause: err, details: { responseCode: rc } });
  if (rc && rc >= 400) return new TaizhangError('SMTP_TRANSIENT', `SMTP ${rc}: ${text}`, { cause: err, details: { responseCode: rc } });
  return new TaizhangError('SMTP_CONNECT', `SMTP connection failed: ${text}`, { cause: err });
}
