/**
 * Fuzz: a few hundred malformed mails and spreadsheets, generated deterministically (seeded PRNG;
 * the corpus is the same bytes every run apart from the request's Message-ID, so a failing sample,
 * kept under the named temp folder, reproduces):
 * truncations and byte flips of real .eml fixtures and of a real reply carrying a real form,
 * random MIME structures, and broken copies of the form attached to otherwise good replies.
 *
 * 1. All of them go through analyze → decide → apply in process (against a copy of a real
 *    project's state): each gets a definite outcome (the pool's time limits end any hang), and
 *    the worker pool still reads a good reply and its form afterwards.
 * 2. A slice of them is delivered to the real collection mailbox and read by a real tick: the
 *    tick succeeds, every message ends in an outcome folder or stays in the INBOX for a retry
 *    (nothing lost), and a good reply sent afterwards is accepted.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyzeMessage } from '../../src/parse/analyze.js';
import { contentHash } from '../../src/cycle/collect.js';
import { parseConfig } from '../../src/app/config.js';
import { openContext, type Context } from '../../src/cycle/context.js';
import { applyDecision, decideMessage } from '../../src/cycle/apply.js';
import { silentLogger } from '../../src/logger.js';
import { createParsePool } from '../../src/parse/pool.js';
import { readZipDirectory } from '../../src/sheet/zip.js';
import { Store } from '../../src/store/store.js';
import { useMailStack } from '../helpers/mail-stack.js';
import { makeProject, type Project } from '../helpers/project.js';
import {
  FOLDERS, addPeople, answersTo, casePeople, collectionFolders, filledForm, fixture, rezip, send, type CasePerson, type Parsed,
} from '../helpers/replies.js';

const mail = useMailStack();
const P = casePeople(['fz', 'after'], 101, 3) as Record<'fz' | 'after', CasePerson>;

// ── deterministic randomness ──
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
type Rng = () => number;
const int = (r: Rng, n: number) => Math.floor(r() * n);
const pick = <T,>(r: Rng, a: readonly T[]): T => a[int(r, a.length)];
const bytesOf = (r: Rng, n: number) => Buffer.from(Array.from({ length: n }, () => int(r, 256)));
const L = (s: string) => Buffer.from(s, 'latin1');

// ── mutations of whole messages ──
function mutateMail(r: Rng, b: Buffer): Buffer {
  const ops = 1 + int(r, 3);
  for (let k = 0; k < ops; k++) {
    const i = int(r, b.length + 1);
    const j = Math.min(b.length, i + int(r, 4000));
    switch (int(r, 9)) {
      case 0: b = b.subarray(0, i); break; // truncation
      case 1: { b = Buffer.from(b); for (let n = 1 + int(r, 40); n > 0; n--) b[int(r, b.length)] = int(r, 256); break; } // byte flips
      case 2: b = Buffer.concat([b.subarray(0, i), b.subarray(j)]); break; // a range lost
      case 3: b = Buffer.concat([b.subarray(0, j), b.subarray(i, j), b.subarray(j)]); break; // a range repeated
      case 4: b = Buffer.concat([b.subarray(0, i), bytesOf(r, 1 + int(r, 300)), b.subarray(i)]); break; // garbage inserted
      case 5: b = L(b.toString('latin1').replace(/\r\n/g, pick(r, ['\n', '\r', '\n\r']))); break; // line endings
      case 6: b = L(b.toString('latin1').replace(/boundary="?([^";\r\n]+)"?/i, (_m, x: string) => `boundary="${x.slice(0, int(r, x.length))}"`)); break;
      case 7: b = Buffer.concat([L(pick(r, ['X-Junk: ', 'Subject: ', 'Content-Type: multipart/mixed; boundary=', 'no colon here ', 'From: ', 'Auto-Submitted: '])), bytesOf(r, int(r, 200)), L('\r\n'), b]); break;
      case 8: b = Buffer.concat([L(`X-Long: ${'a'.repeat(50_000 + int(r, 100_000))}\r\n`), b]); break; // one very long header line
    }
  }
  return b;
}

// ── mutations of the form ──
function mutateSheet(r: Rng, form: Buffer, entries: string[]): Buffer {
  const b = Buffer.from(form);
  switch (int(r, 8)) {
    case 0: return b.subarray(0, int(r, b.length));
    case 1: { for (let n = 1 + int(r, 30); n > 0; n--) b[int(r, b.length)] ^= 1 << int(r, 8); return b; }
    case 2: { for (let n = 1 + int(r, 10); n > 0; n--) b[b.length - 1 - int(r, Math.min(600, b.length))] = int(r, 256); return b; } // central directory
    case 3: { const i = int(r, b.length); b.fill(0, i, Math.min(b.length, i + int(r, 2000))); return b; }
    case 4: { // one part replaced by garbage or by broken XML
      const victim = pick(r, entries);
      const junk = pick(r, [
        () => bytesOf(r, int(r, 3000)),
        () => L('<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="s"><v>99999</v></c>'),
        () => L(`<worksheet>${'<x>'.repeat(20_000)}`),
        () => L('<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>序号</t></is></c></row></sheetData></worksheet>'),
        () => L('<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><sst>&c;&c;&c;</sst>'),
      ])();
      return rezip(form, (name) => (name === victim ? junk : undefined));
    }
    case 5: { // a part's text edited in place (a cell value, a tag name)
      const victim = pick(r, entries);
      return rezip(form, (name, data) => {
        if (name !== victim) return undefined;
        const s = data.toString('utf8');
        const i = int(r, s.length);
        return Buffer.from(s.slice(0, i) + pick(r, ['<', '>', '&', '"', '\u0000', '</row>', '<c r="A0">', 'r="-1"', '\ud800']) + s.slice(i + int(r, 20)), 'utf8');
      });
    }
    case 6: return rezip(form, (name) => (name === pick(r, entries) ? Buffer.alloc(0) : undefined));
    default: return Buffer.concat([b, bytesOf(r, int(r, 5000))]); // trailing junk
  }
}

// ── random MIME structures ──
const CHARSETS = ['utf-8', 'gbk', 'GB18030', 'gb2312', 'x-unknown-charset', '', 'utf-7', 'iso-2022-jp', 'big5'];
const ENCODINGS = ['7bit', '8bit', 'base64', 'quoted-printable', 'x-uuencode', 'binary', 'bogus'];
function randomText(r: Rng, n: number): string {
  return pick(r, [
    () => bytesOf(r, n).toString('latin1'),
    () => '测试内容自动回复退信'.repeat(1 + int(r, 5)),
    () => 'A'.repeat(n) + '=\r\n=ZZ=4',
    () => '=?GBK?B?' + bytesOf(r, n).toString('base64') + '?=',
    () => '=?UTF-8?Q?=E6=B5=8B=?=',
  ])();
}
function randomName(r: Rng): string {
  return pick(r, [
    () => `name="${randomText(r, 10)}.xlsx"`,
    () => `name="=?GBK?B?${bytesOf(r, 12).toString('base64')}?="`,
    () => `name*=UTF-8''%E5%8F%B0%ZZ%E8.xlsx`,
    () => `name*0*=GBK''%BD%F8; name*2*=%D5%B9.xlsx; name*1=x`,
    () => 'name=',
    () => `name="${'长'.repeat(500)}.xlsx"`,
    () => '',
  ])();
}
function randomPart(r: Rng, depth: number, ctx: { form: Buffer; requestId: string }): string {
  const kind = depth > 3 ? int(r, 5) : int(r, 9);
  const ct = (v: string) => `Content-Type: ${v}\r\nContent-Transfer-Encoding: ${pick(r, ENCODINGS)}\r\n`;
  switch (kind) {
    case 0: return `${ct(`text/plain; charset="${pick(r, CHARSETS)}"`)}\r\n${randomText(r, 200)}\r\n`;
    case 1: return `${ct('text/html')}\r\n<html><body>${randomText(r, 100)}<img src="cid:x"></body>\r\n`;
    case 2: { // an attachment: random bytes, the form, or a broken form
      const content = pick(r, [() => bytesOf(r, int(r, 4000)), () => ctx.form, () => ctx.form.subarray(0, int(r, ctx.form.length))])();
      return `Content-Type: ${pick(r, ['application/octet-stream', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', 'application/vnd.ms-excel', 'text/csv', 'image/png'])}; ${randomName(r)}\r\n` +
        `Content-Disposition: ${pick(r, ['attachment', 'inline', 'bogus'])}; ${randomName(r).replace(/^name/, 'filename')}\r\nContent-Transfer-Encoding: base64\r\n\r\n${content.toString('base64').replace(/.{76}/g, '$&\r\n')}\r\n`;
    }
    case 3: return `Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; x\r\n\r\nFinal-Recipient: rfc822; ${pick(r, [P.fz.email, 'x', ''])}\r\nAction: ${pick(r, ['failed', 'delayed', ''])}\r\nStatus: ${pick(r, ['5.1.1', '4.0.0', 'x'])}\r\n`;
    case 4: return `Content-Type: text/rfc822-headers\r\n\r\nMessage-ID: ${pick(r, [ctx.requestId, '<x@y>', ''])}\r\nTo: ${P.fz.email}\r\n`;
    case 5: return `Content-Type: message/rfc822\r\n\r\n${randomMessage(r, depth + 1, ctx)}`;
    default: { // a multipart, sometimes with a broken or missing closing boundary
      const boundary = pick(r, ['b', 'B-1', '=_x', '"', '----=_NextPart_' + int(r, 1e6), '']) + depth;
      const sub = pick(r, ['mixed', 'alternative', 'related', 'report; report-type=delivery-status', 'digest']);
      const n = int(r, 4);
      const parts = Array.from({ length: n }, () => `--${boundary}\r\n${randomPart(r, depth + 1, ctx)}`).join('');
      const close = pick(r, [`--${boundary}--\r\n`, '', `--${boundary}\r\n`, `--${boundary.slice(1)}--\r\n`]);
      return `Content-Type: multipart/${sub}; boundary="${boundary}"\r\n\r\npreamble\r\n${parts}${close}epilogue\r\n`;
    }
  }
}
function randomMessage(r: Rng, depth: number, ctx: { form: Buffer; requestId: string }): string {
  const heads = [
    `From: ${pick(r, [P.fz.email, `"${randomText(r, 8)}" <${P.fz.email}>`, 'MAILER-DAEMON@mx.fuzz.test', 'stranger@fuzz.test', 'garbage', '', '<>'])}`,
    `To: ${pick(r, ['6666209@163.com', '', 'undisclosed-recipients:;'])}`,
    `Subject: ${randomText(r, 30)}`,
    pick(r, [`Message-ID: <fuzz.${int(r, 1e9)}@fuzz.test>`, 'Message-ID: <>', 'Message-ID: no-brackets', '']),
    pick(r, [`In-Reply-To: ${ctx.requestId}`, `References: ${ctx.requestId} <x@y>`, 'In-Reply-To: <<<', '']),
    pick(r, ['Auto-Submitted: auto-replied', 'Auto-Submitted: no', 'Precedence: bulk', 'X-Autoreply: yes', 'Return-Path: <>', '', '']),
    pick(r, ['Date: Sun, 21 Jun 2020 08:00:00 +0800', 'Date: yesterday', '']),
    'MIME-Version: 1.0',
  ].filter(Boolean);
  if (depth > 20) return `${heads.join('\r\n')}\r\n\r\ntoo deep\r\n`;
  // Now and then a very deep nesting of multiparts.
  if (depth === 0 && r() < 0.05) {
    let body = 'bottom\r\n';
    for (let d = 0; d < 300; d++) body = `Content-Type: multipart/mixed; boundary="d${d}"\r\n\r\n--d${d}\r\n${body}--d${d}--\r\n`;
    return `${heads.join('\r\n')}\r\n${body}`;
  }
  return `${heads.join('\r\n')}\r\n${randomPart(r, depth, ctx)}`;
}

// ── the corpus ──
interface Sample { name: string; raw: Buffer }
const OUTCOMES = new Set(['accepted', 'held', 'confirmed', 'duplicate', 'note', 'rejected', 'quarantined', 'machine', 'bounce']);
const EML = ['163-auto-reply.eml', '163-bounce.eml', 'foxmail-reply-gbk.eml', 'newsletter-bulk.eml', 'outlook-auto-reply.eml', 'outlook-reply-suppress.eml', 'postfix-bounce.eml', 'raw-gbk-filename.eml', 'thunderbird-rfc2231.eml'];

async function composeReply(request: Parsed, from: string, attachment: { filename: string; content: Buffer; contentType?: string }, id: string): Promise<Buffer> {
  return new MailComposer({
    from, to: '6666209@163.com', subject: `回复:${request.subject}`, text: '已填写,请查收。', messageId: `<${id}@fuzz.test>`,
    date: new Date('2020-06-21T00:00:00Z'), inReplyTo: request.messageId, references: [request.messageId!], attachments: [attachment],
    baseBoundary: 'fuzz',
  } as ConstructorParameters<typeof MailComposer>[0]).compile().build();
}

let stack: ReturnType<typeof mail>;
let project: Project;
const corpus: Sample[] = [];
let goodForm: Buffer;
let goodReply: Buffer;

beforeAll(async () => {
  stack = mail();
  project = makeProject(stack, (doc) => {
    addPeople(doc, P);
    doc.secret = 'fuzz-secret-not-for-production'; // the same form tokens every run
  });
  const t = await project.tick('2020-06-20T09:00:00+08:00');
  expect(t.code, t.stderr).toBe(0);
  const filled = await filledForm(project, P.fz.email, (no) => ({ progress: `第${no}项进展`, remark: '备注' }));
  // The same bytes every run: no zip timestamps (stored entries), no creation dates.
  goodForm = rezip(filled.content, (name, data) => (name === 'docProps/core.xml'
    ? Buffer.from(data.toString('utf8').replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, '2020-06-20T01:00:00Z'))
    : undefined));
  const request = filled.request;
  const entries = readZipDirectory(goodForm).map((e) => e.name);
  goodReply = await composeReply(request, P.fz.email, { filename: filled.filename, content: goodForm }, 'fuzz-good');
  const r = prng(20200620);
  const bases = [...EML.map((f) => fixture(`eml/${f}`)), goodReply, goodReply];
  for (let i = 0; i < 160; i++) corpus.push({ name: `mail-${i}`, raw: mutateMail(r, pick(r, bases)) });
  for (let i = 0; i < 90; i++) corpus.push({ name: `mime-${i}`, raw: L(randomMessage(r, 0, { form: goodForm, requestId: request.messageId! })) });
  for (let i = 0; i < 110; i++) {
    const content = mutateSheet(r, goodForm, entries);
    const filename = pick(r, [filled.filename, '台账.xls', '进展.ods', 'noext', '表.csv', '.xlsx', '报表.xlsm', '表.et']);
    const contentType = pick(r, [undefined, 'application/octet-stream', 'application/vnd.ms-excel']);
    corpus.push({ name: `sheet-${i}`, raw: await composeReply(request, P.fz.email, { filename, content, contentType }, `fuzz-sheet-${i}`) });
  }
}, 120_000);

describe('fuzz', () => {
  it('every malformed mail and spreadsheet gets a definite outcome; the pool still works after', async () => {
    expect(corpus.length).toBeGreaterThanOrEqual(350);
    // A copy of the project's state (requests, secret, forms), so the fuzz never touches the real one.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'taizhang-fuzz-'));
    const dataDir = path.join(dir, 'data');
    cpSync(project.dataDir, dataDir, { recursive: true });
    const doc = structuredClone(project.config);
    doc.data_dir = dataDir;
    const config = parseConfig(doc, path.join(dir, 'taizhang.yaml'), { ...process.env, TAIZHANG_MAIL_PASSWORD: stack.password });
    const ctx: Context = openContext(config, silentLogger, { clock: { now: () => new Date('2020-06-21T01:00:00Z') } });
    await ctx.pool.close();
    ctx.pool = createParsePool({ timeoutMs: 5_000 });
    mkdirSync(path.join(dir, 'raw'));
    const outcomes: Record<string, number> = {};
    const failures: string[] = [];
    let passed = false;
    try {
      // Analyse four at a time (like collect), decide and apply in order.
      let next = 0;
      const results = new Map<number, Promise<Awaited<ReturnType<typeof analyzeMessage>> | Error>>();
      const analyse = (i: number) => {
        const file = path.join(dir, 'raw', `${i}.eml`);
        writeFileSync(file, corpus[i].raw);
        return analyzeMessage(ctx, file).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))));
      };
      for (; next < Math.min(4, corpus.length); next++) results.set(next, analyse(next));
      for (let i = 0; i < corpus.length; i++) {
        const a = await results.get(i)!;
        results.delete(i);
        if (next < corpus.length) { results.set(next, analyse(next)); next++; }
        const row = ctx.store.insertMessage({
          mailbox: 'INBOX', uidvalidity: 1, uid: i + 1, messageId: null, sha256: contentHash(corpus[i].raw),
          rawPath: path.join(dir, 'raw', `${i}.eml`), receivedAt: '2020-06-21T00:00:00.000Z', from: null, subject: null,
        });
        if (a instanceof Error) {
          failures.push(`${corpus[i].name} (${path.join(dir, 'raw', `${i}.eml`)}): analyze threw ${a.stack ?? a.message}`);
          continue;
        }
        try {
          const d = decideMessage(ctx, row, a);
          await applyDecision(ctx, row, a, d);
          ctx.store.updateMessage(row.id, { state: 'done', outcome: d.outcome });
          outcomes[d.outcome] = (outcomes[d.outcome] ?? 0) + 1;
          if (!OUTCOMES.has(d.outcome)) failures.push(`${corpus[i].name}: outcome ${d.outcome}`);
        } catch (err) {
          failures.push(`${corpus[i].name} (${path.join(dir, 'raw', `${i}.eml`)}): decide/apply threw ${(err as Error).stack ?? String(err)}`);
        }
      }
      expect(failures).toEqual([]);
      // The corpus reaches every branch worth reaching.
      for (const o of ['rejected', 'machine', 'bounce', 'quarantined']) expect(outcomes[o] ?? 0, `${o} in ${JSON.stringify(outcomes)}`).toBeGreaterThan(0);
      // The pool still reads a good reply and its form.
      const goodFile = path.join(dir, 'raw', 'good.eml');
      writeFileSync(goodFile, goodReply);
      const [good] = (await analyzeMessage(ctx, goodFile)).files;
      expect(good.ok && good.rows.filter((x) => x.progress !== '')).toHaveLength(3);
      passed = true;
    } finally {
      await ctx.close();
      if (passed) rmSync(dir, { recursive: true, force: true }); // kept when failing: the samples reproduce it
    }
  }, 150_000);

  it('through a real tick: nothing crashes, nothing is lost, and a good reply afterwards is accepted', async () => {
    // Every sixth sample, straight into the collection mailbox.
    let delivered = 0;
    for (let i = 0; i < corpus.length; i += 6) {
      try {
        await stack.deliver(corpus[i].raw, [project.mailbox], 'fuzz@fuzz.test');
        delivered++;
      } catch {
        // The server refused it outright (nothing reached the mailbox): not ours to keep.
      }
    }
    expect(delivered).toBeGreaterThan(40);
    const t = await project.tick('2020-06-21T09:00:00+08:00');
    expect(t.code, t.stderr).toBe(0);

    const folders = await collectionFolders(stack, project);
    const total = Object.values(folders).reduce((n, l) => n + l.length, 0);
    expect(total).toBe(delivered);
    const store = Store.open(project.dataDir, { readonly: true });
    try {
      const rows = store.db.prepare('SELECT state, moved, target_folder FROM messages').all() as { state: string; moved: number; target_folder: string | null }[];
      expect(rows).toHaveLength(delivered);
      const retry = rows.filter((x) => x.state !== 'done');
      // What is not done stays in the INBOX for the next tick; what is done was moved to its folder.
      expect(folders.INBOX).toHaveLength(retry.length);
      for (const x of rows.filter((y) => y.state === 'done')) {
        expect(x.moved).toBe(1);
        expect(Object.values(FOLDERS)).toContain(x.target_folder);
      }
      for (const f of Object.values(FOLDERS)) {
        expect(folders[f].length, f).toBe(rows.filter((x) => x.state === 'done' && x.target_folder === f).length);
      }
    } finally {
      store.close();
    }

    // The service still works: a good reply is read, recorded and answered.
    const f = await filledForm(project, P.after.email, (no) => ({ progress: `之后的第${no}项` }));
    const mid = await send(stack, project, { from: P.after.email, replyTo: f.request, attachments: [{ filename: f.filename, content: f.content }] });
    const t2 = await project.tick('2020-06-21T10:00:00+08:00');
    expect(t2.code, t2.stderr).toBe(0);
    const [receipt] = await answersTo(project, P.after.email, mid);
    expect(receipt?.subject).toBe('【回执】已收到您2020年6月的进展情况');
    const s = await project.status('2020-06');
    expect(s.people.find((p: { email: string }) => p.email === P.after.email)).toMatchObject({ status: 'submitted', reports: 1 });
  }, 150_000);
});
