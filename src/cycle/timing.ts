/**
 * A schedule bound to its time zone and workday calendar: what the cycle asks of the calendar,
 * in one place, so that no caller builds the calendar or does period arithmetic itself.
 */
import {
  deadlineDate, deadlineInstant, deadlineText, dueWork, inRange, latestOpenedPeriod, periodNow, periodsUpTo, sendInstant,
  type DueWork, type Schedule,
} from '../core/calendar.js';
import type { LocalDate } from '../core/dates.js';
import { parsePeriod, periodWords, PERIOD_FORMS, type PeriodWords } from '../core/period.js';
import { TaizhangError } from '../errors.js';
import { workdaysOf } from './workdays.js';

export interface Timing {
  schedule: Schedule;
  tz: string;
  /** The words for this cadence's periods (本月/本周/本季度 …). */
  words: PeriodWords;
  deadlineDate(period: string): LocalDate;
  deadlineInstant(period: string): Date;
  /** 2020年6月30日, or 2020年7月3日 12:00 with a deadline time. */
  deadlineText(period: string): string;
  sendInstant(period: string): Date;
  due(now: Date): DueWork[];
  /** The period `now` falls in. */
  periodAt(now: Date): string;
  /** The period `now` falls in, or the next one once its requests went out early. */
  latestOpened(now: Date): string;
  inRange(period: string): boolean;
  /** Whether a period is of this schedule's cadence (a store may keep another's, after the cadence changed). */
  owns(period: string): boolean;
  periodsUpTo(period: string): string[];
}

const made = new WeakMap<Schedule, Map<string, Timing>>();

export function timingOf(schedule: Schedule, tz: string): Timing {
  let byZone = made.get(schedule);
  if (!byZone) made.set(schedule, (byZone = new Map()));
  let t = byZone.get(tz);
  if (t) return t;
  const cal = workdaysOf(schedule);
  t = {
    schedule, tz, words: periodWords(schedule.cadence),
    deadlineDate: (p) => deadlineDate(p, schedule, cal),
    deadlineInstant: (p) => deadlineInstant(p, schedule, tz, cal),
    deadlineText: (p) => deadlineText(p, schedule, cal),
    sendInstant: (p) => sendInstant(p, schedule, tz, cal),
    due: (now) => dueWork(now, schedule, tz, cal),
    periodAt: (now) => periodNow(now, schedule, tz),
    latestOpened: (now) => latestOpenedPeriod(now, schedule, tz, cal),
    inRange: (p) => inRange(p, schedule),
    owns: (p) => parsePeriod(p, schedule.cadence) !== null,
    periodsUpTo: (p) => periodsUpTo(p, schedule),
  };
  byZone.set(tz, t);
  return t;
}

/** A `--period` that is not of the schedule's cadence is a usage error naming the form expected. */
export function checkPeriodArg(period: string, schedule: Schedule): string {
  if (parsePeriod(period, schedule.cadence)) return period;
  throw new TaizhangError('USAGE', `--period must be ${PERIOD_FORMS[schedule.cadence]} for a ${schedule.cadence} schedule, got "${period}"`);
}
