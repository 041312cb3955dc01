/**
 * What one incoming message is, and so what is recorded and answered. Pure: the caller hands in
 * the message as read and lookups into what is recorded (cycle/apply.ts does, from the store).
 */
import type { ErrorCode } from '../errors.js';
import { ledgerKeyOf, personKeyOf, type TokenFields } from './identity.js';
import type { Ledger, Person, ReportRow } from './ledger.js';
import { fileNotes, type FileNotes } from './notes.js';
import { evaluateRows, matchReply, personByKey, problemFor, type Evaluated, type Match, type Problem } from './reply.js';

export type Outcome = 'accepted' | 'duplicate' | 'note' | 'rejected' | 'quarantined' | 'machine' | 'bounce';

/** The collection folder a message ends in (the configured names are looked up by these keys). */
export type OutcomeFolder = 'processed' | 'rejected' | 'quarantine' | 'machine';

/** One attachment as read: a form's rows (with our identity when it has one), or why it cannot be used. */
export type ReadFile =
  | { ok: true; token: TokenFields | null; rows: ReportRow[]; filename?: string; format?: string; taskTexts?: { no: number; text: string }[] }
  | { ok: false; code: ErrorCode; kind: string; message: string };

/** What deciding reads of an incoming message (parse/analyze's Analysis is one). */
export interface IncomingMail {
  from: string;
  /** Message-IDs it refers to, newest last. */
  references: string[];
  class: { kind: 'human' } | { kind: 'auto-reply' | 'bounce' | 'own'; reason: string };
  /** Attachments of any kind; `files` are the spreadsheets among them. */
  attachmentCount: number;
  files: ReadFile[];
}

/** The parts of the configuration deciding uses. */
export interface DecideConfig {
  ledger: Ledger;
  people: readonly Person[];
}

/** What is recorded, as far as deciding needs it; each is asked only when needed. */
export interface DecideLookups {
  /** An earlier message, already handled, is this same delivery. */
  isDuplicate(): boolean;
  /** Person and period of one of our own outgoing mails, by Message-ID. */
  sentMail(messageId: string): { period: string; person: string | null } | undefined;
  /** The month a reply with nothing else to go by is for. */
  openPeriod(): string | null;
  /** A report of this person for this month is recorded. */
  hasCurrentReport(period: string, email: string): boolean;
}

export interface Decision {
  outcome: Outcome;
  folder: OutcomeFolder;
  logLine: string;
  person?: Person;
  period?: string;
  match?: Match;
  report?: Evaluated;
  /** Further people's forms in the same mail (a clerk answering for several). */
  others?: { person: Person; period: string; report: Evaluated }[];
  problem?: Problem;
  /** What the receipt says about the file read: its format, rows not the person's, changed task texts. */
  notes?: FileNotes;
}

/** What to do with one incoming message. */
export function decide(mail: IncomingMail, config: DecideConfig, lookups: DecideLookups): Decision {
  if (mail.class.kind === 'bounce') return { outcome: 'bounce', folder: 'machine', logLine: `bounce: ${mail.class.reason}` };
  if (mail.class.kind !== 'human') return { outcome: 'machine', folder: 'machine', logLine: `machine-written mail, not answered: ${mail.class.reason}` };
  if (lookups.isDuplicate()) return { outcome: 'duplicate', folder: 'processed', logLine: 'same message delivered again; already handled' };

  const ledgerKey = ledgerKeyOf(config.ledger.title);
  const good = mail.files.filter((f) => f.ok);
  const tokens = good.flatMap((f) => (f.token ? [f.token] : []));
  const match = matchReply({ tokens, references: mail.references, sender: mail.from }, {
    ledgerKey, people: config.people, openPeriod: () => lookups.openPeriod(), sentMail: (mid) => lookups.sentMail(mid),
  });
  if (!match) return { outcome: 'quarantined', folder: 'quarantine', logLine: 'unknown sender and no form of ours: kept in quarantine, not answered' };
  const base = { person: match.person, period: match.period, match };
  const reject = (p: Problem, why: string): Decision => ({ ...base, outcome: 'rejected', folder: 'rejected', problem: p, logLine: `reply not recorded: ${why}` });

  // A word of thanks after a recorded report: kept, not answered (a 请补正 would alarm them).
  if (mail.files.length === 0 && lookups.hasCurrentReport(match.period, match.person.email)) {
    return { ...base, outcome: 'note', folder: 'processed', logLine: 'mail without a form after a recorded report: kept, not answered' };
  }
  if (mail.files.length === 0) return reject(problemFor('NO_ATTACHMENT'), mail.attachmentCount ? 'no spreadsheet among the attachments' : 'no attachment');
  // The file whose identity matched, else any readable one (a known sender's own copy of the table).
  const ours = (f: ReadFile, person: Person) => f.ok && f.token?.ledgerKey === ledgerKey && f.token.personKey === personKeyOf(person.email);
  const file = (match.via === 'file' ? good.find((f) => ours(f, match.person)) : undefined) ?? good[0];
  if (!file || !file.ok) {
    const bad = mail.files[0];
    return reject(problemFor(bad.ok ? 'SHEET_CORRUPT' : bad.code, bad.ok ? undefined : bad.kind), bad.ok ? 'unreadable' : `${bad.code} (${bad.kind}) ${bad.message}`);
  }
  const ev = evaluateRows(config.ledger, match.person, file.rows);
  const others = otherForms(config, good, match.person, ledgerKey);
  const notes = fileNotes(config.ledger, match.person, file);
  if (ev.filled.length === 0) return { ...reject(problemFor('NOT_FILLED'), 'no progress filled in'), notes };
  return { ...base, outcome: 'accepted', folder: 'processed', report: ev, others, notes, logLine: `report recorded (${ev.filled.length} filled, ${ev.empty.length} empty, via ${match.via}${others.length ? `, and ${others.length} more person(s)` : ''})` };
}

/** Forms of other people of this ledger in the same mail, each with something filled in. */
function otherForms(config: DecideConfig, files: ReadFile[], main: Person, ledgerKey: string): NonNullable<Decision['others']> {
  const out: NonNullable<Decision['others']> = [];
  for (const f of files) {
    if (!f.ok || !f.token || f.token.ledgerKey !== ledgerKey) continue;
    const person = personByKey(config.people, f.token.personKey);
    if (!person || person.email === main.email || out.some((o) => o.person.email === person.email)) continue;
    const report = evaluateRows(config.ledger, person, f.rows);
    if (report.filled.length) out.push({ person, period: f.token.period, report });
  }
  return out;
}
