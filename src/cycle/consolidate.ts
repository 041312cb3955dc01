import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { chineseStamp, periodLabel } from '../core/calendar.js';
import { timingOf } from './timing.js';
import { signature } from './signature.js';
import type { Context } from './context.js';
import { buildHistory, mergeRows, sheetStatusLabel, summarize, type MergedRow } from '../core/merge.js';
import { periodStates } from './status.js';
import { changedRows, ledgerChanges, markIncluded, senderName } from './changes.js';
import { unitStates } from './unit-status.js';
import { ledgerHome } from './ledgers.js';

export interface LedgerBuild {
  period: string;
  /** The 台账 rows as built: recorded when the version goes out, to tell the next one's changes. */
  rows: MergedRow[];
  file: string;
  buffer: Buffer;
  version: number;
  mail: { subject: string; text: string; html?: string };
  attachmentName: string;
}

function mergedFor(ctx: Context, period: string): MergedRow[] {
  return mergeRows(ctx.config.ledger, periodStates(ctx.config, ctx.store, period));
}

/** Builds the period's consolidated workbook and office mail, and writes the file under data_dir/ledgers. */
export async function buildLedger(ctx: Context, period: string, version: number, update: boolean, preview = false): Promise<LedgerBuild> {
  const { config, store } = ctx;
  const tz = config.timezone;
  const states = periodStates(config, store, period);
  const rows = mergeRows(config.ledger, states);
  const t = timingOf(config.schedule, tz);
  // A weekly ledger's history shows the last quarter (13 weeks): a year of weeks would not print.
  const months = t.periodsUpTo(period).slice(config.schedule.cadence === 'weekly' ? -13 : 0);
  const monthly = months.map((m) => (m === period ? rows : mergedFor(ctx, m)));
  const history = buildHistory(config.ledger, monthly);
  const generatedAt = chineseStamp(ctx.clock.now(), tz);
  const units = unitStates(config, store, period); // subordinate units (局属单位), when the ledger has any
  const { writeLedgerWorkbook } = await import('../sheet/ledger.js'); // loads exceljs: only when a ledger is built
  const buffer = await writeLedgerWorkbook({
    title: config.ledger.title,
    periodLabel: periodLabel(period),
    generatedAt,
    maker: config.ledgerMaker,
    rows: rows.map((r) => ({ ...r, departments: r.departments, owners: r.owners })),
    people: states.map((s) => ({
      name: s.person.name, department: s.person.department, email: s.person.email, statusLabel: sheetStatusLabel(s),
      reportedAt: s.report ? chineseStamp(s.report.receivedAt, tz) : undefined,
      sentBy: s.sentBy && senderName(config.people, s.sentBy), reportCount: s.reportCount,
    })),
    history: { periods: months.map((m) => periodLabel(m, { short: true })), rows: history },
    words: t.words,
    units: units.map((u) => ({
      name: u.unit.name, email: u.unit.email, statusLabel: u.label, reportedAt: u.reportedAt ? chineseStamp(u.reportedAt, tz) : undefined,
      sentBy: u.sentBy ?? undefined, reportCount: u.reports, tasks: u.tasks,
    })),
  });
  const dir = path.join(ledgerHome(config), 'ledgers', period);
  mkdirSync(dir, { recursive: true, mode: 0o700 }); // private to taizhang's account, as all of data_dir
  const attachmentName = `${periodLabel(period, { short: true })}工作台账汇总${version > 1 ? `（第${version}版）` : ''}.xlsx`;
  const file = path.join(dir, `ledger-${period}-v${version}.xlsx`);
  writeFileSync(file, buffer, { mode: 0o600 });
  const summary = summarize(states);
  const sig = signature(config, ctx.clock.now());
  const mail = ctx.templates.render('ledger', {
    ...summary, words: t.words, update: update && !preview, preview, version, generatedAt, attachmentName, ledgerTitle: config.ledger.title, periodLabel: periodLabel(period),
    officeName: config.office.map((o) => o.name).join('、'),
    // Signed by the mailbox's sender name, as the office's other mails are.
    signedBy: sig.officeName, sentDate: sig.sentDate,
    unchanged: history.filter((h) => h.unchanged).map((h) => ({ no: h.no, task: h.task })),
    changes: update && !preview ? ledgerChanges(ctx, period) : [],
    changedRows: update && !preview ? changedRows(ctx, period, rows) : [],
    units: units.length ? { total: units.length, reported: units.filter((u) => u.status !== 'pending').map((u) => u.unit.name), missing: units.filter((u) => u.status === 'pending').map((u) => u.unit.name) } : null,
  });
  return { period, rows, file, buffer, version, mail, attachmentName };
}

/** Queues the ledger mail to every office address. */
/** One mail per office address, so that a refusal of one address is recorded for that address alone. */
async function queueLedger(ctx: Context, build: LedgerBuild, slot: string): Promise<void> {
  for (const o of ctx.config.office) {
    await ctx.outbox.queue({ kind: 'ledger', period: build.period, person: null, slot: `${slot}:${o.email}` }, {
      to: [{ name: o.name, address: o.email }],
      ...build.mail,
      attachments: [{ filename: build.attachmentName, content: build.buffer, contentType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' }],
    }, ctx.clock.now());
  }
}

/**
 * Consolidates every period whose deadline has passed and whose ledger has not gone out, and
 * sends an updated ledger for a period that got late reports since. Returns the files written.
 */
export async function consolidateDue(ctx: Context): Promise<string[]> {
  const now = ctx.clock.now();
  const t = timingOf(ctx.config.schedule, ctx.config.timezone);
  const files: string[] = [];
  for (const p of ctx.store.periods()) {
    if (!p.requests_at || !t.owns(p.period) || now < t.deadlineInstant(p.period)) continue;
    if (p.consolidated_at && !p.dirty) continue;
    files.push(await consolidatePeriod(ctx, p.period));
  }
  return files;
}

/** Builds, records and queues the next version of a period's ledger; returns its file. */
export async function consolidatePeriod(ctx: Context, period: string): Promise<string> {
  const before = ctx.store.period(period);
  const version = (before?.ledger_version ?? 0) + 1;
  const build = await buildLedger(ctx, period, version, version > 1);
  // Queued before it is marked: a crash in between queues nothing twice (the slot is unique).
  await queueLedger(ctx, build, `v${version}`);
  ctx.store.markConsolidated(period, ctx.clock.now().toISOString());
  markIncluded(ctx, period, build.rows);
  ctx.log.info({ period, version, file: build.file }, version > 1 ? 'updated ledger queued' : 'ledger queued');
  return build.file;
}

/** A ledger by hand before the deadline: mailed as a preview, the period stays open. */
export async function previewLedger(ctx: Context, period: string): Promise<string> {
  const version = (ctx.store.period(period)?.ledger_version ?? 0) + 1;
  const build = await buildLedger(ctx, period, version, false, true);
  await queueLedger(ctx, build, `preview-${ctx.clock.now().toISOString()}`);
  return build.file;
}
