import { sameLocalDay } from '../core/calendar.js';
import { timingOf } from './timing.js';
import type { Context } from './context.js';
import { tasksOf, type Person } from '../core/ledger.js';
import { commonData, personForm } from './forms.js';
import { queueUnitReminders, queueUnitRequests } from './units.js';

/** Queues the month's request to every person who has not had one. Returns how many were queued. */
export async function queueRequests(ctx: Context, period: string): Promise<number> {
  const now = ctx.clock.now();
  ctx.store.markRequestsStarted(period, now.toISOString());
  let queued = 0;
  const people = ctx.config.people.filter((p) => !ctx.outbox.has('request', period, p.id, 'initial'));
  // Recorded in a few transactions: nothing is sent until all are queued.
  await ctx.store.batch(async (unitDone) => {
    for (const [i, person] of people.entries()) {
      const tasks = tasksOf(ctx.config.ledger, person.name).map((t) => ({ ...t, departments: t.departments.join('、') }));
      const data = { ...commonData(ctx, period, person), tasks };
      const mail = ctx.templates.render('request', data);
      const form = await personForm(ctx, period, person);
      const added = await ctx.outbox.queue({ kind: 'request', period, person: person.id, slot: 'initial' }, {
        to: [{ name: person.name, address: person.email }], ...mail,
        attachments: [{ filename: data.attachmentName, content: form, contentType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' }],
      }, now);
      if (added) queued++;
      unitDone();
      ctx.progress('requests prepared', i + 1, people.length);
    }
  });
  if (queued) ctx.log.info({ period, queued }, 'requests queued');
  return queued + await queueUnitRequests(ctx, period);
}

/**
 * Queues a reminder (slot) to each person who has not reported for the period and whose request
 * went out before `requestedBefore` (by hand: not the same day): a late request is reminder enough.
 */
export async function queueReminders(ctx: Context, period: string, slot: string, opts: { requestedBefore?: Date } = {}): Promise<number> {
  const now = ctx.clock.now();
  const reports = ctx.store.currentReports(period);
  // A partial report (部分填报) is reminded of its empty rows until the deadline.
  const beforeDeadline = now < timingOf(ctx.config.schedule, ctx.config.timezone).deadlineInstant(period);
  const emptyOf = (p: Person) => {
    const words = new Set((reports.get(p.id)?.rows ?? []).filter((r) => r.progress.trim() !== '').map((r) => r.no));
    return tasksOf(ctx.config.ledger, p.name).filter((t) => !words.has(t.no));
  };
  let queued = 0;
  const people = ctx.config.people.filter((p) => (!reports.has(p.id) || (beforeDeadline && emptyOf(p).length > 0)) && !ctx.outbox.has('reminder', period, p.id, slot));
  await ctx.store.batch(async (unitDone) => {
    for (const [i, person] of people.entries()) {
      const request = ctx.store.outboxFor('request', period, person.id)[0];
      // Only after a request that went out, and not on its heels: a reminder day's reminder goes to
      // those asked before that day's send time; one by hand, to those not asked the same day.
      if (!request || request.state !== 'sent') continue;
      const asked = new Date(request.created_at);
      if (opts.requestedBefore ? asked >= opts.requestedBefore : sameLocalDay(asked, now, ctx.config.timezone)) continue;
      const partial = reports.has(person.id);
      const data = {
        ...commonData(ctx, period, person), taskCount: tasksOf(ctx.config.ledger, person.name).length,
        partial, emptyRows: partial ? emptyOf(person).map((t) => ({ no: t.no, task: t.task })) : [],
      };
      const mail = ctx.templates.render('reminder', data);
      const form = await personForm(ctx, period, person);
      const added = await ctx.outbox.queue({ kind: 'reminder', period, person: person.id, slot }, {
        to: [{ name: person.name, address: person.email }], ...mail,
        attachments: [{ filename: data.attachmentName, content: form, contentType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' }],
        inReplyTo: request.message_id, references: [request.message_id],
      }, now);
      if (added) queued++;
      unitDone();
      ctx.progress('reminders prepared', i + 1, people.length);
    }
  });
  if (queued) ctx.log.info({ period, slot, queued }, 'reminders queued');
  return queued + await queueUnitReminders(ctx, period, slot, opts);
}
