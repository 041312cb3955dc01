import pino, { type Logger } from 'pino';

export type { Logger };

/** Paths whose values never reach a log line (passwords, auth tokens, raw mail). */
export const REDACT_PATHS = [
  'password', '*.password', '*.*.password', '*.*.*.password',
  'pass', '*.pass', '*.*.pass', 'auth.pass', '*.auth.pass', '*.auth.*',
  'secret', '*.secret', 'config.secret',
  'accessToken', '*.accessToken',
];

export interface LoggerOptions {
  level?: string;
  /** Pretty-print for a person at a terminal; JSON otherwise. */
  pretty?: boolean;
  /** Where lines go; stderr by default. */
  destination?: NodeJS.WritableStream;
}

/** The one root logger. Children carry fixed keys: period, person, uid, messageId. */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? process.env.TAIZHANG_LOG_LEVEL ?? 'info';
  const base = { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { app: 'taizhang' } };
  if (opts.destination) return pino(base, opts.destination as pino.DestinationStream);
  if (opts.pretty) {
    return pino({
      ...base,
      transport: { target: 'pino-pretty', options: { destination: 2, colorize: true, translateTime: 'SYS:yyyy-mm-dd HH:MM:ss', ignore: 'pid,hostname,app' } },
    });
  }
  return pino(base, pino.destination({ dest: 2, sync: true }));
}

/** A logger that drops everything (library code given no logger). */
export const silentLogger: Logger = pino({ level: 'silent' });
