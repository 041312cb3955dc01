/** Which ledger a reply is about: form, thread, subject, sender; asked, never guessed, when none tells. */
import { describe, expect, it } from 'vitest';
import { ledgerKeyFor, ledgerKeyOf, personKeyOf } from '../../src/core/identity.js';
import type { Person } from '../../src/core/ledger.js';
import { routeReply, type RoutableLedger } from '../../src/core/route.js';

const ai: Person = { id: '艾延坤', name: '艾延坤', department: '办公室', email: 'ai@x.cn' };
const ma: Person = { id: '马红霞', name: '马红霞', department: '机关总支', email: 'ma@x.cn' };
const wang: Person = { id: '王群才', name: '王群才', department: '法规科', email: 'wang@x.cn' };
const main: RoutableLedger = { ledger: { id: 'main', title: '2020年法治政府建设工作台账', tasks: [] }, people: [ai, wang] };
const safety: RoutableLedger = { ledger: { id: 'safety', title: '安全生产工作台账', tasks: [] }, people: [ai, ma] };
const both = [main, safety];
const sent = new Map([['<req-safety@o>', 'safety'], ['<req-main@o>', 'main']]);
const lookup = (mid: string) => sent.get(mid);
const token = (l: RoutableLedger, p: Person) => ({ ledgerKey: ledgerKeyFor(l.ledger), period: '2020-06', personKey: personKeyOf(p) });

describe('routeReply', () => {
  it('the main ledger keeps its title\'s key (forms sent before ids); another\'s comes from its id', () => {
    expect(ledgerKeyFor(main.ledger)).toBe(ledgerKeyOf(main.ledger.title));
    expect(ledgerKeyFor({ title: main.ledger.title })).toBe(ledgerKeyOf(main.ledger.title));
    expect(ledgerKeyFor(safety.ledger)).not.toBe(ledgerKeyOf(safety.ledger.title));
    expect(ledgerKeyFor({ ...safety.ledger, title: '改了名的台账' })).toBe(ledgerKeyFor(safety.ledger));
  });

  it('one ledger takes everything', () => {
    expect(routeReply({ tokens: [], references: [], from: 'stranger@y.cn' }, [main], lookup)).toEqual({ id: 'main', via: 'only' });
  });

  it('by the form first, the sender\'s own before a colleague\'s, whatever the thread says', () => {
    expect(routeReply({ tokens: [token(safety, ai)], references: ['<req-main@o>'], from: 'ai@x.cn' }, both, lookup)).toEqual({ id: 'safety', via: 'file' });
    expect(routeReply({ tokens: [token(main, wang), token(safety, ai)], references: [], from: 'ai@x.cn' }, both, lookup)).toEqual({ id: 'safety', via: 'file' });
    expect(routeReply({ tokens: [{ ...token(main, ai), ledgerKey: 'abcdef' }], references: ['<req-main@o>'], from: 'ai@x.cn' }, both, lookup)).toEqual({ id: 'main', via: 'thread' });
  });

  it('then by the newest of our mails in the thread, then by a ledger title in the subject, then by the sender', () => {
    expect(routeReply({ tokens: [], references: ['<req-main@o>', '<req-safety@o>'], from: 'ai@x.cn' }, both, lookup)).toEqual({ id: 'safety', via: 'thread' });
    expect(routeReply({ tokens: [], references: ['<other@x>'], subject: '回复：安全生产 工作台账 6月', from: 'ai@x.cn' }, both, lookup)).toEqual({ id: 'safety', via: 'subject' });
    expect(routeReply({ tokens: [], references: [], subject: '进展', from: 'MA@x.cn' }, both, lookup)).toEqual({ id: 'safety', via: 'sender' });
    expect(routeReply({ tokens: [], references: [], subject: '进展', from: 'wang@x.cn' }, both, lookup)).toEqual({ id: 'main', via: 'sender' });
    // A title of a ledger the sender is not in does not take their mail there.
    expect(routeReply({ tokens: [], references: [], subject: '安全生产工作台账', from: 'wang@x.cn' }, both, lookup)).toEqual({ id: 'main', via: 'sender' });
  });

  it('a title inside a longer one: the longer one named wins', () => {
    const inner: RoutableLedger = { ledger: { id: 'short', title: '工作台账', tasks: [] }, people: [ai] };
    expect(routeReply({ tokens: [], references: [], subject: '安全生产工作台账', from: 'ai@x.cn' }, [inner, safety], lookup)).toEqual({ id: 'safety', via: 'subject' });
  });

  it('a person of both whose mail names neither is asked; a stranger goes to the first ledger (quarantined there)', () => {
    expect(routeReply({ tokens: [], references: [], subject: '进展情况', from: 'ai@x.cn' }, both, lookup)).toEqual({ ambiguous: ['main', 'safety'] });
    expect(routeReply({ tokens: [], references: [], subject: '进展情况', from: 'stranger@y.cn' }, both, lookup)).toEqual({ id: 'main', via: 'none' });
  });

  it('a subordinate unit\'s mail goes to the ledger it reports to, by its address alone', () => {
    const withUnit: RoutableLedger = { ...safety, ledger: { ...safety.ledger, units: [{ name: '市消防支队', email: 'fire@unit.cn' }] } };
    expect(routeReply({ tokens: [], references: [], subject: '6月台账', from: 'FIRE@unit.cn' }, [main, withUnit], lookup)).toEqual({ id: 'safety', via: 'sender' });
  });
});
