/**
 * What changed in a month's ledger since the version the office last received: an updated
 * ledger says whose words changed, how (late, corrected) and in which tasks, so that a closed
 * month never changes without the office being told.
 */
import { createHash } from 'node:crypto';
import { chineseStamp } from '../core/calendar.js';
import type { Person, ReportRow } from '../core/ledger.js';
import type { MergedRow } from '../core/merge.js';
import type { ReportRecord, Store } from '../store/store.js';
import { MAIN_LEDGER } from '../core/ledger.js';
import type { Context } from './context.js';

/**
 * One person's reports that arrived since the last version: `tasks` the 序号 whose words
 * changed ('' when the words are as before), `count` the reports that arrived (the last counts).
 */
export interface LedgerChange { name: string; what: string; at: string; sentBy?: string; tasks: string; count: number; extra: string }

/** A row of the ledger whose words differ from the version the office last received. */
export interface RowChange { no: number; task: string; fields: string }

/** A sender as the office knows them: a person's name when the address is on the roster, else the address. */
export function senderName(people: readonly Person[], address: string): string {
  const a = address.toLowerCase();
  return people.find((p) => p.email.toLowerCase() === a)?.name ?? address;
}

/** The meta key holding a digest of each row of a month's sent ledger. */
const rowsKey = (store: Store, period: string) => (store.ledger === MAIN_LEDGER ? `ledger-rows:${period}` : `ledger-rows:${store.ledger}:${period}`);
const digest = (text: string) => createHash('sha256').update(text).digest('base64').slice(0, 16);

/** The meta key holding the last report id a month's sent ledger included. */
const includedKey = (store: Store, period: string) => (store.ledger === MAIN_LEDGER ? `ledger-included:${period}` : `ledger-included:${store.ledger}:${period}`);

/** The 序号 whose words differ between two reports' rows (all filled ones when there was none). */
function changedTasks(before: ReportRow[] | undefined, after: ReportRow[]): number[] {
  const old = new Map((before ?? []).map((r) => [r.no, r]));
  const nos = new Set([...after.map((r) => r.no), ...old.keys()]);
  return [...nos].filter((no) => {
    const a = after.find((r) => r.no === no);
    const b = old.get(no);
    return (a?.progress ?? '') !== (b?.progress ?? '') || (a?.remark ?? '') !== (b?.remark ?? '');
  }).sort((x, y) => x - y);
}

/** The report that was a person's current one among `reports` (the latest to arrive). */
function latest(reports: ReportRecord[]): ReportRecord | undefined {
  return [...reports].sort((a, b) => (a.received_at === b.received_at ? a.id - b.id : a.received_at < b.received_at ? -1 : 1)).pop();
}

/** Changes of a month's reports since its last ledger went out (none before the first). */
export function ledgerChanges(ctx: Pick<Context, 'config' | 'store'>, period: string): LedgerChange[] {
  const { store, config } = ctx;
  const closedAt = store.period(period)?.consolidated_at;
  if (!closedAt) return [];
  const mark = store.getMeta(includedKey(store, period));
  // A ledger sent before this was recorded: what arrived after it is what changed.
  const included = (r: ReportRecord) => (mark !== undefined ? r.id <= Number(mark) : r.received_at < closedAt);
  const all = store.reportsOf(period);
  const out: LedgerChange[] = [];
  for (const person of config.people) {
    const mine = all.filter((r) => r.person === person.id);
    const now = latest(mine);
    if (!now || included(now)) continue;
    const before = latest(mine.filter(included));
    const tasks = changedTasks(before?.rows, now.rows);
    // Every report that arrived is named, also one that repeats the words already sent.
    out.push({
      name: person.name,
      what: before ? '更正' : now.late ? '逾期报送' : '补录（截止前已收到）',
      at: chineseStamp(now.received_at, config.timezone),
      sentBy: now.sender.toLowerCase() !== person.email.toLowerCase() ? senderName(config.people, now.sender) : undefined,
      tasks: tasks.join('、'),
      count: mine.filter((r) => !included(r)).length,
      extra: '',
    });
    const last = out[out.length - 1];
    if (last.count > 1) last.extra = `，期间共收到${last.count}份，以最后一份为准`;
  }
  return out;
}

/**
 * The ledger rows whose 进展情况 or 备注 differ from the version the office last received; empty
 * when that version's rows were not recorded (a ledger sent before this was kept).
 */
export function changedRows(ctx: Pick<Context, 'store'>, period: string, rows: readonly MergedRow[]): RowChange[] {
  const kept = ctx.store.getMeta(rowsKey(ctx.store, period));
  if (kept === undefined) return [];
  const before = new Map(Object.entries(JSON.parse(kept) as Record<string, [string, string]>));
  return rows.flatMap((r) => {
    const [progress, remark] = before.get(String(r.no)) ?? ['', ''];
    const fields = [digest(r.progress) !== progress && '进展情况', digest(r.remark) !== remark && '备注'].filter(Boolean);
    return fields.length ? [{ no: r.no, task: r.task, fields: fields.join('、') }] : [];
  });
}

/** Records which reports the ledger just sent included, and a digest of each of its rows. */
export function markIncluded(ctx: Pick<Context, 'store'>, period: string, rows?: readonly MergedRow[]): void {
  const ids = ctx.store.reportsOf(period).map((r) => r.id);
  ctx.store.setMeta(includedKey(ctx.store, period), String(ids.length ? Math.max(...ids) : 0));
  if (rows) ctx.store.setMeta(rowsKey(ctx.store, period), JSON.stringify(Object.fromEntries(rows.map((r) => [r.no, [digest(r.progress), digest(r.remark)]]))));
}
