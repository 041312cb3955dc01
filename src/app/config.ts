import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseYaml } from './yaml.js';
import type { Schedule } from '../core/calendar.js';
import { TaizhangError } from '../errors.js';
import type { Ledger, Person, Task } from '../core/ledger.js';
import { providerPreset } from './providers.js';

export interface ServerConfig {
  host: string;
  port: number;
  secure: boolean;
  user: string;
  password: string;
  /** Verify the server's TLS certificate (only loopback may turn this off). */
  tlsVerify: boolean;
}

export interface Folders {
  processed: string;
  rejected: string;
  quarantine: string;
  machine: string;
  /** Where sent mail is kept; unset: the server's \\Sent folder (163: 已发送), else "Sent". */
  sent?: string;
}

export interface Config {
  configPath: string;
  timezone: string;
  dataDir: string;
  mailbox: {
    address: string;
    /** Display name on outgoing mail. */
    senderName: string;
    provider?: string;
    imap: ServerConfig & { idle: boolean; pollSeconds: number };
    smtp: ServerConfig & {
      /** STARTTLS is mandatory (port 587 providers such as Outlook): never continue in plaintext. */
      requireTLS: boolean;
      ratePerMinute: number; maxConnections: number; retryDelaysMs: number[]; maxAttempts: number;
    };
    folders: Folders;
    /** Keep a copy of every sent mail in the Sent folder by IMAP APPEND. */
    saveSent: boolean;
  };
  schedule: Schedule & {
    /** node-cron expression for `run`. */
    cron: string;
  };
  office: { name: string; email: string }[];
  people: Person[];
  ledger: Ledger;
  /** Key for the file identity's HMAC; generated under data_dir when absent. */
  secret?: string;
  /** The office's own mail wording (`<kind>.subject.hbs` …); the shipped templates/ when absent. */
  templatesDir?: string;
}

const EMAIL = /^[^\s@<>()",;]+@[^\s@<>()",;]+\.[^\s@<>()",;]+$/;
const PERIOD = /^\d{4}-(0[1-9]|1[0-2])$/;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

type Obj = Record<string, unknown>;

/** Collects every problem with its path, so the user sees them all at once. */
class Problems {
  readonly list: string[] = [];
  add(p: string, msg: string): void { this.list.push(`${p}: ${msg}`); }
}

/** Replaces `${NAME}` in every string value by that environment variable; a missing one is a problem. */
export function substituteEnv(value: unknown, env: NodeJS.ProcessEnv, problems: Problems, at = ''): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => {
      const v = env[name];
      if (v === undefined) { problems.add(at || '(root)', `environment variable ${name} is not set`); return ''; }
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, env, problems, `${at}[${i}]`));
  if (value && typeof value === 'object') {
    const out: Obj = {};
    for (const [k, v] of Object.entries(value)) out[k] = substituteEnv(v, env, problems, at ? `${at}.${k}` : k);
    return out;
  }
  return value;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o as Obj)) deepFreeze(v);
  }
  return o;
}

/** Reads, substitutes, validates and freezes the config file. Throws CONFIG_INVALID listing every problem. */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new TaizhangError('CONFIG_INVALID', `cannot read config file ${file}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new TaizhangError('CONFIG_INVALID', `${file}: not valid YAML: ${(err as Error).message}`);
  }
  return parseConfig(doc, file, env);
}

/** Validates a parsed document (see loadConfig). */
export function parseConfig(doc: unknown, file: string, env: NodeJS.ProcessEnv = process.env): Config {
  const problems = new Problems();
  const root = substituteEnv(doc ?? {}, env, problems) as Obj;
  if (typeof root !== 'object' || Array.isArray(root)) {
    throw new TaizhangError('CONFIG_INVALID', `${file}: the top level must be a mapping`);
  }
  const v = new Reader(problems);
  const timezone = v.str(root, 'timezone', 'Asia/Shanghai');
  try { new Intl.DateTimeFormat('en', { timeZone: timezone }); } catch { problems.add('timezone', `unknown time zone "${timezone}"`); }

  const mb = v.obj(root, 'mailbox');
  const address = v.email(mb, 'mailbox.address');
  const provider = v.optStr(mb, 'mailbox.provider');
  const preset = provider ? providerPreset(provider) : undefined;
  if (provider && !preset) problems.add('mailbox.provider', `unknown provider "${provider}"`);
  const imapRaw = v.obj(mb, 'mailbox.imap');
  const smtpRaw = v.obj(mb, 'mailbox.smtp');
  const imap = v.server(imapRaw, 'mailbox.imap', preset?.imap, address);
  const requireTLS = v.bool(smtpRaw, 'mailbox.smtp.require_tls', preset?.smtp.requireTLS ?? false);
  const smtp = v.server(smtpRaw, 'mailbox.smtp', preset?.smtp, address, requireTLS);
  const foldersRaw = (mb.folders ?? {}) as Obj;
  const folders: Folders = {
    processed: v.str(foldersRaw, 'mailbox.folders.processed', '台账-已处理'),
    rejected: v.str(foldersRaw, 'mailbox.folders.rejected', '台账-需补正'),
    quarantine: v.str(foldersRaw, 'mailbox.folders.quarantine', '台账-隔离'),
    machine: v.str(foldersRaw, 'mailbox.folders.machine', '台账-自动邮件'),
    sent: v.optStr(foldersRaw, 'mailbox.folders.sent'),
  };

  const sch = v.obj(root, 'schedule');
  const firstPeriod = v.period(sch, 'schedule.first_period', true)!;
  const lastPeriod = v.period(sch, 'schedule.last_period', false);
  if (firstPeriod && lastPeriod && lastPeriod < firstPeriod) problems.add('schedule.last_period', 'is before first_period');
  const sendDay = v.int(sch, 'schedule.send_day', 1, 31, 20);
  const deadlineDay = v.int(sch, 'schedule.deadline_day', 1, 31, 30);
  if (sendDay > deadlineDay) problems.add('schedule.send_day', `must not be after deadline_day (${deadlineDay})`);
  const reminderDays = v.intList(sch, 'schedule.reminder_days', 1, 31);
  reminderDays.forEach((d, i) => {
    if (d <= sendDay || d > deadlineDay) problems.add(`schedule.reminder_days[${i}]`, `must be after send_day (${sendDay}) and not after deadline_day (${deadlineDay})`);
  });
  const sendTime = v.str(sch, 'schedule.send_time', '00:00');
  if (!/^([01]\d|2[0-3]):[0-5]\d$/.test(sendTime)) problems.add('schedule.send_time', 'must be HH:MM');
  const cron = v.str(sch, 'schedule.cron', '*/10 * * * *');

  const office = v.list(root, 'office').map((o, i) => ({ name: v.str(o, `office[${i}].name`, '办公室'), email: v.email(o, `office[${i}].email`) }));
  if (office.length === 0) problems.add('office', 'needs at least one address');
  const people = v.list(root, 'people').map((p, i) => ({
    name: v.str(p, `people[${i}].name`), department: v.str(p, `people[${i}].department`, ''), email: v.email(p, `people[${i}].email`).toLowerCase(),
  }));
  dupes(people.map((p) => p.name), (i) => problems.add(`people[${i}].name`, 'appears twice'));
  dupes(people.map((p) => p.email), (i) => problems.add(`people[${i}].email`, 'appears twice'));
  if (people.length === 0) problems.add('people', 'needs at least one person');

  const led = v.obj(root, 'ledger');
  const names = new Set(people.map((p) => p.name));
  const tasks: Task[] = v.list(led, 'ledger.tasks').map((t, i) => v.task(t, `ledger.tasks[${i}]`, names));
  dupes(tasks.map((t) => String(t.no)), (i) => problems.add(`ledger.tasks[${i}].no`, 'appears twice'));
  if (tasks.length === 0) problems.add('ledger.tasks', 'needs at least one task');
  const owners = new Set(tasks.flatMap((t) => t.owners)); // not a search per person: a province has thousands
  for (const p of people) if (!owners.has(p.name)) problems.add('people', `${p.name} owns no task`);

  const senderName = v.str(mb, 'mailbox.sender_name', v.str(led, 'ledger.office_name', '台账汇总'));
  const config: Config = {
    configPath: path.resolve(file),
    timezone,
    dataDir: path.resolve(v.str(root, 'data_dir', '../data')),
    mailbox: {
      address, senderName, provider,
      imap: { ...imap, idle: v.bool(imapRaw, 'mailbox.imap.idle', preset?.idle ?? true), pollSeconds: v.int(imapRaw, 'mailbox.imap.poll_seconds', 5, 3600, 60) },
      smtp: {
        ...smtp,
        requireTLS,
        ratePerMinute: v.int(smtpRaw, 'mailbox.smtp.rate_per_minute', 1, 100000, preset?.sendRatePerMinute ?? 60),
        maxConnections: v.int(smtpRaw, 'mailbox.smtp.max_connections', 1, 20, 2),
        retryDelaysMs: v.intList(smtpRaw, 'mailbox.smtp.retry_delays_ms', 0, 600000, [2000, 10000]),
        maxAttempts: v.int(smtpRaw, 'mailbox.smtp.max_attempts', 1, 100, 8),
      },
      folders,
      saveSent: v.bool(mb, 'mailbox.save_sent', false),
    },
    schedule: { firstPeriod, lastPeriod, sendDay, deadlineDay, reminderDays: [...new Set(reminderDays)].sort((a, b) => a - b), sendTime, cron },
    office,
    people,
    ledger: { title: v.str(led, 'ledger.title'), tasks: tasks.sort((a, b) => a.no - b.no) },
    secret: v.optStr(root, 'secret'),
    templatesDir: optPath(v.optStr(root, 'templates_dir')),
  };
  if (problems.list.length > 0) {
    throw new TaizhangError('CONFIG_INVALID', `${file}: ${problems.list.length} problem(s):\n  ${problems.list.join('\n  ')}`, { details: problems.list });
  }
  return deepFreeze(config);
}

function optPath(p: string | undefined): string | undefined {
  return p === undefined ? undefined : path.resolve(p);
}

function dupes(values: string[], report: (i: number) => void): void {
  const seen = new Set<string>();
  values.forEach((v, i) => { if (seen.has(v)) report(i); seen.add(v); });
}

/** Typed reads that record a problem instead of throwing. */
class Reader {
  constructor(private readonly problems: Problems) {}

  obj(o: Obj, p: string): Obj {
    const key = p.split('.').pop()!;
    const v = o?.[key];
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Obj;
    this.problems.add(p, v === undefined ? 'is required' : 'must be a mapping');
    return {};
  }

  list(o: Obj, p: string): Obj[] {
    const key = p.split('.').pop()!;
    const v = o?.[key];
    if (Array.isArray(v)) return v.map((x) => (x && typeof x === 'object' ? x : {}) as Obj);
    this.problems.add(p, v === undefined ? 'is required' : 'must be a list');
    return [];
  }

  str(o: Obj, p: string, dflt?: string): string {
    const key = p.replace(/\[\d+\]/g, '').split('.').pop()!;
    const v = o?.[key];
    if (v === undefined || v === null || v === '') {
      if (dflt !== undefined) return dflt;
      this.problems.add(p, 'is required');
      return '';
    }
    if (typeof v === 'string') return v;
    if (typeof v === 'number') return String(v);
    this.problems.add(p, 'must be text');
    return '';
  }

  optStr(o: Obj, p: string): string | undefined {
    const key = p.split('.').pop()!;
    const v = o?.[key];
    return v === undefined || v === null || v === '' ? undefined : this.str(o, p);
  }

  email(o: Obj, p: string): string {
    const s = this.str(o, p);
    if (s && !EMAIL.test(s)) this.problems.add(p, 'not an email address');
    return s;
  }

  bool(o: Obj, p: string, dflt: boolean): boolean {
    const v = o?.[p.split('.').pop()!];
    if (v === undefined || v === null) return dflt;
    if (typeof v === 'boolean') return v;
    this.problems.add(p, 'must be true or false');
    return dflt;
  }

  int(o: Obj, p: string, min: number, max: number, dflt?: number): number {
    const v = o?.[p.split('.').pop()!];
    if (v === undefined || v === null) {
      if (dflt === undefined) this.problems.add(p, 'is required');
      return dflt ?? min;
    }
    const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
      this.problems.add(p, `must be a whole number from ${min} to ${max}`);
      return dflt ?? min;
    }
    return n;
  }

  intList(o: Obj, p: string, min: number, max: number, dflt: number[] = []): number[] {
    const v = o?.[p.split('.').pop()!];
    if (v === undefined || v === null) return dflt;
    if (!Array.isArray(v)) { this.problems.add(p, 'must be a list of numbers'); return dflt; }
    return v.map((x, i) => {
      if (typeof x === 'number' && Number.isInteger(x) && x >= min && x <= max) return x;
      this.problems.add(`${p}[${i}]`, `must be a whole number from ${min} to ${max}`);
      return min;
    });
  }

  period(o: Obj, p: string, required: boolean): string | undefined {
    const v = o?.[p.split('.').pop()!];
    if (v === undefined || v === null || v === '') {
      if (required) this.problems.add(p, 'is required (YYYY-MM)');
      return undefined;
    }
    const s = String(v);
    if (!PERIOD.test(s)) { this.problems.add(p, 'must be a month as YYYY-MM'); return undefined; }
    return s;
  }

  /** `startTls`: the connection starts in plaintext but must be upgraded (STARTTLS, required) before login. */
  server(o: Obj, p: string, preset: { host: string; port: number; secure: boolean } | undefined, address: string, startTls = false): ServerConfig {
    const host = this.str(o, `${p}.host`, preset?.host);
    const port = this.int(o, `${p}.port`, 1, 65535, preset?.port);
    const secure = this.bool(o, `${p}.secure`, preset?.secure ?? true);
    const tlsVerify = this.bool(o, `${p}.tls_verify`, true);
    if (!secure && !startTls && host && !LOOPBACK.has(host)) {
      this.problems.add(`${p}.secure`, p.endsWith('smtp')
        ? 'plaintext is allowed only on loopback (127.0.0.1); for STARTTLS (port 587) set require_tls: true'
        : 'plaintext is allowed only on loopback (127.0.0.1)');
    }
    if (!tlsVerify && host && !LOOPBACK.has(host)) this.problems.add(`${p}.tls_verify`, 'may be turned off only on loopback');
    return { host, port, secure, tlsVerify, user: this.str(o, `${p}.user`, address), password: this.str(o, `${p}.password`) };
  }

  task(t: Obj, p: string, names: Set<string>): Task {
    const no = this.int(t, `${p}.no`, 1, 1_000_000);
    const owners = this.names(t, `${p}.owners`);
    owners.forEach((n, i) => { if (!names.has(n)) this.problems.add(`${p}.owners[${i}]`, `"${n}" is not one of people[].name`); });
    if (owners.length === 0) this.problems.add(`${p}.owners`, 'needs at least one person');
    return {
      no, task: this.str(t, `${p}.task`), due: this.str(t, `${p}.due`, ''),
      departments: this.names(t, `${p}.departments`), owners,
      requirements: this.optStr(t, `${p}.requirements`), note: this.optStr(t, `${p}.note`),
    };
  }

  /** A list of names, or one string split on 、, commas or spaces. */
  private names(o: Obj, p: string): string[] {
    const v = o?.[p.split('.').pop()!];
    if (v === undefined || v === null) return [];
    if (typeof v === 'string') return v.split(/[、,,\s]+/).filter(Boolean);
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
    this.problems.add(p, 'must be a list of names');
    return [];
  }
}
