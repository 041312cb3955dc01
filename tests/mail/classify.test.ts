import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { simpleParser, type ParsedMail } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { classifyMail, type ClassifyInput } from '../../src/mail/classify.js';

const OWN = '6666209@163.com';
const fixture = (name: string) => readFileSync(fileURLToPath(new URL(`../fixtures/eml/${name}`, import.meta.url)));

async function parse(name: string, options: { keepDeliveryStatus?: boolean } = {}): Promise<ParsedMail> {
  return simpleParser(fixture(name), options);
}

/** The way the collector will call it: everything mailparser gives. */
function inputOf(m: ParsedMail, ownAddress = OWN): ClassifyInput {
  return {
    headers: m.headers,
    from: m.from?.value[0]?.address,
    subject: m.subject,
    text: m.text,
    attachments: m.attachments,
    ownAddress,
  };
}

async function classify(name: string, ownAddress = OWN) {
  return classifyMail(inputOf(await parse(name), ownAddress));
}

describe('classifyMail on real-looking mail', () => {
  it('163.com 系统退信: bounce with the failed recipient and our original Message-ID', async () => {
    const r = await classify('163-bounce.eml');
    expect(r.kind).toBe('bounce');
    if (r.kind !== 'bounce') return;
    expect(r.failedRecipients).toEqual(['lishixiang@example.com']);
    expect(r.originalMessageId).toBe('<req-2020-07-lishixiang-3f9c2a1e@taizhang.local>');
    expect(r.reason).toMatch(/multipart\/report/);
  });

  it('163.com bounce also works from the headers alone (from/subject not passed in)', async () => {
    const m = await parse('163-bounce.eml');
    const r = classifyMail({ headers: m.headers, text: m.text, attachments: m.attachments, ownAddress: OWN });
    expect(r.kind).toBe('bounce');
    if (r.kind === 'bounce') expect(r.failedRecipients).toEqual(['lishixiang@example.com']);
  });

  it('163.com bounce parsed with keepDeliveryStatus (DSN as an attachment)', async () => {
    const m = await parse('163-bounce.eml', { keepDeliveryStatus: true });
    expect(m.attachments.some((a) => a.contentType === 'message/delivery-status')).toBe(true);
    const r = classifyMail(inputOf(m));
    expect(r).toMatchObject({
      kind: 'bounce',
      failedRecipients: ['lishixiang@example.com'],
      originalMessageId: '<req-2020-07-lishixiang-3f9c2a1e@taizhang.local>',
    });
  });

  it('Postfix MAILER-DAEMON bounce (with Auto-Submitted: auto-replied) is a bounce, not an auto-reply', async () => {
    const r = await classify('postfix-bounce.eml');
    expect(r).toMatchObject({
      kind: 'bounce',
      failedRecipients: ['wangquncai@example.com'],
      originalMessageId: '<req-2020-10-wangquncai-71b0d9e4@taizhang.local>',
    });
  });

  it('Outlook automatic reply', async () => {
    const r = await classify('outlook-auto-reply.eml');
    expect(r.kind).toBe('auto-reply');
    if (r.kind === 'auto-reply') expect(r.reason).toMatch(/Auto-Submitted: auto-replied/);
  });

  it('163.com 自动回复 (GBK encoded-word subject, no Auto-Submitted header)', async () => {
    const m = await parse('163-auto-reply.eml');
    expect(m.subject).toMatch(/^自动回复/);
    const r = classifyMail(inputOf(m));
    expect(r.kind).toBe('auto-reply');
    if (r.kind === 'auto-reply') expect(r.reason).toMatch(/自动回复/);
  });

  it('newsletter with Precedence: bulk', async () => {
    const r = await classify('newsletter-bulk.eml');
    expect(r).toEqual({ kind: 'auto-reply', reason: 'Precedence: bulk' });
  });

  it('Foxmail reply in GBK is human', async () => {
    expect(await classify('foxmail-reply-gbk.eml')).toEqual({ kind: 'human' });
  });

  it('Thunderbird reply is human', async () => {
    expect(await classify('thunderbird-rfc2231.eml')).toEqual({ kind: 'human' });
  });

  it('OA reply with raw GBK filename is human', async () => {
    expect(await classify('raw-gbk-filename.eml')).toEqual({ kind: 'human' });
  });

  it('Outlook reply carrying only X-Auto-Response-Suppress is human', async () => {
    const m = await parse('outlook-reply-suppress.eml');
    expect(m.headers.get('x-auto-response-suppress')).toBeTruthy();
    expect(classifyMail(inputOf(m))).toEqual({ kind: 'human' });
  });

  it('mail from our own address is "own" (loop guard), case-insensitively', async () => {
    const r = await classify('foxmail-reply-gbk.eml', 'AiYanKun@Example.com');
    expect(r.kind).toBe('own');
  });
});

describe('classifyMail on single signals', () => {
  const base = (headers: Record<string, unknown>, extra: Partial<ClassifyInput> = {}): ClassifyInput => ({
    headers: new Map(Object.entries(headers)),
    ownAddress: OWN,
    ...extra,
  });

  it.each([
    ['Auto-Submitted: auto-generated', { 'auto-submitted': 'auto-generated' }],
    ['X-Autoreply', { 'x-autoreply': 'yes' }],
    ['X-Autorespond', { 'x-autorespond': 'Out of office' }],
    ['Precedence: junk', { precedence: 'junk' }],
    ['Precedence: list', { precedence: 'list' }],
    ['a header named like auto-generated', { 'x-auto-generated': '1' }],
    ['holidayreply in a value', { 'x-mail-type': 'HolidayReply' }],
    ['machinegenerated', { 'x-ms-machinegenerated': 'true' }],
    ['Return-Path <>', { 'return-path': '<>' }],
    ['from mailer-daemon without a report', { from: 'MAILER-DAEMON@mx.example.com' }],
  ])('%s → auto-reply', (_label, headers) => {
    const r = classifyMail(base({ from: 'someone@example.com', ...headers }));
    expect(r.kind).toBe('auto-reply');
  });

  it.each(['Auto: 进展情况', 'Automatic reply: x', '自动回复:进展', 'Out of Office: back Monday', '休假中', '自动答复: x'])(
    'subject %j → auto-reply',
    (subject) => {
      expect(classifyMail(base({ subject })).kind).toBe('auto-reply');
    },
  );

  it.each(['系统退信', '退信', 'Undelivered Mail Returned to Sender', 'Delivery Status Notification (Failure)', 'Undeliverable: 进展情况'])(
    'subject %j → bounce',
    (subject) => {
      expect(classifyMail(base({ subject })).kind).toBe('bounce');
    },
  );

  it('Postmaster@163.com with a bounce subject → bounce', () => {
    const r = classifyMail(base({ from: 'Postmaster@163.com', subject: '系统退信' }));
    expect(r.kind).toBe('bounce');
  });

  it.each([
    ['Auto-Submitted: no', { 'auto-submitted': 'no' }],
    ['X-Auto-Response-Suppress: All', { 'x-auto-response-suppress': 'All' }],
    ['Precedence: normal', { precedence: 'normal' }],
    ['a reply to an auto-reply', { subject: '回复:自动回复:进展情况' }],
    ['a forwarded bounce', { subject: 'Fwd: 系统退信' }],
    ['Re: Out of Office', { subject: 'Re: Out of Office' }],
  ])('%s → human', (_label, headers) => {
    expect(classifyMail(base({ from: 'aiyankun@example.com', ...headers }))).toEqual({ kind: 'human' });
  });

  it('read receipts (report-type=disposition-notification) are machine mail, not bounces', () => {
    const r = classifyMail(base({}, { contentType: 'multipart/report; report-type=disposition-notification; boundary=x' }));
    expect(r.kind).toBe('auto-reply');
  });

  it('a delay notice is a bounce with no failed recipients', () => {
    const text = 'Delivery is delayed.\n\nReporting-MTA: dns; mx.example.com\n\nFinal-Recipient: rfc822; a@example.com\nAction: delayed\nStatus: 4.4.7\n';
    const r = classifyMail(
      base({ from: 'MAILER-DAEMON@mx.example.com' }, { contentType: 'multipart/report; report-type=delivery-status', text }),
    );
    expect(r.kind).toBe('bounce');
    if (r.kind === 'bounce') {
      expect(r.failedRecipients).toEqual([]);
      expect(r.reason).toMatch(/delayed/);
      expect(r.delayedOnly).toBe(true); // not counted as a failed delivery
    }
  });

  it('bounce without a DSN: X-Failed-Recipients (Exim)', () => {
    const r = classifyMail(
      base({ from: 'Mail Delivery System <Mailer-Daemon@mx.example.org>', 'x-failed-recipients': 'x@example.org', subject: 'Mail delivery failed: returning message to sender' }),
    );
    expect(r).toMatchObject({ kind: 'bounce', failedRecipients: ['x@example.org'] });
  });

  it('bounce without a DSN: addresses and Message-ID from the text body', () => {
    const text = [
      'Hi. This is the qmail-send program at mx.example.org.',
      "I'm afraid I wasn't able to deliver your message to the following addresses.",
      '',
      '<mahongxia@example.org>:',
      'Sorry, no mailbox here by that name. (#5.1.1)',
      '',
      '--- Below this line is a copy of the message.',
      '',
      'From: 6666209@163.com',
      'To: mahongxia@example.org',
      'Message-ID: <req-2020-10-mahongxia-1@taizhang.local>',
    ].join('\n');
    const r = classifyMail(base({ from: 'MAILER-DAEMON@mx.example.org', subject: 'failure notice' }, { text }));
    expect(r).toMatchObject({
      kind: 'bounce',
      failedRecipients: ['mahongxia@example.org'],
      originalMessageId: '<req-2020-10-mahongxia-1@taizhang.local>',
    });
  });
});
