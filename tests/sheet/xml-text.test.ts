/**
 * Characters XML 1.0 forbids never reach a workbook we write: not the office ledger (any of its
 * three sheets, its title or page headers), not the person's form (its 上期 answers included).
 * Each file loads back in exceljs, whose XML parser refuses such characters, and everything
 * else reads back exactly as given.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import type { Ledger, Person } from '../../src/core/ledger.js';
import { ledgerKeyOf, makeToken, personKeyOf } from '../../src/core/identity.js';
import { writeLedgerWorkbook } from '../../src/sheet/ledger.js';
import { sheetText, writePersonTemplate } from '../../src/sheet/template.js';
import { hasXmlForbidden, xmlSafe } from '../../src/sheet/xml-text.js';
import { charCount, EchoBudget, ECHO_CELL_CHARS, ECHO_TOTAL_CHARS } from '../../src/cycle/echo.js';

/** Every kind of forbidden character, between words that must survive. */
const BAD = '甲\uFFFE乙\uFFFF丙\uD800丁\uDC00戊\u0001己\u000B庚\u001F辛\tA\nB😀';
const SHOWN = '甲\uFFFD乙\uFFFD丙\uFFFD丁\uFFFD戊己庚辛\tA\nB😀';

async function load(buf: Buffer): Promise<ExcelJS.Workbook> {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(buf as unknown as ArrayBuffer);
  return wb;
}

function strings(wb: ExcelJS.Workbook): string[] {
  const out: string[] = [];
  for (const ws of wb.worksheets) ws.eachRow((r) => (r.values as unknown[]).forEach((v) => { if (typeof v === 'string') out.push(v); }));
  return out;
}

describe('xmlSafe', () => {
  it('drops C0 controls, shows U+FFFE, U+FFFF and lone surrogates as U+FFFD, keeps the rest exactly', () => {
    expect(xmlSafe(BAD)).toBe(SHOWN);
    expect(hasXmlForbidden(BAD)).toBe(true);
    expect(hasXmlForbidden(SHOWN)).toBe(false);
    const fine = '普通文字 😀 \t\n\r\n _x0041_ \uFFFD \uFFFC';
    expect(xmlSafe(fine)).toBe(fine);
    expect(xmlSafe('\uD83D')).toBe('\uFFFD'); // half of a pair, at the end
    expect(xmlSafe('\uDE00a')).toBe('\uFFFDa'); // the other half, alone at the start
    expect(sheetText(`${BAD}_x0041_`)).toBe(`${SHOWN}_x005F_x0041_`);
  });
});

describe('workbooks with such characters in every text', () => {
  it('the office ledger loads back, each text intact but for U+FFFD', async () => {
    const buf = await writeLedgerWorkbook({
      title: `台账${BAD}`, periodLabel: '2020年6月', generatedAt: `2020-07-01 ${BAD}`,
      rows: [{ no: 1, task: `任务${BAD}`, due: BAD, departments: [BAD], owners: [BAD], progress: BAD, remark: BAD }],
      people: [{ name: BAD, department: BAD, email: 'a@example.com', statusLabel: '已报送', reportedAt: BAD, sentBy: BAD, reportCount: 1 }],
      history: { periods: ['2020年5月', '2020年6月'], rows: [{ no: 1, task: BAD, cells: [BAD, `上月${BAD}`], unchanged: false }] },
    });
    const wb = await load(buf);
    const texts = strings(wb);
    expect(texts.some(hasXmlForbidden)).toBe(false);
    expect(texts.filter((t) => t === SHOWN).length).toBeGreaterThanOrEqual(9);
    expect(texts).toContain(`任务${SHOWN}`);
    expect(texts).toContain(`上月${SHOWN}`);
    expect(wb.title).toBe(`台账${SHOWN}`);
    expect(wb.getWorksheet('台账')!.headerFooter.oddHeader).toContain(SHOWN);
  });

  it('the person\'s form loads back, its 上期 answers intact but for U+FFFD', async () => {
    const seed = JSON.parse(readFileSync(fileURLToPath(new URL('../fixtures/xlsx/seed-ledger.json', import.meta.url)), 'utf8'));
    const ledger: Ledger = { ...seed.ledger, title: `${seed.ledger.title}${BAD}` };
    const ai: Person = seed.people.find((p: Person) => p.name === '艾延坤');
    const token = makeToken({ ledgerKey: ledgerKeyOf(ledger.title), period: seed.period, personKey: personKeyOf({ id: ai.name }), secret: seed.secret });
    const buf = await writePersonTemplate({
      ledger, person: ai, periodLabel: '2020年7月', deadlineText: '2020年7月31日', token,
      lastPeriod: new Map([[1, { no: 1, progress: BAD, remark: '' }]]), contactLine: `（联系人：${BAD}）`,
    });
    const wb = await load(buf);
    const texts = strings(wb);
    expect(texts.some(hasXmlForbidden)).toBe(false);
    expect(texts).toContain(SHOWN);
    expect(texts.some((t) => t.includes(`联系人：${SHOWN}`))).toBe(true);
    expect(texts).toContain(`${seed.ledger.title}${SHOWN}`);
  });
});

describe('EchoBudget', () => {
  it('echoes short texts whole, cuts a long one at the cell limit and all of them at the total, saying so', () => {
    const e = new EchoBudget();
    expect(e.take('短文')).toBe('短文');
    expect(e.cut).toBe(false);
    const long = '字'.repeat(5000);
    expect(e.take(long)).toBe(`${'字'.repeat(ECHO_CELL_CHARS)}……（以下从略，全文共5000字，已完整登记）`);
    expect(e.cut).toBe(true);
    let shown = 0;
    for (let i = 0; i < 10; i++) shown += e.take(long).replace(/(……)?（[^）]*）$/, '').length;
    expect(shown + ECHO_CELL_CHARS + '短文'.length).toBe(ECHO_TOTAL_CHARS);
    expect(e.take(long)).toBe('（从略，全文共5000字，已完整登记）');
  });

  it('counts characters, not UTF-16 units, and never splits a pair', () => {
    expect(charCount('😀a\uD800')).toBe(3);
    const e = new EchoBudget();
    const text = `${'a'.repeat(ECHO_CELL_CHARS - 1)}😀😀`;
    expect(e.take(text).startsWith(`${'a'.repeat(ECHO_CELL_CHARS - 1)}……`)).toBe(true);
  });
});
