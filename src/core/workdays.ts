/**
 * Working days. The calendar itself (China's holidays and 调休, the office's own lists) is built
 * outside core and handed in: core only asks it about days.
 */
import { addDays, type LocalDate } from './dates.js';

export interface WorkdayCalendar {
  isWorkday(d: LocalDate): boolean;
  /** Whether the calendar's holiday data knows this year (else it reads plain weekends). */
  covers(year: number): boolean;
}

/** No calendar configured: every day is a working day, as before calendars existed. */
export const EVERY_DAY: WorkdayCalendar = { isWorkday: () => true, covers: () => true };

/** No run of days off is longer than this (the longest Spring Festival break was 10 days). */
const LONGEST_BREAK = 60;

/** The day itself if it is a working day, else the nearest one before it. */
export function workdayOnOrBefore(d: LocalDate, cal: WorkdayCalendar): LocalDate {
  for (let i = 0; i <= LONGEST_BREAK; i++) {
    const x = addDays(d, -i);
    if (cal.isWorkday(x)) return x;
  }
  return d; // a calendar without working days: keep the day rather than search forever
}

/** The day itself if it is a working day, else the nearest one after it. */
export function workdayOnOrAfter(d: LocalDate, cal: WorkdayCalendar): LocalDate {
  for (let i = 0; i <= LONGEST_BREAK; i++) {
    const x = addDays(d, i);
    if (cal.isWorkday(x)) return x;
  }
  return d;
}

/**
 * The year whose holidays are missing, for a warning: from 1 November on, next year's calendar
 * should be in the data (the State Council publishes it between October and December); in any
 * month, this year's. Null when nothing is missing.
 */
export function missingCalendarYear(today: LocalDate, cal: WorkdayCalendar): number | null {
  if (!cal.covers(today.year)) return today.year;
  if (today.month >= 11 && !cal.covers(today.year + 1)) return today.year + 1;
  return null;
}
