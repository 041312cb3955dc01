/** The command line's words: commands, options, their help, and parsing them. */
import { parseArgs as parseNodeArgs } from 'node:util';
import { TaizhangError } from '../errors.js';

type OptionName = 'config' | 'now' | 'period' | 'json' | 'to' | 'ledger' | 'help';

interface CommandSpec {
  /** As listed in the general help. */
  usage: string;
  summary: string;
  /** The options it reads besides --config and --help. */
  options: OptionName[];
  /** What --period means when it is not given. */
  periodDefault?: string;
  /** It talks to the mail servers, so it needs the mailbox's passwords. */
  mail: boolean;
}

const THIS_MONTH = 'this month (per --now) while the schedule runs, else the latest month asked for (默认本月)';

const COMMANDS = {
  tick: { usage: 'tick [--now ISO-8601]', summary: 'do once, at that instant, all that is due, then exit (执行一次此刻到期的全部工作后退出)', options: ['now'], mail: true },
  run: { usage: 'run', summary: 'stay up: tick on a schedule and answer replies as they arrive (常驻运行:按计划执行,来信即复)', options: [], mail: true },
  status: {
    usage: 'status [--period YYYY-MM] [--json]', summary: 'who has reported (查看报送情况)', options: ['period', 'json', 'now'], mail: false,
    periodDefault: 'the latest month whose requests went out, else this month (默认最近发出填报通知的月份)',
  },
  send: {
    usage: 'send [--period YYYY-MM]', summary: 'send the month\'s requests now, to those who have none (立即发送填报通知)', options: ['period', 'now'], mail: true,
    periodDefault: THIS_MONTH,
  },
  remind: {
    usage: 'remind [--period YYYY-MM]', summary: 'remind now everyone who has not reported (立即提醒未报送的人)', options: ['period', 'now'], mail: true,
    periodDefault: THIS_MONTH,
  },
  collect: { usage: 'collect', summary: 'read and answer new replies now (立即读取并答复新来信)', options: ['now'], mail: true },
  consolidate: {
    usage: 'consolidate [--period YYYY-MM]', summary: 'build the ledger and mail it to the office now (立即汇总台账并发给办公室)', options: ['period', 'now'], mail: true,
    periodDefault: THIS_MONTH,
  },
  check: { usage: 'check', summary: 'validate the config, log in to IMAP and SMTP, create folders (检查配置、登录邮箱、创建文件夹)', options: [], mail: true },
  backup: {
    usage: 'backup [--to FILE]', summary: 'copy the database consistently, also while run is up; prints the copy\'s path (备份数据库,运行中亦可)', options: ['to'], mail: false,
  },
} satisfies Record<string, CommandSpec>;

export type CommandName = keyof typeof COMMANDS;

export interface Args { config: string; command?: CommandName; now?: string; period?: string; json: boolean; to?: string; help: boolean; /** `--ledger ID`: one ledger, else all. */ ledger?: string }

const DEFAULT_CONFIG = 'config/taizhang.yaml';

function optionLine(name: OptionName, spec?: CommandSpec): [string, string] {
  switch (name) {
    case 'config': return ['--config FILE', `the configuration file (配置文件), default: ${DEFAULT_CONFIG}`];
    case 'now': return ['--now ISO-8601', 'act as if it were this instant (按此时刻执行): 2020-06-20T09:00:00+08:00, or 2020-06-20 / 2020-06-20T09:00 in the configured time zone; default: now'];
    case 'period': return ['--period YYYY-MM', `the month (月份), default: ${spec?.periodDefault ?? THIS_MONTH}`];
    case 'json': return ['--json', 'print JSON for programs (输出 JSON)'];
    case 'to': return ['--to FILE', 'where to write the copy, never over an existing file (备份文件路径,不覆盖已有文件); default: backups/taizhang-YYYYMMDD-HHMMSS.sqlite in data_dir. To restore: stop taizhang, copy it over data_dir/taizhang.sqlite, delete taizhang.sqlite-wal and -shm, start (恢复:停止运行,用备份覆盖 taizhang.sqlite,删除 -wal、-shm 文件,再启动)'];
    case 'ledger': return ['--ledger ID', 'only the ledger with this id (ledgers[].id; main for a single ledger:) (仅处理该台账); default: every ledger. The mailbox is read for all ledgers whatever it says (收件箱始终全部读取)'];
    case 'help': return ['-h, --help', 'show this help (显示帮助)'];
  }
}

function optionTable(names: OptionName[], spec?: CommandSpec): string {
  const rows = names.map((n) => optionLine(n, spec));
  const width = Math.max(...rows.map(([flag]) => flag.length));
  return rows.map(([flag, text]) => `  ${flag.padEnd(width)}   ${text}`).join('\n');
}

const ALL_COMMANDS: CommandSpec[] = Object.values(COMMANDS);
const USAGE_WIDTH = Math.max(...ALL_COMMANDS.map((c) => c.usage.length));

export const USAGE = `Usage: taizhang [--config FILE] <command> [options]

Collects monthly progress reports for a work ledger (工作台账) by email.

Commands:
${ALL_COMMANDS.map((c) => `  ${c.usage.padEnd(USAGE_WIDTH)}   ${c.summary}`).join('\n')}

Options:
${optionTable(['config', 'now', 'ledger', 'help'])}

\`taizhang <command> --help\` explains the options of that command (各命令的选项说明).
`;

/** The help of one command: what it does and each option it reads, in English and Chinese. */
export function commandHelp(name: CommandName): string {
  const spec: CommandSpec = COMMANDS[name];
  return `Usage: taizhang [--config FILE] ${spec.usage}

${spec.summary}

Options:
${optionTable([...spec.options, 'ledger', 'config', 'help'], spec)}
`;
}

/** Whether the command talks to the mail servers (and so needs the mailbox's passwords). */
export function needsMail(name: CommandName): boolean {
  return COMMANDS[name].mail;
}

function isCommand(name: string): name is CommandName {
  return Object.prototype.hasOwnProperty.call(COMMANDS, name);
}

/** node:util's messages quote the option: "Option '--config <value>' argument missing". */
function usageError(err: unknown): TaizhangError {
  const { code, message } = err as { code?: string; message?: string };
  const option = /'(-[^'\s]+)/.exec(message ?? '')?.[1] ?? '';
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return new TaizhangError('USAGE', `unknown option ${option}`);
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    return new TaizhangError('USAGE', /does not take/.test(message ?? '') ? `${option} takes no value` : `${option} needs a value`);
  }
  return new TaizhangError('USAGE', message ?? String(err));
}

/** Parses the command line (`--opt value` and `--opt=value`); throws USAGE. */
export function parseArgs(argv: string[]): Args {
  let parsed;
  try {
    parsed = parseNodeArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: {
        config: { type: 'string' }, now: { type: 'string' }, period: { type: 'string' }, to: { type: 'string' }, ledger: { type: 'string' },
        json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw usageError(err);
  }
  const { values, positionals } = parsed;
  for (const name of ['config', 'now', 'period', 'to', 'ledger'] as const) {
    if (values[name] === '') throw new TaizhangError('USAGE', `--${name} needs a value`);
  }
  const [command, extra] = positionals;
  if (extra !== undefined) throw new TaizhangError('USAGE', `unexpected argument ${extra}`);
  if (command !== undefined && !isCommand(command)) throw new TaizhangError('USAGE', `unknown command "${command}" (try --help)`);
  if (values.period !== undefined && !/^\d{4}-(0[1-9]|1[0-2])$/.test(values.period)) {
    throw new TaizhangError('USAGE', `--period must be YYYY-MM, got "${values.period}"`);
  }
  return {
    config: values.config ?? DEFAULT_CONFIG, command, now: values.now, period: values.period,
    json: values.json ?? false, to: values.to, help: values.help ?? false, ledger: values.ledger,
  };
}
