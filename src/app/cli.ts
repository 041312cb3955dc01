import { existsSync } from 'node:fs';
import { loadConfig } from './config.js';
import { errorMessage, TaizhangError } from '../errors.js';
import { createLogger, registerCredentials, registerSecret, scrubSecrets } from '../logger.js';

const COMMANDS: Record<string, string> = {
  tick: 'tick [--now ISO-8601]          do once, at that instant, all that is due, then exit',
  run: 'run                             stay up: tick on a schedule and answer replies as they arrive',
  status: 'status [--period YYYY-MM] [--json]   who has reported',
  send: 'send [--period YYYY-MM]         send the month\'s requests now (to those who have none)',
  remind: 'remind [--period YYYY-MM]       remind now everyone who has not reported',
  collect: 'collect                         read and answer new replies now',
  consolidate: 'consolidate [--period YYYY-MM]  build the ledger and mail it to the office now',
  check: 'check                           validate the config, log in to IMAP and SMTP, create folders',
};

const USAGE = `Usage: taizhang [--config FILE] <command> [options]

Collects monthly progress reports for a work ledger (工作台账) by email.

Commands:
${Object.values(COMMANDS).map((c) => `  ${c}`).join('\n')}

Options:
  --config FILE   configuration file (default: config/taizhang.yaml)
  --now ISO-8601  act as if it were this instant (tick, status, send, remind, collect, consolidate)
  --help          show help (also after a command)
`;

export interface Args { config: string; command?: string; now?: string; period?: string; json: boolean; help: boolean }

const VALUE_FLAGS = new Set(['--config', '--now', '--period']);

export function parseArgs(argv: string[]): Args {
  const args: Args = { config: 'config/taizhang.yaml', json: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    let value: string | undefined;
    if (a.startsWith('--') && a.includes('=')) [a, value] = [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)];
    if (VALUE_FLAGS.has(a)) {
      value ??= argv[++i];
      if (value === undefined || value === '') throw new TaizhangError('USAGE', `${a} needs a value`);
      if (a === '--config') args.config = value;
      else if (a === '--now') args.now = value;
      else args.period = value;
    } else if (a === '--json') args.json = true;
    else if (a === '--help' || a === '-h') args.help = true;
    else if (a.startsWith('-')) throw new TaizhangError('USAGE', `unknown option ${a}`);
    else if (!args.command) args.command = a;
    else throw new TaizhangError('USAGE', `unexpected argument ${a}`);
  }
  if (args.command && !COMMANDS[args.command]) throw new TaizhangError('USAGE', `unknown command "${args.command}" (try --help)`);
  if (args.period && !/^\d{4}-(0[1-9]|1[0-2])$/.test(args.period)) throw new TaizhangError('USAGE', `--period must be YYYY-MM, got "${args.period}"`);
  return args;
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
    const text = args.command ? `Usage: taizhang [--config FILE] ${COMMANDS[args.command]}\n` : USAGE;
    (args.help ? process.stdout : process.stderr).write(text);
    return args.help ? 0 : 2;
  }
  const log = createLogger({ pretty: process.stderr.isTTY });
  try {
    if (!existsSync(args.config)) throw new TaizhangError('CONFIG_INVALID', `config file ${args.config} not found (copy config/taizhang.example.yaml to start)`);
    const config = loadConfig(args.config);
    registerCredentials(config.mailbox.imap.user, config.mailbox.imap.password);
    registerCredentials(config.mailbox.smtp.user, config.mailbox.smtp.password);
    registerSecret(config.secret);
    const { execute } = await import('./commands.js');
    return await execute(args, config, log);
  } catch (err) {
    const code = err instanceof TaizhangError ? err.exitCode : 1;
    process.stderr.write(`taizhang: ${scrubSecrets(errorMessage(err))}\n`);
    if (!(err instanceof TaizhangError)) log.error({ err }, 'unexpected failure');
    return code;
  }
}
