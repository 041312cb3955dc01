/** Deciding a stored message against the store, and recording what the decision says. */
import { localStamp, periodLabel } from '../core/calendar.js';
import { decide, type Decision } from '../core/decide.js';
import { serialList } from '../core/notes.js';
import type { Analysis } from '../parse/analyze.js';
import type { MessageRow } from '../store/store.js';
import type { Context } from './context.js';
import { latestAskedPeriod } from './status.js';

/** What applying a decision uses of the context. */
export type ApplyContext = Pick<Context, 'config' | 'store' | 'clock' | 'templates' | 'outbox' | 'log'>;

/** What to do with one analysed message, by what the store holds. Reads state, changes nothing. */
export function decideMessage(ctx: Pick<Context, 'config' | 'store' | 'clock'>, row: MessageRow, a: Analysis): Decision {
  const { config, store } = ctx;
  return decide(a, config, {
    isDuplicate: () => !!store.duplicateOf(row),
    sentMail: (mid) => {
      const o = store.outboxByMessageId(mid);
      return o && { period: o.period, person: o.person || null };
    },
    openPeriod: () => latestAskedPeriod(store, ctx.clock.now(), config.timezone),
    hasCurrentReport: (period, email) => store.hasCurrentReport(period, email),
  });
}

/** Records what the decision says and queues the answer. Idempotent per message. */
export async function applyDecision(ctx: ApplyContext, row: MessageRow, a: Analysis, d: Decision): Promise<void> {
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
    notes: d.notes && {
      format: d.notes.format, filename: d.notes.filename,
      foreign: serialList(d.notes.foreign), renamed: serialList(d.notes.renamed),
    },
  };
  const mail = ctx.templates.render('receipt', data);
  const refs = a.messageId ? [...a.references, a.messageId] : a.references;
  await ctx.outbox.queue({ kind: 'receipt', period: d.period, person: d.person.email, slot: `msg-${row.id}` }, {
    to: [{ address: a.from }], ...mail, inReplyTo: a.messageId ?? undefined, references: refs,
  }, now);
}
