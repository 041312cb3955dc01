/**
 * Applying the decision on a reply without a form against a real store: a text for the office is
 * forwarded exactly once (or, with `text_replies: desk`, only kept), the receipt carries the form
 * again, and a report typed in the body is recorded with what it said.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/app/config.js';
import { applyDecision, decideMessage, type ApplyContext } from '../../src/cycle/apply.js';
import { silentLogger } from '../../src/logger.js';
import { Outbox } from '../../src/mail/outbox.js';
import { Templates } from '../../src/mail/templates.js';
import type { Analysis } from '../../src/parse/analyze.js';
import { Store } from '../../src/store/store.js';

const base = loadConfig(path.join(import.meta.dirname, '..', '..', 'config', 'taizhang.example.yaml'), { TAIZHANG_MAIL_PASSWORD: 'x' });
const ma = base.people.find((p) => p.name === '马红霞')!;
const NOW = new Date('2020-06-21T04:00:00Z');
const RAW = 'From: mahongxia@example.com\r\nTo: 6666209@163.com\r\nSubject: question\r\nMessage-ID: <q1@ma>\r\n\r\nwhere?\r\n';

let dir: string;
let store: Store;
const context = (config: Config): ApplyContext => ({
  config: { ...config, dataDir: dir }, store, clock: { now: () => NOW }, log: silentLogger, templates: new Templates(),
  outbox: new Outbox(store, config, silentLogger), secret: 's3cret',
});

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tz-apply-body-'));
  store = Store.open(dir);
  store.markRequestsStarted('2020-06', '2020-06-20T01:00:00.000Z');
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

function message(body: string) {
  const raw = path.join(dir, 'q.eml');
  writeFileSync(raw, RAW);
  const a: Analysis = { messageId: '<q1@ma>', from: ma.email, subject: '回复：请填报', date: null, references: [], class: { kind: 'human' }, attachmentCount: 0, files: [], body, lead: body.split('\n')[0] };
  const row = store.insertMessage({ mailbox: 'INBOX', uidvalidity: 1, uid: 1, messageId: a.messageId, sha256: 'h', rawPath: raw, receivedAt: '2020-06-21T03:00:00.000Z', from: a.from, subject: a.subject });
  return { a, row };
}

async function handle(ctx: ApplyContext, body: string) {
  const { a, row } = message(body);
  const d = decideMessage(ctx, row, a);
  await applyDecision(ctx, row, a, d);
  await applyDecision(ctx, row, a, d); // a retry after a crash: nothing twice
  return d;
}

describe('a text for the office', () => {
  it('forward (the default): one forward to the office addresses with the original attached, one receipt with the form', async () => {
    const ctx = context(base);
    const d = await handle(ctx, '请问第14项是否由我牵头？');
    expect(d).toMatchObject({ outcome: 'rejected', forward: 'forward' });
    const [fw, ...more] = store.outboxFor('forward', '2020-06', ma.id);
    expect(more).toEqual([]);
    expect(fw.recipients).toBe('office@example.com');
    const forward = await simpleParser(store.outboxRaw(fw.id)!);
    expect(forward.text).toContain('请问第14项是否由我牵头？');
    expect(store.outboxRaw(fw.id)!.toString()).toContain(RAW.trim());
    const [r, ...again] = store.outboxFor('receipt', '2020-06', ma.id);
    expect(again).toEqual([]);
    const receipt = await simpleParser(store.outboxRaw(r.id)!);
    expect(receipt.subject).toBe('【已转交】您的来信已转交办公室');
    expect(receipt.attachments.map((x) => x.filename)).toEqual(['台账进展情况-2020年6月-马红霞.xlsx']);
    expect(store.hasCurrentReport('2020-06', ma.id)).toBe(false);
  });

  it('desk: nothing forwarded; the receipt says the office has it', async () => {
    const ctx = context({ ...base, textReplies: 'desk' });
    expect(await handle(ctx, '请问第14项是否由我牵头？')).toMatchObject({ outcome: 'rejected', folder: 'rejected', forward: 'desk' });
    expect(store.outboxFor('forward', '2020-06', ma.id)).toEqual([]);
    const [r] = store.outboxFor('receipt', '2020-06', ma.id);
    const receipt = await simpleParser(store.outboxRaw(r.id)!);
    expect(receipt.subject).toBe('【已收到】您的来信已提交办公室处理');
    expect(receipt.text).toContain('已提交办公室处理，办公室将阅处并与您联系。');
    expect(receipt.attachments).toHaveLength(1);
  });
});

it('a report typed in the body: recorded once, the receipt echoing each task', async () => {
  const ctx = context(base);
  const d = await handle(ctx, '13. 已完成测试\n\n发自我的iPhone');
  expect(d).toMatchObject({ outcome: 'accepted' });
  expect(store.currentReport('2020-06', ma.id)?.rows).toEqual([{ no: 13, progress: '已完成测试', remark: '' }]);
  expect(store.reportsOf('2020-06')).toHaveLength(1);
  const [r] = store.outboxFor('receipt', '2020-06', ma.id);
  const receipt = await simpleParser(store.outboxRaw(r.id)!);
  expect(receipt.text).toContain('13. 树立重视法治素养和法治能力的用人导向。\n   进展情况：已完成测试');
  expect(receipt.attachments).toHaveLength(0);
});

it('lines only for someone else\'s tasks: 请补正 naming them, the form attached again, nothing recorded', async () => {
  const ctx = context(base);
  expect(await handle(ctx, '1. 替艾延坤报：已起草')).toMatchObject({ outcome: 'rejected', attachForm: true });
  const [r] = store.outboxFor('receipt', '2020-06', ma.id);
  const receipt = await simpleParser(store.outboxRaw(r.id)!);
  expect(receipt.subject).toBe('【请补正】您的报送未能登记');
  expect(receipt.text).toContain('邮件正文中第1项不是您负责的任务，所填内容未予登记。');
  expect(receipt.attachments).toHaveLength(1);
  expect(store.hasCurrentReport('2020-06', ma.id)).toBe(false);
});
