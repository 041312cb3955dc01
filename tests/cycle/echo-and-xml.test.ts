/**
 * What people write that a workbook or a receipt cannot simply repeat, through the real mail
 * servers and the real command line:
 *
 * - A reply cell spelling `_xFFFE_` / `_xFFFF_` (how a sheet stores characters XML 1.0 forbids)
 *   is read as U+FFFE / U+FFFF. The recorded report keeps them; every workbook we write (the
 *   office ledger, its history sheet in the next month) shows U+FFFD instead, and stays a file
 *   exceljs (and so Excel) can open, with the rest of the text intact.
 * - A 1 MB cell is recorded whole; its receipt echoes the first 3,000 characters with a note,
 *   and stays small.
 */
import Database from 'better-sqlite3';
import ExcelJS from 'exceljs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { replyToRequest } from '../../tools/respondent.js';
import { useMailStack } from '../helpers/mail-stack.js';
import { makeProject, type Project } from '../helpers/project.js';
import { isolate } from '../helpers/fleet.js';
import { ECHO_CELL_CHARS } from '../../src/cycle/echo.js';

const mail = useMailStack();

/** A 1,000,000-character cell that does not repeat itself (no run of it compresses to nothing). */
const HUGE = Array.from({ length: 111_112 }, (_, i) => `进展${String(i).padStart(6, '0')}。`).join('').slice(0, 1_000_000);
const WEIRD = '甲_xFFFE_乙_xFFFF_丙，第二行\n丁';
const STORED = '甲\uFFFE乙\uFFFF丙，第二行\n丁';
const SHOWN = '甲\uFFFD乙\uFFFD丙，第二行\n丁';

async function load(buf: Buffer): Promise<ExcelJS.Workbook> {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(buf as unknown as ArrayBuffer);
  return wb;
}

function cellTexts(ws: ExcelJS.Worksheet): string[] {
  const out: string[] = [];
  ws.eachRow((r) => (r.values as unknown[]).forEach((v) => { if (typeof v === 'string') out.push(v); }));
  return out;
}

async function reply(p: Project, email: string, subject: RegExp, progress: string) {
  const msgs = (await p.inbox(email)).filter((m) => subject.test(m.subject ?? ''));
  await replyToRequest({ smtp: p.smtp, from: email, original: msgs[msgs.length - 1].raw, answer: () => ({ progress }) });
}

async function ledgerOf(p: Project, month: RegExp): Promise<Buffer> {
  const office = (await p.inbox(p.office)).filter((m) => month.test(m.subject ?? ''));
  const att = office[office.length - 1]?.attachments.find((a) => a.filename?.endsWith('.xlsx'));
  if (!att) throw new Error(`no ledger ${month} in the office INBOX`);
  return att.content;
}

describe('characters XML forbids and a 1 MB cell', () => {
  let p: Project;
  let weird: string;
  let huge: string;

  beforeAll(async () => {
    p = makeProject(mail(), (d) => { isolate(d); });
    [weird, huge] = [p.people[0].email, p.people[1].email];
    expect((await p.tick('2020-06-20T09:00:00+08:00')).code).toBe(0);
    await reply(p, weird, /请填报/, WEIRD);
    await reply(p, huge, /请填报/, HUGE);
    const r = await p.tick('2020-06-22T09:00:00+08:00');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/accepted 2/);
  }, 180_000);

  it('the recorded reports keep every character as read, the 1 MB cell whole', () => {
    const db = new Database(path.join(p.dataDir, 'taizhang.sqlite'), { readonly: true });
    try {
      // Reports are kept under the person's id (by default the name).
      const idOf = (email: string) => p.people.find((x) => x.email === email)!.name;
      const rows = (email: string) => JSON.parse((db.prepare('SELECT rows_json FROM reports WHERE person = ?').get(idOf(email)) as { rows_json: string }).rows_json) as { progress: string }[];
      expect(rows(weird).map((r) => r.progress)).toContain(STORED);
      expect(rows(huge).every((r) => r.progress === HUGE)).toBe(true);
    } finally {
      db.close();
    }
  });

  it('the receipt for the 1 MB cell echoes its beginning with a note and stays small', async () => {
    const [receipt] = (await p.inbox(huge)).filter((m) => /回执/.test(m.subject ?? ''));
    expect(receipt.raw.length).toBeLessThan(96 * 1024); // the echo of 7 such cells, text and HTML: not 8 MB
    const text = receipt.text ?? '';
    expect(text).toContain(`${HUGE.slice(0, ECHO_CELL_CHARS)}……（以下从略，全文共1000000字，已完整登记）`);
    expect(text).not.toContain(HUGE.slice(0, ECHO_CELL_CHARS + 1));
    expect(text).toContain('内容较长的，本回执仅列出开头部分；全文已完整登记。');
    expect(receipt.html).toContain('已完整登记');
    // A short report's receipt has no such note.
    const [other] = (await p.inbox(weird)).filter((m) => /回执/.test(m.subject ?? ''));
    expect(other.text).not.toContain('已完整登记');
  });

  it('the office ledger opens, with U+FFFD where the forbidden characters were and the rest intact', async () => {
    const r = await p.tick('2020-07-01T09:00:00+08:00');
    expect(r.code, r.stderr).toBe(0);
    const wb = await load(await ledgerOf(p, /6月/));
    const texts = wb.worksheets.flatMap(cellTexts);
    expect(texts).toContain(SHOWN);
    expect(texts.some((t) => /[\uFFFE\uFFFF]/.test(t))).toBe(false);
    expect(texts.some((t) => t.startsWith(HUGE.slice(0, 30_000)) && t.endsWith('…（已截断）'))).toBe(true);
  });

  it('and so does next month\'s, whose history sheet carries June\'s words', async () => {
    expect((await p.tick('2020-07-20T09:00:00+08:00')).code).toBe(0);
    const r = await p.tick('2020-08-01T09:00:00+08:00');
    expect(r.code, r.stderr).toBe(0);
    const wb = await load(await ledgerOf(p, /7月/));
    expect(cellTexts(wb.getWorksheet('历月进展')!)).toContain(SHOWN);
  });
});
