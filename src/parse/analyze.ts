import { TaizhangError } from '../errors.js';
import type { ParsePool } from './pool.js';
import { MAX_FILES, type FileResult, type MailAnalysis, type ReadMailRequest } from './types.js';

/** What one incoming message says, reduced to what deciding needs (no attachment bytes kept). */
export type Analysis = MailAnalysis;
export type { FileResult };

/** What reading a message uses of the run's context (a cycle Context is one). */
export interface ReadContext {
  config: { mailbox: { address: string } };
  secret: string;
  pool: ParsePool;
}

/**
 * Reads the raw message at `rawPath` in a parse worker (read-mail.ts). A spreadsheet that kills
 * its worker (memory, time) becomes that file's failure, and the message is read again without
 * it, so the sender still gets a receipt that names the file. Throws (a passing fault, tried again
 * next tick) when the message itself cannot be read.
 */
export async function analyzeMessage(ctx: ReadContext, rawPath: string, pool: ParsePool = ctx.pool): Promise<Analysis> {
  const request: ReadMailRequest & { failed: NonNullable<ReadMailRequest['failed']> } = { ownAddress: ctx.config.mailbox.address, secret: ctx.secret, failed: {} };
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
    throw new TaizhangError('INTERNAL', `cannot read the message${outcome.stage ? ` (at ${outcome.stage})` : ''}: ${outcome.code} ${outcome.message}`, { permanent: false });
  }
}
