import { existsSync } from 'node:fs';
import { commandHelp, needsMail, parseArgs, USAGE, type Args } from './args.js';
import { loadConfig } from './config.js';
import { errorMessage, TaizhangError } from '../errors.js';
import { createLogger, registerCredentials, registerSecret, scrubSecrets } from '../logger.js';

/** The command line: parse, load config, run, map errors to exit codes (2 usage/config, 1 other). */
export async function main(argv: string[]): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (err) {
    process.stderr.write(`taizhang: ${errorMessage(err)}\n`);
    return 2;
  }
  if (args.help || !args.command) {
    const text = args.command ? commandHelp(args.command) : USAGE;
    (args.help ? process.stdout : process.stderr).write(text);
    return args.help ? 0 : 2;
  }
  const log = createLogger({ pretty: process.stderr.isTTY });
  try {
    // import edits the config file itself, which may not load yet (people still without addresses).
    if (args.command === 'import') return await (await import('./import.js')).runImport(args);
    // Needs no config: the hash it prints goes into one.
    if (args.command === 'passwd') return await (await import('../web/password.js')).passwdCommand();
    if (!existsSync(args.config)) throw new TaizhangError('CONFIG_INVALID', `config file ${args.config} not found (copy config/taizhang.example.yaml to start)`);
    const config = loadConfig(args.config, process.env, { mail: needsMail(args.command) });
    registerCredentials(config.mailbox.imap.user, config.mailbox.imap.password);
    registerCredentials(config.mailbox.smtp.user, config.mailbox.smtp.password);
    registerSecret(config.secret);
    // Loaded only to run a command: help and usage errors need none of the mail and sheet code.
    const { execute } = await import('./commands.js');
    return await execute(args, config, log);
  } catch (err) {
    const code = err instanceof TaizhangError ? err.exitCode : 1;
    process.stderr.write(`taizhang: ${scrubSecrets(errorMessage(err))}\n`);
    if (!(err instanceof TaizhangError)) log.error({ err }, 'unexpected failure');
    return code;
  }
}
