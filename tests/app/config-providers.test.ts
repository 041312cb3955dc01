/**
 * `mailbox.provider` presets through parseConfig, and what reaches nodemailer: hosts, ports and
 * TLS from the preset, anything spelled out in the config winning, STARTTLS made mandatory for
 * Outlook (587) while plaintext stays refused away from loopback.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/app/config.js';
import { smtpConnectionOptions } from '../../src/mail/smtp.js';
import { configProblems } from '../helpers/config.js';

const env = { TAIZHANG_MAIL_PASSWORD: 'auth-code-123' };

/** A small valid config whose mailbox part the test supplies. */
function doc(mailbox: Record<string, unknown>): Record<string, unknown> {
  return {
    timezone: 'Asia/Shanghai',
    data_dir: '/tmp/taizhang-config-test',
    mailbox,
    schedule: { first_period: '2020-06', send_day: 20, deadline_day: 30 },
    office: [{ name: '办公室', email: 'office@example.com' }],
    people: [{ name: '艾延坤', department: '政法科', email: 'ai@example.com' }],
    ledger: { title: '台账', tasks: [{ no: 1, task: '任务', owners: ['艾延坤'] }] },
  };
}

const login = { password: '${TAIZHANG_MAIL_PASSWORD}' };

const problems = (d: unknown) => configProblems(d, env);

describe('provider presets in the config', () => {
  it('provider "163" fills hosts, ports, TLS, polling and the send rate; user defaults to the address', () => {
    const c = parseConfig(doc({ provider: '163', address: '6666209@163.com', imap: login, smtp: login }), 'x.yaml', env);
    expect(c.mailbox.imap).toMatchObject({ host: 'imap.163.com', port: 993, secure: true, tlsVerify: true, user: '6666209@163.com', password: 'auth-code-123', idle: false });
    expect(c.mailbox.smtp).toMatchObject({ host: 'smtp.163.com', port: 465, secure: true, requireTLS: false, tlsVerify: true, user: '6666209@163.com', ratePerMinute: 20 });
    expect(smtpConnectionOptions(c.mailbox.smtp)).toMatchObject({ host: 'smtp.163.com', port: 465, secure: true, requireTLS: false, ignoreTLS: false, tls: { rejectUnauthorized: true } });
  });

  it('the daily limit comes from the preset unless the config sets one (0: none); self_copy is on unless turned off', () => {
    // Without a provider: hosts of its own.
    const own = { imap: { host: '127.0.0.1', port: 143 }, smtp: { host: '127.0.0.1', port: 25 } };
    const at = (provider: string | undefined, smtp: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => parseConfig(doc({
      provider, address: 'x@163.com', ...extra,
      imap: { ...login, ...(provider ? {} : own.imap) }, smtp: { ...login, ...(provider ? {} : own.smtp), ...smtp },
    }), 'x.yaml', env).mailbox;
    expect(at('163').smtp.dailyLimit).toBe(100);
    expect(at('outlook').smtp.dailyLimit).toBe(300);
    expect(at('qq').smtp.dailyLimit).toBe(0);
    expect(at('163', { daily_limit: 40 }).smtp.dailyLimit).toBe(40);
    expect(at('163', { daily_limit: 0 }).smtp.dailyLimit).toBe(0);
    expect(at(undefined).smtp.dailyLimit).toBe(0);
    expect(at('163').selfCopy).toBe(true);
    expect(at('163', {}, { self_copy: false }).selfCopy).toBe(false);
    expect(problems(doc({ provider: '163', address: 'x@163.com', imap: login, smtp: { ...login, daily_limit: -1 } }))[0]).toMatch(/^mailbox\.smtp\.daily_limit: /);
  });

  it('what the config spells out wins over the preset', () => {
    const c = parseConfig(doc({
      provider: '163', address: 'x@163.com',
      imap: { ...login, port: 1993, idle: true }, smtp: { ...login, host: 'smtp.example.net', rate_per_minute: 5 },
    }), 'x.yaml', env);
    expect(c.mailbox.imap).toMatchObject({ host: 'imap.163.com', port: 1993, idle: true });
    expect(c.mailbox.smtp).toMatchObject({ host: 'smtp.example.net', port: 465, ratePerMinute: 5 });
  });

  it('aliases work and an unknown provider is a config problem', () => {
    expect(parseConfig(doc({ provider: 'yeah.net', address: 'x@yeah.net', imap: login, smtp: login }), 'x.yaml', env).mailbox.smtp.host).toBe('smtp.yeah.net');
    expect(problems(doc({ provider: 'gmail', address: 'x@gmail.com', imap: login, smtp: login }))).toContain('mailbox.provider: unknown provider "gmail"');
  });

  it('Outlook: STARTTLS on 587 is accepted and required, and reaches nodemailer as requireTLS', () => {
    const c = parseConfig(doc({ provider: 'outlook', address: 'x@outlook.com', imap: login, smtp: login }), 'x.yaml', env);
    expect(c.mailbox.smtp).toMatchObject({ host: 'smtp.office365.com', port: 587, secure: false, requireTLS: true });
    expect(c.mailbox.imap).toMatchObject({ host: 'outlook.office365.com', port: 993, secure: true });
    const o = smtpConnectionOptions(c.mailbox.smtp);
    expect(o).toMatchObject({ secure: false, requireTLS: true, ignoreTLS: false, tls: { rejectUnauthorized: true } });
  });

  it('plaintext SMTP away from loopback is refused unless STARTTLS is required', () => {
    const plain = doc({ address: 'x@example.com', imap: { ...login, host: 'imap.example.com', port: 993 }, smtp: { ...login, host: 'smtp.example.com', port: 587, secure: false } });
    expect(problems(plain).join('\n')).toMatch(/mailbox\.smtp\.secure: plaintext is allowed only on loopback.*require_tls: true/);
    const starttls = doc({ address: 'x@example.com', imap: { ...login, host: 'imap.example.com', port: 993 }, smtp: { ...login, host: 'smtp.example.com', port: 587, secure: false, require_tls: true } });
    expect(parseConfig(starttls, 'x.yaml', env).mailbox.smtp).toMatchObject({ secure: false, requireTLS: true });
    // Outlook's preset cannot be talked out of TLS either.
    expect(problems(doc({ provider: 'outlook', address: 'x@outlook.com', imap: login, smtp: { ...login, require_tls: false } })).join('\n')).toMatch(/mailbox\.smtp\.secure/);
  });

  it('loopback without TLS (the test stack) neither upgrades nor requires it', () => {
    const c = parseConfig(doc({ address: 'x@example.com', imap: { ...login, host: '127.0.0.1', port: 1143, secure: false }, smtp: { ...login, host: '127.0.0.1', port: 1587, secure: false } }), 'x.yaml', env);
    expect(smtpConnectionOptions(c.mailbox.smtp)).toMatchObject({ secure: false, requireTLS: false, ignoreTLS: true });
  });
});
