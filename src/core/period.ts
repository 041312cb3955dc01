/**
 * Periods, whatever the cadence: one module parses, formats, counts and names them, so that no
 * caller does month arithmetic of its own.
 *
 *   monthly    2020-06    2020年6月
 *   weekly     2020-W27   2020年第27周（6月29日至7月5日）   ISO 8601 weeks: Monday to Sunday,
 *                                                          week 1 holds the year's first Thursday
 *   quarterly  2020-Q3    2020年第三季度
 *
 * Within one cadence the texts sort as the periods do (weeks and months have two digits).
 */
import { TaizhangError } from '../errors.js';
import { addDays, dayNumber, daysInMonth, fromDayNumber, isoWeekday, localParts, type LocalDate } from './dates.js';

export type Cadence = 'monthly' | 'weekly' | 'quarterly';
export const CADENCES: readonly Cadence[] = ['monthly', 'weekly', 'quarterly'];

/** A period taken apart: `index` is the month (1–12), the ISO week (1–53) or the quarter (1–4). */
export interface PeriodParts { cadence: Cadence; year: number; index: number }

const PATTERNS: Record<Cadence, RegExp> = {
  monthly: /^(\d{4})-(0[1-9]|1[0-2])$/,
  weekly: /^(\d{4})-W(0[1-9]|[1-4]\d|5[0-3])$/,
  quarterly: /^(\d{4})-Q([1-4])$/,
};

/** How each cadence's periods are written, for error messages. */
export const PERIOD_FORMS: Record<Cadence, string> = { monthly: 'YYYY-MM', weekly: 'YYYY-Www', quarterly: 'YYYY-Qn' };

/** Mondays of ISO week 1: the week holding 4 January. */
function week1Monday(year: number): number {
  const jan4 = { year, month: 1, day: 4 };
  return dayNumber(jan4) - (isoWeekday(jan4) - 1);
}

/** 52 or 53: 28 December is always in the year's last week. */
export function isoWeeksInYear(year: number): number {
  return isoWeekOf({ year, month: 12, day: 28 }).week;
}

/** The ISO week-year and week of a day (the week-year of 2021-01-01 is 2020). */
export function isoWeekOf(d: LocalDate): { year: number; week: number } {
  const thursday = addDays(d, 4 - isoWeekday(d));
  return { year: thursday.year, week: Math.floor((dayNumber(thursday) - week1Monday(thursday.year)) / 7) + 1 };
}

/** The period a text names, in any cadence (or the given one only); null when it names none. */
export function parsePeriod(text: string, cadence?: Cadence): PeriodParts | null {
  for (const c of cadence ? [cadence] : CADENCES) {
    const m = PATTERNS[c].exec(text);
    if (!m) continue;
    const p = { cadence: c, year: Number(m[1]), index: Number(m[2]) };
    if (c === 'weekly' && p.index > isoWeeksInYear(p.year)) return null; // 2021-W53 does not exist
    return p;
  }
  return null;
}

/** A period text taken apart; throws on one that is no period (a programming error). */
export function partsOf(period: string): PeriodParts {
  const p = parsePeriod(period);
  if (!p) throw new TaizhangError('INTERNAL', `not a period: ${JSON.stringify(period)}`);
  return p;
}

export function formatPeriod(p: PeriodParts): string {
  const two = String(p.index).padStart(2, '0');
  if (p.cadence === 'weekly') return `${p.year}-W${two}`;
  if (p.cadence === 'quarterly') return `${p.year}-Q${p.index}`;
  return `${p.year}-${two}`;
}

/** The period `n` periods after (before, when negative) this one. */
export function addPeriods(period: string, n: number): string {
  const p = partsOf(period);
  if (p.cadence === 'weekly') return periodContaining(fromDayNumber(week1Monday(p.year) + (p.index - 1 + n) * 7), 'weekly');
  const per = p.cadence === 'monthly' ? 12 : 4;
  const idx = p.year * per + (p.index - 1) + n;
  return formatPeriod({ cadence: p.cadence, year: Math.floor(idx / per), index: (idx % per) + 1 });
}

/** The first and last day of a period. */
export function periodDays(period: string): { first: LocalDate; last: LocalDate } {
  const p = partsOf(period);
  if (p.cadence === 'weekly') {
    const monday = week1Monday(p.year) + (p.index - 1) * 7;
    return { first: fromDayNumber(monday), last: fromDayNumber(monday + 6) };
  }
  const [firstMonth, lastMonth] = p.cadence === 'monthly' ? [p.index, p.index] : [p.index * 3 - 2, p.index * 3];
  return { first: { year: p.year, month: firstMonth, day: 1 }, last: { year: p.year, month: lastMonth, day: daysInMonth(p.year, lastMonth) } };
}

/** The month whose days `send_day`, `deadline_day` and `reminder_days` name: the month itself, or a quarter's last. */
export function scheduleMonth(period: string): { year: number; month: number } {
  const p = partsOf(period);
  if (p.cadence === 'weekly') throw new TaizhangError('INTERNAL', `a week has no schedule month: ${period}`);
  return { year: p.year, month: p.cadence === 'monthly' ? p.index : p.index * 3 };
}

/** The period of the cadence a day falls in. */
export function periodContaining(d: LocalDate, cadence: Cadence): string {
  if (cadence === 'weekly') {
    const w = isoWeekOf(d);
    return formatPeriod({ cadence, year: w.year, index: w.week });
  }
  return formatPeriod({ cadence, year: d.year, index: cadence === 'monthly' ? d.month : Math.ceil(d.month / 3) });
}

/** The period of the cadence an instant falls in, in the time zone. */
export function periodAt(at: Date, cadence: Cadence, tz: string): string {
  return periodContaining(localParts(at, tz), cadence);
}

const QUARTERS = ['一', '二', '三', '四'];

/**
 * The period as mail, forms and the ledger name it: 2020年6月, 2020年第三季度,
 * 2020年第27周（6月29日至7月5日） (a week across the new year names both years).
 * `short` leaves out a week's days (file names).
 */
export function periodLabel(period: string, opts: { short?: boolean } = {}): string {
  const p = partsOf(period);
  if (p.cadence === 'monthly') return `${p.year}年${p.index}月`;
  if (p.cadence === 'quarterly') return `${p.year}年第${QUARTERS[p.index - 1]}季度`;
  const base = `${p.year}年第${p.index}周`;
  if (opts.short) return base;
  const { first, last } = periodDays(period);
  const day = (d: LocalDate) => (first.year === last.year ? '' : `${d.year}年`) + `${d.month}月${d.day}日`;
  return `${base}（${day(first)}至${day(last)}）`;
}

/** The words a notice uses for a period of the cadence. */
export interface PeriodWords {
  /** 月 / 周 / 季度 */
  unit: string;
  /** 本月 / 本周 / 本季度 */
  current: string;
  /** 该月 / 该周 / 该季度 */
  that: string;
  /** 上月 / 上周 / 上季度 */
  previous: string;
  /** The caption before a period's name on a sheet: 月份 / 周次 / 季度 */
  caption: string;
  /** The ledger's sheet of progress over the periods: 历月进展 / 历周进展 / 历季进展 */
  history: string;
}

const WORDS: Record<Cadence, PeriodWords> = {
  monthly: { unit: '月', current: '本月', that: '该月', previous: '上月', caption: '月份', history: '历月进展' },
  weekly: { unit: '周', current: '本周', that: '该周', previous: '上周', caption: '周次', history: '历周进展' },
  quarterly: { unit: '季度', current: '本季度', that: '该季度', previous: '上季度', caption: '季度', history: '历季进展' },
};

export function periodWords(cadence: Cadence): PeriodWords {
  return WORDS[cadence];
}
