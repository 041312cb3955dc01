/** What reading a message keeps besides its files: the sender's first line and the server's verdict on the From address. */
import { describe, expect, it } from 'vitest';
import { leadLine, readMail } from '../../src/parse/read-mail.js';

const noSheets = async () => ({ ok: false as const, code: 'INTERNAL' as const, message: 'not called' });

function raw(headers: string[], body: string): Buffer {
  return Buffer.from([...headers, 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit', '', body, ''].join('\r\n'));
}

describe('readMail', () => {
  it('reads the receiving server\'s Authentication-Results against the From address', async () => {
    const forged = raw([
      'Authentication-Results: mx.office.test; spf=fail smtp.mailfrom=example.com; dmarc=fail header.from=example.com',
      'Authentication-Results: mx.office.test.evil; dmarc=pass', 'From: aiyankun@example.com', 'To: office@office.test', 'Subject: 回复', 'Message-ID: <f1@x>',
    ], '已填写');
    expect((await readMail(forged, { ownAddress: 'office@office.test' }, noSheets)).authFail).toMatch(/^dmarc=fail for example\.com/);
    const plain = raw(['From: aiyankun@example.com', 'To: office@office.test', 'Subject: 回复', 'Message-ID: <f2@x>'], '确认\r\n\r\n> 原邮件');
    const a = await readMail(plain, { ownAddress: 'office@office.test' }, noSheets);
    expect(a.authFail).toBeNull();
    expect(a.lead).toBe('确认');
  });
});

describe('leadLine', () => {
  it('is the first line the sender wrote, from the text or else the HTML', () => {
    expect(leadLine('\n\n  确认。 \n在 2020-06-21 写道:\n> 如同意请写“确认”', undefined)).toBe('确认。');
    expect(leadLine(undefined, '<html><head><style>p{}</style></head><body><div>同意</div><blockquote>原文</blockquote></body></html>')).toBe('同意');
    expect(leadLine('> 引用的内容\n', undefined)).toBe('> 引用的内容');
    expect(leadLine('x'.repeat(500), undefined)).toHaveLength(200);
  });
});
