/**
 * The parse pool, through the one job it runs: reading a message stored on disk. With the real
 * worker (compiled to dist/ by the tests' global setup) on real .eml files carrying real forms,
 * and with a stand-in worker that hangs, exhausts its heap or exits on request, to test the
 * supervision: time limits, replacement, queueing, jobs sent ahead, close.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ExcelJS from 'exceljs';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createParsePool, defaultWorkerUrl, type ParsePool } from '../../src/parse/pool.js';
import type { MailOutcome } from '../../src/parse/types.js';

const fx = (name: string) => readFileSync(fileURLToPath(new URL(`../fixtures/xlsx/${name}`, import.meta.url)));
const seed = JSON.parse(fx('seed-ledger.json').toString('utf8'));
const misbehaving = new URL('../fixtures/workers/misbehaving-worker.mjs', import.meta.url);
const OWN = 'office@bureau.test';
const request = { ownAddress: OWN, secret: seed.secret as string };

const tmp = mkdtempSync(path.join(os.tmpdir(), 'taizhang-pool-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A person's reply carrying `files`, written as an .eml file; returns its path. */
let emls = 0;
async function replyWith(...files: { filename: string; content: Buffer }[]): Promise<string> {
  const composer = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });
  const info = await composer.sendMail({
    from: '艾延坤 <ai@bureau.test>', to: OWN, subject: '回复:请填报2020年6月工作进展', text: '已填写,请查收。',
    attachments: files.map((f) => ({ ...f, contentType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' })),
  });
  const file = path.join(tmp, `${++emls}.eml`);
  writeFileSync(file, info.message as Buffer);
  return file;
}
const attach = (name: string) => ({ filename: name, content: fx(name) });

/** `ok`, or the job's failure and the stage it stopped in. */
const result = (o: MailOutcome) => (o.ok ? 'ok' : [o.code, o.stage].filter(Boolean).join(' '));
/** Each spreadsheet's `ok` or failure code, or the job's failure. */
const files = (o: MailOutcome) => (o.ok ? o.analysis.files.map((f) => (f.ok ? 'ok' : f.code)) : [result(o)]);

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

  it('reads a reply: who sent it, its LibreOffice form with a verified token, and a file it cannot read', async () => {
    const o = await pool.readMail(await replyWith(attach('lo-filled.xlsx'), attach('lo-filled.csv')), request);
    expect(files(o)).toEqual(['ok', 'SHEET_UNSUPPORTED']);
    if (!o.ok) return;
    expect(o.analysis).toMatchObject({ from: 'ai@bureau.test', class: { kind: 'human' }, attachmentCount: 2 });
    const [form, csv] = o.analysis.files;
    expect(form.ok && form.token).toMatchObject({ period: seed.period });
    expect(form.ok && form.rows[0].progress).toBe('第一行\n第二行\t制表符 "双引号" \'单引号\' 😀🎉');
    expect(csv).toMatchObject({ filename: 'lo-filled.csv', kind: 'csv', message: expect.stringMatching(/CSV/) });
  });

  it('refuses an attachment larger than maxInputBytes without parsing it', async () => {
    const small = createParsePool({ isolation, maxInputBytes: 2000 });
    try {
      const o = await small.readMail(await replyWith(attach('template.xlsx'), attach('minimal.xlsx')), request);
      expect(files(o)).toEqual(['SHEET_TOO_LARGE', 'ok']);
      expect(o.ok && o.analysis.files[0]).toMatchObject({ kind: 'xlsx', message: expect.stringMatching(/附件超过/) });
    } finally {
      await small.close();
    }
  });

  it('handles the data-validation bomb without hanging, then reads a good form', async () => {
    const o = await pool.readMail(await replyWith(attach('dv-bomb.xlsx')), request);
    expect(['ok', 'SHEET_TOO_LARGE', 'SHEET_TIMEOUT sheet:0', 'SHEET_TOO_LARGE sheet:0']).toContain(files(o)[0]);
    expect(files(await pool.readMail(await replyWith(attach('template.xlsx')), request))).toEqual(['ok']);
  });

  it('times out a slow real workbook, replaces the worker, and goes on', async () => {
    const slow = await replyWith({ filename: 'big.xlsx', content: await slowWorkbook() });
    const quick = createParsePool({ isolation, timeoutMs: 400 });
    try {
      expect(result(await quick.readMail(slow, request))).toBe('SHEET_TIMEOUT sheet:0');
      expect(quick.stats().replaced).toBe(1);
      // A fresh worker's start-up does not count against the 400 ms: a small file fits.
      expect(files(await quick.readMail(await replyWith(attach('minimal.xlsx')), request))).toEqual(['ok']);
    } finally {
      await quick.close();
    }
    // With time enough, the same file is read (the reader stops after 20,000 rows and says so).
    const o = await pool.readMail(slow, request);
    expect(o.ok && o.analysis.files[0].ok && o.analysis.files[0].rows.length).toBe(20_000);
  });
});

describe.each(['process', 'thread'] as const)('supervision, %s isolation', (isolation) => {
  const read = (pool: ParsePool, name: string, ownAddress = OWN) => pool.readMail(`/nowhere/${name}`, { ownAddress });

  it('kills a hanging worker, an exhausted one and a dead one, and keeps serving', async () => {
    const pool = createParsePool({ isolation, workerUrl: misbehaving, timeoutMs: 500, maxOldGenerationSizeMb: 32, size: 1 });
    try {
      expect(result(await read(pool, 'mime-hang'))).toBe('SHEET_TIMEOUT mime');
      expect(result(await read(pool, 'fine'))).toBe('ok');
      expect(result(await read(pool, 'mime-oom'))).toBe('SHEET_TOO_LARGE mime');
      expect(result(await read(pool, 'mime-exit'))).toBe('INTERNAL mime');
      const last = await read(pool, 'last', 'echo@bureau.test');
      expect(last.ok && [last.analysis.subject, last.analysis.from]).toEqual(['last', 'echo@bureau.test']); // the request arrived
      expect(pool.stats()).toMatchObject({ replaced: 3, busy: 0, queued: 0, completed: 5 });
    } finally {
      await pool.close();
    }
  });

  it('runs at most `size` workers, sends one job ahead to each thread, and queues the rest', async () => {
    const pool = createParsePool({ isolation, workerUrl: misbehaving, size: 2 });
    const jobs = Array.from({ length: 6 }, (_, i) => read(pool, `m${i}`));
    const ahead = isolation === 'thread' ? 2 : 0;
    expect(pool.stats()).toMatchObject({ workers: 2, busy: 2, ahead, queued: 4 - ahead });
    expect((await Promise.all(jobs)).map((o) => o.ok && o.analysis.subject)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
    await pool.close();
    expect(pool.stats().workers).toBe(0);
    expect(result(await read(pool, 'fine'))).toBe('INTERNAL'); // closed
  });

  it('a message waiting behind one that kills its worker is read afresh, not blamed', async () => {
    const pool = createParsePool({ isolation, workerUrl: misbehaving, timeoutMs: 500, maxOldGenerationSizeMb: 32, size: 1 });
    try {
      const names = ['mime-hang', 'a', 'mime-exit', 'b', 'second-sheet-oom', 'c'];
      const jobs = names.map((name) => read(pool, name));
      expect(pool.stats()).toMatchObject({ busy: 1, ahead: isolation === 'thread' ? 1 : 0 });
      const outcomes = await Promise.all(jobs);
      expect(outcomes.map((o) => (o.ok ? o.analysis.subject : result(o))))
        .toEqual(['SHEET_TIMEOUT mime', 'a', 'INTERNAL mime', 'b', 'SHEET_TOO_LARGE sheet:1', 'c']);
      expect(pool.stats()).toMatchObject({ replaced: 3, busy: 0, ahead: 0, queued: 0, completed: 6 });
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
    const outcomes = await Promise.all([read(pool, 'a'), read(pool, 'b')]);
    expect(outcomes.map(result)).toEqual(['ok', 'ok']);
    expect(pool.stats()).toMatchObject({ workers: 2, replaced: 0, completed: 2 });
    await pool.close();
    pool.warm(); // closed: starts nothing
    expect(pool.stats().workers).toBe(0);
  });

  it('close waits for a job in flight', async () => {
    const pool = createParsePool({ isolation, workerUrl: misbehaving, timeoutMs: 400 });
    const pending = read(pool, 'mime-hang');
    await pool.close();
    expect(result(await pending)).toBe('SHEET_TIMEOUT mime');
  });
});
