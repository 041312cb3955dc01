/**
 * The workday calendar a schedule names, built from China's official holiday and 调休 calendar
 * (the `chinese-days` package) and the office's own `holidays` and `extra_workdays`.
 *
 * The package's data is read from its published JSON (`dist/chinese-days.json`, documented in its
 * README for use outside JavaScript), not through its functions: those parse "YYYY-MM-DD" as UTC
 * and format it in the process's local time, so in a time zone west of UTC every day is looked up
 * as the day before. The JSON holds plain dates: `holidays` (days off), `workdays` (调休 working
 * Saturdays and Sundays).
 *
 * A year the data does not cover (the State Council publishes the next year's calendar between
 * October and December; a release of the package follows) is read as plain weekends, never as a
 * guess at its holidays. A year is covered when the data lists any holiday between March and
 * November: every published year has 清明, 劳动节, 端午 and 国庆 there, while the New Year's
 * holiday of one notice may reach into the last days of the year before.
 */
import { createRequire } from 'node:module';
import type { Schedule } from '../core/calendar.js';
import { isoDateText, isoWeekday, type LocalDate } from '../core/dates.js';
import { EVERY_DAY, missingCalendarYear, type WorkdayCalendar } from '../core/workdays.js';
import type { Logger } from '../logger.js';

interface HolidayData { holidays: Record<string, string>; workdays: Record<string, string> }

let cnData: { off: Set<string>; on: Set<string>; years: Set<number> } | null = null;

function chinaData() {
  if (cnData) return cnData;
  const raw = createRequire(import.meta.url)('chinese-days/dist/chinese-days.json') as HolidayData;
  const years = new Set<number>();
  for (const day of Object.keys(raw.holidays)) {
    const month = Number(day.slice(5, 7));
    if (month >= 3 && month <= 11) years.add(Number(day.slice(0, 4)));
  }
  cnData = { off: new Set(Object.keys(raw.holidays)), on: new Set(Object.keys(raw.workdays)), years };
  return cnData;
}

const weekday = (d: LocalDate) => isoWeekday(d) <= 5;

/** A calendar of weekends and `base`, overridden by the office's lists. */
function withOverrides(base: WorkdayCalendar, holidays: string[], extraWorkdays: string[]): WorkdayCalendar {
  const off = new Set(holidays);
  const on = new Set(extraWorkdays);
  const listedYears = new Set(holidays.map((d) => Number(d.slice(0, 4))));
  return {
    isWorkday(d) {
      const key = isoDateText(d);
      if (on.has(key)) return true;
      if (off.has(key)) return false;
      return base.isWorkday(d);
    },
    // A year the office listed its own holidays for is covered by the office.
    covers: (year) => base.covers(year) || listedYears.has(year),
  };
}

/** China's official calendar; plain weekends in the years its data does not cover. */
export function chinaCalendar(): WorkdayCalendar {
  const data = chinaData();
  return {
    isWorkday(d) {
      if (!data.years.has(d.year)) return weekday(d);
      const key = isoDateText(d);
      if (data.on.has(key)) return true;
      if (data.off.has(key)) return false;
      return weekday(d);
    },
    covers: (year) => data.years.has(year),
  };
}

const WEEKENDS: WorkdayCalendar = { isWorkday: weekday, covers: () => true };

const built = new WeakMap<object, WorkdayCalendar>();

/**
 * The schedule's calendar: without `calendar`, `holidays` or `extra_workdays` every day is a
 * working day (as before calendars existed); with only the lists, weekends and the lists.
 */
export function workdaysOf(s: Schedule): WorkdayCalendar {
  let cal = built.get(s);
  if (cal) return cal;
  if (!s.calendar && s.holidays.length === 0 && s.extraWorkdays.length === 0) cal = EVERY_DAY;
  else cal = withOverrides(s.calendar === 'cn' ? chinaCalendar() : WEEKENDS, s.holidays, s.extraWorkdays);
  built.set(s, cal);
  return cal;
}

/** The warning, in English and Chinese, when the holiday data lacks a year it should have by `today`. */
export function calendarWarning(s: Schedule, today: LocalDate): string | null {
  if (s.calendar !== 'cn') return null;
  const year = missingCalendarYear(today, workdaysOf(s));
  if (year === null) return null;
  return `schedule.calendar: China's holiday calendar for ${year} is not in the installed chinese-days data: ` +
    `until it is (update the package, or list the year's days in schedule.holidays and schedule.extra_workdays), ${year} counts only weekends as days off` +
    ` / 节假日数据尚无${year}年安排，请更新 chinese-days 或在 schedule.holidays、schedule.extra_workdays 中填写；在此之前${year}年仅按周末计算休息日。`;
}

const warned = new Set<string>();

/** Logs the calendar warning once a day per process (a daemon ticks every few minutes). */
export function warnCalendarGap(s: Schedule, today: LocalDate, log: Logger): void {
  const text = calendarWarning(s, today);
  if (!text) return;
  const key = `${isoDateText(today)}|${text}`;
  if (warned.has(key)) return;
  warned.add(key);
  log.warn(text);
}
