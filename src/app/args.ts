/** The command line's words: commands, options, their help, and parsing them. */
import { parseArgs as parseNodeArgs } from 'node:util';
import { TaizhangError } from '../errors.js';
import { parsePeriod } from '../core/period.js';

type OptionName = 'config' | 'now' | 'period' | 'json' | 'to' | 'help' | 'ledger' | 'requirements' | 'print';

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
  check: { usage: 'check', summary: 'validate the config, log in to IMAP and SMTP, create folders (检查配置、登录邮箱、创建文件夹)', options: ['now'], mail: true },
  backup: {
    usage: 'backup [--to FILE]', summary: 'copy the database consistently, also while run is up; prints the copy\'s path (备份数据库,运行中亦可)', options: ['to'], mail: false,
  },
  import: {
    usage: 'import FILE.docx|FILE.xlsx [--ledger ID] [--requirements FILE.docx] [--print]',
    summary: 'read the office\'s own ledger table into the config, saying what changes (导入办公室现有台账到配置文件)', options: ['ledger', 'requirements', 'print'], mail: false,
  },
  passwd: {
    usage: 'passwd', summary: 'read a password from standard input and print its hash for web.users (生成网页登录密码的散列值)', options: [], mail: false,
  },
} satisfies Record<string, CommandSpec>;

export type CommandName = keyof typeof COMMANDS;

export interface Args {
  config: string; command?: CommandName; now?: string; period?: string; json: boolean; to?: string; help: boolean;
  /** `--ledger ID`: one ledger, else all (import: the ledger to write). import: the ledger file, the 方案 with the 任务要求, print instead of writing. */
  file?: string; ledger?: string; requirements?: string; print?: boolean;
}

const DEFAULT_CONFIG = 'config/taizhang.yaml';

const IMPORT_LEDGER: [string, string] = ['--ledger ID', 'which ledger to write (写入哪个台账): the single ledger: when there is one (id main); in a ledgers: list, the entry with this id, added when new; --ledger ID on a single-ledger config moves that ledger under ledgers: as id main and adds ID'];

function optionLine(name: OptionName, spec?: CommandSpec): [string, string] {
  switch (name) {
    case 'config': return ['--config FILE', `the configuration file (配置文件), default: ${DEFAULT_CONFIG}`];
    case 'now': return ['--now ISO-8601', 'act as if it were this instant (按此时刻执行): 2020-06-20T09:00:00+08:00, or 2020-06-20 / 2020-06-20T09:00 in the configured time zone; default: now'];
    case 'period': return ['--period YYYY-MM', `the month (月份), default: ${spec?.periodDefault ?? THIS_MONTH}; a weekly schedule's periods are ISO weeks, YYYY-Www (周次, e.g. 2020-W27), a quarterly one's YYYY-Qn (季度, e.g. 2020-Q3)`];
    case 'json': return ['--json', 'print JSON for programs (输出 JSON)'];
    case 'to': return ['--to FILE', 'where to write the copy, never over an existing file (备份文件路径,不覆盖已有文件); default: backups/taizhang-YYYYMMDD-HHMMSS.sqlite in data_dir. To restore: stop taizhang, copy it over data_dir/taizhang.sqlite, delete taizhang.sqlite-wal and -shm, start (恢复:停止运行,用备份覆盖 taizhang.sqlite,删除 -wal、-shm 文件,再启动)'];
    case 'ledger': return spec?.usage.startsWith('import') ? IMPORT_LEDGER : ['--ledger ID', 'only the ledger with this id (ledgers[].id; main for a single ledger:) (仅处理该台账); default: every ledger. The mailbox is read for all ledgers whatever it says (收件箱始终全部读取)'];
    case 'help': return ['-h, --help', 'show this help (显示帮助)'];
    case 'requirements': return ['--requirements FILE.docx', 'the 方案 whose items "(六)完善政府立法程序。任务要求:…" give each task its 任务要求, matched by title (按任务名称填入任务要求)'];
    case 'print': return ['--print', 'print the ledger as YAML and write nothing (只输出,不写入配置文件)'];
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
${optionTable([...new Set<OptionName>([...spec.options, 'ledger', 'config', 'help'])], spec)}
`;
}

/** Commands that, while `taizhang run` holds the data folder, are done by it (over its control socket). */
export const SERVICE_COMMANDS: ReadonlySet<CommandName> = new Set<CommandName>(['send', 'remind', 'collect', 'consolidate', 'status', 'tick']);

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
        config: { type: 'string' }, now: { type: 'string' }, period: { type: 'string' }, to: { type: 'string' },
        json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
        ledger: { type: 'string' }, requirements: { type: 'string' }, print: { type: 'boolean' },
      },
    });
  } catch (err) {
    throw usageError(err);
  }
  const { values, positionals } = parsed;
  for (const name of ['config', 'now', 'period', 'to', 'ledger', 'requirements'] as const) {
    if (values[name] === '') throw new TaizhangError('USAGE', `--${name} needs a value`);
  }
  const [command, ...rest] = positionals;
  // Only import takes a file; for every other command a word after it is a mistake.
  const file = command === 'import' ? rest.shift() : undefined;
  const extra = rest[0];
  if (extra !== undefined) throw new TaizhangError('USAGE', `unexpected argument ${extra}`);
  if (command !== undefined && !isCommand(command)) throw new TaizhangError('USAGE', `unknown command "${command}" (try --help)`);
  // Whether it fits the schedule's cadence is checked once the config is read.
  if (values.period !== undefined && !parsePeriod(values.period)) {
    const form = /W/i.test(values.period) ? 'YYYY-Www (an ISO week that exists)' : /Q/i.test(values.period) ? 'YYYY-Qn (1 to 4)' : 'YYYY-MM';
    throw new TaizhangError('USAGE', `--period must be ${form}, got "${values.period}"`);
  }
  return {
    config: values.config ?? DEFAULT_CONFIG, command, now: values.now, period: values.period,
    json: values.json ?? false, to: values.to, help: values.help ?? false,
    file, ledger: values.ledger, requirements: values.requirements, print: values.print ?? false,
  };
}
