import { existsSync } from 'node:fs';
import { commandHelp, needsMail, parseArgs, SERVICE_COMMANDS, USAGE, type Args, type CommandName } from './args.js';
import { loadConfig, type Config } from './config.js';
import { viaService } from './control.js';
import { processIo, reportFailure } from './io.js';
import { errorMessage, TaizhangError } from '../errors.js';
import { createLogger, registerCredentials, registerSecret } from '../logger.js';

function configFor(args: Args & { command: CommandName }, mail: boolean): Config {
  if (!existsSync(args.config)) throw new TaizhangError('CONFIG_INVALID', `config file ${args.config} not found (copy config/taizhang.example.yaml to start)`);
  return loadConfig(args.config, process.env, { mail });
}

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
  const command = { ...args, command: args.command };
  try {
    // import edits the config file itself, which may not load yet (people still without addresses).
    if (args.command === 'import') return await (await import('./import.js')).runImport(args);
    // Needs no config: the hash it prints goes into one.
    if (args.command === 'passwd') return await (await import('../web/password.js')).passwdCommand();
    if (SERVICE_COMMANDS.has(command.command)) {
      // The service has the mailbox's passwords: handing it the command needs none here.
      const { dataDir } = configFor(command, false);
      const request = { argv, logLevel: process.env.TAIZHANG_LOG_LEVEL, tty: processIo.tty };
      const code = await viaService(dataDir, request, processIo);
      if (code !== null) return code;
    }
    const config = configFor(command, needsMail(command.command));
    registerCredentials(config.mailbox.imap.user, config.mailbox.imap.password);
    registerCredentials(config.mailbox.smtp.user, config.mailbox.smtp.password);
    registerSecret(config.secret);
    for (const c of config.notify) { registerSecret(c.secret); registerSecret(c.webhook); }
    // Loaded only to run a command: help and usage errors need none of the mail and sheet code.
    const { execute } = await import('./commands.js');
    return await execute(args, config, log);
  } catch (err) {
    return reportFailure(err, processIo, log);
  }
}
