/** Where a command writes: the process's own streams, or a client's over the control socket. */
import { errorMessage, TaizhangError } from '../errors.js';
import { scrubSecrets, type Logger } from '../logger.js';

export interface Io {
  /** Text for standard output, written as given. */
  out(text: string): void;
  /** Text for standard error, written as given. */
  err(text: string): void;
  /** Standard error is a terminal (progress lines are shown). */
  tty: boolean;
}

export const processIo: Io = {
  out: (text) => { process.stdout.write(text); },
  err: (text) => { process.stderr.write(text); },
  tty: !!process.stderr.isTTY,
};

/** One line on stderr for a failed command; its exit code (2 usage/config, 1 other). */
export function reportFailure(err: unknown, io: Io, log: Logger): number {
  io.err(`taizhang: ${scrubSecrets(errorMessage(err))}\n`);
  if (!(err instanceof TaizhangError)) log.error({ err }, 'unexpected failure');
  return err instanceof TaizhangError ? err.exitCode : 1;
}
