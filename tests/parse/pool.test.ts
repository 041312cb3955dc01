// Needs the compiled worker: run `npx tsc -p tsconfig.json` (npm test does it) first.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createParsePool, defaultWorkerUrl, type ParseOutcome, type ParsePool } from '../../src/parse/pool.js';

const fx = (name: string) => readFileSync(fileURLToPath(new URL(`../fixtures/xlsx/${name}`, import.meta.url)));
const seed = JSON.parse(fx('seed-ledger.json').toString('utf8'));
const secret: string = seed.secret;
const misbehaving = new URL('../fixtures/workers/misbehaving-worker.mjs', import.meta.url);

const failure = (o: ParseOutcome) => (o.ok ? 'ok' : o.code);

/** A real workbook that takes exceljs well over a second: 40,000 filled rows. */
async function slowWorkbook(): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet('大表');
  ws.addRow(['序号', '主要任务', '进展情况', '备注']);
  for (let i = 1; i <= 40_000; i++) ws.addRow([i, `任务${i}`, `进展${i}`, i % 7 ? '' : `备注${i}`]);
  return Buffer.from(await wb.xlsx.writeBuffer());
}

it('finds the compiled worker when running from src', () => {
  expect(defaultWorkerUrl('file:///w/main/src/parse/pool.ts').href).toBe('file:///w/main/dist/parse/worker.js');
  expect(defaultWorkerUrl('file:///w/main/dist/parse/pool.js').href).toBe('file:///w/main/dist/parse/worker.js');
});

describe.each(['process', 'thread'] as const)('real worker, %s isolation', (isolation) => {
  let pool: ParsePool;
  beforeAll(() => { pool = createParsePool({ isolation, timeoutMs: 15_000 }); });
  afterAll(async () => { await pool.close(); });

  it('parses a LibreOffice file and keeps the caller’s buffer intact', async () => {
    const buf = fx('lo-filled.xlsx');
    const copy = Buffer.from(buf);
    const o = await pool.parse(buf, '进展情况-艾延坤.xlsx', secret);
    expect(o.ok).toBe(true);
    if (!o.ok) return;
    expect(o.kind).toBe('xlsx');
    expect(o.workbook.token).toMatch(/^TZ-/);
    expect(o.workbook.rows[0].progress).toBe('第一行\n第二行\t制表符 "双引号" \'单引号\' 😀🎉');
    expect(buf.equals(copy)).toBe(true);
  });

  it.each([
    ['lo-filled.ods', 'SHEET_UNSUPPORTED', 'ods'],
    ['lo-filled.xls', 'SHEET_UNSUPPORTED', 'xls'],
    ['lo-filled.et', 'SHEET_UNSUPPORTED', 'et'],
    ['lo-filled.csv', 'SHEET_UNSUPPORTED', 'csv'],
    ['lo-encrypted.xlsx', 'SHEET_ENCRYPTED', 'encrypted'],
    ['truncated.xlsx', 'SHEET_CORRUPT', 'xlsx'],
    ['bomb-declared.xlsx', 'SHEET_TOO_LARGE', 'xlsx'],
    ['bomb-lying.xlsx', 'SHEET_TOO_LARGE', 'xlsx'],
    ['merge-bomb.xlsx', 'SHEET_TOO_LARGE', 'xlsx'],
    ['name-bomb.xlsx', 'SHEET_TOO_LARGE', 'xlsx'],
    ['pdf-renamed.xlsx', 'SHEET_UNSUPPORTED', 'unknown'],
    ['text-renamed.xlsx', 'SHEET_UNSUPPORTED', 'unknown'],
    ['word-renamed.xlsx', 'SHEET_UNSUPPORTED', 'zip-other'],
  ])('%s → %s', async (name, code, kind) => {
    const o = await pool.parse(fx(name), name, secret);
    expect(failure(o)).toBe(code);
    expect(o.kind).toBe(kind);
    if (!o.ok) expect(o.message.length).toBeGreaterThan(0);
  });

  it('handles the data-validation bomb without hanging, then parses a good file', async () => {
    const o = await pool.parse(fx('dv-bomb.xlsx'), 'dv-bomb.xlsx');
    expect(['ok', 'SHEET_TIMEOUT', 'SHEET_TOO_LARGE']).toContain(failure(o));
    expect(failure(await pool.parse(fx('template.xlsx'), 'template.xlsx', secret))).toBe('ok');
  });

  it('times out a slow real workbook, replaces the worker, and goes on', async () => {
    const slow = await slowWorkbook();
    const quick = createParsePool({ isolation, timeoutMs: 400 });
    try {
      const t0 = performance.now();
      expect(failure(await quick.parse(slow, 'big.xlsx'))).toBe('SHEET_TIMEOUT');
      expect(performance.now() - t0).toBeLessThan(3000);
      expect(quick.stats().replaced).toBe(1);
      // A fresh worker's start-up does not count against the 400 ms: a small file fits.
      expect(failure(await quick.parse(fx('minimal.xlsx'), 'minimal.xlsx'))).toBe('ok');
    } finally {
      await quick.close();
    }
    // With time enough, the same file parses (the reader stops after 20,000 rows and says so).
    const o = await pool.parse(slow, 'big.xlsx');
    expect(o.ok && o.workbook.rows.length).toBe(20_000);
  });
});

describe.each(['process', 'thread'] as const)('supervision, %s isolation', (isolation) => {
  it('kills a hanging worker, an exhausted one and a dead one, and keeps serving', async () => {
    const pool = createParsePool({ isolation, workerUrl: misbehaving, timeoutMs: 500, maxOldGenerationSizeMb: 32, size: 1 });
    try {
      expect(failure(await pool.parse(Buffer.from('x'), 'hang'))).toBe('SHEET_TIMEOUT');
      expect(failure(await pool.parse(Buffer.from('x'), 'ok'))).toBe('ok');
      const t0 = performance.now();
      const oom = await pool.parse(Buffer.from('x'), 'oom');
      expect(failure(oom)).toBe('SHEET_TOO_LARGE');
      expect(performance.now() - t0).toBeLessThan(5000);
      expect(failure(await pool.parse(Buffer.from('x'), 'exit'))).toBe('INTERNAL');
      const ok = await pool.parse(Buffer.from('four'), 'ok');
      expect(ok.ok && ok.workbook.token).toBe('4'); // the bytes arrived
      expect(pool.stats()).toMatchObject({ replaced: 3, busy: 0, queued: 0, completed: 5 });
    } finally {
      await pool.close();
    }
  });

  it('runs at most `size` workers and queues the rest', async () => {
    const pool = createParsePool({ isolation, workerUrl: misbehaving, size: 2 });
    const jobs = Array.from({ length: 6 }, (_, i) => pool.parse(Buffer.from([i]), 'ok'));
    expect(pool.stats()).toMatchObject({ workers: 2, busy: 2, ahead: 0, queued: 4 });
    expect((await Promise.all(jobs)).every((o) => o.ok)).toBe(true);
    await pool.close();
    expect(pool.stats().workers).toBe(0);
    expect(failure(await pool.parse(Buffer.from('x'), 'ok'))).toBe('INTERNAL'); // closed
  });

  it('a message waiting behind one that kills its worker is read afresh, not blamed', async () => {
    const pool = createParsePool({ isolation, workerUrl: misbehaving, timeoutMs: 500, maxOldGenerationSizeMb: 32, size: 1 });
    try {
      const names = ['mime-hang', 'a', 'mime-exit', 'b', 'second-sheet-oom', 'c'];
      const jobs = names.map((name) => pool.readMail(`/nowhere/${name}`, { ownAddress: 'x@y.test' }));
      expect(pool.stats()).toMatchObject({ busy: 1, ahead: isolation === 'thread' ? 1 : 0 });
      const outcomes = await Promise.all(jobs);
      expect(outcomes.map((o) => (o.ok ? o.analysis.subject : `${o.code} ${o.stage}`)))
        .toEqual(['SHEET_TIMEOUT mime', 'a', 'INTERNAL mime', 'b', 'SHEET_TOO_LARGE sheet:1', 'c']);
      expect(pool.stats()).toMatchObject({ replaced: 3, busy: 0, ahead: 0, queued: 0, completed: 6 });
    } finally {
      await pool.close();
    }
  });

  it('sends no spreadsheet ahead: its bytes are handed over, and could not be sent again', async () => {
    const pool = createParsePool({ isolation, workerUrl: misbehaving, timeoutMs: 500, size: 1 });
    try {
      const jobs = ['hang', 'ok'].map((name) => pool.parse(Buffer.from(name), name));
      expect(pool.stats()).toMatchObject({ busy: 1, ahead: 0, queued: 1 });
      expect((await Promise.all(jobs)).map(failure)).toEqual(['SHEET_TIMEOUT', 'ok']);
    } finally {
      await pool.close();
    }
  });

  it('warm starts the workers ahead of the jobs, which then use them', async () => {
    const pool = createParsePool({ isolation, workerUrl: misbehaving, size: 2 });
    pool.warm();
    expect(pool.stats()).toMatchObject({ workers: 2, busy: 0, queued: 0 });
    pool.warm(); // no more than `size`
    expect(pool.stats().workers).toBe(2);
    const outcomes = await Promise.all([pool.parse(Buffer.from('a'), 'ok'), pool.parse(Buffer.from('b'), 'ok')]);
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(pool.stats()).toMatchObject({ workers: 2, replaced: 0, completed: 2 });
    await pool.close();
    pool.warm(); // closed: starts nothing
    expect(pool.stats().workers).toBe(0);
  });

  it('close waits for a job in flight', async () => {
    const pool = createParsePool({ isolation, workerUrl: misbehaving, timeoutMs: 400 });
    const pending = pool.parse(Buffer.from('x'), 'hang');
    await pool.close();
    expect(failure(await pending)).toBe('SHEET_TIMEOUT');
  });
});

it('refuses an oversized attachment without starting a worker', async () => {
  const pool = createParsePool({ maxInputBytes: 10 });
  expect(failure(await pool.parse(Buffer.alloc(11), 'a.xlsx'))).toBe('SHEET_TOO_LARGE');
  expect(pool.stats().workers).toBe(0);
  await pool.close();
});
