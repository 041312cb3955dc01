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
    closed: (period) => { asked.push(`closed ${period}`); return false; },
    heldReport: (mid) => { asked.push(`held ${mid}`); return undefined; },
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
    // The identity settles whose it is; the month's state and the owner's report decide the rest.
    expect(asked).toEqual(['duplicate', 'closed 2020-05', 'report 2020-05 ai01']);
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

describe('decide: the month a report counts for', () => {
  /** June closed (its ledger went out), July asked for and open; July's request to 艾延坤 is <req-ai-07>, June's <req-ai-06>. */
  const julyOpen = (over: Partial<DecideLookups> = {}) => lookups({
    openPeriod: () => '2020-07',
    closed: (p) => p === '2020-06',
    sentMail: (mid) => ({ '<req-ai-06>': { period: '2020-06', person: ai.id }, '<req-ai-07>': { period: '2020-07', person: ai.id } } as Record<string, { period: string; person: string }>)[mid],
    ...over,
  });

  it('last month\'s form in this month\'s thread counts for this month, and says why', () => {
    const d = decide(mail({ references: ['<req-ai-07>'], files: [form(ai, [row(1, '七月的话')], '2020-06')] }), config, julyOpen());
    expect(d).toMatchObject({ outcome: 'accepted', person: ai, period: '2020-07', movedFrom: { period: '2020-06', via: 'file' }, correction: false });
    expect(d.logLine).toContain('form of 2020-06 counted for 2020-07');
  });

  it('last month\'s form in last month\'s thread, or alone, while a later month is open: the open month', () => {
    for (const references of [['<req-ai-06>'], []]) {
      const d = decide(mail({ references, files: [form(ai, [row(1, '七月的话')], '2020-06')] }), config, julyOpen());
      expect(d).toMatchObject({ outcome: 'accepted', period: '2020-07', movedFrom: { period: '2020-06', via: 'file' } });
    }
    // A tokenless copy in June's thread: the thread named June.
    const copy = decide(mail({ references: ['<req-ai-06>'], files: [form(null, [row(1, '七月的话')])] }), config, julyOpen());
    expect(copy).toMatchObject({ outcome: 'accepted', period: '2020-07', movedFrom: { period: '2020-06', via: 'thread' } });
  });

  it('更正 in the subject is the one route to a closed month', () => {
    const d = decide(mail({ subject: '回复:更正', references: ['<req-ai-07>'], files: [form(ai, [row(1, '六月更正')], '2020-06')] }), config, julyOpen({ hasCurrentReport: () => true }));
    expect(d).toMatchObject({ outcome: 'accepted', period: '2020-06', correction: true, hold: false });
    expect(d.movedFrom).toBeUndefined();
  });

  it('with no later month open, a closed month\'s own report stands unless corrected; a missing one is filled late', () => {
    const juneOnly = (reported: boolean) => lookups({ closed: (p) => p === '2020-06', hasCurrentReport: () => reported });
    const again = decide(mail({ files: [form(ai, [row(1, '改写')])] }), config, juneOnly(true));
    expect(again).toMatchObject({ outcome: 'rejected', folder: 'rejected', period: '2020-06', problem: problemFor('CLOSED') });
    expect(problemFor('CLOSED').fix).toContain('更正');
    const late = decide(mail({ files: [form(ai, [row(1, '补报')])] }), config, juneOnly(false));
    expect(late).toMatchObject({ outcome: 'accepted', period: '2020-06' });
  });

  it('a thank-you after the report, in the old month\'s thread, is a note', () => {
    const d = decide(mail({ references: ['<req-ai-06>'] }), config, julyOpen({ hasCurrentReport: (p) => p === '2020-06' }));
    expect(d.outcome).toBe('note');
  });
});

describe('decide: reports for someone else', () => {
  it('recorded when the owner has none yet; held, not applied, when the owner has one', () => {
    const fresh = decide(mail({ from: 'clerk@y.cn', files: [form(wang, [row(3, '代报')])] }), config, lookups());
    expect(fresh).toMatchObject({ outcome: 'accepted', person: wang, hold: false });
    expect(fresh.logLine).toContain('owner notified');
    const over = decide(mail({ from: ai.email, files: [form(wang, [row(3, '参考用的表')])] }), config, lookups({ hasCurrentReport: (_p, e) => e === wang.id }));
    expect(over).toMatchObject({ outcome: 'held', folder: 'processed', person: wang, hold: true });
    expect(over.report?.rows).toEqual([row(3, '参考用的表')]);
  });

  it('the sender\'s own form is the main report; colleagues\' forms are held where they have reported', () => {
    const d = decide(mail({ files: [form(wang, [row(3, '王的')]), form(ai, [row(1, '艾的')]), form(ma, [row(4, '马的')])] }), config,
      lookups({ hasCurrentReport: (_p, e) => e === wang.id }));
    expect(d).toMatchObject({ outcome: 'accepted', person: ai, hold: false });
    expect(d.others?.map((o) => [o.person.name, o.hold])).toEqual([[wang.name, true], [ma.name, false]]);
  });

  it('the owner\'s 确认 in the thread of the notice applies the held report', () => {
    const held = { id: 7, person: wang.id, period: '2020-06' };
    const heldReport = (mid: string) => (mid === '<notice@office>' ? held : undefined);
    const yes = decide(mail({ from: wang.email, references: ['<notice@office>'], lead: '确认。' }), config, lookups({ heldReport }));
    expect(yes).toMatchObject({ outcome: 'confirmed', person: wang, period: '2020-06', confirms: 7 });
    // Anyone else's 确认, or other words, confirm nothing.
    expect(decide(mail({ from: ai.email, references: ['<notice@office>'], lead: '确认' }), config, lookups({ heldReport })).outcome).not.toBe('confirmed');
    expect(decide(mail({ from: wang.email, references: ['<notice@office>'], lead: '确认一下这是谁报的?' }), config, lookups({ heldReport })).outcome).not.toBe('confirmed');
  });
});

describe('decide: a forged sender', () => {
  it('is quarantined, recorded nowhere and not answered, whatever it carries', () => {
    const asked: string[] = [];
    const d = decide(mail({ authFail: 'dmarc=fail for x.cn', files: [form(ai, [row(1, '钓鱼链接 http://evil.example')])] }), config, lookups({}, asked));
    expect(d).toMatchObject({ outcome: 'quarantined', folder: 'quarantine' });
    expect(d.person).toBeUndefined();
    expect(asked).toEqual([]);
  });
});
