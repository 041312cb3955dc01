#!/usr/bin/env node
/**
 * Runs the local mail stack as its own process:
 *
 *   npx tsx tools/mail-stack-cli.ts start [--password PW] [--keep]
 *
 * Installs Dovecot if needed, starts the stack in a fresh folder under the system's temporary
 * folder, writes stack.json there, prints the same JSON as one line on stdout, and stays up until
 * SIGTERM, SIGINT or SIGHUP, then removes the folder (unless --keep). Progress goes to stderr.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ensureMailPackages, startMailStack, type MailStack } from './mail-stack.js';

const USAGE = 'usage: mail-stack-cli start [--password PW] [--keep]';

function parseArgs(argv: string[]): { password?: string; keep: boolean } {
  const [cmd, ...rest] = argv;
  if (cmd !== 'start') throw new Error(USAGE);
  const out: { password?: string; keep: boolean } = { keep: false };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    if (flag === '--keep') { out.keep = true; continue; }
    const value = inline ?? rest[++i];
    if (value === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
    if (flag === '--password') out.password = value;
    else throw new Error(`unknown option ${flag}\n${USAGE}`);
  }
  return out;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const t0 = Date.now();
  await ensureMailPackages(log);
  const stack: MailStack = await startMailStack({ password: args.password, log });
  let stopping: Promise<void> | null = null;
  const stop = (signal: string) => {
    stopping ??= (async () => {
      log(`mail stack: ${signal}, stopping`);
      await stack.stop({ keepDir: args.keep });
      process.exit(0);
    })();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => stop('SIGHUP'));

  const info = {
    imap: stack.imap,
    smtp: { host: stack.smtp.host, port: stack.smtp.port },
    lmtp: stack.lmtp,
    password: stack.password,
    dir: stack.dir,
    dovecotLogPath: stack.dovecotLogPath,
    pid: process.pid,
    dovecotPid: stack.dovecotPid,
  };
  const json = JSON.stringify(info);
  await fs.writeFile(path.join(stack.dir, 'stack.json'), `${JSON.stringify(info, null, 2)}\n`);
  process.stdout.write(`${json}\n`);
  log(`mail stack: up in ${Date.now() - t0} ms (dir ${stack.dir})`);
  // The SMTP relay's listening socket keeps the event loop alive until stop().
}

main().catch((e: unknown) => {
  process.stderr.write(`mail-stack-cli: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(e instanceof Error && e.message.startsWith('usage') ? 2 : 1);
});
