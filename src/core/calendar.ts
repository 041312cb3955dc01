/**
 * The period calendar: pure functions of an instant, the schedule and a time zone.
 * A period is a month, "YYYY-MM". Its deadline is the end of `deadline_day` (or of the
 * month's last day in a shorter month), in the configured time zone.
 */

export interface Schedule {
  firstPeriod: string;
  lastPeriod?: string;
  sendDay: number;
  deadlineDay: number;
  reminderDays: number[];
  /** Local time of day from which the day's mail goes out, "HH:MM". */
  sendTime: string;
}

export interface LocalDate { year: number; month: number; day: number }

const partsCache = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = partsCache.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    partsCache.set(tz, f);
  }
  return f;
}

/** Wall-clock fields of an instant in a time zone. */
export function localParts(at: Date, tz: string): LocalDate & { hour: number; minute: number; second: number } {
  const out: Record<string, number> = {};
  for (const p of formatter(tz).formatToParts(at)) if (p.type !== 'literal') out[p.type] = Number(p.value);
  return { year: out.year, month: out.month, day: out.day, hour: out.hour, minute: out.minute, second: out.second };
}

/** The instant at which the wall clock in `tz` shows the given local time. */
export function zonedInstant(year: number, month: number, day: number, hour: number, minute: number, tz: string): Date {
  const wall = Date.UTC(year, month - 1, day, hour, minute);
  let guess = wall;
  for (let i = 0; i < 3; i++) {
    const p = localParts(new Date(guess), tz);
    const shown = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute);
    const diff = wall - shown;
    if (diff === 0) break;
    guess += diff;
  }
  return new Date(guess);
}

export function periodOf(at: Date, tz: string): string {
  const p = localParts(at, tz);
  return `${p.year}-${String(p.month).padStart(2, '0')}`;
}

export function splitPeriod(period: string): { year: number; month: number } {
  const [y, m] = period.split('-').map(Number);
  return { year: y, month: m };
}

export function addMonths(period: string, n: number): string {
  const { year, month } = splitPeriod(period);
  const idx = year * 12 + (month - 1) + n;
  return `${Math.floor(idx / 12)}-${String((idx % 12) + 1).padStart(2, '0')}`;
}

export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** A day of the period's month, clamped to its last day. */
export function clampDay(period: string, day: number): LocalDate {
  const { year, month } = splitPeriod(period);
  return { year, month, day: Math.min(day, daysInMonth(year, month)) };
}

function startOfDayAfter(d: LocalDate, tz: string): Date {
  const next = new Date(Date.UTC(d.year, d.month - 1, d.day + 1));
  return zonedInstant(next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate(), 0, 0, tz);
}

function atSendTime(d: LocalDate, s: Schedule, tz: string): Date {
  const [h, m] = s.sendTime.split(':').map(Number);
  return zonedInstant(d.year, d.month, d.day, h, m, tz);
}

/** The last day on which a report is on time. */
export function deadlineDate(period: string, s: Schedule): LocalDate {
  return clampDay(period, s.deadlineDay);
}

/** The instant the deadline passes: the start of the day after the deadline day. */
export function deadlineInstant(period: string, s: Schedule, tz: string): Date {
  return startOfDayAfter(deadlineDate(period, s), tz);
}

export function sendInstant(period: string, s: Schedule, tz: string): Date {
  return atSendTime(clampDay(period, s.sendDay), s, tz);
}

/** Reminder days of the period, clamped into the month and not after its deadline day. */
export function reminderDates(period: string, s: Schedule): LocalDate[] {
  const last = deadlineDate(period, s).day;
  const days = [...new Set(s.reminderDays.map((d) => clampDay(period, d).day))].filter((d) => d <= last).sort((a, b) => a - b);
  const { year, month } = splitPeriod(period);
  return days.map((day) => ({ year, month, day }));
}

export function inRange(period: string, s: Schedule): boolean {
  return period >= s.firstPeriod && (!s.lastPeriod || period <= s.lastPeriod);
}

export function formatLocalDate(d: LocalDate): string {
  return `${d.year}年${d.month}月${d.day}日`;
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

export function periodLabel(period: string): string {
  const { year, month } = splitPeriod(period);
  return `${year}年${month}月`;
}

export function sameLocalDay(a: Date, b: Date, tz: string): boolean {
  const x = localParts(a, tz);
  const y = localParts(b, tz);
  return x.year === y.year && x.month === y.month && x.day === y.day;
}

/** The instant a reminder day's mail is due. */
export function reminderInstant(period: string, day: number, s: Schedule, tz: string): Date {
  return atSendTime(clampDay(period, day), s, tz);
}

/** What the calendar says is due at an instant for the month it falls in. */
export interface DueWork {
  /** The month `now` falls in. */
  period: string;
  /** The month is one the ledger reports on. */
  inRange: boolean;
  /** Requests are due: on or after the send time and before the deadline. */
  requests: boolean;
  /** The reminder day now due (the latest one reached), if any and before the deadline. */
  reminderDay: number | null;
}

export function dueWork(now: Date, s: Schedule, tz: string): DueWork {
  const period = periodOf(now, tz);
  const ok = inRange(period, s);
  const deadline = deadlineInstant(period, s, tz);
  const open = ok && now >= sendInstant(period, s, tz) && now < deadline;
  let reminderDay: number | null = null;
  if (open) {
    for (const d of reminderDates(period, s)) if (now >= atSendTime(d, s, tz)) reminderDay = d.day;
  }
  return { period, inRange: ok, requests: open, reminderDay };
}

/** The periods from the first one up to and including `upTo`, within the configured range. */
export function periodsUpTo(upTo: string, s: Schedule): string[] {
  const out: string[] = [];
  for (let p = s.firstPeriod; p <= upTo && inRange(p, s); p = addMonths(p, 1)) out.push(p);
  return out;
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
