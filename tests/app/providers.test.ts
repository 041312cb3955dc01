import { describe, expect, it } from 'vitest';
import { PROVIDERS, providerPreset, smtpQuotaAnswer, type ProviderPreset } from '../../src/app/providers.js';

const names = Object.keys(PROVIDERS);

describe('provider presets', () => {
  it('has the expected providers', () => {
    expect(names.sort()).toEqual(['126', '163', 'aliyun', 'exmail', 'outlook', 'qq', 'yeah']);
  });

  it.each(names)('%s is complete and secure', (name) => {
    const p = providerPreset(name) as ProviderPreset;
    expect(p).toBeDefined();
    expect(p.label).toBeTruthy();
    expect(p.notes.length).toBeGreaterThan(20);
    expect(typeof p.idle).toBe('boolean');
    expect(Number.isInteger(p.sendRatePerMinute)).toBe(true);
    expect(p.sendRatePerMinute).toBeGreaterThan(0);
    expect(p.sendRatePerMinute).toBeLessThanOrEqual(30);

    for (const side of [p.imap, p.smtp]) {
      expect(side.host).toMatch(/^[a-z0-9.-]+\.[a-z]{2,}$/);
      expect(Number.isInteger(side.port)).toBe(true);
    }
    // IMAP: implicit TLS on 993
    expect(p.imap).toMatchObject({ port: 993, secure: true });
    // SMTP: implicit TLS on 465, or STARTTLS on 587 that must not fall back to plain text
    if (p.smtp.secure) expect(p.smtp.port).toBe(465);
    else expect(p.smtp).toMatchObject({ port: 587, requireTLS: true });
  });

  it('a daily limit, where one is known, leaves the rate room: a send day stays inside it only by the limit', () => {
    for (const name of names) {
      const p = providerPreset(name)!;
      if (p.dailyLimit === null) continue;
      expect(Number.isInteger(p.dailyLimit) && p.dailyLimit > 0, name).toBe(true);
      // At the preset rate the day's quota would be gone within a few hours: the rate alone cannot keep a day inside it.
      expect(p.sendRatePerMinute * 60 * 24, name).toBeGreaterThan(p.dailyLimit);
    }
    expect(providerPreset('163')!.dailyLimit).toBe(100);
  });

  it('tells quota answers from answers about the mail', () => {
    expect(smtpQuotaAnswer('554 5.5.0 MI:STC Too many mails today')).toBe('daily');
    expect(smtpQuotaAnswer('554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException; Failed to process message')).toBe('daily');
    expect(smtpQuotaAnswer("550 5.1.90 Your message can't be sent because you've reached your daily limit for message recipients")).toBe('daily');
    expect(smtpQuotaAnswer('550 5.4.5 Daily user sending quota exceeded.')).toBe('daily');
    expect(smtpQuotaAnswer('550 发信数量超过每日上限')).toBe('daily');
    expect(smtpQuotaAnswer('550 Connection frequency limited')).toBe('throttle');
    expect(smtpQuotaAnswer('554 Reject by behaviour spamANTISPAM_BAT[01201311R196x]: too frequently sending')).toBe('throttle');
    for (const other of ['451 4.3.0 MI:SFQ', '554 DT:SPM', '421 HL:ICC', '450 RP:DRC', '550 5.1.1 no such user', '553 Local user only']) {
      expect(smtpQuotaAnswer(other), other).toBeNull();
    }
  });

  it('163, 126 and yeah.net have no IDLE', () => {
    for (const n of ['163', '126', 'yeah']) expect(providerPreset(n)?.idle).toBe(false);
  });

  it('163 matches the known hosts', () => {
    expect(providerPreset('163')).toMatchObject({
      imap: { host: 'imap.163.com', port: 993, secure: true },
      smtp: { host: 'smtp.163.com', port: 465, secure: true },
      sendRatePerMinute: 20,
    });
  });

  it('looks up case-insensitively and by alias, returns copies, and undefined for unknown names', () => {
    expect(providerPreset('QQ')?.imap.host).toBe('imap.qq.com');
    expect(providerPreset('yeah.net')?.smtp.host).toBe('smtp.yeah.net');
    expect(providerPreset('office365')?.smtp.host).toBe('smtp.office365.com');
    expect(providerPreset('nope')).toBeUndefined();
    const copy = providerPreset('163')!;
    copy.imap.host = 'changed';
    expect(providerPreset('163')!.imap.host).toBe('imap.163.com');
  });
});
