/**
 * What one incoming message is, and so what is recorded and answered. Pure: the caller hands in
 * the message as read and lookups into what is recorded (cycle/apply.ts does, from the store).
 */
import type { ErrorCode } from '../errors.js';
import { ledgerKeyFor, type TokenFields } from './identity.js';
import type { Ledger, Person, ReportRow } from './ledger.js';
import {
  evaluateRows, isCorrection, matchReply, personByEmail, personByKey, problemFor, reportMonth,
  type Evaluated, type Match, type MonthLookups, type Problem, type ReportMonth,
} from './reply.js';
import { fileNotes, type FileNotes } from './notes.js';
import type { UnitDecision } from './units.js';
import { looksLikeQuestion, mentionsAttachment, readBodyReport } from './body-report.js';
import { tasksOf } from './ledger.js';

export type Outcome = 'accepted' | 'held' | 'confirmed' | 'duplicate' | 'note' | 'rejected' | 'quarantined' | 'machine' | 'bounce';

/** The collection folder a message ends in (the configured names are looked up by these keys). */
export type OutcomeFolder = 'processed' | 'rejected' | 'quarantine' | 'machine';

/** One attachment as read: a form's rows (with our identity when it has one), or why it cannot be used. */
export type ReadFile =
  | { ok: true; token: TokenFields | null; rows: ReportRow[]; filename?: string; format?: string; taskTexts?: { no: number; text: string }[] }
  | { ok: false; code: ErrorCode; kind: string; message: string };

/** What deciding reads of an incoming message (parse/analyze's Analysis is one). */
export interface IncomingMail {
  from: string;
  subject?: string;
  /** The first line the sender wrote. */
  lead?: string;
  /** The body as text, for a report typed in it (body-report.ts). */
  body?: string;
  /** Why the receiving server found the From address forged, if it did. */
  authFail?: string | null;
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
  /** Words that, as the whole body, report no progress (本月无进展); none when absent. */
  noProgressWords?: readonly string[];
  /** A text reply naming no task: forwarded to the office (default), or kept for the web desk. */
  textReplies?: 'forward' | 'desk';
}

/** What is recorded, as far as deciding needs it; each is asked only when needed. */
export interface DecideLookups extends MonthLookups {
  /** An earlier message, already handled, is this same delivery. */
  isDuplicate(): boolean;
  /** Person and period of one of our own outgoing mails, by Message-ID. */
  sentMail(messageId: string): { period: string; person: string | null } | undefined;
  /** A report of this person (id) for this month is recorded. */
  hasCurrentReport(period: string, person: string): boolean;
  /** Whose (id) a form key is that no configured person's id or address gives: older forms, renames. */
  formKeyPerson?(key: string): string | undefined;
  /** A report held for its owner's consent, by the Message-ID of the notice that asked the owner. */
  heldReport(messageId: string): { id: number; person: string; period: string } | undefined;
  /** The rows of the person's current report for the month (a report typed in the body adds to them). */
  currentRows?(period: string, person: string): ReportRow[] | undefined;
}

/** A report to record, or to hold for its owner. */
export interface PlannedReport {
  person: Person;
  period: string;
  report: Evaluated;
  /** Sent by someone else while the owner has a report for the month: kept until the owner confirms. */
  hold?: boolean;
  /** The month the form or thread named, when the report counts for a later open month. */
  movedFrom?: ReportMonth['movedFrom'];
}

export interface Decision {
  outcome: Outcome;
  folder: OutcomeFolder;
  logLine: string;
  person?: Person;
  period?: string;
  match?: Match;
  report?: Evaluated;
  /** The main report is held for its owner (see PlannedReport). */
  hold?: boolean;
  movedFrom?: ReportMonth['movedFrom'];
  /** Sent by the correction route (更正). */
  correction?: boolean;
  /** Further people's forms in the same mail (a clerk answering for several). */
  others?: PlannedReport[];
  problem?: Problem;
  /** What the receipt says about the file read: its format, rows not the person's, changed task texts. */
  notes?: FileNotes;
  /** The held report an owner's 确认 applies. */
  confirms?: number;
  /** A subordinate unit's ledger (units.ts): recorded for the unit, not for a person. */
  unit?: UnitDecision;
  /** A report typed in the mail's body: what this mail said, task by task (the report may keep earlier rows). */
  body?: BodyRows;
  /** A reply without a form whose text names no task: for the office (forwarded, or kept for the desk). */
  forward?: 'forward' | 'desk';
  /** The receipt carries the person's form again (a reply without one that could not be recorded). */
  attachForm?: boolean;
}

/** What a body report recorded from this mail. */
export interface BodyRows {
  rows: { no: number; task: string; progress: string }[];
  /** The person's earlier report for the month had rows this mail left as they were. */
  merged: boolean;
  /** The whole text was a no-progress word, recorded for each task still empty. */
  noProgress: boolean;
}

/** An owner's consent: the first line they wrote is 确认 (or 同意) and nothing else. */
export function isConsent(lead: string | undefined): boolean {
  return /^(确认|同意)$/.test((lead ?? '').replace(/[\s\p{P}]/gu, ''));
}

/** What to do with one incoming message. */
export function decide(mail: IncomingMail, config: DecideConfig, lookups: DecideLookups): Decision {
  if (mail.class.kind === 'bounce') return { outcome: 'bounce', folder: 'machine', logLine: `bounce: ${mail.class.reason}` };
  if (mail.class.kind !== 'human') return { outcome: 'machine', folder: 'machine', logLine: `machine-written mail, not answered: ${mail.class.reason}` };
  // The receiving server says the From address is forged: nothing is recorded, nobody answered.
  if (mail.authFail) return { outcome: 'quarantined', folder: 'quarantine', logLine: `sender address failed authentication (${mail.authFail}): kept in quarantine, not recorded, not answered` };
  if (lookups.isDuplicate()) return { outcome: 'duplicate', folder: 'processed', logLine: 'same message delivered again; already handled' };
  const consent = mail.files.length === 0 && isConsent(mail.lead) ? confirmation(mail, config, lookups) : null;
  if (consent) return consent;

  const ledgerKey = ledgerKeyFor(config.ledger);
  const good = mail.files.filter((f) => f.ok);
  const tokens = good.flatMap((f) => (f.token ? [f.token] : []));
  const match = matchReply({ tokens, references: mail.references, sender: mail.from }, {
    ledgerKey, people: config.people, openPeriod: () => lookups.openPeriod(), sentMail: (mid) => lookups.sentMail(mid),
    formKeyPerson: lookups.formKeyPerson,
  });
  if (!match) return { outcome: 'quarantined', folder: 'quarantine', logLine: 'unknown sender and no form of ours: kept in quarantine, not answered' };
  const month = reportMonth(match, isCorrection(mail.subject), lookups);
  const base = { person: match.person, period: month.period, match, movedFrom: month.movedFrom, correction: month.correction };
  const reject = (p: Problem, why: string): Decision => ({ ...base, outcome: 'rejected', folder: 'rejected', problem: p, logLine: `reply not recorded: ${why}` });

  const reported = (p: string) => lookups.hasCurrentReport(p, match.person.id);
  if (mail.files.length === 0) return withoutForm(mail, config, lookups, base, reject);
  // The file whose identity matched, else any readable one (a known sender's own copy of the table).
  const ours = (f: ReadFile, person: Person) => f.ok && f.token?.ledgerKey === ledgerKey && personByKey(config.people, f.token.personKey, lookups.formKeyPerson) === person;
  const file = (match.via === 'file' ? good.find((f) => ours(f, match.person) && f.token!.period === match.formPeriod) : undefined) ?? good[0];
  if (!file || !file.ok) {
    const bad = mail.files[0];
    return reject(problemFor(bad.ok ? 'SHEET_CORRUPT' : bad.code, bad.ok ? undefined : bad.kind), bad.ok ? 'unreadable' : `${bad.code} (${bad.kind}) ${bad.message}`);
  }
  const ev = evaluateRows(config.ledger, match.person, file.rows);
  const others = otherForms(config, good, match, mail, lookups, ledgerKey);
  const notes = fileNotes(config.ledger, match.person, file);
  if (ev.filled.length === 0) return { ...reject(problemFor('NOT_FILLED'), 'no progress filled in'), notes };
  const own = mail.from.toLowerCase() === match.person.email;
  // The owner's report for a closed month is rewritten only by the correction route.
  if (own && !month.correction && lookups.closed(month.period) && reported(month.period)) return { ...reject(problemFor('CLOSED', undefined, month.period), 'the month\'s ledger went out and the report stands; no 更正 in the subject'), notes };
  const hold = !own && reported(month.period);
  const more = others.length ? `, and ${others.length} more person(s)${others.some((o) => o.hold) ? ', some held for their owners' : ''}` : '';
  const moved = month.movedFrom ? `, ${month.movedFrom.via === 'file' ? 'form' : 'thread'} of ${month.movedFrom.period} counted for ${month.period}` : '';
  return {
    ...base, outcome: hold ? 'held' : 'accepted', folder: 'processed', report: ev, hold, others, notes,
    logLine: hold
      ? `report for someone else who has reported already: held until the owner confirms, owner notified (via ${match.via}${moved}${more})`
      : `report recorded (${ev.filled.length} filled, ${ev.empty.length} empty, via ${match.via}${moved}${month.correction ? ', correction' : ''}${own ? '' : ', owner notified'}${more})`,
  };
}

/** An owner's 确认 in the thread of a notice about a report held for them. */
function confirmation(mail: IncomingMail, config: DecideConfig, lookups: DecideLookups): Decision | null {
  const from = mail.from.toLowerCase();
  for (const ref of [...mail.references].reverse()) {
    const held = lookups.heldReport(ref);
    const sender = held ? personByEmail(config.people, from) : undefined;
    const person = held && sender && held.person === sender.id ? sender : undefined;
    if (held && person) return { outcome: 'confirmed', folder: 'processed', person, period: held.period, confirms: held.id, logLine: 'the owner confirmed a report held for them: recorded' };
  }
  return null;
}

/** Forms of other people of this ledger in the same mail, each with something filled in. */
function otherForms(config: DecideConfig, files: ReadFile[], main: Match, mail: IncomingMail, l: DecideLookups, ledgerKey: string): PlannedReport[] {
  const out: PlannedReport[] = [];
  const correction = isCorrection(mail.subject);
  for (const f of files) {
    if (!f.ok || !f.token || f.token.ledgerKey !== ledgerKey) continue;
    const person = personByKey(config.people, f.token.personKey, l.formKeyPerson);
    if (!person || person.id === main.person.id || out.some((o) => o.person.id === person.id)) continue;
    const report = evaluateRows(config.ledger, person, f.rows);
    if (!report.filled.length) continue;
    const month = reportMonth({ period: f.token.period, formPeriod: f.token.period, threadPeriod: main.threadPeriod }, correction, l);
    const hold = person.email !== mail.from.toLowerCase() && l.hasCurrentReport(month.period, person.id);
    out.push({ person, period: month.period, report, hold, movedFrom: month.movedFrom });
  }
  return out;
}

type Base = Pick<Decision, 'person' | 'period' | 'match' | 'movedFrom' | 'correction'> & { person: Person; period: string };

/**
 * A reply with no form: progress typed in the body by the person themselves (recorded, adding to
 * their report for the month), a question or other text for the office (forwarded), a word of
 * thanks after a recorded report (kept), or a form forgotten (请补正, as ever).
 */
function withoutForm(mail: IncomingMail, config: DecideConfig, lookups: DecideLookups, base: Base, reject: (p: Problem, why: string) => Decision): Decision {
  const { person, period } = base;
  const reported = (p: string) => lookups.hasCurrentReport(p, person.id);
  const already = reported(period) || (!!base.movedFrom && reported(base.movedFrom.period));
  const own = mail.from.toLowerCase() === person.email;
  const text = mail.body ?? mail.lead ?? '';
  const br = readBodyReport(text, config.ledger, person, config.noProgressWords ?? []);
  const forward = (why: string): Decision => ({
    ...base, outcome: 'rejected', folder: 'rejected', forward: config.textReplies ?? 'forward', attachForm: own,
    logLine: `${why}: ${config.textReplies === 'desk' ? 'kept for the desk' : 'forwarded to the office'}, the sender told so`,
  });
  if (own && (br.rows.length > 0 || br.noProgress)) {
    if (!base.correction && lookups.closed(period) && reported(period)) return reject(problemFor('CLOSED'), 'the month\'s ledger went out and the report stands; no 更正 in the subject');
    const earlier = reported(period) ? lookups.currentRows?.(period, person.id) ?? [] : [];
    const filledBefore = new Set(earlier.filter((r) => r.progress.trim() !== '').map((r) => r.no));
    const fromBody = br.noProgress
      ? tasksOf(config.ledger, person.name).filter((t) => !filledBefore.has(t.no)).map((t) => ({ no: t.no, progress: br.ownText, remark: '' }))
      : br.rows;
    if (fromBody.length > 0) {
      const byNo = new Map(earlier.map((r) => [r.no, r]));
      for (const r of fromBody) byNo.set(r.no, { ...r, remark: byNo.get(r.no)?.remark ?? '' });
      const report = evaluateRows(config.ledger, person, [...byNo.values()]);
      const taskOf = (no: number) => config.ledger.tasks.find((t) => t.no === no)?.task ?? '';
      const body: BodyRows = { rows: fromBody.map((r) => ({ no: r.no, task: taskOf(r.no), progress: r.progress })), merged: earlier.length > 0, noProgress: br.noProgress };
      const notes: FileNotes = { filename: null, format: null, foreign: br.foreign, renamed: [] };
      return {
        ...base, outcome: 'accepted', folder: 'processed', report, body, notes, others: [],
        logLine: `report typed in the body recorded (${fromBody.length} task(s)${br.noProgress ? ', no progress' : ''}${body.merged ? ', added to the earlier report' : ''}, ${report.empty.length} empty, via ${base.match?.via}${br.foreign.length ? `, ${br.foreign.length} line(s) for others' tasks not recorded` : ''})`,
      };
    }
  }
  if (own && br.foreign.length > 0 && !already) {
    return { ...reject(problemFor('BODY_FOREIGN'), 'the body names only tasks that are not the sender\'s'), attachForm: true, notes: { filename: null, format: null, foreign: br.foreign, renamed: [] } };
  }
  // After a recorded report: a word of thanks is kept, not answered (a 请补正 would alarm them); a question is for the office.
  if (already) {
    return br.question || looksLikeQuestion(br.ownText)
      ? forward('a question without a form after a recorded report')
      : { ...base, outcome: 'note', folder: 'processed', logLine: 'mail without a form after a recorded report: kept, not answered' };
  }
  if (br.question || looksLikeQuestion(br.ownText)) return forward('a question without a form');
  if (br.ownText === '' || mentionsAttachment(br.ownText)) return reject(problemFor('NO_ATTACHMENT'), mail.attachmentCount ? 'no spreadsheet among the attachments' : 'no attachment');
  return forward('text without a form that names no task of the sender\'s');
}
