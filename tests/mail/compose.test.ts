import { readFileSync } from 'node:fs';
import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { composeRaw, type OutgoingMail } from '../../src/mail/compose.js';

const FROM = { name: '濮阳市科学技术局办公室', address: '6666209@163.com' };
const AT = new Date('2020-06-22T01:00:00Z');
const XLSX = readFileSync(new URL('../fixtures/xlsx/lo-filled.xlsx', import.meta.url));

const shapes: Record<string, OutgoingMail> = {
  'receipt, Chinese text and HTML': {
    to: [{ name: '张三', address: 'zhangsan@example.cn' }],
    subject: '【回执】已收到您2020年6月的进展情况',
    text: '张三同志:\n\n已登记如下:\n1. 完善工作机制\n   进展情况:已召开专题会议。\n',
    html: '<p>张三同志:</p><table><tr><td>完善工作机制</td></tr></table>',
    inReplyTo: '<a@example.cn>',
    references: ['<taizhang.request.x@163.com>', '<a@example.cn>'],
  },
  'plain ASCII, one long line': {
    to: [{ address: 'it@example.cn' }],
    subject: 'test',
    text: `${'x'.repeat(200)}\nend`,
  },
  'request with a spreadsheet attached': {
    to: [{ name: '李四', address: 'lisi@example.cn' }, { address: 'office@example.cn' }],
    subject: '【工作台账】请于6月30日前报送2020年6月进展情况',
    text: '请填写附件表格后直接回复本邮件。',
    html: '<p>请填写附件表格后直接回复本邮件。</p>',
    attachments: [{ filename: '工作台账-李四-2020年6月.xlsx', content: XLSX, contentType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' }],
  },
  'text without a final line break, CR at the end': { to: [{ address: 'a@example.cn' }], subject: 's', text: 'abc\r' },
};

/** The Content-Transfer-Encoding of every leaf part of a raw message, top to bottom. */
function transferEncodings(raw: Buffer): string[] {
  return [...raw.toString('latin1').matchAll(/^Content-Transfer-Encoding: (\S+)/gim)].map((m) => m[1].toLowerCase());
}

describe('composeRaw', () => {
  for (const [name, mail] of Object.entries(shapes)) {
    it(`reads back as composed: ${name}`, async () => {
      const raw = await composeRaw(mail, FROM, '<taizhang.receipt.1@163.com>', AT);
      const parsed = await simpleParser(raw);
      expect(parsed.subject).toBe(mail.subject);
      expect(parsed.from?.value).toEqual([FROM]);
      const to = parsed.to && !Array.isArray(parsed.to) ? parsed.to.value : [];
      expect(to.map((v) => v.address)).toEqual(mail.to.map((t) => t.address));
      expect(to.map((v) => v.name || undefined)).toEqual(mail.to.map((t) => t.name));
      expect(parsed.messageId).toBe('<taizhang.receipt.1@163.com>');
      expect(parsed.date?.toISOString()).toBe(AT.toISOString());
      // The text as written, but for line breaks at its end.
      expect(parsed.text?.replace(/[\r\n]+$/, '')).toBe(mail.text.replace(/[\r\n]+$/, ''));
      expect(parsed.html || undefined).toBe(mail.html);
      expect(parsed.inReplyTo).toBe(mail.inReplyTo);
      expect(parsed.references).toEqual(mail.references?.length === 1 ? mail.references[0] : mail.references);
      expect(parsed.attachments.map((a) => a.filename)).toEqual((mail.attachments ?? []).map((a) => a.filename));
      for (const [i, a] of (mail.attachments ?? []).entries()) {
        expect(Buffer.compare(parsed.attachments[i].content, a.content)).toBe(0);
        expect(parsed.attachments[i].contentType).toBe(a.contentType);
      }
      expect(parsed.headers.get('auto-submitted')).toBe('auto-generated');
      expect(parsed.headers.get('x-auto-response-suppress')).toBe('All');
      // Parts in base64 (Chinese text is less than half its quoted-printable size) or plain
      // ASCII, in lines SMTP carries unchanged (RFC 5322: at most 998 characters, CRLF only).
      expect(transferEncodings(raw).length).toBeGreaterThan(0);
      for (const e of transferEncodings(raw)) expect(['base64', '7bit']).toContain(e);
      const lines = raw.toString('latin1').split('\r\n');
      expect(lines.filter((l) => l.length > 998 || l.includes('\n') || l.includes('\r'))).toEqual([]);
    });
  }

  it('Chinese text goes in base64, which takes less room than quoted-printable', async () => {
    const mail = shapes['receipt, Chinese text and HTML'];
    const raw = await composeRaw(mail, FROM, '<taizhang.receipt.2@163.com>', AT);
    const qp = Buffer.from(mail.text).reduce((n, b) => n + (b < 0x80 ? 1 : 3), 0);
    const textPart = /Content-Type: text\/plain[^]*?\r\n\r\n([^]*?)\r\n--/.exec(raw.toString('latin1'))?.[1] ?? '';
    expect(transferEncodings(raw)).toEqual(['base64', 'base64']);
    expect(textPart.length).toBeGreaterThan(0);
    expect(textPart.replace(/\r\n/g, '').length).toBeLessThan(qp);
  });
});
