import { readFileSync } from 'node:fs';
import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { buildSync, compileMail, composeRaw, type OutgoingMail } from '../../src/mail/compose.js';

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
  'text whose base64 fills its last line exactly (2 × 57 bytes)': { to: [{ address: 'a@example.cn' }], subject: 's', text: 'y'.repeat(114) },
};

describe('buildSync', () => {
  for (const [name, mail] of Object.entries(shapes)) {
    it(`gives nodemailer's own bytes: ${name}`, async () => {
      const root = compileMail(mail, FROM, '<taizhang.receipt.1@163.com>', AT);
      const streamed = await root.build();
      const sync = buildSync(root);
      expect(sync).not.toBeNull();
      expect(sync!.toString('latin1')).toBe(streamed.toString('latin1'));
    });
  }

  it('leaves a tree with stream content to nodemailer', async () => {
    const { Readable } = await import('node:stream');
    const root = compileMail({ to: [{ address: 'a@example.cn' }], subject: 's', text: 't' }, FROM, '<m@163.com>', AT);
    (root.childNodes.length === 0 ? root : root.childNodes[0]).setContent(Readable.from(['x']));
    expect(buildSync(root)).toBeNull();
  });
});

describe('composeRaw', () => {
  it('reads back as sent: subject, addresses, threading, text, HTML and attachment', async () => {
    const mail = shapes['request with a spreadsheet attached'];
    const raw = await composeRaw({ ...mail, inReplyTo: '<q@example.cn>' }, FROM, '<taizhang.request.2@163.com>', AT);
    expect(raw.toString('latin1')).toMatch(/^Content-Transfer-Encoding: base64$/m);
    expect(raw.toString('latin1')).not.toMatch(/quoted-printable/);
    const parsed = await simpleParser(raw);
    expect(parsed.subject).toBe(mail.subject);
    expect(parsed.from?.value[0]).toEqual({ name: FROM.name, address: FROM.address });
    expect(parsed.to && !Array.isArray(parsed.to) ? parsed.to.value.map((v) => v.address) : []).toEqual(['lisi@example.cn', 'office@example.cn']);
    expect(parsed.messageId).toBe('<taizhang.request.2@163.com>');
    expect(parsed.inReplyTo).toBe('<q@example.cn>');
    expect(parsed.text?.trim()).toBe(mail.text);
    expect(parsed.html).toBe(mail.html);
    expect(parsed.attachments).toHaveLength(1);
    expect(parsed.attachments[0].filename).toBe(mail.attachments![0].filename);
    expect(Buffer.compare(parsed.attachments[0].content, XLSX)).toBe(0);
    expect(parsed.headers.get('auto-submitted')).toBe('auto-generated');
  });
});
