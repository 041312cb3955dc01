/** Deciding a subordinate unit's mail (pure): which mail is a unit's report, for which period. */
import { describe, expect, it } from 'vitest';
import { decideUnit, periodFromText, unitTasksFrom, type UnitLookups, type UnitMail } from '../../src/core/units.js';

const UNITS = [{ name: '市司法局', email: 'child@sfj.test' }];
const TASK = { no: 1, task: '修订办法', due: '10.31', departments: '法规科', owners: '张三', progress: '已完成', remark: '' };
const ledger = (period: string | null, taizhang = false) => ({ ok: true as const, filename: 'a.xlsx', unitLedger: { tasks: [TASK], taizhang, period } });

function lookups(o: Partial<UnitLookups> = {}): UnitLookups {
  return {
    isDuplicate: () => false, sentMail: () => undefined, openPeriod: () => '2020-07',
    asked: (p) => p === '2020-06' || p === '2020-07', hasCurrentReport: () => false, ...o,
  };
}
const mailOf = (o: Partial<UnitMail>): UnitMail => ({ from: 'Child@SFJ.test', references: [], class: { kind: 'human' }, files: [], ...o });

describe('decideUnit', () => {
  it('is not for anyone but a unit, nor for bounces, forged senders or repeats', () => {
    expect(decideUnit(mailOf({ from: 'x@y.test', files: [ledger(null)] }), UNITS, lookups())).toBeNull();
    expect(decideUnit(mailOf({ class: { kind: 'bounce' }, files: [ledger(null)] }), UNITS, lookups())).toBeNull();
    expect(decideUnit(mailOf({ authFail: 'dmarc=fail', files: [ledger(null)] }), UNITS, lookups())).toBeNull();
    expect(decideUnit(mailOf({ files: [ledger(null)] }), UNITS, lookups({ isDuplicate: () => true }))).toBeNull();
    expect(decideUnit(mailOf({ files: [ledger(null)] }), undefined, lookups())).toBeNull();
  });

  it('a child taizhang\'s machine mail with its ledger is the unit\'s report; without one it stays machine mail', () => {
    const d = decideUnit(mailOf({ class: { kind: 'auto-reply' }, files: [ledger('2020-06', true)] }), UNITS, lookups());
    expect(d).toMatchObject({ outcome: 'accepted', period: '2020-06', taizhang: true, tasks: [TASK] });
    expect(decideUnit(mailOf({ class: { kind: 'auto-reply' } }), UNITS, lookups())).toBeNull();
  });

  it('the period: the one the file names if asked, else the thread of our mail to the unit, else the open one', () => {
    expect(decideUnit(mailOf({ files: [ledger('2020-06')] }), UNITS, lookups())?.period).toBe('2020-06');
    expect(decideUnit(mailOf({ files: [ledger('2019-01')] }), UNITS, lookups())?.period).toBe('2020-07');
    const thread = lookups({ sentMail: (mid) => (mid === '<r>' ? { period: '2020-06', person: 'unit:市司法局' } : undefined) });
    expect(decideUnit(mailOf({ references: ['<r>'], files: [ledger(null)] }), UNITS, thread)?.period).toBe('2020-06');
    const other = lookups({ sentMail: () => ({ period: '2020-06', person: '王群' }) });
    expect(decideUnit(mailOf({ references: ['<r>'], files: [ledger(null)] }), UNITS, other)?.period).toBe('2020-07');
  });

  it('a human mail without a ledger is answered with what to do; a thank-you after a report is kept', () => {
    expect(decideUnit(mailOf({}), UNITS, lookups())).toMatchObject({ outcome: 'rejected', problem: { problem: expect.stringContaining('没有找到') } });
    const empty = { ok: true as const, unitLedger: { tasks: [], taizhang: false, period: null } };
    expect(decideUnit(mailOf({ files: [empty] }), UNITS, lookups())?.problem?.problem).toContain('没有填写任何任务');
    const bad = { ok: false as const, code: 'SHEET_NO_TABLE', kind: 'xlsx', message: 'x' };
    expect(decideUnit(mailOf({ files: [bad] }), UNITS, lookups())?.problem?.problem).toContain('找不到台账表格');
    expect(decideUnit(mailOf({}), UNITS, lookups({ hasCurrentReport: () => true }))?.outcome).toBe('note');
  });
});

describe('reading helpers', () => {
  it('periodFromText reads a 月份 as written', () => {
    expect(periodFromText('月份：2020年6月　　生成时间：2020年7月1日 9:00')).toBe('2020-06');
    expect(periodFromText('2020年 12 月')).toBe('2020-12');
    expect(periodFromText('2020年13月')).toBeNull();
    expect(periodFromText('濮阳市2020年法治政府')).toBeNull();
  });

  it('unitTasksFrom keeps the words exactly and leaves out blank rows', () => {
    const raw = (no: number, task: string, progress = '') => ({ no, task, due: '', departments: '', owners: '', remark: '', requirements: '', progress, at: '' });
    expect(unitTasksFrom([raw(2, ' =任务二 ', ''), raw(1, '', ''), raw(3, '', '只有进展')]).map((t) => [t.no, t.task, t.progress]))
      .toEqual([[2, ' =任务二 ', ''], [3, '', '只有进展']]);
  });
});
