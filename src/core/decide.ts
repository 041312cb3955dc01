import type { Analysis, FileResult } from '../parse/analyze.js';
import { periodLabel } from './calendar.js';
import type { Context } from '../cycle/context.js';
import type { Folders } from '../app/config.js';
import type { Person, ReportRow, Task } from './ledger.js';
import { evaluateRows, matchReply, personByKey, problemFor, type Match, type Problem } from './reply.js';
import { ledgerKeyOf, personKeyOf } from './identity.js';
import { latestAskedPeriod, localStamp } from '../cycle/status.js';
import type { MessageRow } from '../store/store.js';

export type Outcome = 'accepted' | 'duplicate' | 'note' | 'rejected' | 'quarantined' | 'machine' | 'bounce';

export interface Decision {
  outcome: Outcome;
  folder: Exclude<keyof Folders, 'sent'>;
  logLine: string;
  person?: Person;
  period?: string;
  match?: Match;
  report?: { rows: ReportRow[]; filled: { task: Task; row: ReportRow }[]; empty: Task[] };
  /** Further people's forms in the same mail (a clerk answering for several). */
  others?: { person: Person; period: string; report: NonNullable<Decision['report']> }[];
  problem?: Problem;
}

/** What to do with one analysed message. Reads state, changes nothing. */
export function decide(ctx: Context, row: MessageRow, a: Analysis): Decision {
  if (a.class.kind === 'bounce') return { outcome: 'bounce', folder: 'machine', logLine: `bounce: ${a.class.reason}` };
  if (a.class.kind !== 'human') return { outcome: 'machine', folder: 'machine', logLine: `machine-written mail, not answered: ${a.class.reason}` };
  if (ctx.store.duplicateOf(row)) return { outcome: 'duplicate', folder: 'processed', logLine: 'same message delivered again; already handled' };

  const good = a.files.filter((f) => f.ok);
  const tokens = good.flatMap((f) => (f.ok && f.token ? [f.token] : []));
  const match = matchReply({ tokens, references: a.references, sender: a.from }, {
    ledgerKey: ledgerKeyOf(ctx.config.ledger.title), people: ctx.config.people, openPeriod: () => latestAskedPeriod(ctx.store, ctx.clock.now(), ctx.config.timezone),
    sentMail: (mid) => {
      const o = ctx.store.outboxByMessageId(mid);
      return o && { period: o.period, person: o.person || null };
    },
  });
  if (!match) return { outcome: 'quarantined', folder: 'quarantine', logLine: 'unknown sender and no form of ours: kept in quarantine, not answered' };
  const base = { person: match.person, period: match.period, match };
  const reject = (p: Problem, why: string): Decision => ({ ...base, outcome: 'rejected', folder: 'rejected', problem: p, logLine: `reply not recorded: ${why}` });

  // A word of thanks after a recorded report: kept, not answered (a 请补正 would alarm them).
  if (a.files.length === 0 && ctx.store.currentReports(match.period).has(match.person.email)) {
    return { ...base, outcome: 'note', folder: 'processed', logLine: 'mail without a form after a recorded report: kept, not answered' };
  }
  if (a.files.length === 0) return reject(problemFor('NO_ATTACHMENT'), a.attachmentCount ? 'no spreadsheet among the attachments' : 'no attachment');
  // The file whose identity matched, else any readable one (a known sender's own copy of the table).
  const ledgerKey = ledgerKeyOf(ctx.config.ledger.title);
  const ours = (f: FileResult, person: Person) => f.ok && f.token?.ledgerKey === ledgerKey && f.token.personKey === personKeyOf(person.email);
  const file = (match.via === 'file' ? good.find((f) => ours(f, match.person)) : undefined) ?? good[0];
  if (!file || !file.ok) {
    const bad = a.files[0];
    return reject(problemFor(bad.ok ? 'SHEET_CORRUPT' : bad.code, bad.ok ? undefined : bad.kind), bad.ok ? 'unreadable' : `${bad.code} (${bad.kind}) ${bad.message}`);
  }
  const ev = evaluateRows(ctx.config.ledger, match.person, file.rows);
  const others = otherForms(ctx, good, match.person, ledgerKey);
  if (ev.filled.length === 0) return reject(problemFor('NOT_FILLED'), 'no progress filled in');
  return { ...base, outcome: 'accepted', folder: 'processed', report: ev, others, logLine: `report recorded (${ev.filled.length} filled, ${ev.empty.length} empty, via ${match.via}${others.length ? `, and ${others.length} more person(s)` : ''})` };
}

/** Forms of other people of this ledger in the same mail, each with something filled in. */
function otherForms(ctx: Context, files: FileResult[], main: Person, ledgerKey: string): NonNullable<Decision['others']> {
  const out: NonNullable<Decision['others']> = [];
  for (const f of files) {
    if (!f.ok || !f.token || f.token.ledgerKey !== ledgerKey) continue;
    const key = f.token.personKey;
    const person = personByKey(ctx.config.people, key);
    if (!person || person.email === main.email || out.some((o) => o.person.email === person.email)) continue;
    const report = evaluateRows(ctx.config.ledger, person, f.rows);
    if (report.filled.length) out.push({ person, period: f.token.period, report });
  }
  return out;
}

/** Records what the decision says and queues the answer. Idempotent per message. */
export async function applyDecision(ctx: Context, row: MessageRow, a: Analysis, d: Decision): Promise<void> {
  const { store } = ctx;
  const now = ctx.clock.now();
  if (d.outcome === 'bounce' && a.class.kind === 'bounce') {
    const target = (a.class.originalMessageId && store.outboxByMessageId(a.class.originalMessageId))
      || a.class.failedRecipients.map((r) => store.latestMailTo(r)).find(Boolean);
    if (target) store.markBounced(target.id, now.toISOString());
    ctx.log.warn({ person: target?.person, period: target?.period }, target ? 'our mail bounced: delivery marked as bounced' : 'bounce for no mail of ours');
    return;
  }
  if (!d.person || !d.period || (d.outcome !== 'accepted' && d.outcome !== 'rejected')) return;
  // Late means it arrived after the ledger went out; one that arrived before but is read only now
  // (the mailbox was unreachable, a retry) is on time, and the office gets an updated ledger.
  const closedAt = (period: string) => store.period(period)?.consolidated_at;
  const isLate = (period: string) => { const at = closedAt(period); return !!at && row.received_at >= at; };
  const late = d.outcome === 'accepted' && isLate(d.period);
  if (d.outcome === 'accepted' && d.report) {
    const all = [{ person: d.person, period: d.period, report: d.report }, ...(d.others ?? [])];
    store.tx(() => {
      if (store.reportOfMessage(row.id)) return;
      for (const r of all) {
        store.addReport({ period: r.period, person: r.person.email, messageRow: row.id, sender: a.from, receivedAt: row.received_at, late: isLate(r.period), rows: r.report.rows });
        if (closedAt(r.period)) store.markDirty(r.period);
      }
    });
  }
  const onBehalf = a.from !== d.person.email;
  const data = {
    personName: d.person.name, periodLabel: periodLabel(d.period), accepted: d.outcome === 'accepted', late,
    receivedAt: localStamp(row.received_at, ctx.config.timezone),
    rows: d.report?.filled.map((f) => ({ no: f.task.no, task: f.task.task, progress: f.row.progress, remark: f.row.remark })) ?? [],
    emptyRows: d.report?.empty.map((t) => ({ no: t.no, task: t.task })) ?? [],
    onBehalfOf: onBehalf, sender: a.from, problem: d.problem?.problem, fix: d.problem?.fix,
    others: (d.others ?? []).map((o) => ({
      personName: o.person.name, periodLabel: periodLabel(o.period),
      rows: o.report.filled.map((f) => ({ no: f.task.no, task: f.task.task, progress: f.row.progress })),
    })),
    officeName: ctx.config.mailbox.senderName,
  };
  const mail = ctx.templates.render('receipt', data);
  const refs = a.messageId ? [...a.references, a.messageId] : a.references;
  await ctx.outbox.queue({ kind: 'receipt', period: d.period, person: d.person.email, slot: `msg-${row.id}` }, {
    to: [{ address: a.from }], ...mail, inReplyTo: a.messageId ?? undefined, references: refs,
  }, now);
}
