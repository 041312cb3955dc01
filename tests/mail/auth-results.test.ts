/** Reading the receiving server's Authentication-Results (RFC 8601): only a failure about the From address counts. */
import { describe, expect, it } from 'vitest';
import { authFailure, authResultsFields, parseAuthResults } from '../../src/mail/auth-results.js';

const FROM = 'aiyankun@example.com';

describe('Authentication-Results', () => {
  it('parses methods, results and properties, past comments, quotes and folding', () => {
    const v = 'mx.163.com (Coremail) ; spf=fail (sender IP is 203.0.113.9)\r\n\tsmtp.mailfrom=aiyankun@example.com;\r\n dkim=none; dmarc=fail (p=reject dis=none) header.from="example.com"';
    expect(parseAuthResults(v)).toEqual({
      servId: 'mx.163.com',
      results: [
        { method: 'spf', result: 'fail', props: { 'smtp.mailfrom': 'aiyankun@example.com' } },
        { method: 'dkim', result: 'none', props: {} },
        { method: 'dmarc', result: 'fail', props: { 'header.from': 'example.com' } },
      ],
    });
    expect(parseAuthResults('mx.test; none')).toEqual({ servId: 'mx.test', results: [] });
  });

  it('a DMARC, SPF or DKIM failure for the From domain is a forgery', () => {
    expect(authFailure(['mx.test; dmarc=fail header.from=example.com'], FROM)).toMatch(/^dmarc=fail for example\.com/);
    expect(authFailure(['mx.test; spf=fail smtp.mailfrom=example.com'], FROM)).toMatch(/^spf=fail/);
    expect(authFailure(['mx.test; dkim=fail header.d=example.com'], FROM)).toMatch(/^dkim=fail/);
    expect(authFailure(['mx.test; spf=fail'], FROM)).toMatch(/^spf=fail/); // names no domain: about the sender
  });

  it('no failure, a soft one, or one about another domain is no forgery', () => {
    expect(authFailure([], FROM)).toBeNull();
    expect(authFailure(['mx.test; spf=pass smtp.mailfrom=example.com; dkim=pass header.d=example.com; dmarc=pass'], FROM)).toBeNull();
    expect(authFailure(['mx.test; spf=softfail smtp.mailfrom=example.com; dmarc=none'], FROM)).toBeNull();
    expect(authFailure(['mx.test; spf=fail smtp.mailfrom=bounces.mailer.net'], FROM)).toBeNull();
    expect(authFailure(['mx.test; dkim=fail header.d=mailinglist.org'], FROM)).toBeNull();
  });

  it('a forwarder breaks SPF, but the sender\'s own DKIM signature still proves the mail', () => {
    expect(authFailure(['mx.test; spf=fail smtp.mailfrom=example.com; dkim=pass header.d=example.com'], FROM)).toBeNull();
    expect(authFailure(['mx.test; spf=fail smtp.mailfrom=example.com; dkim=pass header.d=other.net'], FROM)).toMatch(/^spf=fail/);
  });

  it('only the receiving server\'s fields count: the first one names it, a sender\'s own lower down are ignored', () => {
    const server = 'mx.163.com; spf=fail smtp.mailfrom=example.com; dmarc=fail header.from=example.com';
    const forgedPass = 'mx.163.com.evil; spf=pass smtp.mailfrom=example.com; dmarc=pass';
    expect(authFailure([server, forgedPass], FROM)).toMatch(/^dmarc=fail/);
    expect(authFailure(['mx.163.com; spf=pass smtp.mailfrom=example.com', 'mx.evil; dmarc=fail'], FROM)).toBeNull();
    // Several fields of the same server (one per filter) are read together.
    expect(authFailure(['mx.test; spf=fail smtp.mailfrom=example.com', 'mx.test; dkim=pass header.d=example.com'], FROM)).toBeNull();
  });

  it('finds the fields in a raw header block, in order, unfolded', () => {
    const head = 'Return-Path: <a@b>\r\nAuthentication-Results: mx.test;\r\n spf=fail smtp.mailfrom=example.com\r\nReceived: x\r\nauthentication-results: other; dmarc=pass\r\nFrom: a@b';
    expect(authResultsFields(head)).toEqual(['mx.test; spf=fail smtp.mailfrom=example.com', 'other; dmarc=pass']);
  });
});
