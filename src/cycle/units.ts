/**
 * Roll-up from subordinate units (局属单位, `ledger.units`): each unit is asked each period, on
 * the people's schedule and through the outbox (exactly once), for its own ledger; its reply —
 * the blank unit form filled in, a table of its own, or the consolidated ledger a unit running
 * taizhang mails to its office (our collection address) — is recorded as that unit's ledger for
 * the period (the latest wins) and answered with a receipt.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { chineseStamp, periodLabel, sameLocalDay } from '../core/calendar.js';
import type { Decision } from '../core/decide.js';
import { decideUnit, unitKey, type Unit, type UnitDecision } from '../core/units.js';
import { Templates, type MailKind } from '../mail/templates.js';
import type { Analysis } from '../parse/analyze.js';
import type { MessageRow } from '../store/store.js';
import type { ApplyContext } from './answer.js';
import type { Context } from './context.js';
import { signature } from './signature.js';
import { latestAskedPeriod } from './status.js';
import { timingOf } from './timing.js';
import { unitReportsOf } from './unit-status.js';

const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
/** Tasks a receipt lists by name at most (a child's whole ledger may be long). */
const RECEIPT_TASKS = 50;

let shipped: Templates | undefined;
/** The unit mails' wording: the office's templates_dir when it has them, else the shipped ones. */
function render(ctx: Pick<Context, 'config' | 'templates'>, kind: MailKind, data: object) {
  const dir = ctx.config.templatesDir;
  if (!dir || existsSync(path.join(dir, `${kind}.subject.hbs`))) return ctx.templates.render(kind, data);
  return (shipped ??= new Templates()).render(kind, data);
}

export function unitFormName(period: string, unit: Unit): string {
  return `局属单位工作台账-${periodLabel(period)}-${unit.name}.xlsx`;
}

async function unitForm(ctx: Context, period: string, unit: Unit): Promise<Buffer> {
  const { writeUnitForm } = await import('../sheet/unit-form.js'); // exceljs only when a form is written
  return writeUnitForm({
    ledgerTitle: ctx.config.ledger.title, unitName: unit.name, periodLabel: periodLabel(period),
    deadlineText: timingOf(ctx.config.schedule, ctx.config.timezone).deadlineText(period),
  });
}

function mailData(ctx: Context, period: string, unit: Unit) {
  return {
    unit, ledgerTitle: ctx.config.ledger.title, periodLabel: periodLabel(period),
    deadline: timingOf(ctx.config.schedule, ctx.config.timezone).deadlineText(period), attachmentName: unitFormName(period, unit),
    collectionAddress: ctx.config.mailbox.address, ...signature(ctx.config, ctx.clock.now()),
  };
}

/** Queues the period's request to each unit that has had none. Returns how many were queued. */
export async function queueUnitRequests(ctx: Context, period: string): Promise<number> {
  const now = ctx.clock.now();
  let queued = 0;
  for (const unit of ctx.config.ledger.units ?? []) {
    if (ctx.outbox.has('unit-request', period, unitKey(unit), 'initial')) continue;
    const data = mailData(ctx, period, unit);
    const added = await ctx.outbox.queue({ kind: 'unit-request', period, person: unitKey(unit), slot: 'initial' }, {
      to: [{ name: unit.name, address: unit.email }], ...render(ctx, 'unit-request', data),
      attachments: [{ filename: data.attachmentName, content: await unitForm(ctx, period, unit), contentType: XLSX }],
    }, now);
    if (added) queued++;
  }
  if (queued) ctx.log.info({ period, queued }, 'unit requests queued');
  return queued;
}

/** Reminds each unit without a report whose request went out before `requestedBefore` (by hand: not the same day). */
export async function queueUnitReminders(ctx: Context, period: string, slot: string, opts: { requestedBefore?: Date } = {}): Promise<number> {
  const now = ctx.clock.now();
  const reports = unitReportsOf(ctx.config, ctx.store);
  let queued = 0;
  for (const unit of ctx.config.ledger.units ?? []) {
    const key = unitKey(unit);
    if (reports.hasCurrent(period, unit.name) || ctx.outbox.has('unit-reminder', period, key, slot)) continue;
    const request = ctx.store.outboxFor('unit-request', period, key)[0];
    if (!request || request.state !== 'sent') continue;
    const asked = new Date(request.created_at);
    if (opts.requestedBefore ? asked >= opts.requestedBefore : sameLocalDay(asked, now, ctx.config.timezone)) continue;
    const data = mailData(ctx, period, unit);
    const added = await ctx.outbox.queue({ kind: 'unit-reminder', period, person: key, slot }, {
      to: [{ name: unit.name, address: unit.email }], ...render(ctx, 'unit-reminder', data),
      attachments: [{ filename: data.attachmentName, content: await unitForm(ctx, period, unit), contentType: XLSX }],
      inReplyTo: request.message_id, references: [request.message_id],
    }, now);
    if (added) queued++;
  }
  if (queued) ctx.log.info({ period, slot, queued }, 'unit reminders queued');
  return queued;
}

/** What to do with a mail from a unit's address (null: not a unit's, or for the usual rules). */
export function decideUnitMessage(ctx: Pick<Context, 'config' | 'store' | 'clock'>, row: MessageRow, a: Analysis): Decision | null {
  const { config, store } = ctx;
  if (!config.ledger.units?.length) return null;
  const reports = unitReportsOf(config, store);
  const d = decideUnit(a, config.ledger.units, {
    isDuplicate: () => !!store.duplicateOf(row),
    sentMail: (mid) => { const o = store.outboxByMessageId(mid); return o && { period: o.period, person: o.person || null }; },
    openPeriod: () => latestAskedPeriod(store, ctx.clock.now(), timingOf(config.schedule, config.timezone)),
    asked: (period) => !!store.period(period)?.requests_at,
    hasCurrentReport: (period, unit) => reports.hasCurrent(period, unit),
  });
  if (!d) return null;
  const folder = d.outcome === 'rejected' ? 'rejected' : 'processed';
  return { outcome: d.outcome, folder, period: d.period, unit: d, logLine: `${d.logLine}: ${d.unit.name}` };
}

/** Records a unit's ledger and queues its receipt. Idempotent per message. */
export async function applyUnitDecision(ctx: ApplyContext, row: MessageRow, a: Analysis, d: UnitDecision): Promise<void> {
  if (d.outcome === 'note') return;
  const { store } = ctx;
  const reports = unitReportsOf(ctx.config, store);
  const closedAt = store.period(d.period)?.consolidated_at;
  const late = !!closedAt && row.received_at >= closedAt;
  let replaced = false;
  if (d.outcome === 'accepted') {
    store.tx(() => {
      if (reports.recorded(row.id)) return;
      replaced = reports.hasCurrent(d.period, d.unit.name);
      reports.add({ period: d.period, unit: d.unit.name, messageRow: row.id, sender: a.from, receivedAt: row.received_at, late, tasks: d.tasks! });
      if (closedAt) store.markDirty(d.period); // the office gets the updated ledger
    });
  }
  await unitReceipt(ctx, row, a, d, { late: late && !reports.tally(d.period).get(d.unit.name)?.anyOnTime, replaced });
}

async function unitReceipt(ctx: ApplyContext, row: MessageRow, a: Analysis, d: UnitDecision, f: { late: boolean; replaced: boolean }): Promise<void> {
  const slot = `msg-${row.id}`;
  if (ctx.outbox.has('unit-receipt', d.period, unitKey(d.unit), slot)) return; // answered before a restart
  const tasks = d.tasks ?? [];
  const mail = render(ctx, 'unit-receipt', {
    unit: d.unit, periodLabel: periodLabel(d.period), accepted: d.outcome === 'accepted', taizhang: !!d.taizhang,
    receivedAt: chineseStamp(row.received_at, ctx.config.timezone), taskCount: tasks.length,
    tasks: tasks.slice(0, RECEIPT_TASKS).map((t) => ({ no: t.no, task: t.task.replace(/\s*\n\s*/g, '') })),
    more: Math.max(0, tasks.length - RECEIPT_TASKS), filename: d.filename, late: f.late, replaced: f.replaced,
    problem: d.problem?.problem, fix: d.problem?.fix, ...signature(ctx.config, ctx.clock.now()),
  });
  const refs = a.messageId ? [...a.references, a.messageId] : a.references;
  // To the unit's own address: its ledger is never told to anyone else.
  await ctx.outbox.queue({ kind: 'unit-receipt', period: d.period, person: unitKey(d.unit), slot }, {
    to: [{ name: d.unit.name, address: d.unit.email }], ...mail, inReplyTo: a.messageId ?? undefined, references: refs,
  }, ctx.clock.now());
}
