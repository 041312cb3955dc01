import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { periodLabel, sameLocalDay } from '../core/calendar.js';
import { timingOf } from './timing.js';
import { contactLine, signature } from './signature.js';
import type { Context } from './context.js';
import { tasksOf, type Person, type ReportRow } from '../core/ledger.js';
import { ledgerKeyOf, makeToken, personKeyOf } from '../core/identity.js';
import { FILE_MODE, privateDir } from '../store/files.js';
import { queueUnitReminders, queueUnitRequests } from './units.js';

export const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

/** The file each person fills in, named so they can find it among their downloads. */
export function formFileName(period: string, person: Person): string {
  return `台账进展情况-${periodLabel(period, { short: true })}-${person.name}.xlsx`;
}

/** The form's identity: from the person's id, so the form still names them after a new address. */
export function tokenFor(ctx: Pick<Context, 'config' | 'secret'>, period: string, person: Person): string {
  return makeToken({ ledgerKey: ledgerKeyOf(ctx.config.ledger.title), period, personKey: personKeyOf(person), secret: ctx.secret });
}

/**
 * The person's form for the month, written once and kept while its content stays the same, so a
 * reminder attaches the same file. The file is named by a hash of everything the form shows: when
 * the person's tasks (or name, department, deadline) change in the config, the next mail carries
 * a new form with the current tasks.
 */
export async function personForm(ctx: Pick<Context, 'config' | 'secret' | 'store'>, period: string, person: Person): Promise<Buffer> {
  const t = timingOf(ctx.config.schedule, ctx.config.timezone);
  const last = lastPeriodWords(ctx, period, person);
  const input = {
    ledger: { title: ctx.config.ledger.title, tasks: tasksOf(ctx.config.ledger, person.name) }, person, periodLabel: periodLabel(period),
    deadlineText: t.deadlineText(period), token: tokenFor(ctx, period, person),
    lastPeriodLabel: last && periodLabel(last.period), lastPeriod: new Map(last?.rows.map((r) => [r.no, r])),
    contactLine: contactLine(ctx.config),
    // Only a cadence other than monthly changes what the form shows (and so its file).
    ...(t.schedule.cadence === 'monthly' ? {} : { words: t.words }),
  };
  // What the form shows (the address is not on it): a corrected 上期 report makes a new form.
  const shown = { ...input, person: { name: person.name, department: person.department }, lastPeriod: last?.rows ?? [] };
  const content = createHash('sha256').update(JSON.stringify(shown)).digest('hex').slice(0, 12);
  const dir = path.join(ctx.config.dataDir, 'forms', period);
  const file = path.join(dir, `${personKeyOf(person)}-${content}.xlsx`);
  if (existsSync(file)) return readFileSync(file);
  // exceljs is loaded when a form is written (30 MB and 0.3 s a run that writes none spares).
  const { writePersonTemplate } = await import('../sheet/template.js');
  const buf = await writePersonTemplate(input);
  privateDir(dir);
  writeFileSync(`${file}.tmp`, buf, { mode: FILE_MODE });
  renameSync(`${file}.tmp`, file); // whole or not at all: a later mail attaches what is there
  return buf;
}

/**
 * The person's own words of the period before `period` (their current report there, rows with
 * progress only), shown in the form's 上期进展. Undefined for the first period.
 */
function lastPeriodWords(ctx: Pick<Context, 'config' | 'store'>, period: string, person: Person): { period: string; rows: ReportRow[] } | undefined {
  const periods = timingOf(ctx.config.schedule, ctx.config.timezone).periodsUpTo(period);
  const prev = periods.length > 1 && periods[periods.length - 1] === period ? periods[periods.length - 2] : undefined;
  if (!prev) return undefined;
  const report = ctx.store.currentReport(prev, person.id);
  return { period: prev, rows: (report?.rows ?? []).filter((r) => r.progress.trim() !== '') };
}

export function commonData(ctx: Context, period: string, person: Person) {
  const t = timingOf(ctx.config.schedule, ctx.config.timezone);
  return {
    person, ledgerTitle: ctx.config.ledger.title, periodLabel: periodLabel(period), words: t.words,
    deadline: t.deadlineText(period),
    attachmentName: formFileName(period, person), ...signature(ctx.config, ctx.clock.now()),
  };
}

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
