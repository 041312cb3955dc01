/**
 * `schedule:` — one self-contained schema (a ledger of its own may carry one too): when requests,
 * reminders and the deadline fall, in which cadence, on which working days. Its output is the
 * normalised `Schedule` the calendar reads, plus `cron` for `run`.
 */
import { z } from 'zod';
import type { Schedule } from '../core/calendar.js';
import { parseIsoDate } from '../core/dates.js';
import { parsePeriod, type Cadence } from '../core/period.js';
import {
  ALWAYS, choiceOr, cleanIn, mapping, optChoice, optInt, optIntList, optText, patternOr, problem, text, textList, textOr, type Ctx,
} from './config-fields.js';

const HHMM = /^([01]\d|2[0-3]):[0-5]\d$/;

const fields = mapping({
  cadence: choiceOr(['monthly', 'weekly', 'quarterly'], 'monthly'),
  first_period: text(), last_period: optText(),
  // Monthly and quarterly: days of the (quarter's last) month.
  send_day: optInt(1, 31), deadline_day: optInt(1, 31), reminder_days: optIntList(1, 31), status_days: optIntList(1, 31),
  // Weekly: ISO weekdays, 1 = Monday … 7 = Sunday.
  send_weekday: optInt(1, 7), deadline_weekday: optInt(1, 7), reminder_weekdays: optIntList(1, 7), status_weekdays: optIntList(1, 7),
  send_time: patternOr(HHMM, 'must be HH:MM', '00:00'),
  deadline_time: optText(),
  deadline_shift: choiceOr(['none', 'next_workday'], 'none'),
  calendar: optChoice(['cn']),
  holidays: textList(), extra_workdays: textList(),
  cron: textOr('*/10 * * * *'),
});

type Fields = z.output<typeof fields>;
type DayKeys = {
  send: 'send_day' | 'send_weekday'; deadline: 'deadline_day' | 'deadline_weekday';
  reminders: 'reminder_days' | 'reminder_weekdays'; status: 'status_days' | 'status_weekdays';
};

const WEEKLY_KEYS: DayKeys = { send: 'send_weekday', deadline: 'deadline_weekday', reminders: 'reminder_weekdays', status: 'status_weekdays' };
const DAY_KEYS: DayKeys = { send: 'send_day', deadline: 'deadline_day', reminders: 'reminder_days', status: 'status_days' };
const keysOf = (c: Cadence) => (c === 'weekly' ? WEEKLY_KEYS : DAY_KEYS);
/** Defaults: the 20th to the 30th (monthly, quarterly); Monday to Friday (weekly). */
const DEFAULTS: Record<Cadence, { send: number; deadline: number }> = {
  monthly: { send: 20, deadline: 30 }, quarterly: { send: 20, deadline: 30 }, weekly: { send: 1, deadline: 5 },
};
const PERIOD_PROBLEM: Record<Cadence, string> = {
  monthly: 'must be a month as YYYY-MM',
  weekly: 'must be an ISO week as YYYY-Www (e.g. 2020-W27) for a weekly schedule',
  quarterly: 'must be a quarter as YYYY-Qn (e.g. 2020-Q3) for a quarterly schedule',
};

/** Keys of the other cadence are mistakes, told with the key meant. */
function checkCadenceKeys(s: Fields, cadence: Cadence, ctx: Ctx): void {
  const own = keysOf(cadence);
  const other = cadence === 'weekly' ? DAY_KEYS : WEEKLY_KEYS;
  for (const role of ['send', 'deadline', 'reminders', 'status'] as const) {
    if (s[other[role]] === undefined) continue;
    problem(ctx, [other[role]], `is not used by a ${cadence} schedule; use ${own[role]}` +
      (cadence === 'weekly' ? ' (1 = Monday … 7 = Sunday)' : cadence === 'quarterly' ? ' (a day of the quarter\'s last month)' : ''));
  }
}

function checkPeriods(s: Fields, cadence: Cadence, ctx: Ctx): void {
  const clean = cleanIn(ctx);
  for (const key of ['first_period', 'last_period'] as const) {
    const v = s[key];
    if (v !== undefined && clean(key) && !parsePeriod(v, cadence)) problem(ctx, [key], PERIOD_PROBLEM[cadence]);
  }
  if (clean('first_period') && clean('last_period') && s.last_period && s.last_period < s.first_period) {
    problem(ctx, ['last_period'], 'is before first_period');
  }
}

function checkDays(s: Fields, cadence: Cadence, ctx: Ctx): void {
  const clean = cleanIn(ctx);
  const k = keysOf(cadence);
  if (!clean(k.send) || !clean(k.deadline)) return;
  const send = s[k.send] ?? DEFAULTS[cadence].send;
  const deadline = s[k.deadline] ?? DEFAULTS[cadence].deadline;
  if (send > deadline) problem(ctx, [k.send], `must not be after ${k.deadline} (${deadline})`);
  for (const key of [k.reminders, k.status]) {
    if (!clean(key)) continue;
    (s[key] ?? []).forEach((d, i) => {
      if (d <= send || d > deadline) problem(ctx, [key, i], `must be after ${k.send} (${send}) and not after ${k.deadline} (${deadline})`);
    });
  }
  if (s.deadline_time !== undefined && clean('deadline_time')) {
    if (!HHMM.test(s.deadline_time)) problem(ctx, ['deadline_time'], 'must be HH:MM');
    else if (send === deadline && clean('send_time') && s.deadline_time <= s.send_time) {
      problem(ctx, ['deadline_time'], `must be after send_time (${s.send_time}): requests go out on the deadline day`);
    }
  }
}

function checkDates(s: Fields, ctx: Ctx): void {
  const clean = cleanIn(ctx);
  for (const key of ['holidays', 'extra_workdays'] as const) {
    if (!clean(key)) continue;
    s[key].forEach((d, i) => { if (!parseIsoDate(d)) problem(ctx, [key, i], 'must be a date as YYYY-MM-DD'); });
  }
  if (!clean('holidays') || !clean('extra_workdays')) return;
  const off = new Set(s.holidays);
  s.extra_workdays.forEach((d, i) => { if (off.has(d)) problem(ctx, ['extra_workdays', i], `${d} is also in holidays`); });
}

function checkSchedule(s: Fields, ctx: Ctx): void {
  if (!s || typeof s !== 'object') return;
  if (!cleanIn(ctx)('cadence')) return; // which keys belong is unknown
  const cadence = s.cadence;
  checkCadenceKeys(s, cadence, ctx);
  checkPeriods(s, cadence, ctx);
  checkDays(s, cadence, ctx);
  checkDates(s, ctx);
}

function toSchedule(s: Fields): Schedule & { cron: string; statusDays: number[] } {
  const k = keysOf(s.cadence);
  const dflt = DEFAULTS[s.cadence];
  const day = (text: string) => parseIsoDate(text)!;
  const iso = (text: string) => { const d = day(text); return `${d.year}-${String(d.month).padStart(2, '0')}-${String(d.day).padStart(2, '0')}`; };
  return {
    cadence: s.cadence,
    firstPeriod: s.first_period, lastPeriod: s.last_period,
    sendDay: s[k.send] ?? dflt.send, deadlineDay: s[k.deadline] ?? dflt.deadline,
    reminderDays: [...new Set(s[k.reminders] ?? [])].sort((a, b) => a - b),
    sendTime: s.send_time,
    deadlineTime: s.deadline_time,
    deadlineShift: s.deadline_shift,
    calendar: s.calendar,
    holidays: s.holidays.map(iso), extraWorkdays: s.extra_workdays.map(iso),
    /** Days (weekly: weekdays) the office gets a status mail listing who has not reported. */
    statusDays: [...new Set(s[k.status] ?? [])].sort((a, b) => a - b),
    /** node-cron expression for `run`. */
    cron: s.cron,
  };
}

export const scheduleSchema = fields.superRefine(checkSchedule, ALWAYS).transform(toSchedule);
