/**
 * Deciding against the store and recording the decision: a real store file in a temp folder,
 * the shipped templates and the real outbox (queueing only; nothing is sent here).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app/config.js';
import { ledgerKeyOf, personKeyOf } from '../../src/core/identity.js';
import { tasksOf, type Person } from '../../src/core/ledger.js';
import { applyDecision, decideMessage, type ApplyContext } from '../../src/cycle/apply.js';
import { DAILY_LIMIT } from '../../src/cycle/answer.js';
import { statusJson } from '../../src/cycle/status.js';
import { silentLogger } from '../../src/logger.js';
import { Outbox } from '../../src/mail/outbox.js';
import { Templates } from '../../src/mail/templates.js';
import type { Analysis } from '../../src/parse/analyze.js';
import { Store } from '../../src/store/store.js';

const config = loadConfig(path.join(import.meta.dirname, '..', '..', 'config', 'taizhang.example.yaml'), { TAIZHANG_MAIL_PASSWORD: 'x' });
const [ai, wang] = config.people;
const NOW = new Date('2020-06-26T01:00:00Z');

let dir: string;
let ctx: ApplyContext;
let store: Store;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tz-apply-'));
  store = Store.open(dir);
  ctx = { config, store, clock: { now: () => NOW }, log: silentLogger, templates: new Templates(), outbox: new Outbox(store, config, silentLogger) };
  store.markRequestsStarted('2020-06', '2020-06-20T01:00:00.000Z');
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Every task of the person filled in, on a form of ours. */
function form(p: Person, progress: string) {
  const token = { ledgerKey: ledgerKeyOf(config.ledger.title), period: '2020-06', personKey: personKeyOf(p) };
  return { filename: 'f.xlsx', ok: true as const, token, rows: tasksOf(config.ledger, p.name).map((t) => ({ no: t.no, progress, remark: '' })) };
}

function analysis(over: Partial<Analysis> = {}): Analysis {
  return { messageId: '<r1@ai>', from: ai.email, subject: 'Re: 请填报', date: null, references: [], class: { kind: 'human' }, attachmentCount: 1, files: [form(ai, '已完成')], ...over };
}

let uid = 0;
function stored(a: Analysis, receivedAt = '2020-06-25T02:00:00.000Z') {
  return store.insertMessage({ mailbox: 'INBOX', uidvalidity: 1, uid: ++uid, messageId: a.messageId, sha256: `sha-${a.messageId}`, rawPath: '', receivedAt, from: a.from, subject: a.subject });
}

async function receipt(person: string, rowId: number) {
  const [o] = store.outboxFor('receipt', '2020-06', person).filter((r) => r.slot === `msg-${rowId}`);
  return { row: o, mail: await simpleParser(store.outboxRaw(o.id)!) };
}

describe('decideMessage and applyDecision', () => {
  it('records an accepted report once and queues one receipt, in the thread of the reply', async () => {
    const a = analysis({ references: ['<req@office>'] });
    const row = stored(a);
    const d = decideMessage(ctx, row, a);
    expect(d).toMatchObject({ outcome: 'accepted', person: ai, period: '2020-06' });
    await applyDecision(ctx, row, a, d);
    await applyDecision(ctx, row, a, d);
    expect(store.reportTally('2020-06').get(ai.id)).toEqual({ count: 1, anyOnTime: true });
    expect(store.currentReports('2020-06').get(ai.id)).toMatchObject({ message_row: row.id, late: 0, sender: ai.email });
    expect(store.outboxFor('receipt', '2020-06', ai.id)).toHaveLength(1);
    const { row: out, mail } = await receipt(ai.id, row.id);
    expect(out.recipients).toBe(ai.email);
    expect(mail.subject).toBe('【回执】已收到您2020年6月的进展情况');
    expect(mail.text).toContain('2020年6月25日 10:00收到您2020年6月的进展情况');
    expect(mail.inReplyTo).toBe('<r1@ai>');
    expect(mail.references).toEqual(['<req@office>', '<r1@ai>']);
  });

  it('a report that arrived after the ledger went out is late, and the ledger is to be updated', async () => {
    store.markConsolidated('2020-06', '2020-07-01T00:00:00.000Z');
    const a = analysis();
    const row = stored(a, '2020-07-01T02:00:00.000Z');
    await applyDecision(ctx, row, a, decideMessage(ctx, row, a));
    expect(store.currentReports('2020-06').get(ai.id)?.late).toBe(1);
    expect(store.period('2020-06')?.dirty).toBe(1);
    expect((await receipt(ai.id, row.id)).mail.text).toContain('已按逾期报送登记');
    // status says the same of it
    expect(statusJson(config, store, '2020-06', NOW).people.find((p) => p.id === ai.id)?.status).toBe('late');
  });

  it('a correction after the ledger of a report that came in time: neither the receipt nor status calls it late', async () => {
    const first = analysis();
    const on = stored(first);
    await applyDecision(ctx, on, first, decideMessage(ctx, on, first));
    store.updateMessage(on.id, { state: 'done' });
    store.markConsolidated('2020-06', '2020-07-01T00:00:00.000Z');
    const fix = analysis({ messageId: '<fix@ai>', subject: '更正：6月进展', files: [form(ai, '更正后的进展')] });
    const row = stored(fix, '2020-07-01T02:00:00.000Z');
    await applyDecision(ctx, row, fix, decideMessage(ctx, row, fix));
    expect(store.currentReports('2020-06').get(ai.id)).toMatchObject({ message_row: row.id, late: 1 });
    const { text } = (await receipt(ai.id, row.id)).mail;
    expect(text).toContain('本次为更正');
    expect(text).not.toContain('逾期');
    expect(statusJson(config, store, '2020-06', NOW).people.find((p) => p.id === ai.id)?.status).toBe('submitted');
  });

  it('every mail ends with the office, the date it was written, and the office\'s contact when configured', async () => {
    const a = analysis();
    const row = stored(a);
    await applyDecision(ctx, row, a, decideMessage(ctx, row, a));
    const plain = (await receipt(ai.id, row.id)).mail.text ?? '';
    expect(plain).toContain('如有疑问，请与办公室联系。');
    expect(plain).toMatch(new RegExp(`\\n${config.mailbox.senderName}\\n2020年6月26日\\n（本邮件由台账系统自动发送）`));
    ctx = { ...ctx, config: { ...config, officePhone: '0393-1234567', officeContact: '张三' } };
    const again = analysis({ messageId: '<r9@ai>' });
    const row2 = stored(again);
    await applyDecision(ctx, row2, again, decideMessage(ctx, row2, again));
    const mail = (await receipt(ai.id, row2.id)).mail;
    expect(mail.text).toContain('如有疑问，请与办公室联系（联系人：张三，电话：0393-1234567）。');
    expect(mail.html).toContain('如有疑问，请与办公室联系（联系人：张三，电话：0393-1234567）。');
    expect(mail.html).toContain(`${config.mailbox.senderName}<br>2020年6月26日`);
  });

  it('reads the store for repeats, notes after a report, and the thread of our own mail', async () => {
    const first = analysis();
    const row = stored(first);
    await applyDecision(ctx, row, first, decideMessage(ctx, row, first));
    store.updateMessage(row.id, { state: 'done' });
    // The same message delivered again (same bytes and Message-ID, another UID).
    expect(decideMessage(ctx, stored(first), first).outcome).toBe('duplicate');
    // A word of thanks without a form after the report.
    const thanks = analysis({ messageId: '<r2@ai>', attachmentCount: 0, files: [] });
    expect(decideMessage(ctx, stored(thanks), thanks).outcome).toBe('note');
    // 艾延坤 answering 王群才's request with a copy of the table without our identity.
    store.enqueue({ kind: 'request', period: '2020-05', person: wang.id, slot: 'first', recipients: [wang.email], messageId: '<req-wang@office>', subject: 's', raw: Buffer.from('x'), now: '2020-05-20T01:00:00.000Z' });
    const forWang = analysis({ messageId: '<r3@ai>', references: ['<req-wang@office>'], files: [{ ...form(wang, '代填'), token: null }] });
    const d = decideMessage(ctx, stored(forWang), forWang);
    expect(d).toMatchObject({ outcome: 'accepted', person: wang, period: '2020-05', match: { via: 'thread' } });
  });

  it('a rejected reply is answered with what to fix, and nothing is recorded', async () => {
    const a = analysis({ files: [{ filename: 'f.xls', ok: false, code: 'SHEET_UNSUPPORTED', kind: 'xls', message: 'BIFF8' }] });
    const row = stored(a);
    const d = decideMessage(ctx, row, a);
    expect(d.outcome).toBe('rejected');
    await applyDecision(ctx, row, a, d);
    expect(store.reportTally('2020-06').size).toBe(0);
    const { mail } = await receipt(ai.id, row.id);
    expect(mail.subject).toBe('【请补正】您的报送未能登记');
    expect(mail.text).toContain('.xls');
  });

  it('a bounce counts only when it names a Message-ID of a mail we sent', async () => {
    for (const p of [ai, wang]) {
      store.enqueue({ kind: 'request', period: '2020-06', person: p.id, slot: 'first', recipients: [p.email], messageId: `<req-${p.email}>`, subject: 's', raw: Buffer.from('x'), now: '2020-06-20T01:00:00.000Z' });
      store.markSent(store.outboxByMessageId(`<req-${p.email}>`)!.id, '2020-06-20T01:00:01.000Z');
    }
    const byId = analysis({ class: { kind: 'bounce', reason: '5.1.1', originalMessageId: `<req-${ai.email}>`, failedRecipients: [] }, files: [] });
    // A stranger's DSN naming an address and no mail of ours, or a Message-ID we never used, or a delay.
    const byAddress = analysis({ messageId: '<b2@x>', class: { kind: 'bounce', reason: '5.1.1', failedRecipients: [wang.email.toUpperCase()] }, files: [] });
    const foreign = analysis({ messageId: '<b3@x>', class: { kind: 'bounce', reason: '5.1.1', originalMessageId: '<guessed@office>', failedRecipients: [wang.email] }, files: [] });
    const delay = analysis({ messageId: '<b4@x>', class: { kind: 'bounce', reason: '4.4.7', originalMessageId: `<req-${wang.email}>`, failedRecipients: [], delayedOnly: true }, files: [] });
    for (const a of [byId, byAddress, foreign, delay]) {
      const row = stored(a);
      const d = decideMessage(ctx, row, a);
      expect(d.outcome).toBe('bounce');
      await applyDecision(ctx, row, a, d);
    }
    expect(store.outboxByMessageId(`<req-${ai.email}>`)?.bounced_at).toBe(NOW.toISOString());
    expect(store.outboxByMessageId(`<req-${wang.email}>`)?.bounced_at).toBeNull();
    expect(store.outboxFor('receipt', '2020-06', ai.id)).toEqual([]);
  });

});

describe('reports sent by someone other than their owner', () => {
  const handle = async (a: Analysis) => {
    const row = stored(a);
    const d = decideMessage(ctx, row, a);
    await applyDecision(ctx, row, a, d);
    store.updateMessage(row.id, { state: 'done' });
    return { row, d };
  };
  const notices = async (person: string) => Promise.all(store.outboxFor('notice', '2020-06', person).map(async (o) => ({ row: o, mail: await simpleParser(store.outboxRaw(o.id)!) })));

  it('from outside the roster: recorded when the owner has none, the owner told with the words, the sender told without them', async () => {
    const phish = '请点击 http://evil.example/login 核对';
    const { row, d } = await handle(analysis({ messageId: '<s1@evil>', from: 'someone@evil.example', files: [form(ai, phish)] }));
    expect(d).toMatchObject({ outcome: 'accepted', person: ai });
    expect(store.currentReports('2020-06').get(ai.id)).toMatchObject({ sender: 'someone@evil.example' });
    const { row: out, mail } = await receipt(ai.id, row.id);
    expect(out.recipients).toBe('someone@evil.example');
    expect(mail.text).not.toContain('evil.example/login');
    expect(mail.html).not.toContain('evil.example/login');
    expect(mail.text).toContain('本回执不转述所填内容');
    const [n] = await notices(ai.id);
    expect(n.row.recipients).toBe(ai.email);
    expect(n.mail.subject).toBe('【代报通知】您2020年6月的进展情况已由他人报送');
    expect(n.mail.text).toContain('2020年6月25日 10:00，someone@evil.example以您的名义报送了2020年6月的进展情况');
    expect(n.mail.text).toContain(`进展情况：${phish}`);
    expect(n.mail.text).toContain('如内容有误，请回复本邮件并附上您本人填写的表格');
  });

  it('a flood from one address outside the roster: at most DAILY_LIMIT receipts, and as many notices to the owner, a day', async () => {
    for (let i = 0; i < 8; i++) await handle(analysis({ messageId: `<f${i}@evil>`, from: 'flood@evil.example', files: [form(ai, `第${i}次`)] }));
    const toFlood = store.outboxFor('receipt', '2020-06', ai.id).filter((o) => o.recipients === 'flood@evil.example');
    expect(toFlood).toHaveLength(DAILY_LIMIT);
    expect(store.outboxFor('notice', '2020-06', ai.id)).toHaveLength(DAILY_LIMIT);
    // Only the first was recorded: ai had no report then; the rest wait for ai's consent.
    expect(store.currentReports('2020-06').get(ai.id)?.rows[0].progress).toBe('第0次');
    expect(store.reportTally('2020-06').get(ai.id)?.count).toBe(1);
  });

  it('a colleague\'s form over the owner\'s report is held; the owner\'s 确认 in the notice\'s thread applies it', async () => {
    await handle(analysis({ messageId: '<own@wang>', from: wang.email, files: [form(wang, '王本人的完整报送')] }));
    const { row, d } = await handle(analysis({ messageId: '<ref@ai>', from: ai.email, files: [form(wang, '给艾参考的旧表')] }));
    expect(d).toMatchObject({ outcome: 'held', person: wang, hold: true });
    expect(store.currentReports('2020-06').get(wang.id)?.rows[0].progress).toBe('王本人的完整报送');
    const { mail: toAi } = await receipt(wang.id, row.id);
    expect(toAi.subject).toBe('【待确认】王群才2020年6月的进展情况需本人确认');
    expect(toAi.text).toContain('本次暂未登记，已通知王群才本人确认');
    expect(toAi.text).toContain('您附上的是王群才的表格。如您本意是报送本人的进展情况，请使用您本人的表格重新回复。');
    const [n] = await notices(wang.id);
    expect(n.mail.subject).toBe('【请确认】他人以您的名义报送了2020年6月的进展情况');
    expect(n.mail.text).toContain(`${ai.name}（${ai.department}，${ai.email}）以您的名义报送了`);
    expect(n.mail.text).toContain('进展情况：给艾参考的旧表');
    // A word that is not a consent changes nothing (a question goes to the office); 确认 does.
    const noticeId = n.row.message_id;
    expect((await handle(analysis({ messageId: '<q@wang>', from: wang.email, files: [], attachmentCount: 0, references: [noticeId], lead: '这是什么?' }))).d).toMatchObject({ outcome: 'rejected', forward: 'forward' });
    expect(store.currentReports('2020-06').get(wang.id)?.rows[0].progress).toBe('王本人的完整报送');
    const yes = await handle(analysis({ messageId: '<yes@wang>', from: wang.email, files: [], attachmentCount: 0, references: [noticeId], lead: '确认' }));
    expect(yes.d).toMatchObject({ outcome: 'confirmed', person: wang });
    expect(store.currentReports('2020-06').get(wang.id)).toMatchObject({ sender: ai.email, message_row: yes.row.id });
    expect(store.currentReports('2020-06').get(wang.id)?.rows[0].progress).toBe('给艾参考的旧表');
    const { mail: confirmed } = await receipt(wang.id, yes.row.id);
    expect(confirmed.text).toContain(`收到您的确认，已将${ai.email}以您的名义报送的内容登记为您2020年6月的进展情况`);
    // Confirming twice applies it once.
    await handle(analysis({ messageId: '<yes2@wang>', from: wang.email, files: [], attachmentCount: 0, references: [noticeId], lead: '确认' }));
    expect(store.reportTally('2020-06').get(wang.id)?.count).toBe(2);
  });
});
