/**
 * One catalogue of error codes. `permanent` tells the caller whether trying again can help:
 * a permanent failure is recorded and reported; a transient one is retried (within the tick
 * with backoff, and again at the next tick).
 */
export const ErrorCodes = {
  CONFIG_INVALID: { permanent: true, exit: 2 },
  USAGE: { permanent: true, exit: 2 },
  LOCKED: { permanent: true, exit: 1 },
  IMAP_AUTH: { permanent: true, exit: 1 },
  IMAP_CONNECT: { permanent: false, exit: 1 },
  IMAP_COMMAND: { permanent: false, exit: 1 },
  SMTP_AUTH: { permanent: true, exit: 1 },
  SMTP_CONNECT: { permanent: false, exit: 1 },
  SMTP_TRANSIENT: { permanent: false, exit: 1 },
  SMTP_REJECTED: { permanent: true, exit: 1 },
  /** The provider's sending quota is used up (for the day, or for a while): all sending pauses. */
  SMTP_QUOTA: { permanent: false, exit: 1 },
  SHEET_UNSUPPORTED: { permanent: true, exit: 1 },
  SHEET_ENCRYPTED: { permanent: true, exit: 1 },
  SHEET_TOO_LARGE: { permanent: true, exit: 1 },
  SHEET_CORRUPT: { permanent: true, exit: 1 },
  SHEET_TIMEOUT: { permanent: true, exit: 1 },
  SHEET_NO_TABLE: { permanent: true, exit: 1 },
  /** The message itself cannot be parsed (MIME limits, a header too large): its sender is asked to send it again. */
  MAIL_UNREADABLE: { permanent: true, exit: 1 },
  TEMPLATE: { permanent: true, exit: 1 },
  STATE: { permanent: true, exit: 1 },
  /** The database was migrated by a later taizhang than this one. */
  STORE_TOO_NEW: { permanent: true, exit: 1 },
  /** The data folder has history but its database is missing, empty or damaged: restore it, never start over. */
  STORE_LOST: { permanent: true, exit: 1 },
  INTERNAL: { permanent: true, exit: 1 },
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

/** An error with a stable code, a permanence flag and optional structured details. */
export class TaizhangError extends Error {
  readonly code: ErrorCode;
  readonly permanent: boolean;
  readonly details?: unknown;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; details?: unknown; permanent?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TaizhangError';
    this.code = code;
    this.permanent = options.permanent ?? ErrorCodes[code].permanent;
    this.details = options.details;
  }

  get exitCode(): number {
    return ErrorCodes[this.code].exit;
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
