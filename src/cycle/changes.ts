/**
 * What changed in a month's ledger since the version the office last received: an updated
 * ledger says whose words changed, how (late, corrected) and in which tasks, so that a closed
 * month never changes without the office being told.
 */
import { chineseStamp } from '../core/calendar.js';
import type { ReportRow } from '../core/ledger.js';
import type { ReportRecord, Store } from '../store/store.js';
import { MAIN_LEDGER } from '../core/ledger.js';
import type { Context } from './context.js';

export interface LedgerChange { name: string; what: string; at: string; sentBy?: string; tasks: string }

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
    if (before && tasks.length === 0) continue;
    out.push({
      name: person.name,
      what: before ? '更正' : now.late ? '逾期报送' : '补录（截止前已收到）',
      at: chineseStamp(now.received_at, config.timezone),
      sentBy: now.sender.toLowerCase() !== person.email ? now.sender : undefined,
      tasks: tasks.join('、'),
    });
  }
  return out;
}

/** Records which reports the ledger just sent included. */
export function markIncluded(ctx: Pick<Context, 'store'>, period: string): void {
  const ids = ctx.store.reportsOf(period).map((r) => r.id);
  ctx.store.setMeta(includedKey(ctx.store, period), String(ids.length ? Math.max(...ids) : 0));
}
