/**
 * The schedule: pure functions of a period, the schedule, a time zone and a workday calendar.
 * A period is a month, an ISO week or a quarter (see period.ts). Send, reminder and deadline days
 * are days of the month (monthly), of the quarter's last month (quarterly, as monthly ones of
 * their month) or ISO weekdays of the week (weekly); a day past a short month's end is its last.
 * Requests go out on working days: a send day off moves to the working day before it, a reminder
 * day off to the working day after it (dropped unless still before the deadline). The deadline
 * passes at `deadlineTime` on the deadline day, else when that day ends; with
 * `deadlineShift: next_workday` a deadline day off moves to the next working day.
 */
import { addDays, daysInMonth, formatLocalDate, localParts, zonedInstant, type LocalDate } from './dates.js';
import { addPeriods, periodAt, periodDays, scheduleMonth, type Cadence } from './period.js';
import { workdayOnOrAfter, workdayOnOrBefore, type WorkdayCalendar } from './workdays.js';

export { localParts, zonedInstant, formatLocalDate, type LocalDate } from './dates.js';
export { periodLabel } from './period.js';

export interface Schedule {
  cadence: Cadence;
  firstPeriod: string;
  lastPeriod?: string;
  /** Monthly and quarterly: a day of the (quarter's last) month, 1–31; weekly: an ISO weekday, 1–7. */
  sendDay: number;
  deadlineDay: number;
  reminderDays: number[];
  /** Local time of day from which the day's mail goes out, "HH:MM". */
  sendTime: string;
  /** "HH:MM": reports are on time until then on the deadline day; absent: until the day ends. */
  deadlineTime?: string;
  deadlineShift: 'none' | 'next_workday';
  /** Where the workday calendar comes from (built outside core): China's official one, or none. */
  calendar?: 'cn';
  /** Days off and working days ("YYYY-MM-DD") that override the calendar. */
  holidays: string[];
  extraWorkdays: string[];
}

/** The scheduled day (`day` as the schedule names it) within a period, before any workday move. */
export function scheduledDate(period: string, day: number, s: Pick<Schedule, 'cadence'>): LocalDate {
  if (s.cadence === 'weekly') return addDays(periodDays(period).first, day - 1);
  const { year, month } = scheduleMonth(period);
  return { year, month, day: Math.min(day, daysInMonth(year, month)) };
}

function atTime(d: LocalDate, hhmm: string, tz: string): Date {
  const [h, m] = hhmm.split(':').map(Number);
  return zonedInstant(d.year, d.month, d.day, h, m, tz);
}

/** The last day on which a report is on time. */
export function deadlineDate(period: string, s: Schedule, cal: WorkdayCalendar): LocalDate {
  const d = scheduledDate(period, s.deadlineDay, s);
  return s.deadlineShift === 'next_workday' ? workdayOnOrAfter(d, cal) : d;
}

/** The instant the deadline passes: `deadlineTime` on the deadline day, else the start of the day after. */
export function deadlineInstant(period: string, s: Schedule, tz: string, cal: WorkdayCalendar): Date {
  const d = deadlineDate(period, s, cal);
  return s.deadlineTime ? atTime(d, s.deadlineTime, tz) : atTime(addDays(d, 1), '00:00', tz);
}

/** The deadline as people read it: 2020年6月30日, or 2020年7月3日 12:00. */
export function deadlineText(period: string, s: Schedule, cal: WorkdayCalendar): string {
  const day = formatLocalDate(deadlineDate(period, s, cal));
  if (!s.deadlineTime) return day;
  const [h, m] = s.deadlineTime.split(':').map(Number);
  return `${day} ${h}:${String(m).padStart(2, '0')}`;
}

/** The day requests go out: the send day, or the working day before it. */
export function sendDate(period: string, s: Schedule, cal: WorkdayCalendar): LocalDate {
  return workdayOnOrBefore(scheduledDate(period, s.sendDay, s), cal);
}

export function sendInstant(period: string, s: Schedule, tz: string, cal: WorkdayCalendar): Date {
  return atTime(sendDate(period, s, cal), s.sendTime, tz);
}

/** A reminder of a period: its outbox slot (named by the configured day), its day and instant. */
export interface Reminder { slot: string; date: LocalDate; at: Date }

/**
 * The period's reminders, in order: each configured day, moved off days off to the working day
 * after, kept while before the deadline. Two days moved onto the same one make one reminder.
 */
export function reminders(period: string, s: Schedule, tz: string, cal: WorkdayCalendar): Reminder[] {
  const deadline = deadlineInstant(period, s, tz, cal);
  const byDay = new Map<string, Reminder>();
  for (const day of [...s.reminderDays].sort((a, b) => a - b)) {
    const date = workdayOnOrAfter(scheduledDate(period, day, s), cal);
    const at = atTime(date, s.sendTime, tz);
    if (at >= deadline) continue;
    // Monthly slots keep the names they had before cadences ("day-25"): a reminder recorded
    // before an upgrade is not sent again.
    byDay.set(String(at.getTime()), { slot: `${s.cadence === 'weekly' ? 'weekday' : 'day'}-${day}`, date, at });
  }
  return [...byDay.values()].sort((a, b) => a.at.getTime() - b.at.getTime());
}

export function inRange(period: string, s: Pick<Schedule, 'firstPeriod' | 'lastPeriod'>): boolean {
  return period >= s.firstPeriod && (!s.lastPeriod || period <= s.lastPeriod);
}

/** What is due at an instant for one open period (its send time reached, its deadline not). */
export interface DueWork {
  period: string;
  /** Requests are due (the period is open). */
  requests: boolean;
  /** The latest reminder reached, if any: after downtime only that one goes out. */
  reminder: Reminder | null;
}

/**
 * The periods open at an instant, oldest first: usually the one `now` falls in, but a send day
 * moved before a holiday opens the next period early, and a deadline moved past one keeps the
 * previous period open.
 */
export function dueWork(now: Date, s: Schedule, tz: string, cal: WorkdayCalendar): DueWork[] {
  const here = periodAt(now, s.cadence, tz);
  const out: DueWork[] = [];
  for (const period of [addPeriods(here, -1), here, addPeriods(here, 1)]) {
    if (!inRange(period, s)) continue;
    if (now < sendInstant(period, s, tz, cal) || now >= deadlineInstant(period, s, tz, cal)) continue;
    const reached = reminders(period, s, tz, cal).filter((r) => now >= r.at);
    out.push({ period, requests: true, reminder: reached.pop() ?? null });
  }
  return out;
}

/**
 * The period a reply with nothing else to go by may be for, at an instant: the one `now` falls
 * in, or the next one once its requests went out early (a send day moved before a holiday).
 */
export function latestOpenedPeriod(now: Date, s: Schedule, tz: string, cal: WorkdayCalendar): string {
  const here = periodAt(now, s.cadence, tz);
  const next = addPeriods(here, 1);
  return now >= sendInstant(next, s, tz, cal) ? next : here;
}

/** The periods from the first one up to and including `upTo`, within the configured range. */
export function periodsUpTo(upTo: string, s: Pick<Schedule, 'firstPeriod' | 'lastPeriod'>): string[] {
  const out: string[] = [];
  for (let p = s.firstPeriod; p <= upTo && inRange(p, s); p = addPeriods(p, 1)) out.push(p);
  return out;
}

/** The period an instant falls in, for the schedule's cadence. */
export function periodNow(now: Date, s: Pick<Schedule, 'cadence'>, tz: string): string {
  return periodAt(now, s.cadence, tz);
}

/** Local "YYYY-MM-DD HH:MM" in the time zone. */
export function localStamp(iso: string | Date, tz: string): string {
  const p = localParts(typeof iso === 'string' ? new Date(iso) : iso, tz);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${p.year}-${two(p.month)}-${two(p.day)} ${two(p.hour)}:${two(p.minute)}`;
}

/** Local date and time as a notice writes them: "2020年6月21日 9:00". */
export function chineseStamp(iso: string | Date, tz: string): string {
  const p = localParts(typeof iso === 'string' ? new Date(iso) : iso, tz);
  return `${formatLocalDate(p)} ${p.hour}:${String(p.minute).padStart(2, '0')}`;
}

/** Local date as a notice writes it: "2020年6月21日". */
export function chineseDate(iso: string | Date, tz: string): string {
  return formatLocalDate(localParts(typeof iso === 'string' ? new Date(iso) : iso, tz));
}

export function sameLocalDay(a: Date, b: Date, tz: string): boolean {
  const x = localParts(a, tz);
  const y = localParts(b, tz);
  return x.year === y.year && x.month === y.month && x.day === y.day;
}

/** Parses --now: full ISO-8601 instants, or a bare date / date-time read as local time in `tz`. */
export function parseNow(text: string, tz: string): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?$/.exec(text.trim());
  if (m) {
    const d = zonedInstant(+m[1], +m[2], +m[3], +(m[4] ?? 0), +(m[5] ?? 0), tz);
    return new Date(d.getTime() + Math.round(Number(`${m[6] ?? 0}${m[7] ?? ''}`) * 1000));
  }
  const t = Date.parse(text);
  return Number.isNaN(t) ? null : new Date(t);
}
