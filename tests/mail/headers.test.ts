import { describe, expect, it } from 'vitest';
import { headerEnd } from '../../src/mail/headers.js';

describe('headerEnd', () => {
  it('finds the first empty line, CRLF or bare LF, whichever comes first', () => {
    expect(headerEnd(Buffer.from('Subject: a\r\nFrom: b\r\n\r\nbody\n\nmore'))).toBe(19);
    expect(headerEnd(Buffer.from('Subject: a\nFrom: b\n\nbody\r\n\r\n'))).toBe(18);
  });

  it('is the whole length for a message without a body', () => {
    expect(headerEnd(Buffer.from('Subject: a\r\nFrom: b\r\n'))).toBe(21);
  });
});
