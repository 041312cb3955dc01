/**
 * vitest helper: one real mail stack (Dovecot + SMTP relay on loopback) per test file.
 *
 *   const mail = useMailStack();
 *   it('...', async () => { const { smtp, imap, password } = mail(); ... });
 *
 * Set TAIZHANG_KEEP_MAIL_STACK=1 to keep the stack's folder (config, Dovecot log, mail) after the run.
 */
import { afterAll, beforeAll } from 'vitest';
import { ensureMailPackages, startMailStack, type MailStack, type MailStackOptions } from '../../tools/mail-stack.js';

let packages: Promise<void> | undefined;

/** Installs Dovecot once per test process (a no-op when it is there). */
export function ensureMailPackagesOnce(): Promise<void> {
  packages ??= ensureMailPackages((s) => process.stderr.write(`${s}\n`));
  return packages;
}

export function useMailStack(opts: MailStackOptions = {}): () => MailStack {
  let stack: MailStack | undefined;
  beforeAll(async () => {
    await ensureMailPackagesOnce();
    stack = await startMailStack(opts);
  }, 600_000);
  afterAll(async () => {
    await stack?.stop({ keepDir: !!process.env.TAIZHANG_KEEP_MAIL_STACK });
  });
  return () => {
    if (!stack) throw new Error('useMailStack: the stack is not running (beforeAll failed or has not run)');
    return stack;
  };
}
