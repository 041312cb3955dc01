import { describe, expect, it } from 'vitest';
import type { Ledger, Person } from '../../src/core/ledger.js';
import { evaluateRows, isCorrection, matchReply, problemFor, referencedIds, reportMonth, type MatchLookups } from '../../src/core/reply.js';
import { addressKeyOf, personKeyOf } from '../../src/core/identity.js';

const people: Person[] = [
  { id: '艾延坤', name: '艾延坤', department: '政法科', email: 'ai@x.cn' },
  { id: 'wang', name: '王群才', department: '办公室', email: 'wang@x.cn' },
];
const lookups: MatchLookups = {
  ledgerKey: 'abcdef',
  people,
  openPeriod: '2020-07',
  sentMail: (mid) => (mid === '<req-wang@office>' ? { period: '2020-06', person: 'wang' } : undefined),
};

describe('matching a reply to a person and month', () => {
  it('trusts the file identity first, even from another sender', () => {
    const m = matchReply({ tokens: [{ ledgerKey: 'abcdef', period: '2020-06', personKey: personKeyOf(people[0]) }], references: ['<req-wang@office>'], sender: 'stranger@y.cn' }, lookups);
    expect(m).toMatchObject({ person: { name: '艾延坤' }, period: '2020-06', via: 'file' });
  });

  it('knows a form by the id key, by the address key of forms from before ids, and by keys the store remembers', () => {
    const viaFile = (personKey: string, l: MatchLookups = lookups) => matchReply({ tokens: [{ ledgerKey: 'abcdef', period: '2020-06', personKey }], references: [], sender: 'old-address@y.cn' }, l);
    expect(viaFile(personKeyOf({ id: 'wang' }))).toMatchObject({ person: { name: '王群才' }, via: 'file' });
    expect(viaFile(addressKeyOf('wang@x.cn'))).toMatchObject({ person: { name: '王群才' }, via: 'file' });
    // A form sent to an address 王群才 no longer has, before ids: only the store knows whose it is.
    const old = addressKeyOf('wang-old@x.cn');
    expect(viaFile(old)).toBeNull();
    const asked: string[] = [];
    const remembering = { ...lookups, formKeyPerson: (k: string) => { asked.push(k); return k === old ? 'wang' : undefined; } };
    expect(viaFile(old, remembering)).toMatchObject({ person: { name: '王群才' }, via: 'file' });
    expect(viaFile(personKeyOf({ id: 'wang' }), remembering)).toMatchObject({ person: { name: '王群才' } });
    expect(asked).toEqual([old]); // asked only for a key the roster does not give
    // The thread names people by id.
    expect(matchReply({ tokens: [], references: ['<req-wang@office>'], sender: 'ai@x.cn' }, lookups)).toMatchObject({ person: { id: 'wang' }, via: 'thread' });
  });

  it('ignores a token of another ledger and falls back to the thread, then the sender', () => {
    const foreign = [{ ledgerKey: '000000', period: '2020-06', personKey: personKeyOf(people[0]) }];
    expect(matchReply({ tokens: foreign, references: ['<req-wang@office>'], sender: 'ai@x.cn' }, lookups)).toMatchObject({ person: { name: '王群才' }, via: 'thread', period: '2020-06' });
    expect(matchReply({ tokens: foreign, references: [], sender: 'AI@x.cn' }, lookups)).toMatchObject({ person: { name: '艾延坤' }, via: 'sender', period: '2020-07' });
  });

  it('knows nobody for an unknown sender with nothing of ours', () => {
    expect(matchReply({ tokens: [], references: ['<other@z>'], sender: 'stranger@y.cn' }, lookups)).toBeNull();
    // Replying inside our thread is not enough for a stranger: no form of ours, no answer.
    expect(matchReply({ tokens: [], references: ['<req-wang@office>'], sender: 'stranger@y.cn' }, lookups)).toBeNull();
  });

  it('prefers the sender\'s own form to a colleague\'s, and notes the thread\'s month', () => {
    const tokens = [{ ledgerKey: 'abcdef', period: '2020-06', personKey: personKeyOf(people[1]) }, { ledgerKey: 'abcdef', period: '2020-06', personKey: personKeyOf(people[0]) }];
    expect(matchReply({ tokens, references: ['<req-wang@office>'], sender: 'ai@x.cn' }, lookups)).toMatchObject({ person: { name: '艾延坤' }, via: 'file', formPeriod: '2020-06', threadPeriod: '2020-06' });
  });

  it('collects referenced Message-IDs', () => {
    expect(referencedIds('<b@x>', '<a@x> <b@x>')).toEqual(['<a@x>', '<b@x>']);
    expect(referencedIds(undefined, ['<a@x>', 'junk'])).toEqual(['<a@x>']);
  });
});

describe('reading the rows of a reply', () => {
  const ledger: Ledger = {
    title: 't',
    tasks: [
      { no: 1, task: 'a', due: '', departments: [], owners: ['艾延坤'] },
      { no: 2, task: 'b', due: '', departments: [], owners: ['艾延坤'] },
      { no: 3, task: 'c', due: '', departments: [], owners: ['王群才'] },
    ],
  };

  it('keeps only the person\'s tasks, by 序号, and names the empty ones', () => {
    const ev = evaluateRows(ledger, people[0], [
      { no: 3, progress: 'not mine', remark: '' },
      { no: 2, progress: '  ', remark: '' },
      { no: 1, progress: ' 原样 \n', remark: 'r' },
    ]);
    expect(ev.rows).toEqual([{ no: 1, progress: ' 原样 \n', remark: 'r' }]);
    expect(ev.empty.map((t) => t.no)).toEqual([2]);
  });

  it('gives each problem a Chinese explanation and a fix', () => {
    for (const code of ['NO_ATTACHMENT', 'NOT_FILLED', 'SHEET_ENCRYPTED', 'SHEET_TOO_LARGE', 'SHEET_CORRUPT', 'SHEET_TIMEOUT', 'SHEET_NO_TABLE'] as const) {
      const p = problemFor(code);
      expect(p.problem).toMatch(/[\u4e00-\u9fff]/);
      expect(p.fix).toMatch(/[\u4e00-\u9fff]/);
    }
    expect(problemFor('SHEET_UNSUPPORTED', 'xls').fix).toContain('.xlsx');
    expect(problemFor('SHEET_UNSUPPORTED', 'et').problem).toContain('WPS');
  });
});

describe('the month a report counts for', () => {
  const months = (closed: string[], open: string | null) => ({ openPeriod: () => open, closed: (p: string) => closed.includes(p) });

  it('the later of the form\'s and the thread\'s month; a closed one gives way to the open month', () => {
    expect(reportMonth({ period: '2020-06', formPeriod: '2020-06', threadPeriod: '2020-07' }, false, months(['2020-06'], '2020-07')))
      .toEqual({ period: '2020-07', correction: false, movedFrom: { period: '2020-06', via: 'file' } });
    expect(reportMonth({ period: '2020-06', formPeriod: '2020-06' }, false, months(['2020-06'], '2020-07'))).toMatchObject({ period: '2020-07' });
    expect(reportMonth({ period: '2020-06', threadPeriod: '2020-06' }, false, months(['2020-06'], '2020-07')))
      .toEqual({ period: '2020-07', correction: false, movedFrom: { period: '2020-06', via: 'thread' } });
    // Nothing later open: the named month, closed or not.
    expect(reportMonth({ period: '2020-06', formPeriod: '2020-06' }, false, months(['2020-06'], '2020-06'))).toEqual({ period: '2020-06', correction: false });
    expect(reportMonth({ period: '2020-06', formPeriod: '2020-06' }, false, months([], '2020-07'))).toEqual({ period: '2020-06', correction: false });
  });

  it('the correction route goes to the form\'s month, closed or not', () => {
    expect(isCorrection('回复:【更正】6月进展')).toBe(true);
    expect(isCorrection('回复:请填报')).toBe(false);
    expect(reportMonth({ period: '2020-06', formPeriod: '2020-06', threadPeriod: '2020-07' }, true, months(['2020-06'], '2020-07'))).toEqual({ period: '2020-06', correction: true });
  });
});
