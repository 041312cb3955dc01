/**
 * The mail a handled message causes: the sender's receipt, and a notice to each person a report
 * was recorded or held for by someone else. Within limits, so that the collection mailbox cannot
 * be used to send mail to third parties: receipts to addresses outside the roster never repeat
 * what the sender wrote, and each such address, like each owner, gets a few mails a day at most.
 */
import { chineseStamp, localParts, periodLabel, zonedInstant } from '../core/calendar.js';
import { periodWords } from '../core/period.js';
import { signature } from './signature.js';
import type { Decision, PlannedReport } from '../core/decide.js';
import { serialList } from '../core/notes.js';
import { personByEmail } from '../core/reply.js';
import type { Analysis } from '../parse/analyze.js';
import type { MessageRow, OutboxKind } from '../store/store.js';
import type { Context } from './context.js';
import { EchoBudget } from './echo.js';
import { formFileName, personForm, XLSX_TYPE } from './forms.js';

/** What applying a decision uses of the context (`secret`: to attach a person's form again). */
export type ApplyContext = Pick<Context, 'config' | 'store' | 'clock' | 'templates' | 'outbox' | 'log'> & Partial<Pick<Context, 'secret'>>;

/** Receipts a day to one address outside the roster, and notices a day to one owner. */
export const DAILY_LIMIT = 5;

/** Whether another mail of this kind may go to this address today (local day). */
function withinLimit(ctx: ApplyContext, kind: OutboxKind, address: string): boolean {
  const tz = ctx.config.timezone;
  const d = localParts(ctx.clock.now(), tz);
  const dayStart = zonedInstant(d.year, d.month, d.day, 0, 0, tz).toISOString();
  return ctx.store.countOutboxTo(kind, address, dayStart) < DAILY_LIMIT;
}

/** A report's rows as mail shows them: with the words only where `echo`. */
/** The rows a mail lists; the words only when `echo` is given, within its budget (a 1 MB cell must not make a 1 MB mail). */
function rowsOf(p: Pick<PlannedReport, 'report'> | undefined, echo: EchoBudget | null) {
  return p?.report.filled.map((f) => ({ no: f.task.no, task: f.task.task, progress: echo?.take(f.row.progress), remark: echo?.take(f.row.remark) })) ?? [];
}

/** The sender as an owner's notice names them: the roster name with the address, else the address. */
function senderLabel(ctx: ApplyContext, address: string): string {
  const p = personByEmail(ctx.config.people, address);
  return p ? `${p.name}（${p.department}，${address}）` : address;
}

/** Queues the sender's receipt and the owners' notices. */
export async function answer(ctx: ApplyContext, row: MessageRow, a: Analysis, d: Decision, plans: PlannedReport[], isLate: (period: string) => boolean): Promise<void> {
  await receipt(ctx, row, a, d, plans, isLate);
  for (const p of plans) {
    if (p.person.email !== a.from.toLowerCase()) await notice(ctx, row, a, p);
  }
}

async function receipt(ctx: ApplyContext, row: MessageRow, a: Analysis, d: Decision, plans: PlannedReport[], isLate: (period: string) => boolean): Promise<void> {
  // An empty sender still gets its receipt queued: the outbox marks it failed at once (shown as failed, never retried).
  if (!d.person || !d.period) return;
  const slot = `msg-${row.id}`;
  if (ctx.outbox.has('receipt', d.period, d.person.id, slot)) return; // answered before a restart
  const sender = personByEmail(ctx.config.people, a.from);
  if (!sender && !withinLimit(ctx, 'receipt', a.from)) {
    ctx.log.warn({ from: a.from }, `no receipt: ${DAILY_LIMIT} receipts went to this address outside the roster today`);
    return;
  }
  const [main, ...others] = plans;
  const echo = sender ? new EchoBudget() : null;
  const onBehalf = a.from.toLowerCase() !== d.person.email;
  const confirmed = d.outcome === 'confirmed' ? ctx.store.heldReport({ id: d.confirms! }) : undefined;
  const closed = !!ctx.store.period(d.period)?.consolidated_at;
  // A text the office is to answer, or lines for others' tasks: the sender's form again, to fill in on a phone.
  const form = d.attachForm && !onBehalf && ctx.secret ? await personForm({ config: ctx.config, secret: ctx.secret, store: ctx.store }, d.period, d.person) : null;
  const data = {
    words: periodWords(ctx.config.schedule.cadence), personName: d.person.name, periodLabel: periodLabel(d.period),
    accepted: d.outcome === 'accepted' || d.outcome === 'confirmed', held: d.outcome === 'held',
    // Late by the rule status uses: no on-time report of the person's for the month (a correction
    // after the ledger went out of a report that came in time stays on time).
    late: (d.outcome === 'accepted' || d.outcome === 'confirmed') && isLate(d.period) && !ctx.store.reportTally(d.period).get(d.person.id)?.anyOnTime,
    receivedAt: chineseStamp(row.received_at, ctx.config.timezone),
    rows: confirmed ? confirmed.rows.map((r) => ({ no: r.no, task: taskName(ctx, r.no), progress: echo?.take(r.progress), remark: echo?.take(r.remark) }))
      : d.body ? d.body.rows.map((r) => ({ no: r.no, task: r.task, progress: echo?.take(r.progress), remark: '' })) : rowsOf(main, echo),
    body: d.body && { merged: d.body.merged, noProgress: d.body.noProgress },
    forwarded: !!d.forward, deskOnly: d.forward === 'desk', formAttached: !!form,
    emptyRows: main?.report.empty.map((t) => ({ no: t.no, task: t.task })) ?? [],
    echo: !!echo, onBehalfOf: onBehalf, sender: a.from, problem: d.problem?.problem, fix: d.problem?.fix,
    movedFrom: d.movedFrom && periodLabel(d.movedFrom.period), movedByForm: d.movedFrom?.via === 'file',
    movedClosed: !!d.movedFrom && !!ctx.store.period(d.movedFrom.period)?.consolidated_at,
    correction: !!d.correction && closed && d.outcome === 'accepted',
    notOwnForm: !!sender && onBehalf && d.outcome !== 'rejected' && d.match?.via === 'file',
    confirmed: !!confirmed, heldSender: confirmed?.sender,
    others: others.map((o) => ({
      personName: o.person.name, periodLabel: periodLabel(o.period), held: !!o.hold, rows: rowsOf(o, echo), movedFrom: o.movedFrom && periodLabel(o.movedFrom.period),
    })),
    echoCut: false,
    ...signature(ctx.config, ctx.clock.now()),
    notes: d.notes && {
      format: d.notes.format, filename: d.notes.filename, inBody: !d.notes.format && !d.notes.filename,
      foreign: serialList(d.notes.foreign), renamed: serialList(d.notes.renamed),
    },
  };
  data.echoCut = !!echo?.cut;
  const mail = ctx.templates.render('receipt', data);
  const refs = a.messageId ? [...a.references, a.messageId] : a.references;
  await ctx.outbox.queue({ kind: 'receipt', period: d.period, person: d.person.id, slot }, {
    to: [{ address: a.from }], ...mail, inReplyTo: a.messageId ?? undefined, references: refs,
    attachments: form ? [{ filename: formFileName(d.period, d.person), content: form, contentType: XLSX_TYPE }] : undefined,
  }, ctx.clock.now());
}

function taskName(ctx: ApplyContext, no: number): string {
  return ctx.config.ledger.tasks.find((t) => t.no === no)?.task ?? '';
}

/** Tells the owner what someone else sent in their name: recorded, or held until they confirm. */
async function notice(ctx: ApplyContext, row: MessageRow, a: Analysis, p: PlannedReport): Promise<void> {
  const slot = `${p.hold ? 'held' : 'recorded'}-${row.id}`;
  if (ctx.outbox.has('notice', p.period, p.person.id, slot)) return;
  if (!withinLimit(ctx, 'notice', p.person.email)) {
    ctx.log.warn({ person: p.person.name }, `no notice to the owner: ${DAILY_LIMIT} notices went to them today`);
    return;
  }
  const echo = new EchoBudget();
  const rows = rowsOf(p, echo);
  const mail = ctx.templates.render('notice', {
    words: periodWords(ctx.config.schedule.cadence), personName: p.person.name, periodLabel: periodLabel(p.period), held: !!p.hold,
    sender: senderLabel(ctx, a.from), receivedAt: chineseStamp(row.received_at, ctx.config.timezone),
    rows, echoCut: echo.cut, emptyRows: p.report.empty.map((t) => ({ no: t.no, task: t.task })),
    ...signature(ctx.config, ctx.clock.now()),
  });
  await ctx.outbox.queue({ kind: 'notice', period: p.period, person: p.person.id, slot }, {
    to: [{ name: p.person.name, address: p.person.email }], ...mail,
  }, ctx.clock.now());
}
