/**
 * Reading a message in the pool: a spreadsheet that kills its worker becomes that file's failure
 * and the message is read again without it; a message that cannot be read at all is left for
 * the next tick. Real worker threads (a stand-in worker script that misbehaves on request).
 */
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
    expect((err as TaizhangError).message).toMatch(/at mime.*SHEET_TIMEOUT/);
  });
});
