import { TaizhangError } from '../errors.js';
import type { ParsePool } from './pool.js';
import { MAX_FILES, type FileResult, type MailAnalysis, type ReadMailRequest } from './types.js';

/** What one incoming message says, reduced to what deciding needs (no attachment bytes kept). */
export type Analysis = MailAnalysis;
export type { FileResult };

/** What reading a message uses of the run's context (a cycle Context is one). */
export interface ReadContext {
  config: { mailbox: { address: string }; ledger?: { units?: readonly { email: string }[] } };
  secret: string;
  pool: ParsePool;
}

/**
 * Reads the raw message at `rawPath` in a parse worker (read-mail.ts). A spreadsheet that kills
 * its worker (memory, time) becomes that file's failure, and the message is read again without
 * it, so the sender still gets a receipt that names the file. Throws when the message itself cannot
 * be read (see `unreadable`).
 */
export async function analyzeMessage(ctx: ReadContext, rawPath: string, pool: ParsePool = ctx.pool): Promise<Analysis> {
  const request: ReadMailRequest & { failed: NonNullable<ReadMailRequest['failed']> } = { ownAddress: ctx.config.mailbox.address, secret: ctx.secret, failed: {} };
  const units = ctx.config.ledger?.units?.map((u) => u.email.toLowerCase()) ?? [];
  if (units.length) request.unitAddresses = units;
  for (;;) {
    const outcome = await pool.readMail(rawPath, request);
    if (outcome.ok) {
      return outcome.analysis;
    }
    const sheet = /^sheet:(\d+)$/.exec(outcome.stage ?? '');
    const index = sheet ? Number(sheet[1]) : -1;
    if (outcome.code !== 'INTERNAL' && index >= 0 && index < MAX_FILES && !request.failed[index]) {
      request.failed[index] = { code: outcome.code, message: outcome.message };
      continue;
    }
    throw unreadable(outcome.code, outcome.message, outcome.stage);
  }
}

/**
 * Why a message cannot be read. MAIL_UNREADABLE, permanent: mailparser refused it (the same
 * bytes always fail). MAIL_UNREADABLE, passing: its reading ran out of time or memory, or the
 * worker died on it (tried again at the next ticks). INTERNAL, passing: no worker ever got to it.
 */
function unreadable(code: string, message: string, stage: string | undefined): TaizhangError {
  const firstLine = message.split('\n')[0].replace(/^\w*Error: /, ''); // the worker sends a stack
  if (code === 'MAIL_UNREADABLE') return new TaizhangError('MAIL_UNREADABLE', firstLine);
  const text = `cannot read the message${stage ? ` (at ${stage})` : ''}: ${code} ${stage === 'mime' ? firstLine : message}`;
  return new TaizhangError(stage === 'mime' ? 'MAIL_UNREADABLE' : 'INTERNAL', text, { permanent: false });
}
