/**
 * Which ledger a reply is about, when one mailbox collects for several. Pure: the caller hands in
 * the ledgers and a lookup of our own mail's ledger by Message-ID.
 *
 * The form's identity first (its ledger key; the sender's own form before a colleague's), then
 * the thread (the newest of our mails it refers to), then a ledger title the subject names, then
 * the sender's address when it belongs to one ledger only (a person's, or a subordinate unit's). A person of several ledgers whose
 * mail says none of these is asked which ledger it is: never guessed.
 */
import { ledgerKeyFor, personKeysOf, type TokenFields } from './identity.js';
import { MAIN_LEDGER, type Ledger, type Person } from './ledger.js';
import { personByEmail } from './reply.js';

export interface RoutableLedger { ledger: Ledger; people: readonly Person[] }

export type Route =
  | { id: string; via: 'only' | 'file' | 'thread' | 'subject' | 'sender' | 'none' }
  /** A person of each of these ledgers, whose mail tells none of them apart. */
  | { ambiguous: string[] };

export interface RouteInput { tokens: readonly TokenFields[]; references: readonly string[]; subject?: string; from: string }

const idOf = (l: RoutableLedger) => l.ledger.id ?? MAIN_LEDGER;

/** Titles compared as typed in a subject: full-width and half-width alike, spaces ignored. */
const norm = (s: string) => s.normalize('NFKC').replace(/\s+/gu, '');

/** The ledgers whose title the subject contains; of two where one title contains the other, the longer. */
function namedInSubject(subject: string | undefined, ledgers: readonly RoutableLedger[]): RoutableLedger[] {
  const text = norm(subject ?? '');
  const named = ledgers.filter((l) => norm(l.ledger.title) !== '' && text.includes(norm(l.ledger.title)));
  return named.filter((l) => !named.some((o) => o !== l && norm(o.ledger.title).length > norm(l.ledger.title).length && norm(o.ledger.title).includes(norm(l.ledger.title))));
}

/**
 * The other ledgers whose forms the mail also carries (one mail answering two ledgers' requests):
 * each is decided and answered in its own ledger, besides the one the mail was routed to.
 */
export function otherLedgerForms(tokens: readonly TokenFields[], ledgers: readonly RoutableLedger[], routed: string): string[] {
  const keys = new Set(tokens.map((t) => t.ledgerKey));
  return ledgers.filter((l) => idOf(l) !== routed && keys.has(ledgerKeyFor(l.ledger))).map(idOf);
}

export function routeReply(mail: RouteInput, ledgers: readonly RoutableLedger[], sentLedger: (messageId: string) => string | undefined): Route {
  if (ledgers.length === 1) return { id: idOf(ledgers[0]), via: 'only' };
  const sender = mail.from.toLowerCase();
  const byKey = new Map(ledgers.map((l) => [ledgerKeyFor(l.ledger), idOf(l)]));
  // A unit's mail (局属单位) belongs to the ledger the unit reports to (an address is one ledger's unit only).
  const isUnit = (l: RoutableLedger) => (l.ledger.units ?? []).some((u) => u.email.toLowerCase() === sender);
  const theirs = ledgers.filter((l) => personByEmail(l.people, sender) || isUnit(l));
  const senderKeys = new Set(theirs.flatMap((l) => { const p = personByEmail(l.people, sender); return p ? personKeysOf(p) : []; }));
  const forms = mail.tokens.filter((t) => byKey.has(t.ledgerKey));
  const form = forms.find((t) => senderKeys.has(t.personKey)) ?? forms[0];
  if (form) return { id: byKey.get(form.ledgerKey)!, via: 'file' };
  const ids = new Set(ledgers.map(idOf));
  for (const ref of [...mail.references].reverse()) {
    const id = sentLedger(ref);
    if (id !== undefined && ids.has(id)) return { id, via: 'thread' };
  }
  // A title in the subject counts among the sender's own ledgers (a person of one is not sent to another's).
  const named = namedInSubject(mail.subject, theirs.length ? theirs : ledgers);
  if (named.length === 1) return { id: idOf(named[0]), via: 'subject' };
  if (theirs.length === 1) return { id: idOf(theirs[0]), via: 'sender' };
  if (theirs.length > 1) return { ambiguous: theirs.map(idOf) };
  // Nobody's: the first ledger decides it (a stranger's mail is quarantined there).
  return { id: idOf(ledgers[0]), via: 'none' };
}
