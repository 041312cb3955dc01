/**
 * Reading a message in the pool: a spreadsheet that kills its worker becomes that file's failure
 * and the message is read again without it; a message that cannot be read at all is unreadable,
 * for good when the parser refused it, else left for the next tick. Real worker threads (a
 * stand-in worker script that misbehaves on request, and the real one).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { analyzeMessage } from '../../src/parse/analyze.js';
import { TaizhangError } from '../../src/errors.js';
import { createParsePool, type ParsePool } from '../../src/parse/pool.js';

const misbehaving = new URL('../fixtures/workers/misbehaving-worker.mjs', import.meta.url);
const office = { config: { mailbox: { address: 'office@x.test' } }, secret: 's' };

describe('analyzeMessage with a worker that dies', () => {
  let pool: ParsePool;
  afterEach(async () => { await pool.close(); });

  it('names the spreadsheet that exhausted the worker and keeps the others', async () => {
    pool = createParsePool({ isolation: 'thread', workerUrl: misbehaving, maxOldGenerationSizeMb: 32, size: 1 });
    const a = await analyzeMessage({ ...office, pool }, '/nowhere/second-sheet-oom');
    expect(a.files.map((f) => (f.ok ? 'ok' : f.code))).toEqual(['ok', 'SHEET_TOO_LARGE']);
    expect(pool.stats()).toMatchObject({ replaced: 1, completed: 2 });
  });

  it('reads a healthy message once', async () => {
    pool = createParsePool({ isolation: 'thread', workerUrl: misbehaving, size: 1 });
    const a = await analyzeMessage({ ...office, pool }, '/nowhere/fine');
    expect(a.files.every((f) => f.ok)).toBe(true);
    expect(pool.stats()).toMatchObject({ replaced: 0, completed: 1 });
  });

  it('gives up on a message whose MIME cannot be read in time, as a passing fault', async () => {
    pool = createParsePool({ isolation: 'thread', workerUrl: misbehaving, timeoutMs: 300, size: 1 });
    const err = await analyzeMessage({ ...office, pool }, '/nowhere/mime-hang').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaizhangError);
    expect((err as TaizhangError).permanent).toBe(false);
    expect((err as TaizhangError).code).toBe('MAIL_UNREADABLE');
    expect((err as TaizhangError).message).toMatch(/at mime.*SHEET_TIMEOUT/);
  });

  it('a worker that never starts is a passing fault of ours, not an unreadable message', async () => {
    pool = createParsePool({ isolation: 'thread', workerUrl: new URL('../fixtures/workers/no-such-worker.mjs', import.meta.url), size: 1 });
    const err = await analyzeMessage({ ...office, pool }, '/nowhere/fine').catch((e: unknown) => e);
    expect((err as TaizhangError).code).toBe('INTERNAL');
    expect((err as TaizhangError).permanent).toBe(false);
  });
});

describe('analyzeMessage with the real worker', () => {
  let pool: ParsePool;
  afterEach(async () => { await pool.close(); });

  it('a message the MIME parser refuses (a thousand parts) is unreadable for good, named in one line', async () => {
    pool = createParsePool({ size: 1 });
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'tz-analyze-')), 'parts.eml');
    const parts = Array.from({ length: 1001 }, (_, i) => `--b\r\nContent-Type: text/plain\r\n\r\n${i}\r\n`).join('');
    writeFileSync(file, `From: a@cases.test\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n${parts}--b--\r\n`);
    const err = await analyzeMessage({ ...office, pool }, file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaizhangError);
    expect((err as TaizhangError).code).toBe('MAIL_UNREADABLE');
    expect((err as TaizhangError).permanent).toBe(true);
    expect((err as TaizhangError).message).toMatch(/^the message cannot be parsed: Max allowed child nodes exceeded$/);
  });
});
