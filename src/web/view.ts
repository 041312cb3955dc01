/** What the desk's pages show, from the store: plain objects for the Handlebars templates. */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { chineseStamp, localParts, periodLabel } from '../core/calendar.js';
import { timingOf } from '../cycle/timing.js';
import { workdaysOf } from '../cycle/workdays.js';
import { tasksOf, type Person } from '../core/ledger.js';
import { summarize, statusLabel, type PersonState } from '../core/merge.js';
import type { Context } from '../cycle/context.js';
import { defaultPeriod, periodStates } from '../cycle/status.js';
import { reportsOfPerson } from '../store/desk.js';
import { ledgerHome } from '../cycle/ledgers.js';

const DELIVERY_LABEL: Record<string, string> = { none: '未发送', queued: '待发送', sent: '已送达', failed: '发送失败', bounced: '退信' };
const KIND_LABEL: Record<string, string> = { request: '填报通知', reminder: '提醒', receipt: '回执', notice: '代报通知', ledger: '汇总台账' };
const STATE_LABEL: Record<string, string> = { queued: '待发送', sending: '发送中', sent: '已发送', failed: '发送失败' };

/** Working days (by the schedule's calendar) from `now`'s day to the deadline, both counted; 0 once it passed. */
export function workingDaysLeft(ctx: Context, period: string, now: Date): number {
  const t = timingOf(ctx.config.schedule, ctx.config.timezone);
  if (now >= t.deadlineInstant(period)) return 0;
  const cal = workdaysOf(ctx.config.schedule);
  const d = t.deadlineDate(period);
  const today = localParts(now, t.tz);
  let n = 0;
  for (let day = Date.UTC(today.year, today.month - 1, today.day); day <= Date.UTC(d.year, d.month - 1, d.day); day += 86_400_000) {
    const at = new Date(day);
    if (cal.isWorkday({ year: at.getUTCFullYear(), month: at.getUTCMonth() + 1, day: at.getUTCDate() })) n++;
  }
  return n;
}

/** How much of the person's current report is filled: 完整 or 部分（m/n）, blank without a report. */
function completeness(ctx: Context, s: PersonState): { text: string; partial: boolean } {
  if (!s.report) return { text: '', partial: false };
  const tasks = tasksOf(ctx.config.ledger, s.person.name);
  const filled = tasks.filter((t) => s.report!.rows.some((r) => r.no === t.no && r.progress.trim() !== '')).length;
  return filled >= tasks.length ? { text: '完整', partial: false } : { text: `部分（${filled}/${tasks.length}）`, partial: true };
}

export function pageOfPeriod(ctx: Context, ledger: string, asked: string | undefined) {
  const now = ctx.clock.now();
  const tz = ctx.config.timezone;
  const periods = ctx.store.periods().map((p) => p.period);
  const period = asked && timingOf(ctx.config.schedule, tz).owns(asked) ? asked : defaultPeriod(ctx.config, ctx.store, now);
  const states = periodStates(ctx.config, ctx.store, period);
  const summary = summarize(states);
  const row = ctx.store.period(period);
  const bounced = states.filter((s) => s.delivery === 'bounced' || s.delivery === 'failed').length;
  return {
    ledger, ledgerTitle: ctx.config.ledger.title, period, periodLabel: periodLabel(period),
    deadline: timingOf(ctx.config.schedule, tz).deadlineText(period),
    deadlinePassed: now >= timingOf(ctx.config.schedule, tz).deadlineInstant(period),
    daysLeft: workingDaysLeft(ctx, period, now),
    ledgerSent: row?.consolidated_at ? chineseStamp(row.consolidated_at, tz) : null, ledgerVersion: row?.ledger_version ?? 0,
    counts: { total: summary.total, reported: summary.reported, onTime: summary.onTime, late: summary.late, pending: summary.missing.length, bounced },
    periods: [...new Set([...periods, period])].sort().reverse().map((p) => ({ value: p, label: periodLabel(p), selected: p === period })),
    versions: ledgerVersions(ctx, period),
    people: states.map((s) => {
      const c = completeness(ctx, s);
      const undelivered = s.delivery === 'bounced' || s.delivery === 'failed';
      return {
        id: s.person.id, name: s.person.name, department: s.person.department, email: s.person.email,
        status: s.status, label: statusLabel(s), cls: undelivered && s.status === 'pending' ? 'bounced' : s.status,
        delivery: DELIVERY_LABEL[s.delivery] ?? s.delivery, undelivered,
        reportedAt: s.report ? chineseStamp(s.report.receivedAt, tz) : '', sentBy: s.sentBy ?? '',
        reports: s.reportCount, completeness: c.text, partial: c.partial,
      };
    }),
  };
}

/** The consolidated workbooks written for a period, by version (files under data_dir/ledgers). */
export function ledgerVersions(ctx: Context, period: string): { version: number; label: string }[] {
  const dir = path.join(ledgerHome(ctx.config), 'ledgers', period);
  if (!existsSync(dir)) return [];
  const sent = ctx.store.period(period)?.ledger_version ?? 0;
  return readdirSync(dir).flatMap((f) => {
    const m = f.startsWith(`ledger-${period}-v`) ? /-v(\d+)\.xlsx$/.exec(f) : null;
    if (!m) return [];
    const v = Number(m[1]);
    return [{ version: v, label: v <= sent ? `第${v}版` : `第${v}版（预览）` }];
  }).sort((a, b) => a.version - b.version);
}

export function ledgerFile(ctx: Context, period: string, version: number): string {
  return path.join(ledgerHome(ctx.config), 'ledgers', period, `ledger-${period}-v${version}.xlsx`);
}

export function pageOfPerson(ctx: Context, ledger: string, person: Person, period: string) {
  const tz = ctx.config.timezone;
  const names = new Map(ctx.config.ledger.tasks.map((t) => [t.no, t.task]));
  const state = periodStates(ctx.config, ctx.store, period).find((s) => s.person.id === person.id)!;
  const reports = reportsOfPerson(ctx.store, period, person.id).map((r) => ({
    receivedAt: chineseStamp(r.received_at, tz), sender: r.sender, late: r.late === 1, current: r.superseded === 0,
    messageRow: r.message_row,
    rows: r.rows.map((x) => ({ no: x.no, task: names.get(x.no) ?? '', progress: x.progress, remark: x.remark })),
  }));
  const mails = ctx.store.outboxOfPerson(period, person.id).map((o) => ({
    kind: KIND_LABEL[o.kind] ?? o.kind, subject: o.subject, to: o.recipients, state: STATE_LABEL[o.state] ?? o.state,
    at: chineseStamp(o.sent_at ?? o.created_at, tz), bounced: !!o.bounced_at, error: o.last_error ?? '',
  }));
  return {
    ledger, period, periodLabel: periodLabel(period), person, label: statusLabel(state),
    cls: state.status, delivery: DELIVERY_LABEL[state.delivery], pending: state.status === 'pending',
    tasks: tasksOf(ctx.config.ledger, person.name).map((t) => ({ no: t.no, task: t.task })), reports, mails,
  };
}

/** The local start of a day, for the audit page's dates. */
export function stamp(ctx: Context, iso: string): string {
  return chineseStamp(iso, ctx.config.timezone);
}

