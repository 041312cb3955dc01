import { chineseStamp, formatLocalDate, localParts, periodLabel } from '../core/calendar.js';
import { timingOf, type Timing } from './timing.js';
import type { Config } from '../app/config.js';
import { isPartial, personState, statusLabel, summarize, type Delivery, type PersonState } from '../core/merge.js';
import { tasksOf } from '../core/ledger.js';
import type { OutboxRow, Store } from '../store/store.js';
import { currentPause, type PauseReason } from '../mail/quota.js';
import { unitStates, unitsJson } from './unit-status.js';

/** Delivery of the month's mail to one person, from the outbox. */
export function deliveryOf(rows: OutboxRow[]): Delivery {
  const toPerson = rows.filter((r) => r.kind === 'request' || r.kind === 'reminder');
  if (toPerson.some((r) => r.bounced_at)) return 'bounced';
  const request = toPerson.find((r) => r.kind === 'request');
  if (!request) return 'none';
  if (request.state === 'failed') return toPerson.some((r) => r.state === 'sent') ? 'sent' : 'failed';
  if (request.state === 'sent') return 'sent';
  return 'queued';
}

export function periodStates(config: Config, store: Store, period: string): PersonState[] {
  const current = store.currentReports(period);
  const tally = store.reportTally(period);
  return config.people.map((p) => {
    const r = current.get(p.id);
    const t = tally.get(p.id);
    return personState(p, {
      accepted: r && { rows: r.rows, late: r.late === 1, receivedAt: r.received_at, sender: r.sender },
      anyOnTime: t?.anyOnTime ?? false,
      count: t?.count ?? 0,
    }, deliveryOf(store.outboxOfPerson(period, p.id)), tasksOf(config.ledger, p.name));
  });
}

/**
 * The latest period, up to `now`'s (or the next one, once its requests went out early, before a
 * holiday), whose requests went out: what a reply with nothing else to go by is for.
 */
export function latestAskedPeriod(store: Store, now: Date, t: Timing): string | null {
  const current = t.latestOpened(now);
  return store.periods().filter((p) => p.requests_at && t.owns(p.period) && p.period <= current).map((p) => p.period).pop() ?? null;
}

/** The period `status` shows by default: the latest one asked for, else this one. */
export function defaultPeriod(config: Config, store: Store, now: Date): string {
  const t = timingOf(config.schedule, config.timezone);
  return latestAskedPeriod(store, now, t) ?? t.periodsUpTo(t.periodAt(now)).pop() ?? config.schedule.firstPeriod;
}

export interface StatusJson {
  period: string;
  deadline: string;
  deadlinePassed: boolean;
  ledgerSentAt: string | null;
  ledgerVersion: number;
  people: {
    id: string; name: string; email: string; department: string; status: PersonState['status']; label: string;
    delivery: Delivery; reportedAt: string | null; sentBy: string | null; reports: number;
    /** How many of the person's `tasks` their current report fills: fewer is a partial report (部分填报). */
    filled: number; tasks: number;
  }[];
  /** Subordinate units (局属单位), when the ledger has any: status as for people. */
  units?: ReturnType<typeof unitsJson>;
  summary: ReturnType<typeof summarize>;
  quarantined: number;
  /** Messages that could not be read at all, kept in quarantine (their senders on the roster were asked to send again). */
  unreadable: number;
  /** The ledger mails of the period, one per office address and version. */
  office: { email: string; slot: string; state: string; error: string | null }[];
  /** Sending is paused by a quota until this instant (ISO), or null. */
  sendingPausedUntil: string | null;
  sendingPausedReason: PauseReason | null;
  /** Mails recorded and not yet sent, of every month (they go when the pause ends). */
  waiting: number;
}

export function statusJson(config: Config, store: Store, period: string, now: Date): StatusJson {
  const states = periodStates(config, store, period);
  const pause = currentPause(store, now);
  const row = store.period(period);
  const t = timingOf(config.schedule, config.timezone);
  const deadline = t.deadlineDate(period);
  const two = (n: number) => String(n).padStart(2, '0');
  return {
    period,
    deadline: `${deadline.year}-${two(deadline.month)}-${two(deadline.day)}`,
    deadlinePassed: now >= t.deadlineInstant(period),
    ledgerSentAt: row?.consolidated_at ?? null,
    ledgerVersion: row?.ledger_version ?? 0,
    people: states.map((s) => ({
      id: s.person.id, name: s.person.name, email: s.person.email, department: s.person.department, status: s.status, label: statusLabel(s),
      delivery: s.delivery, reportedAt: s.report?.receivedAt ?? null, sentBy: s.sentBy ?? null, reports: s.reportCount,
      filled: s.filled, tasks: s.tasks,
    })),
    ...(config.ledger.units?.length ? { units: unitsJson(unitStates(config, store, period)) } : {}),
    summary: summarize(states),
    quarantined: store.countByOutcome('quarantined'),
    unreadable: store.countByOutcome('unreadable'),
    office: store.outboxFor('ledger', period, null).map((r) => ({ email: r.recipients, slot: r.slot, state: r.state, error: r.last_error })),
    sendingPausedUntil: pause?.until ?? null,
    sendingPausedReason: pause?.reason ?? null,
    waiting: store.pendingOutboxCount(),
  };
}

const PAUSE_WHY: Record<PauseReason, string> = {
  daily: '邮箱服务商当日发信数量已达上限',
  throttle: '邮箱服务商提示发信过于频繁',
  daily_limit: '已达本系统设定的每日发信上限',
};

/** The pause, for the clerk: why, and when the waiting mail will go. */
function pauseLine(s: StatusJson, tz: string): string | null {
  if (!s.sendingPausedUntil || !s.sendingPausedReason) return null;
  const p = localParts(new Date(s.sendingPausedUntil), tz);
  const at = `${formatLocalDate(p)}${p.hour}时${p.minute ? `${p.minute}分` : ''}`;
  return `邮件发送已暂停（${PAUSE_WHY[s.sendingPausedReason]}），${s.waiting} 封待发邮件将于${at}起继续发送。`;
}

/** The status as the clerk reads it, in Chinese. */
export function statusText(s: StatusJson, config: Config): string {
  const deadline = timingOf(config.schedule, config.timezone).deadlineText(s.period);
  const lines = [
    `${config.ledger.title}`,
    `${periodLabel(s.period)} 报送情况（截止：${deadline}${s.deadlinePassed ? '，已截止' : ''}）`,
    `应报 ${s.summary.total} 人，已报 ${s.summary.reported} 人（按时 ${s.summary.onTime}，逾期 ${s.summary.late}${s.summary.partial.length ? `；其中部分填报 ${s.summary.partial.length}` : ''}），未报 ${s.summary.missing.length} 人。` +
      (s.ledgerSentAt ? ` 汇总台账已发送（第${s.ledgerVersion}版）。` : ''),
    '',
  ];
  for (const p of s.people) {
    const when = p.reportedAt ? ` ${chineseStamp(p.reportedAt, config.timezone)}` : '';
    const by = p.sentBy ? `（由 ${p.sentBy} 代报）` : '';
    const mail = p.delivery === 'bounced' ? ' [退信]' : p.delivery === 'failed' ? ' [发送失败]' : '';
    const partial = isPartial(p) ? `（部分填报：已填${p.filled}项，共${p.tasks}项）` : '';
    lines.push(`  ${p.label.padEnd(4, ' ')}  ${p.name}（${p.department}） <${p.email}>${when}${by}${partial}${mail}`);
  }
  if (s.units?.length) {
    const done = s.units.filter((u) => u.status !== 'pending').length;
    lines.push('', `局属单位：应报 ${s.units.length} 个，已报 ${done} 个，未报 ${s.units.length - done} 个。`);
    for (const u of s.units) {
      const when = u.reportedAt ? ` ${chineseStamp(u.reportedAt, config.timezone)}，${u.tasks} 项任务` : '';
      const mail = u.delivery === 'bounced' ? ' [退信]' : u.delivery === 'failed' ? ' [发送失败]' : '';
      lines.push(`  ${u.label.padEnd(4, ' ')}  ${u.name} <${u.email}>${when}${mail}`);
    }
  }
  if (s.quarantined) lines.push('', `隔离邮件（来源不明，未回复）：${s.quarantined} 封`);
  if (s.unreadable) lines.push('', `无法读取的邮件（已保留在“${config.mailbox.folders.quarantine}”，责任人发来的已回复请其重新发送）：${s.unreadable} 封`);
  const failed = s.office.filter((o) => o.state === 'failed');
  if (failed.length) lines.push('', `汇总台账发送失败：${failed.map((o) => `${o.email}（${o.error ?? ''}）`).join('；')}`);
  const paused = pauseLine(s, config.timezone);
  if (paused) lines.push('', paused);
  return lines.join('\n');
}
