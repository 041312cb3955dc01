/**
 * The office hears without asking: on each of `schedule.status_days`, a short mail to every
 * office address saying who has not reported yet. Through the outbox, once per day slot and
 * address; after downtime only the latest due day's goes (as with reminders).
 */
import { chineseStamp, periodLabel } from '../core/calendar.js';
import { timingOf } from './timing.js';
import type { Context } from './context.js';
import { periodStates } from './status.js';
import { signature } from './signature.js';

/** The status day due at the clock's instant (the latest one passed in the open month), or null. */
export function dueStatusDay(ctx: Context): { period: string; slot: string } | null {
  const { schedule, timezone } = ctx.config;
  if (!schedule.statusDays.length) return null;
  // Status days fall as reminder days do (moved off days off, before the deadline).
  const due = timingOf({ ...schedule, reminderDays: schedule.statusDays }, timezone).due(ctx.clock.now()).at(-1);
  return due?.reminder ? { period: due.period, slot: due.reminder.slot } : null;
}

/** Who has not reported, as the office reads them: 姓名（部门）. */
export function pendingPeople(ctx: Context, period: string): { id: string; name: string; label: string }[] {
  return periodStates(ctx.config, ctx.store, period)
    .filter((s) => s.status === 'pending')
    .map((s) => ({ id: s.person.id, name: s.person.name, label: s.person.department ? `${s.person.name}（${s.person.department}）` : s.person.name }));
}

/** Queues the day's status mail to each office address that has not had it; returns how many. */
export async function queueStatusMail(ctx: Context, period: string, slot: string): Promise<number> {
  const now = ctx.clock.now();
  const states = periodStates(ctx.config, ctx.store, period);
  const pending = pendingPeople(ctx, period);
  const sig = signature(ctx.config, now);
  let queued = 0;
  for (const o of ctx.config.office) {
    const key = { kind: 'status' as const, period, person: null, slot: `${slot}:${o.email}` };
    if (ctx.outbox.has(key.kind, key.period, key.person, key.slot)) continue;
    const mail = ctx.templates.render('status', {
      officeName: o.name, ledgerTitle: ctx.config.ledger.title, periodLabel: periodLabel(period),
      asOf: chineseStamp(now, ctx.config.timezone), deadline: timingOf(ctx.config.schedule, ctx.config.timezone).deadlineText(period),
      total: states.length, reported: states.length - pending.length, pending: pending.map((p) => p.label),
      signedBy: sig.officeName, sentDate: sig.sentDate,
    });
    if (await ctx.outbox.queue(key, { to: [{ name: o.name, address: o.email }], ...mail }, now)) queued++;
  }
  if (queued) ctx.log.info({ period, slot, pending: pending.length }, 'status mail to the office queued');
  return queued;
}
