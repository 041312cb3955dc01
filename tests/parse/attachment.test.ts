/**
 * The pipeline a parse worker runs on each spreadsheet (sniff → limits → the format's reader →
 * table and token), called directly: what each kind of file a person may send becomes. The pool around it
 * is tested in pool.test.ts.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAttachment, type ParseOutcome } from '../../src/parse/attachment.js';

const fx = (name: string) => readFileSync(fileURLToPath(new URL(`../fixtures/xlsx/${name}`, import.meta.url)));
const seed = JSON.parse(fx('seed-ledger.json').toString('utf8'));
const secret: string = seed.secret;
const failure = (o: ParseOutcome) => (o.ok ? 'ok' : o.code);

describe('parseAttachment', () => {
  it('reads a form filled in LibreOffice: its table and its token', async () => {
    const o = await parseAttachment(fx('lo-filled.xlsx'), '进展情况-艾延坤.xlsx', secret);
    expect(o.ok).toBe(true);
    if (!o.ok) return;
    expect(o.kind).toBe('xlsx');
    expect(o.workbook.token).toMatch(/^TZ-/);
    expect(o.workbook.rows[0].progress).toBe('第一行\n第二行\t制表符 "双引号" \'单引号\' 😀🎉');
  });

  it.each([
    ['lo-filled.csv', 'SHEET_UNSUPPORTED', 'csv', /CSV/],
    ['lo-encrypted.xlsx', 'SHEET_ENCRYPTED', 'encrypted', /密码/],
    ['truncated.xlsx', 'SHEET_CORRUPT', 'xlsx', /./],
    ['bomb-declared.xlsx', 'SHEET_TOO_LARGE', 'xlsx', /./],
    ['bomb-lying.xlsx', 'SHEET_TOO_LARGE', 'xlsx', /./],
    ['merge-bomb.xlsx', 'SHEET_TOO_LARGE', 'xlsx', /./],
    ['name-bomb.xlsx', 'SHEET_TOO_LARGE', 'xlsx', /./],
    ['pdf-renamed.xlsx', 'SHEET_UNSUPPORTED', 'unknown', /无法识别/],
    ['text-renamed.xlsx', 'SHEET_UNSUPPORTED', 'unknown', /无法识别/],
    ['word-renamed.xlsx', 'SHEET_NO_TABLE', 'docx', /no table/], // a Word document, read as one: no table in it
  ])('%s → %s', async (name, code, kind, message) => {
    const o = await parseAttachment(fx(name), name, secret);
    expect(failure(o)).toBe(code);
    expect(o.kind).toBe(kind);
    if (!o.ok) expect(o.message).toMatch(message);
  });

  it.each([['lo-filled.xls', 'xls'], ['lo-filled.et', 'et'], ['lo-filled.ods', 'ods']] as const)('reads %s (SheetJS) with its token', async (name, kind) => {
    const o = await parseAttachment(fx(name), name, secret);
    expect(o).toMatchObject({ ok: true, kind, workbook: { sheetName: '工作台账', token: expect.stringMatching(/^TZ-/) } });
  });

  it('applies the zip limits it is given', async () => {
    const o = await parseAttachment(fx('template.xlsx'), 'template.xlsx', secret, { maxEntries: 2 });
    expect(failure(o)).toBe('SHEET_TOO_LARGE');
    expect(failure(await parseAttachment(fx('lo-filled.ods'), 'a.ods', secret, { maxEntries: 2 }))).toBe('SHEET_TOO_LARGE');
    expect(failure(await parseAttachment(fx('template.xlsx'), 'template.xlsx', secret))).toBe('ok');
  });
});
