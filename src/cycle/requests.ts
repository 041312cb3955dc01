import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { deadlineDate, formatLocalDate, periodLabel, sameLocalDay } from '../core/calendar.js';
import { signature } from './signature.js';
import type { Context } from './context.js';
import { tasksOf, type Person } from '../core/ledger.js';
import { ledgerKeyFor, makeToken, personKeyOf } from '../core/identity.js';
import { FILE_MODE, privateDir } from '../store/files.js';
import { ledgerHome, severalLedgers } from './ledgers.js';

/**
 * The file each person fills in, named so they can find it among their downloads; with several
 * ledgers, named by its ledger's title (a person of two gets two forms).
 */
export function formFileName(period: string, person: Person, ledgerTitle?: string): string {
  const what = ledgerTitle ? `${ledgerTitle.replace(/[\\/:*?"<>|\s]+/g, '_')}进展情况` : '台账进展情况';
  return `${what}-${periodLabel(period)}-${person.name}.xlsx`;
}

/** The form's identity: from the person's id, so the form still names them after a new address. */
export function tokenFor(ctx: Context, period: string, person: Person): string {
  return makeToken({ ledgerKey: ledgerKeyFor(ctx.config.ledger), period, personKey: personKeyOf(person), secret: ctx.secret });
}

/**
 * The person's form for the month, written once and kept while its content stays the same, so a
 * reminder attaches the same file. The file is named by a hash of everything the form shows: when
 * the person's tasks (or name, department, deadline) change in the config, the next mail carries
 * a new form with the current tasks.
 */
export async function personForm(ctx: Context, period: string, person: Person): Promise<Buffer> {
  const input = {
    ledger: { title: ctx.config.ledger.title, tasks: tasksOf(ctx.config.ledger, person.name) }, person, periodLabel: periodLabel(period),
    deadlineText: formatLocalDate(deadlineDate(period, ctx.config.schedule)), token: tokenFor(ctx, period, person),
  };
  const shown = { ...input, person: { name: person.name, department: person.department } }; // the address is not on the form
  const content = createHash('sha256').update(JSON.stringify(shown)).digest('hex').slice(0, 12);
  const dir = path.join(ledgerHome(ctx.config), 'forms', period);
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

function commonData(ctx: Context, period: string, person: Person) {
  return {
    person, ledgerTitle: ctx.config.ledger.title, periodLabel: periodLabel(period),
    deadline: formatLocalDate(deadlineDate(period, ctx.config.schedule)),
    attachmentName: formFileName(period, person, severalLedgers(ctx.config) ? ctx.config.ledger.title : undefined), ...signature(ctx.config, ctx.clock.now()),
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
  return queued;
}

/**
 * Queues a reminder (slot) to each person who has not reported for the period and whose request
 * went out before `requestedBefore` (by hand: not the same day): a late request is reminder enough.
 */
export async function queueReminders(ctx: Context, period: string, slot: string, opts: { requestedBefore?: Date } = {}): Promise<number> {
  const now = ctx.clock.now();
  const reports = ctx.store.currentReports(period);
  let queued = 0;
  const people = ctx.config.people.filter((p) => !reports.has(p.id) && !ctx.outbox.has('reminder', period, p.id, slot));
  await ctx.store.batch(async (unitDone) => {
    for (const [i, person] of people.entries()) {
      const request = ctx.store.outboxFor('request', period, person.id)[0];
      // Only after a request that went out, and not on its heels: a reminder day's reminder goes to
      // those asked before that day's send time; one by hand, to those not asked the same day.
      if (!request || request.state !== 'sent') continue;
      const asked = new Date(request.created_at);
      if (opts.requestedBefore ? asked >= opts.requestedBefore : sameLocalDay(asked, now, ctx.config.timezone)) continue;
      const data = { ...commonData(ctx, period, person), taskCount: tasksOf(ctx.config.ledger, person.name).length };
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
  return queued;
}
