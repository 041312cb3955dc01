/**
 * The config file's schema: what may be written (snake_case, every key known), what each value
 * must be, and the camelCase Config the rest of the code reads, which is this schema's output.
 */
import path from 'node:path';
import { z } from 'zod';
import {
  ALWAYS, boolOr, cleanIn, email, int, intListOr, intOr, list, lowerEmail, mapping, names, optBool, optInt, optText, patternOr, problem,
  text, textOr, type Ctx,
} from './config-fields.js';
import { scheduleSchema } from './config-schedule.js';
import { providerPreset, type ProviderPreset } from './providers.js';
import { isPasswordHash } from '../web/password.js';
import { notifyFields, toNotify } from './config-notify.js';
import { checkRoot as checkLedgers, everyone, ledgerScopes, type LedgerScope } from './config-ledgers.js';

/** What counts as an explicit "no progress this period" report (`no_progress_words`). */
export const NO_PROGRESS_WORDS = ['本月无进展', '本期无进展', '无新进展', '暂无进展'] as const;

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);
/** A ledger's id: it appears in paths, form tokens' keys and `--ledger`. */
export const LEDGER_ID = /^[a-z0-9][a-z0-9_-]{0,31}$/;


function isTimeZone(tz: string): boolean {
  try { new Intl.DateTimeFormat('en', { timeZone: tz }); return true; } catch { return false; }
}

/** `mail`: the mailbox's passwords are needed (every command but `status`). */
function mailboxFields(mail: boolean) {
  const server = {
    host: optText(), port: optInt(1, 65535), secure: optBool(), tls_verify: boolOr(true),
    user: optText(), password: mail ? text() : textOr(''),
  };
  return mapping({
    address: email(),
    sender_name: optText(),
    provider: optText().refine((p) => p === undefined || providerPreset(p) !== undefined, {
      error: (iss) => `unknown provider "${String(iss.input)}"`,
    }),
    imap: mapping({ ...server, idle: optBool(), poll_seconds: intOr(5, 3600, 60) }),
    smtp: mapping({
      ...server, require_tls: optBool(), rate_per_minute: optInt(1, 100000), max_connections: intOr(1, 20, 2),
      retry_delays_ms: intListOr(0, 600000, [2000, 10000]), max_attempts: intOr(1, 100, 8),
      daily_limit: optInt(0, 1_000_000),
    }),
    folders: mapping({
      processed: textOr('台账-已处理'), rejected: textOr('台账-需补正'), quarantine: textOr('台账-隔离'), machine: textOr('台账-自动邮件'),
      sent: optText(), junk: optText(),
    }).prefault({}),
    save_sent: boolOr(false),
    self_copy: boolOr(true),
  });
}

const task = mapping({
  no: int(1, 1_000_000), task: text(), due: textOr(''), departments: names(),
  owners: names().refine((o) => !Array.isArray(o) || o.length > 0, 'needs at least one person'),
  requirements: optText(), note: optText(),
});

/** `web:` the clerk's desk, served by `run`; off when absent. */
const LISTEN = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;
const webFields = mapping({
  listen: patternOr(LISTEN, 'must be HOST:PORT, e.g. 127.0.0.1:8080', '127.0.0.1:8080')
    .refine((l) => { const port = Number(LISTEN.exec(l)?.[2]); return port >= 1 && port <= 65535; }, 'the port must be from 1 to 65535'),
  users: list(mapping({
    name: text(),
    password_hash: text().refine(isPasswordHash, 'must be a hash printed by `taizhang passwd` (scrypt$N$r$p$salt$hash)'),
  }), 'needs at least one user'),
  /** Cookies only over HTTPS even without a proxy's X-Forwarded-Proto (a TLS-terminating proxy elsewhere). */
  secure_cookie: boolOr(false),
  /** A session ends after this many minutes without a request. */
  session_minutes: intOr(1, 1440, 30),
});

/** Subordinate units (局属单位) whose own ledgers are rolled up into this one; optional. */
const unitList = z.array(mapping({ name: text(), email: lowerEmail() }), { error: 'must be a list' }).optional();

const officeList = list(mapping({ name: textOr('办公室'), email: email() }), 'needs at least one address');
const peopleList = list(mapping({ id: optText(), name: text(), department: textOr(''), email: lowerEmail() }), 'needs at least one person');
const ledgerFields = { title: text(), office_name: optText(), tasks: list(task, 'needs at least one task'), units: unitList };

/** One of several ledgers: its own people, office and schedule (the one schedule schema), or the top level's. */
const ledgerEntry = mapping({
  id: text().refine((id) => LEDGER_ID.test(id), 'must be 1 to 32 of a-z, 0-9, "_" and "-", starting with a letter or digit'),
  ...ledgerFields, people: peopleList.optional(), office: officeList.optional(), schedule: scheduleSchema.optional(),
});

function fileFields(mail: boolean) {
  return mapping({
    timezone: textOr('Asia/Shanghai').refine(isTimeZone, { error: (iss) => `unknown time zone "${String(iss.input)}"` }),
    data_dir: textOr('../data'),
    mailbox: mailboxFields(mail).superRefine(checkMailbox, ALWAYS),
    // Required unless every ledger of `ledgers` has its own (config-ledgers.ts tells).
    schedule: scheduleSchema.optional(),
    office: officeList.optional(),
    office_phone: optText(),
    office_contact: optText(),
    // Body reports and text replies (README "Replies without a form").
    no_progress_words: z.preprocess((v) => (v === null || v === '' ? undefined : v), z.array(text(), { error: 'must be a list of words' })
      .refine((l) => l.every((w) => w.trim() !== ''), 'must not hold an empty word').default(() => [...NO_PROGRESS_WORDS])),
    text_replies: z.preprocess((v) => (v === null || v === '' ? undefined : v), z.enum(['forward', 'desk'], { error: 'must be forward or desk' }).default('forward')),
    people: peopleList.optional(),
    // One of these two (config-ledgers.ts).
    ledger: mapping(ledgerFields).optional(),
    ledgers: list(ledgerEntry, 'needs at least one ledger').optional(),
    secret: optText(),
    templates_dir: optText(),
    web: webFields.optional(),
    notify: notifyFields,
  });
}

type FileConfig = z.output<ReturnType<typeof fileFields>>;
type MailboxFile = z.output<ReturnType<typeof mailboxFields>>;

/** The schema of one config file (`file` gives configPath). */
export function configSchema(file: string, options: { mail: boolean }) {
  return fileFields(options.mail).superRefine(checkRoot, ALWAYS).transform((c) => toConfig(c, file));
}

/** What the code reads: the config file's content, checked, with every default filled in. */
export type Config = z.output<ReturnType<typeof configSchema>>;
export type Folders = Config['mailbox']['folders'];

type ImapFile = MailboxFile['imap'];
type SmtpFile = MailboxFile['smtp'];

function presetOf(m: MailboxFile): ProviderPreset | undefined {
  return m.provider === undefined ? undefined : providerPreset(m.provider);
}

function checkMailbox(m: MailboxFile, ctx: Ctx): void {
  const clean = cleanIn(ctx);
  if (!m || typeof m !== 'object') return;
  const preset = clean('provider') ? presetOf(m) : undefined;
  const startTls = clean('smtp', 'require_tls') && (m.smtp?.require_tls ?? preset?.smtp.requireTLS ?? false);
  for (const side of ['imap', 'smtp'] as const) {
    const raw = m[side];
    if (!raw || typeof raw !== 'object') continue;
    const host = clean(side, 'host') ? raw.host ?? preset?.[side].host : '';
    if (host === undefined) problem(ctx, [side, 'host'], 'is required');
    if (clean(side, 'port') && (raw.port ?? preset?.[side].port) === undefined) problem(ctx, [side, 'port'], 'is required');
    if (!host || LOOPBACK.has(host)) continue;
    if (clean(side, 'secure') && !(raw.secure ?? preset?.[side].secure ?? true) && !(side === 'smtp' && startTls)) {
      problem(ctx, [side, 'secure'], side === 'smtp'
        ? 'plaintext is allowed only on loopback (127.0.0.1); for STARTTLS (port 587) set require_tls: true'
        : 'plaintext is allowed only on loopback (127.0.0.1)');
    }
    if (clean(side, 'tls_verify') && !raw.tls_verify) problem(ctx, [side, 'tls_verify'], 'may be turned off only on loopback');
  }
}

/** People, offices and ledgers name each other (config-ledgers.ts); the desk's users are told apart. */
function checkRoot(c: FileConfig, ctx: Ctx): void {
  if (!c || typeof c !== 'object') return;
  checkLedgers(c, ctx);
  if (!Array.isArray(c.web?.users)) return;
  const clean = cleanIn(ctx);
  const seen = new Set<string>();
  c.web.users.forEach((u, i) => {
    if (!clean('web', 'users', i, 'name')) return;
    if (seen.has(u.name)) problem(ctx, ['web', 'users', i, 'name'], 'appears twice');
    seen.add(u.name);
  });
}

function server(raw: ImapFile | SmtpFile, preset: ProviderPreset['imap'] | undefined, address: string) {
  return {
    host: raw.host ?? preset?.host ?? '',
    port: raw.port ?? preset?.port ?? 0,
    /** Implicit TLS from the first byte. */
    secure: raw.secure ?? preset?.secure ?? true,
    /** Verify the server's TLS certificate (only loopback may turn this off). */
    tlsVerify: raw.tls_verify,
    user: raw.user ?? address,
    password: raw.password,
  };
}

export type ConfigSchedule = z.output<typeof scheduleSchema>;
export type ConfigLedger = LedgerScope<ConfigSchedule>;

function toConfig(c: FileConfig, file: string) {
  const m = c.mailbox;
  const preset = presetOf(m);
  const ledgers: ConfigLedger[] = ledgerScopes(c, (s) => s, m.sender_name);
  const [first] = ledgers;
  return {
    configPath: path.resolve(file),
    timezone: c.timezone,
    dataDir: path.resolve(c.data_dir),
    mailbox: {
      address: m.address,
      /** Display name on outgoing mail. */
      senderName: first.senderName,
      provider: m.provider,
      imap: { ...server(m.imap, preset?.imap, m.address), idle: m.imap.idle ?? preset?.idle ?? true, pollSeconds: m.imap.poll_seconds },
      smtp: {
        ...server(m.smtp, preset?.smtp, m.address),
        /** STARTTLS is mandatory (port 587 providers such as Outlook): never continue in plaintext. */
        requireTLS: m.smtp.require_tls ?? preset?.smtp.requireTLS ?? false,
        ratePerMinute: m.smtp.rate_per_minute ?? preset?.sendRatePerMinute ?? 60,
        maxConnections: m.smtp.max_connections,
        retryDelaysMs: m.smtp.retry_delays_ms,
        maxAttempts: m.smtp.max_attempts,
        /** Messages a local day at most (0: no limit of our own); the provider preset's figure by default. */
        dailyLimit: m.smtp.daily_limit ?? preset?.dailyLimit ?? 0,
      },
      /**
       * `sent` unset: the server's \\Sent folder (163: 已发送), else "Sent". `junk` unset: the
       * server's \\Junk folder, else the provider's (163: 垃圾邮件); read for replies to our mail.
       */
      folders: m.folders,
      /** Keep a copy of every sent mail in the Sent folder by IMAP APPEND. */
      saveSent: m.save_sent,
      /**
       * Every mail also goes to the collection mailbox (an SMTP envelope recipient only), filed
       * into the Sent folder: what settles a send a crash interrupted where the provider keeps no
       * Sent copy.
       */
      selfCopy: m.self_copy,
    },
    /**
     * The first ledger's schedule, office, tasks (`ledger`), as a ledger's own view of the config
     * has its own (cycle/ledgers.ts); `schedule.cron` is the top level's when there is one.
     */
    schedule: c.schedule ?? first.schedule,
    office: first.office,
    /** Who people may call about the ledger, named in every mail to them; optional. */
    officePhone: c.office_phone,
    officeContact: c.office_contact,
    /** The 制表单位 of the office's ledger: `ledger.office_name`, else the mailbox's sender name. */
    ledgerMaker: first.maker,
    /** Words that, as a whole body or a form's cell, report no progress for the period. */
    noProgressWords: c.no_progress_words,
    /** A reply with no form whose text names no task: forwarded to the office, or kept for the web desk. */
    textReplies: c.text_replies,
    /** Everyone of every ledger (the mailbox's roster); a ledger's own view has its own people. */
    people: everyone(ledgers),
    ledger: first.ledger,
    /** Every ledger: the single `ledger:` is one with id `main`. */
    ledgers,
    /** Key for the file identity's HMAC; generated under data_dir when absent. */
    secret: c.secret,
    /** The office's own mail wording (`<kind>.subject.hbs` …); the shipped templates/ when absent. */
    templatesDir: c.templates_dir === undefined ? undefined : path.resolve(c.templates_dir),
    /** Group chats told on reminder days and when a ledger is ready; none when absent. */
    notify: toNotify(c.notify),
    web: c.web && webConfig(c.web),
  };
}

function webConfig(w: NonNullable<FileConfig['web']>) {
  const m = LISTEN.exec(w.listen)!;
  return {
    host: m[1].replace(/^\[|\]$/g, ''),
    port: Number(m[2]),
    users: w.users.map((u) => ({ name: u.name, passwordHash: u.password_hash })),
    secureCookie: w.secure_cookie,
    sessionMinutes: w.session_minutes,
  };
}
