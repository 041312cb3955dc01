import pino, { type Logger } from 'pino';

export type { Logger };

/** Paths whose values never reach a log line (passwords, auth tokens, raw mail). */
export const REDACT_PATHS = [
  'password', '*.password', '*.*.password', '*.*.*.password',
  'pass', '*.pass', '*.*.pass', 'auth.pass', '*.auth.pass', '*.auth.*',
  'secret', '*.secret', 'config.secret',
  'accessToken', '*.accessToken',
];

/** Keys whose values are secret at any depth (pino's paths stop at a fixed depth). */
const SECRET_KEY = /^(pass|passwd|password|secret|accesstoken|refreshtoken|clientsecret|authorization)$/i;
/** SMTP/IMAP authentication commands as client libraries may echo them. */
const AUTH_COMMAND = /\b(AUTH(?:ENTICATE)?\s+(?:PLAIN|LOGIN|XOAUTH2|CRAM-MD5))\s+[A-Za-z0-9+/=]{4,}/gi;
const CENSOR = '[redacted]';

/** Secret values known to this process (the config's passwords): masked in every line. */
const known = new Set<string>();

/** Masks this value (and its JSON-escaped form) wherever it appears in a log line or scrubbed text. */
export function registerSecret(value: string | undefined | null): void {
  if (!value || value.length < 4) return;
  known.add(value);
  const escaped = JSON.stringify(value).slice(1, -1);
  if (escaped !== value) known.add(escaped);
}

/** Registers a login: the password, and the base64 forms SMTP AUTH LOGIN and AUTH PLAIN carry it in. */
export function registerCredentials(user: string, password: string): void {
  if (!password) return;
  const b64 = (t: string) => Buffer.from(t, 'utf8').toString('base64');
  registerSecret(password);
  registerSecret(b64(password));
  registerSecret(b64(`\u0000${user}\u0000${password}`));
  registerSecret(b64(`${user}\u0000${user}\u0000${password}`));
}

/** Text with every registered secret and every authentication command's argument masked. */
export function scrubSecrets(text: string): string {
  let out = text.replace(AUTH_COMMAND, `$1 ${CENSOR}`);
  for (const s of known) if (out.includes(s)) out = out.split(s).join(CENSOR);
  return out;
}

/** A copy of a log object with secret-named keys masked at any depth (errors are left to the line scrub). */
function scrubObject(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== 'object' || value instanceof Error || Buffer.isBuffer(value)) return value;
  if (Array.isArray(value)) return value.map((v) => scrubObject(v, depth + 1));
  if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) && v !== undefined && v !== null && v !== '' ? CENSOR : scrubObject(v, depth + 1);
  return out;
}

export interface LoggerOptions {
  level?: string;
  /** Pretty-print for a person at a terminal; JSON otherwise. */
  pretty?: boolean;
  /** Where lines go; stderr by default. */
  destination?: NodeJS.WritableStream;
}

/** The one root logger. Children carry fixed keys: ledger, period, person, uid, messageId. */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? process.env.TAIZHANG_LOG_LEVEL ?? 'info';
  const base = {
    level,
    redact: { paths: REDACT_PATHS, censor: CENSOR },
    base: { app: 'taizhang' },
    // The standard serializer keeps an error's type, stack and cause (the line scrub masks secrets in them).
    serializers: { err: pino.stdSerializers.err },
    formatters: { log: (o: Record<string, unknown>) => scrubObject(o) as Record<string, unknown> },
    hooks: { streamWrite: scrubSecrets },
  };
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
