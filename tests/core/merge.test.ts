import { describe, expect, it } from 'vitest';
import type { Ledger, Person } from '../../src/core/ledger.js';
import { buildHistory, mergeRows, personState, statusLabel, summarize, type PersonState } from '../../src/core/merge.js';

const people: Person[] = [
  { id: '王群才', name: '王群才', department: '办公室', email: 'w@x.cn' },
  { id: '马红霞', name: '马红霞', department: '机关总支', email: 'm@x.cn' },
];
const ledger: Ledger = {
  title: 't',
  tasks: [
    { no: 8, task: '加强监督', due: '10.31', departments: ['办公室', '机关总支'], owners: ['王群才', '马红霞'] },
    { no: 4, task: '健全决策', due: '10.31', departments: ['办公室'], owners: ['王群才'] },
    { no: 13, task: '用人导向', due: '10.31', departments: ['机关总支'], owners: ['马红霞'] },
  ],
};

function state(p: Person, rows?: { no: number; progress: string; remark?: string }[], opts: { late?: boolean; sender?: string } = {}): PersonState {
  return personState(p, {
    accepted: rows && { rows: rows.map((r) => ({ remark: '', ...r })), late: !!opts.late, receivedAt: '2020-06-21T01:00:00Z', sender: opts.sender ?? p.email },
    anyOnTime: !!rows && !opts.late, count: rows ? 1 : 0,
  }, 'sent');
}

describe('merging reports into the ledger', () => {
  it('orders tasks by 序号, keeps a single owner\'s words exactly, attributes several owners, marks the silent', () => {
    const words = '=1+1\t"引号"\n第二行 🚀';
    const rows = mergeRows(ledger, [state(people[0], [{ no: 4, progress: words }, { no: 8, progress: '王的进展', remark: '见附件' }]), state(people[1])]);
    expect(rows.map((r) => r.no)).toEqual([4, 8, 13]);
    expect(rows[0].progress).toBe(words);
    expect(rows[1].progress).toBe('王群才：王的进展\n马红霞：未报送');
    expect(rows[1].remark).toBe('王群才：见附件');
    expect(rows[2].progress).toBe('马红霞：未报送');
    expect(rows[1].departments).toBe('办公室、机关总支');
    expect(rows[1].owners).toBe('王群才 马红霞');
  });

  it('keeps words reported for a task that was given to someone else since, after the current owners\'', () => {
    // Task 4 was 王群才's when he reported; it is 马红霞's now. Task 13 was both's; now hers alone.
    const moved: Ledger = { title: 't', tasks: [
      { no: 4, task: '健全决策', due: '', departments: [], owners: ['马红霞'] },
      { no: 13, task: '用人导向', due: '', departments: [], owners: ['马红霞'] },
      { no: 8, task: '加强监督', due: '', departments: [], owners: ['王群才'] },
    ] };
    const wang = state(people[0], [{ no: 4, progress: '王:已报告', remark: '王的备注' }, { no: 8, progress: '王:监督' }, { no: 13, progress: '' }]);
    const silentMa = mergeRows(moved, [wang, state(people[1])]);
    expect(silentMa.map((r) => [r.no, r.progress, r.remark])).toEqual([
      [4, '马红霞：未报送\n王群才：王:已报告', '王群才：王的备注'],
      [8, '王:监督', ''],
      [13, '马红霞：未报送', ''], // an empty row is no words
    ]);
    const bothReported = mergeRows(moved, [wang, state(people[1], [{ no: 4, progress: '马:接手' }, { no: 13, progress: '马:用人' }])]);
    expect(bothReported[0].progress).toBe('马红霞：马:接手\n王群才：王:已报告');
    expect(bothReported[2].progress).toBe('马:用人'); // a single owner and nobody else's words: exactly as written
  });

  it('marks a row a reporter left empty as not filled', () => {
    const rows = mergeRows(ledger, [state(people[0], [{ no: 8, progress: 'x' }]), state(people[1], [{ no: 13, progress: 'y' }])]);
    expect(rows[0].progress).toBe('王群才：未填写');
    expect(rows[1].progress).toBe('王群才：x\n马红霞：未填写');
  });

  it('labels status for the office, bounces explaining silence, and notes who sent it', () => {
    const s = state(people[0], [{ no: 4, progress: 'a' }], { sender: 'colleague@x.cn' });
    expect(s.sentBy).toBe('colleague@x.cn');
    expect(statusLabel({ status: 'pending', delivery: 'bounced' })).toBe('退信');
    expect(statusLabel({ status: 'pending', delivery: 'failed' })).toBe('发送失败');
    expect(statusLabel({ status: 'late', delivery: 'bounced' })).toBe('逾期报送');
    const sum = summarize([s, state(people[1], [{ no: 13, progress: 'b' }], { late: true })]);
    expect(sum).toMatchObject({ total: 2, reported: 2, onTime: 1, late: 1, missing: [] });
    expect(sum.departments).toEqual([{ name: '办公室', total: 1, reported: 1 }, { name: '机关总支', total: 1, reported: 1 }]);
  });

  it('marks a task unchanged when its words repeat last month, but not silence', () => {
    const june = mergeRows(ledger, [state(people[0], [{ no: 4, progress: '同样' }, { no: 8, progress: 'a' }]), state(people[1])]);
    const july = mergeRows(ledger, [state(people[0], [{ no: 4, progress: '同样' }, { no: 8, progress: 'b' }]), state(people[1])]);
    const h = buildHistory(ledger, [june, july]);
    expect(h.find((r) => r.no === 4)).toMatchObject({ cells: ['同样', '同样'], unchanged: true });
    expect(h.find((r) => r.no === 8)!.unchanged).toBe(false);
    expect(h.find((r) => r.no === 13)!.unchanged).toBe(false); // 未报送 twice is not "unchanged progress"
  });
});
