/**
 * Deciding a reply without a form: a report typed in the body (recorded, adding to the person's
 * report), a no-progress word, a question or other text for the office, a forgotten attachment.
 */
import { describe, expect, it } from 'vitest';
import { decide, type DecideLookups, type IncomingMail } from '../../src/core/decide.js';
import type { Ledger, Person, ReportRow } from '../../src/core/ledger.js';
import { problemFor } from '../../src/core/reply.js';

const ai: Person = { id: 'ai01', name: '艾延坤', department: '政法科', email: 'ai@x.cn' };
const wang: Person = { id: 'wang', name: '王群才', department: '办公室', email: 'wang@x.cn' };
const task = (no: number, title: string, owner: string) => ({ no, task: title, due: '10.31', departments: [], owners: [owner] });
const ledger: Ledger = { title: '重点工作台账', tasks: [task(1, '完善政府立法程序', ai.name), task(2, '提高政府立法公众参与度', ai.name), task(3, '加强行政复议工作', wang.name)] };
const WORDS = ['本月无进展', '本期无进展'];
const config = { ledger, people: [ai, wang], noProgressWords: WORDS };

function mail(body: string, over: Partial<IncomingMail> = {}): IncomingMail {
  return { from: ai.email, references: [], class: { kind: 'human' }, attachmentCount: 0, files: [], body, lead: body.split('\n')[0], ...over };
}

function lookups(over: Partial<DecideLookups> & { earlier?: ReportRow[] } = {}): DecideLookups {
  const { earlier, ...rest } = over;
  return {
    isDuplicate: () => false,
    sentMail: () => undefined,
    openPeriod: () => '2020-06',
    hasCurrentReport: () => !!earlier,
    closed: () => false,
    heldReport: () => undefined,
    currentRows: () => earlier,
    ...rest,
  };
}

describe('decide: progress typed in the body', () => {
  it('recorded for the sender\'s own tasks; the receipt\'s rows are what the mail said', () => {
    const d = decide(mail('王主任：\n1. 已起草\n3. 替王群才报\n\n发自我的iPhone'), config, lookups());
    expect(d).toMatchObject({ outcome: 'accepted', folder: 'processed', person: ai, period: '2020-06' });
    expect(d.report?.rows).toEqual([{ no: 1, progress: '已起草', remark: '' }]);
    expect(d.report?.empty.map((t) => t.no)).toEqual([2]);
    expect(d.body).toEqual({ rows: [{ no: 1, task: '完善政府立法程序', progress: '已起草' }], merged: false, noProgress: false });
    expect(d.notes).toEqual({ filename: null, format: null, foreign: [3], renamed: [] });
    expect(d.logLine).toContain('report typed in the body recorded');
  });

  it('added to the person\'s report for the month: rows not named keep their words (and remarks)', () => {
    const d = decide(mail('2、已公开征求意见'), config, lookups({ earlier: [{ no: 1, progress: '表格里写的', remark: '备注一' }, { no: 2, progress: '', remark: '备注二' }] }));
    expect(d.outcome).toBe('accepted');
    expect(d.report?.rows).toEqual([{ no: 1, progress: '表格里写的', remark: '备注一' }, { no: 2, progress: '已公开征求意见', remark: '备注二' }]);
    expect(d.body?.merged).toBe(true);
  });

  it('本月无进展 as the whole body: every task of the person, or those still empty', () => {
    const all = decide(mail('本月无进展。'), config, lookups());
    expect(all.report?.rows).toEqual([{ no: 1, progress: '本月无进展。', remark: '' }, { no: 2, progress: '本月无进展。', remark: '' }]);
    expect(all.body?.noProgress).toBe(true);
    const rest = decide(mail('本期无进展'), config, lookups({ earlier: [{ no: 1, progress: '已完成', remark: '' }] }));
    expect(rest.report?.rows).toEqual([{ no: 1, progress: '已完成', remark: '' }, { no: 2, progress: '本期无进展', remark: '' }]);
    expect(rest.body?.rows.map((r) => r.no)).toEqual([2]);
    // Nothing left empty: a word of thanks, in effect.
    expect(decide(mail('本月无进展'), config, lookups({ earlier: [{ no: 1, progress: 'a', remark: '' }, { no: 2, progress: 'b', remark: '' }] })).outcome).toBe('note');
  });

  it('a closed month is changed only by the correction route', () => {
    const closed = lookups({ earlier: [{ no: 1, progress: '旧', remark: '' }], closed: () => true });
    expect(decide(mail('1. 新'), config, closed)).toMatchObject({ outcome: 'rejected', problem: problemFor('CLOSED') });
    expect(decide(mail('1. 新', { subject: '更正' }), config, closed)).toMatchObject({ outcome: 'accepted', correction: true });
  });

  it('only someone else\'s tasks named: not recorded, the receipt says which', () => {
    const d = decide(mail('3. 已办结行政复议案件2件'), config, lookups());
    expect(d).toMatchObject({ outcome: 'rejected', folder: 'rejected', problem: problemFor('BODY_FOREIGN'), notes: { foreign: [3] } });
  });

  it('a colleague\'s lines in the person\'s thread are never recorded as the person\'s', () => {
    const thread = lookups({ sentMail: (mid) => (mid === '<req-ai>' ? { period: '2020-06', person: ai.id } : undefined) });
    const d = decide(mail('1. 替艾延坤报：已起草', { from: wang.email, references: ['<req-ai>'] }), config, thread);
    expect(d.person).toEqual(ai);
    expect(d.outcome).not.toBe('accepted');
    expect(d.report).toBeUndefined();
  });
});

describe('decide: a text that names no task', () => {
  it('a question is for the office: forwarded by default, kept for the desk when configured', () => {
    const d = decide(mail('请问第14项是否由我牵头？'), config, lookups());
    expect(d).toMatchObject({ outcome: 'rejected', folder: 'rejected', forward: 'forward', person: ai, period: '2020-06' });
    expect(d.problem).toBeUndefined();
    expect(d.logLine).toContain('forwarded to the office');
    const desk = decide(mail('这个月的表格在哪里下载'), { ...config, textReplies: 'desk' as const }, lookups());
    expect(desk).toMatchObject({ outcome: 'rejected', forward: 'desk' });
    expect(desk.logLine).toContain('kept for the desk');
  });

  it('other text before a report is forwarded too; after one, only a question is', () => {
    expect(decide(mail('我下周出差，回来再报。'), config, lookups()).forward).toBe('forward');
    const after = lookups({ earlier: [{ no: 1, progress: 'a', remark: '' }] });
    expect(decide(mail('收到，谢谢！'), config, after).outcome).toBe('note');
    expect(decide(mail('请问汇总台账什么时候出？'), config, after).forward).toBe('forward');
  });

  it('a forgotten form, or no words at all: 请补正 asking for the attachment, as before', () => {
    for (const body of ['已填好，请查收。', '见附件', '', '\n\n发自我的iPhone\n> 在 2020年6月20日 <a@b.cn> 写道：']) {
      expect(decide(mail(body), config, lookups()), body).toMatchObject({ outcome: 'rejected', problem: problemFor('NO_ATTACHMENT') });
    }
  });
});
