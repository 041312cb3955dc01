/**
 * The month's status from the store: delivery from the outbox rows, the JSON `status --json`
 * prints for a store filled through its own API (a real file in a temp folder), and the text
 * the clerk reads.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app/config.js';
import { defaultPeriod, deliveryOf, statusJson, statusText } from '../../src/cycle/status.js';
import { Store, type OutboxRow } from '../../src/store/store.js';

const config = loadConfig(path.join(import.meta.dirname, '..', '..', 'config', 'taizhang.example.yaml'), { TAIZHANG_MAIL_PASSWORD: 'x' });
const [ai, wang, ma, li] = config.people;
const CLERK = 'clerk@example.com';

describe('deliveryOf', () => {
  let id = 0;
  const row = (kind: OutboxRow['kind'], state: OutboxRow['state'], bounced = false): OutboxRow => ({
    id: ++id, kind, period: '2020-06', person: ai.id, slot: `s${id}`, recipients: ai.email, message_id: `<${id}@o>`, subject: 's',
    state, attempts: 1, next_attempt_at: '', last_error: null, created_at: '', sent_at: null, bounced_at: bounced ? '2020-06-21T00:00:00.000Z' : null,
  });

  it('follows the request, and a reminder that got through', () => {
    expect(deliveryOf([])).toBe('none');
    expect(deliveryOf([row('receipt', 'sent'), row('ledger', 'failed')])).toBe('none');
    expect(deliveryOf([row('request', 'queued')])).toBe('queued');
    expect(deliveryOf([row('request', 'sending')])).toBe('queued');
    expect(deliveryOf([row('request', 'sent')])).toBe('sent');
    expect(deliveryOf([row('request', 'failed')])).toBe('failed');
    expect(deliveryOf([row('request', 'failed'), row('reminder', 'sent')])).toBe('sent');
  });

  it('a bounce of a request or reminder outweighs the rest; of a receipt it does not count', () => {
    expect(deliveryOf([row('request', 'sent'), row('reminder', 'sent', true)])).toBe('bounced');
    expect(deliveryOf([row('request', 'sent', true)])).toBe('bounced');
    expect(deliveryOf([row('request', 'sent'), row('receipt', 'sent', true)])).toBe('sent');
  });
});

describe('status of a month', () => {
  let dir: string;
  let store: Store;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'tz-status-'));
    store = Store.open(dir);
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  let mids = 0;
  function request(p: { id: string; email: string }, state: 'sent' | 'failed', bounced = false): void {
    store.enqueue({ kind: 'request', period: '2020-06', person: p.id, slot: 'first', recipients: [p.email], messageId: `<${++mids}@o>`, subject: '请填报', raw: Buffer.from('x'), now: '2020-06-20T01:00:00.000Z' });
    const { id } = store.outboxFor('request', '2020-06', p.id)[0];
    store.markSending(id);
    if (state === 'sent') store.markSent(id, '2020-06-20T01:00:05.000Z');
    else store.markFailed(id, '550 no such user');
    if (bounced) store.markBounced(id, '2020-06-20T02:00:00.000Z');
  }
  const report = (person: string, sender: string, receivedAt: string, late: boolean) =>
    store.addReport({ period: '2020-06', person, messageRow: null, sender, receivedAt, late, rows: [{ no: 1, progress: '已完成', remark: '' }] });

  /**
   * 艾延坤 reported on time (twice), 王群才's report came late through a clerk, 马红霞's request
   * bounced, 李世想's could not be sent; the ledger went out and the office's server refused it.
   */
  function fill(): void {
    store.markRequestsStarted('2020-06', '2020-06-20T01:00:00.000Z');
    request(ai, 'sent');
    request(wang, 'sent');
    request(ma, 'sent', true);
    request(li, 'failed');
    report(ai.id, ai.email, '2020-06-24T02:30:00.000Z', false);
    report(ai.id, ai.email, '2020-06-25T02:30:00.000Z', false);
    store.markConsolidated('2020-06', '2020-07-01T00:00:00.000Z');
    report(wang.id, CLERK, '2020-07-01T03:00:00.000Z', true);
    store.enqueue({ kind: 'ledger', period: '2020-06', person: null, slot: 'v1', recipients: ['office@example.com'], messageId: '<ledger@o>', subject: '台账', raw: Buffer.from('x'), now: '2020-07-01T00:00:00.000Z' });
    store.markFailed(store.outboxByMessageId('<ledger@o>')!.id, '550 mailbox unavailable');
    for (const uid of [1, 2, 3]) {
      const m = store.insertMessage({ mailbox: 'INBOX', uidvalidity: 1, uid, messageId: null, sha256: `h${uid}`, rawPath: '', receivedAt: '2020-06-22T00:00:00.000Z', from: null, subject: null });
      store.updateMessage(m.id, { state: 'done', outcome: uid === 3 ? 'machine' : 'quarantined' });
    }
  }

  it('as JSON: each person\'s state, the summary, the ledger mail and the quarantine', () => {
    fill();
    const s = statusJson(config, store, '2020-06', new Date('2020-07-02T00:00:00Z'));
    expect(s).toMatchObject({ period: '2020-06', deadline: '2020-06-30', deadlinePassed: true, ledgerSentAt: '2020-07-01T00:00:00.000Z', ledgerVersion: 1, quarantined: 2 });
    expect(s.people).toEqual([
      { id: ai.id, name: ai.name, email: ai.email, department: ai.department, status: 'submitted', label: '已报送', delivery: 'sent', reportedAt: '2020-06-25T02:30:00.000Z', sentBy: null, reports: 2, filled: 1, tasks: 8 },
      { id: wang.id, name: wang.name, email: wang.email, department: wang.department, status: 'late', label: '逾期报送', delivery: 'sent', reportedAt: '2020-07-01T03:00:00.000Z', sentBy: CLERK, reports: 1, filled: 0, tasks: 8 },
      { id: ma.id, name: ma.name, email: ma.email, department: ma.department, status: 'pending', label: '退信', delivery: 'bounced', reportedAt: null, sentBy: null, reports: 0, filled: 0, tasks: 5 },
      { id: li.id, name: li.name, email: li.email, department: li.department, status: 'pending', label: '发送失败', delivery: 'failed', reportedAt: null, sentBy: null, reports: 0, filled: 0, tasks: 1 },
    ]);
    expect(s.summary).toMatchObject({ total: 4, reported: 2, onTime: 1, late: 1, missing: [ma.name, li.name], partial: [ai.name, wang.name], bounced: [ma.name, li.name] });
    expect(s.office).toEqual([{ email: 'office@example.com', slot: 'v1', state: 'failed', error: '550 mailbox unavailable' }]);
  });

  it('before the deadline, with nothing sent yet', () => {
    const s = statusJson(config, store, '2020-06', new Date('2020-06-30T15:59:00Z')); // 23:59 in Shanghai
    expect(s).toMatchObject({ deadlinePassed: false, ledgerSentAt: null, ledgerVersion: 0, quarantined: 0, office: [] });
    expect(s.people.map((p) => [p.status, p.delivery])).toEqual(config.people.map(() => ['pending', 'none']));
    expect(statusJson(config, store, '2020-06', new Date('2020-06-30T16:00:00Z')).deadlinePassed).toBe(true);
  });

  it('as text, in Chinese, with local times', () => {
    fill();
    const text = statusText(statusJson(config, store, '2020-06', new Date('2020-07-02T00:00:00Z')), config);
    const lines = text.split('\n');
    expect(lines[0]).toBe(config.ledger.title);
    expect(lines[1]).toBe('2020年6月 报送情况（截止：2020年6月30日，已截止）');
    expect(lines[2]).toBe('应报 4 人，已报 2 人（按时 1，逾期 1；其中部分填报 2），未报 2 人。 汇总台账已发送（第1版）。');
    const line = (name: string) => lines.find((l) => l.includes(name)) ?? '';
    expect(line(ai.name)).toMatch(/^ {2}已报送 {3}艾延坤（政法科） <aiyankun@example\.com> 2020年6月25日 10:30（部分填报：已填1项，共8项）$/);
    expect(line(wang.name)).toContain(`逾期报送  王群才（办公室） <${wang.email}> 2020年7月1日 11:00（由 ${CLERK} 代报）`);
    expect(line(ma.name)).toMatch(/^ {2}退信 {4}马红霞.* \[退信\]$/);
    expect(line(li.name)).toContain('[发送失败]');
    expect(text).toContain('隔离邮件（来源不明，未回复）：2 封');
    expect(text).toContain('汇总台账发送失败：office@example.com（550 mailbox unavailable）');
  });

  it('shows by default the latest month asked for, else the schedule\'s month', () => {
    expect(defaultPeriod(config, store, new Date('2020-08-21T00:00:00Z'))).toBe('2020-08');
    store.markRequestsStarted('2020-06', '2020-06-20T01:00:00.000Z');
    store.markRequestsStarted('2020-09', '2020-09-20T01:00:00.000Z'); // a test run ahead of time: not yet
    expect(defaultPeriod(config, store, new Date('2020-08-21T00:00:00Z'))).toBe('2020-06');
  });
});
