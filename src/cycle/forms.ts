/**
 * The person's form and what every mail to them names: its file, its identity token, and the
 * mail's common fields. Apart from requests.ts so that receipts can carry the form again
 * without depending on the queueing of requests.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { periodLabel } from '../core/calendar.js';
import { timingOf } from './timing.js';
import { contactLine, signature } from './signature.js';
import type { Context } from './context.js';
import { tasksOf, type Person, type ReportRow } from '../core/ledger.js';
import { ledgerKeyFor, makeToken, personKeyOf } from '../core/identity.js';
import { FILE_MODE, privateDir } from '../store/files.js';
import { ledgerHome, severalLedgers } from './ledgers.js';

export const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

/**
 * The file each person fills in, named so they can find it among their downloads; with several
 * ledgers, named by its ledger's title (a person of two gets two forms).
 */
export function formFileName(period: string, person: Person, ledgerTitle?: string): string {
  const what = ledgerTitle ? `${ledgerTitle.replace(/[\\/:*?"<>|\s]+/g, '_')}进展情况` : '台账进展情况';
  return `${what}-${periodLabel(period, { short: true })}-${person.name}.xlsx`;
}

/** The form's identity: from the person's id, so the form still names them after a new address. */
export function tokenFor(ctx: Pick<Context, 'config' | 'secret'>, period: string, person: Person): string {
  return makeToken({ ledgerKey: ledgerKeyFor(ctx.config.ledger), period, personKey: personKeyOf(person), secret: ctx.secret });
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

/**
 * The person's own words of the period before `period` (their current report there, rows with
 * progress only), shown in the form's 上期进展. Undefined for the first period. The store is the
 * ledger's own view: a person of two ledgers sees each ledger's own words.
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
    attachmentName: formFileName(period, person, severalLedgers(ctx.config) ? ctx.config.ledger.title : undefined), ...signature(ctx.config, ctx.clock.now()),
  };
}
