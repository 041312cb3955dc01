/**
 * Connection presets for the mail providers people in Chinese offices actually use. Pure data:
 * no I/O. A preset fills in what `mailbox.provider` in the config stands for; anything the
 * config spells out itself wins over the preset.
 *
 * `secure: true` means implicit TLS from the first byte (IMAPS 993, SMTPS 465). Where a provider
 * only offers STARTTLS on 587, `secure` is false and `requireTLS` is true, so the client must
 * refuse to continue if the upgrade to TLS fails (nodemailer's `requireTLS`).
 */

export interface ImapPreset {
  host: string;
  port: number;
  secure: boolean;
}

export interface SmtpPreset {
  host: string;
  port: number;
  secure: boolean;
  /** STARTTLS is mandatory (only set where `secure` is false). */
  requireTLS?: boolean;
}

export interface ProviderPreset {
  /** Human-readable name of the service. */
  label: string;
  imap: ImapPreset;
  smtp: SmtpPreset;
  /**
   * Whether the IMAP server is known to advertise IDLE. When false, poll for new mail
   * (imapflow falls back to polling by itself when IDLE is missing from CAPABILITY).
   */
  idle: boolean;
  /** A conservative ceiling for outgoing messages per minute, well under the provider's limits. */
  sendRatePerMinute: number;
  /**
   * Messages a day (local midnight to midnight) the provider is known to take from one mailbox,
   * or null where it publishes no figure: at the rate above, a send day would pass any daily cap
   * in an hour or two, so this is what keeps a day's sending inside it. A quota answer from the
   * server pauses sending until the next day in any case ({@link smtpQuotaAnswer}).
   */
  dailyLimit: number | null;
  /** What bites people with this provider. */
  notes: string;
  /** The junk folder's usual name, for a server that does not mark it \\Junk. */
  junkFolder?: string;
}

const NETEASE_NOTES =
  'Password is the authorization code (授权码) from the web settings, not the account password; ' +
  'IMAP/SMTP must be enabled there. IMAP SELECT fails with "Unsafe Login" unless the client sends the ' +
  'IMAP ID command (RFC 2971), strictly formatted, after login. No IDLE in CAPABILITY: poll. ' +
  'SMTP: From must be the logged-in account (553 Local user only); 554 DT:SPM = judged spam, ' +
  '451 DT:SPM = temporary spam hold (retry later); 421 HL:ICC/HL:IFC = too many connections/messages; ' +
  '450 RP:DRC = too many recipients per connection; 451 MI:SFQ = 15-minute quota; 554 MI:STC = daily quota. ' +
  'Bounces (系统退信) come from Postmaster@<domain> with X-Mailer: Coremail MTA server.';

/**
 * NetEase publishes no figure; a NetEase mailbox was reported answering `554 MI:STC` after 100
 * messages a day (ComsenzDiscuz/DiscuzX#2, "网易邮箱限制每账号每天最多发100封邮件,0点刷新").
 */
const NETEASE_DAILY = 100;

export const PROVIDERS = {
  '163': {
    label: 'NetEase 163.com (网易163邮箱)',
    imap: { host: 'imap.163.com', port: 993, secure: true },
    smtp: { host: 'smtp.163.com', port: 465, secure: true },
    idle: false,
    sendRatePerMinute: 20,
    dailyLimit: NETEASE_DAILY,
    notes: NETEASE_NOTES,
    junkFolder: '垃圾邮件',
  },
  '126': {
    label: 'NetEase 126.com (网易126邮箱)',
    imap: { host: 'imap.126.com', port: 993, secure: true },
    smtp: { host: 'smtp.126.com', port: 465, secure: true },
    idle: false,
    sendRatePerMinute: 20,
    dailyLimit: NETEASE_DAILY,
    notes: NETEASE_NOTES,
    junkFolder: '垃圾邮件',
  },
  yeah: {
    label: 'NetEase yeah.net (网易yeah.net邮箱)',
    imap: { host: 'imap.yeah.net', port: 993, secure: true },
    smtp: { host: 'smtp.yeah.net', port: 465, secure: true },
    idle: false,
    sendRatePerMinute: 20,
    dailyLimit: NETEASE_DAILY,
    notes: NETEASE_NOTES,
    junkFolder: '垃圾邮件',
  },
  qq: {
    label: 'QQ Mail (QQ邮箱)',
    imap: { host: 'imap.qq.com', port: 993, secure: true },
    smtp: { host: 'smtp.qq.com', port: 465, secure: true },
    idle: true,
    sendRatePerMinute: 15,
    dailyLimit: null,
    notes:
      'Password is the authorization code (授权码) generated after enabling IMAP/SMTP in 设置 → 账户; ' +
      'the QQ password does not work. From must be the logged-in account. Sending many similar ' +
      'messages quickly gets the account temporarily blocked from SMTP; keep the rate low. ' +
      '550 Ip/Connection frequency limited = sending too fast (pause). No daily figure is published.',
  },
  exmail: {
    label: 'Tencent Exmail (腾讯企业邮箱)',
    imap: { host: 'imap.exmail.qq.com', port: 993, secure: true },
    smtp: { host: 'smtp.exmail.qq.com', port: 465, secure: true },
    idle: true,
    sendRatePerMinute: 20,
    dailyLimit: null,
    notes:
      'IMAP/SMTP may need enabling per account (客户端设置); when "安全登录" (WeChat binding) is on, ' +
      'use a client-specific password (客户端专用密码). From must be the logged-in account or an alias.',
  },
  aliyun: {
    label: 'Aliyun Mail (阿里云企业邮箱, qiye.aliyun.com)',
    imap: { host: 'imap.qiye.aliyun.com', port: 993, secure: true },
    smtp: { host: 'smtp.qiye.aliyun.com', port: 465, secure: true },
    idle: false,
    sendRatePerMinute: 20,
    dailyLimit: 500,
    notes:
      'The administrator can disable IMAP/SMTP per account; a three-party login (三方客户端安全密码) ' +
      'may be required. IDLE support is not verified here, so poll (imapflow still uses IDLE if advertised). ' +
      '"too frequently sending" (ANTISPAM_BAT) = over the minute, hour or day limit: pause; the free edition ' +
      'is reported to start at 500 messages a day.',
  },
  outlook: {
    label: 'Outlook.com / Microsoft 365 (Exchange Online)',
    imap: { host: 'outlook.office365.com', port: 993, secure: true },
    smtp: { host: 'smtp.office365.com', port: 587, secure: false, requireTLS: true },
    idle: true,
    sendRatePerMinute: 20,
    dailyLimit: 300,
    notes:
      'SMTP is STARTTLS on 587 only (no implicit TLS on 465). Microsoft has retired basic (password) ' +
      'authentication for IMAP and is retiring it for SMTP AUTH: expect to need OAuth2 (XOAUTH2) ' +
      'or an app password where the tenant still allows it. SMTP AUTH must be enabled for the mailbox ' +
      'in Microsoft 365. Exchange Online allows at most 30 messages a minute and 10,000 recipients a day ' +
      '(554 5.2.0 SubmissionQuotaExceededException); Outlook.com consumer accounts far fewer, hence the ' +
      'preset\'s 300 a day: raise mailbox.smtp.daily_limit on Microsoft 365.',
  },
} as const satisfies Record<string, ProviderPreset>;

export type ProviderName = keyof typeof PROVIDERS;

/**
 * SMTP answers that say the mailbox's quota for the day is used up: trying again before the next
 * day only adds refusals. Matched whatever the preset (a mailbox on an office's own domain may be
 * hosted by any of these providers).
 */
const DAILY_QUOTA_ANSWERS: readonly RegExp[] = [
  /\bMI:STC\b/, // NetEase (163, 126, yeah.net, 网易企业邮箱): daily count exceeded
  /SubmissionQuotaExceeded/i, // Exchange Online / Outlook: 554 5.2.0, recipients per day
  /\b5\.1\.90\b/, // Exchange Online: "you've reached your daily limit for message recipients"
  /\bdaily\b[^.;]{0,40}\b(quota|limit)/i, // Gmail 550 5.4.5 "Daily user sending quota exceeded", and alike
  /\b(quota|limit)\b[^.;]{0,20}\(daily\)/i, // "Exceed Sending Limit (daily)"
  /24-hour sending limit/i,
  /(每日|每天|当日|今日|本日)[^。;]{0,12}(上限|限额|配额|限制)/, // Chinese wording
];

/**
 * 5xx answers that are rate limits rather than refusals of the mail. Tencent (QQ Mail, Exmail)
 * answers `550 Ip frequency limited` / `Connection frequency limited`; Aliyun answers
 * `Reject by behaviour spam ... too frequently sending` for its minute, hour and day limits alike,
 * and asks senders to pause. Neither publishes its figures.
 */
const THROTTLE_ANSWERS: readonly RegExp[] = [/frequency limited/i, /too frequently sending/i];

/**
 * What an SMTP answer says about the mailbox's sending quota: `daily` (used up until the next
 * day), `throttle` (sending too fast: pause a while, whatever the reply code), or null.
 */
export function smtpQuotaAnswer(text: string): 'daily' | 'throttle' | null {
  if (DAILY_QUOTA_ANSWERS.some((re) => re.test(text))) return 'daily';
  if (THROTTLE_ANSWERS.some((re) => re.test(text))) return 'throttle';
  return null;
}

const ALIASES: Record<string, ProviderName> = {
  '163.com': '163',
  netease: '163',
  '126.com': '126',
  'yeah.net': 'yeah',
  'qq.com': 'qq',
  'foxmail.com': 'qq',
  qqmail: 'qq',
  'exmail.qq.com': 'exmail',
  'tencent-exmail': 'exmail',
  'qiye.aliyun.com': 'aliyun',
  'aliyun-mail': 'aliyun',
  office365: 'outlook',
  'microsoft365': 'outlook',
  'outlook.com': 'outlook',
  'hotmail.com': 'outlook',
  'live.com': 'outlook',
};

/** True when `name` is one of the preset keys (exactly, as written in the config). */
export function isProviderName(name: string): name is ProviderName {
  return Object.prototype.hasOwnProperty.call(PROVIDERS, name);
}

/**
 * The preset for `name` (a key of PROVIDERS, case-insensitive, or a common alias such as
 * `yeah.net`, `office365`), as a fresh copy the caller may modify; undefined when unknown.
 */
export function providerPreset(name: string): ProviderPreset | undefined {
  const key = String(name).trim().toLowerCase();
  const resolved: ProviderName | undefined = isProviderName(key) ? key : ALIASES[key];
  if (!resolved) return undefined;
  const p: ProviderPreset = PROVIDERS[resolved];
  return { ...p, imap: { ...p.imap }, smtp: { ...p.smtp } };
}
