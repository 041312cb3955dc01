/**
 * Deciding what an incoming message is, as a pure function: messages as the parse workers
 * describe them, and lookups standing for what the store holds.
 */
import { describe, expect, it } from 'vitest';
import { decide, type DecideLookups, type IncomingMail, type ReadFile } from '../../src/core/decide.js';
import { ledgerKeyOf, personKeyOf } from '../../src/core/identity.js';
import type { Ledger, Person, ReportRow } from '../../src/core/ledger.js';
import { problemFor } from '../../src/core/reply.js';

const ai: Person = { id: 'ai01', name: '艾延坤', department: '政法科', email: 'ai@x.cn' };
const wang: Person = { id: 'wang', name: '王群才', department: '办公室', email: 'wang@x.cn' };
const ma: Person = { id: '马红霞', name: '马红霞', department: '机关总支', email: 'ma@x.cn' };
const task = (no: number, owner: string) => ({ no, task: `任务${no}`, due: '10.31', departments: [], owners: [owner] });
const ledger: Ledger = { title: '重点工作台账', tasks: [task(1, ai.name), task(2, ai.name), task(3, wang.name), task(4, ma.name)] };
const config = { ledger, people: [ai, wang, ma] };

const row = (no: number, progress: string): ReportRow => ({ no, progress, remark: '' });
const token = (p: Person, period = '2020-06', title = ledger.title) => ({ ledgerKey: ledgerKeyOf(title), period, personKey: personKeyOf(p) });
const form = (p: Person | null, rows: ReportRow[], period?: string): ReadFile => ({ ok: true, token: p && token(p, period), rows });
const broken = (code: 'SHEET_ENCRYPTED' | 'SHEET_UNSUPPORTED' | 'SHEET_CORRUPT', kind: string): ReadFile => ({ ok: false, code, kind, message: 'cannot read' });

function mail(over: Partial<IncomingMail> = {}): IncomingMail {
  return { from: ai.email, references: [], class: { kind: 'human' }, attachmentCount: over.files?.length ?? 0, files: [], ...over };
}

/** Lookups as for a store with one request to 王群才 sent and June asked for; `asked` records what was looked up. */
function lookups(over: Partial<DecideLookups> = {}, asked: string[] = []): DecideLookups {
  return {
    isDuplicate: () => { asked.push('duplicate'); return false; },
    sentMail: (mid) => { asked.push(`sent ${mid}`); return mid === '<req-wang@office>' ? { period: '2020-05', person: wang.id } : undefined; },
    openPeriod: () => { asked.push('open'); return '2020-06'; },
    hasCurrentReport: (period, person) => { asked.push(`report ${period} ${person}`); return false; },
    ...over,
  };
}

describe('decide: mail that is not a person answering', () => {
  it('a bounce, without looking anything up', () => {
    const asked: string[] = [];
    const d = decide(mail({ class: { kind: 'bounce', reason: 'DSN 5.1.1' } }), config, lookups({}, asked));
    expect(d).toEqual({ outcome: 'bounce', folder: 'machine', logLine: 'bounce: DSN 5.1.1' });
    expect(asked).toEqual([]);
  });

  it('auto-replies and our own mail: machine-written, not answered', () => {
    for (const kind of ['auto-reply', 'own'] as const) {
      const d = decide(mail({ class: { kind, reason: 'Auto-Submitted' }, files: [form(ai, [row(1, '完成')])] }), config, lookups());
      expect(d).toMatchObject({ outcome: 'machine', folder: 'machine' });
      expect(d.person).toBeUndefined();
    }
  });

  it('the same message delivered again: handled once', () => {
    const d = decide(mail({ files: [form(ai, [row(1, '完成')])] }), config, lookups({ isDuplicate: () => true }));
    expect(d).toMatchObject({ outcome: 'duplicate', folder: 'processed' });
    expect(d.report).toBeUndefined();
  });

  it('a stranger with no form of ours: quarantined, even inside our thread', () => {
    const d = decide(mail({ from: 'stranger@y.cn', references: ['<req-wang@office>'], files: [form(null, [row(1, '完成')])] }), config, lookups());
    expect(d).toMatchObject({ outcome: 'quarantined', folder: 'quarantine' });
    // A known sender when no month has been asked for yet: nothing to put it against.
    expect(decide(mail(), config, lookups({ openPeriod: () => null })).outcome).toBe('quarantined');
  });
});

describe('decide: a reply that is not recorded', () => {
  it('no form after a recorded report is a note, kept and not answered', () => {
    const asked: string[] = [];
    const d = decide(mail({ attachmentCount: 1 }), config, lookups({ hasCurrentReport: (period, person) => { asked.push(`${period} ${person}`); return true; } }));
    expect(d).toMatchObject({ outcome: 'note', folder: 'processed', person: ai, period: '2020-06' });
    expect(asked).toEqual(['2020-06 ai01']);
    expect(d.problem).toBeUndefined();
  });

  it('no form and nothing recorded: rejected, asking for the attachment', () => {
    const none = decide(mail(), config, lookups());
    expect(none).toMatchObject({ outcome: 'rejected', folder: 'rejected', person: ai, period: '2020-06', problem: problemFor('NO_ATTACHMENT'), logLine: 'reply not recorded: no attachment' });
    const other = decide(mail({ attachmentCount: 2 }), config, lookups());
    expect(other.logLine).toBe('reply not recorded: no spreadsheet among the attachments');
  });

  it('an unreadable file: rejected with what is wrong with it', () => {
    const locked = decide(mail({ files: [broken('SHEET_ENCRYPTED', 'xlsx')] }), config, lookups());
    expect(locked).toMatchObject({ outcome: 'rejected', problem: problemFor('SHEET_ENCRYPTED') });
    expect(locked.logLine).toContain('SHEET_ENCRYPTED (xlsx)');
    const old = decide(mail({ files: [broken('SHEET_UNSUPPORTED', 'xls')] }), config, lookups());
    expect(old.problem?.problem).toContain('.xls');
  });

  it('a form with nothing filled in: rejected, NOT_FILLED', () => {
    const d = decide(mail({ files: [form(ai, [row(1, ''), row(2, '  ')])] }), config, lookups());
    expect(d).toMatchObject({ outcome: 'rejected', folder: 'rejected', problem: problemFor('NOT_FILLED') });
    // Rows of other people's tasks do not count as the sender's.
    expect(decide(mail({ files: [form(ai, [row(3, '完成')])] }), config, lookups()).outcome).toBe('rejected');
  });
});

describe('decide: a report', () => {
  it('by the form\'s identity, whoever sent it, for the form\'s month', () => {
    const asked: string[] = [];
    const d = decide(mail({ from: 'clerk@y.cn', files: [form(ai, [row(1, '已完成'), row(2, '')], '2020-05')] }), config, lookups({}, asked));
    expect(d).toMatchObject({ outcome: 'accepted', folder: 'processed', person: ai, period: '2020-05', match: { via: 'file' }, others: [] });
    expect(d.report?.filled.map((f) => [f.task.no, f.row.progress])).toEqual([[1, '已完成']]);
    expect(d.report?.empty.map((t) => t.no)).toEqual([2]);
    expect(asked).toEqual(['duplicate']); // the identity settles it: no thread or month looked up
  });

  it('uses the file that names the person, not the first readable one', () => {
    const d = decide(mail({ files: [form(null, [row(1, '别的表')]), form(ai, [row(1, '本人的表')])] }), config, lookups());
    expect(d.report?.rows).toEqual([row(1, '本人的表')]);
  });

  it('a known sender\'s own copy of the table (no identity): by the thread, else the month asked for', () => {
    const viaThread = decide(mail({ references: ['<req-wang@office>'], files: [form(null, [row(3, '推进中')])] }), config, lookups());
    expect(viaThread).toMatchObject({ outcome: 'accepted', person: wang, period: '2020-05', match: { via: 'thread' } });
    const viaSender = decide(mail({ files: [broken('SHEET_CORRUPT', 'xlsx'), form(null, [row(2, '推进中')])] }), config, lookups());
    expect(viaSender).toMatchObject({ outcome: 'accepted', person: ai, period: '2020-06', match: { via: 'sender' } });
  });

  it('with other people\'s filled forms of this ledger in the same mail', () => {
    const files = [
      form(wang, [row(3, '王的进展')]),
      form(ai, [row(1, '艾的进展')], '2020-05'),
      form(ai, [row(2, '同一人的第二份')]),
      form(ma, [row(4, '')]), // nothing filled: not a report
      { ok: true as const, token: token(ma, '2020-06', '另一个台账'), rows: [row(4, '别的台账')] },
      broken('SHEET_CORRUPT', 'xlsx'),
    ];
    const d = decide(mail({ from: 'clerk@y.cn', files }), config, lookups());
    expect(d).toMatchObject({ outcome: 'accepted', person: wang, period: '2020-06' });
    expect(d.others?.map((o) => [o.person.name, o.period, o.report.rows])).toEqual([[ai.name, '2020-05', [row(1, '艾的进展')]]]);
    expect(d.logLine).toContain('and 1 more person(s)');
  });
});
