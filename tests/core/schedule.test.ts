/** Weekly and quarterly schedules, deadline times and workday moves, with a calendar given by hand. */
import { describe, expect, it } from 'vitest';
import { deadlineDate, deadlineInstant, deadlineText, dueWork, latestOpenedPeriod, reminders, sendDate, sendInstant, type Schedule } from '../../src/core/calendar.js';
import { isoDateText, isoWeekday, type LocalDate } from '../../src/core/dates.js';
import { EVERY_DAY, missingCalendarYear, type WorkdayCalendar } from '../../src/core/workdays.js';

const tz = 'Asia/Shanghai';
const at = (iso: string) => new Date(iso);
const base = { deadlineShift: 'none' as const, holidays: [] as string[], extraWorkdays: [] as string[], sendTime: '00:00' };
/** 每周一发通知，周四提醒，每周五12点前报送。 */
const weekly: Schedule = { ...base, cadence: 'weekly', firstPeriod: '2020-W26', sendDay: 1, reminderDays: [4], deadlineDay: 5, deadlineTime: '12:00' };
const quarterly: Schedule = { ...base, cadence: 'quarterly', firstPeriod: '2020-Q3', sendDay: 20, reminderDays: [25], deadlineDay: 30 };

/** Weekends off, and the listed days; `covered` years are known. */
function calendar(off: string[], on: string[] = [], covered = [2020, 2021]): WorkdayCalendar {
  return {
    isWorkday: (d: LocalDate) => on.includes(isoDateText(d)) || (!off.includes(isoDateText(d)) && isoWeekday(d) <= 5),
    covers: (y) => covered.includes(y),
  };
}

describe('a weekly schedule', () => {
  it('asks on the send weekday, reminds on the reminder weekday, closes at 12:00 on Friday', () => {
    expect(sendInstant('2020-W27', weekly, tz, EVERY_DAY).toISOString()).toBe('2020-06-28T16:00:00.000Z'); // Monday 29 June 00:00
    expect(deadlineInstant('2020-W27', weekly, tz, EVERY_DAY).toISOString()).toBe('2020-07-03T04:00:00.000Z'); // Friday 3 July 12:00
    expect(deadlineText('2020-W27', weekly, EVERY_DAY)).toBe('2020年7月3日 12:00');
    expect(reminders('2020-W27', weekly, tz, EVERY_DAY).map((r) => [r.slot, isoDateText(r.date)])).toEqual([['weekday-4', '2020-07-02']]);
    expect(dueWork(at('2020-06-28T23:59:00+08:00'), weekly, tz, EVERY_DAY)).toEqual([]); // Sunday of W26: W26 closed on Friday
    expect(dueWork(at('2020-06-29T09:00:00+08:00'), weekly, tz, EVERY_DAY)).toMatchObject([{ period: '2020-W27', requests: true, reminder: null }]);
    expect(dueWork(at('2020-07-02T09:00:00+08:00'), weekly, tz, EVERY_DAY)).toMatchObject([{ period: '2020-W27', reminder: { slot: 'weekday-4' } }]);
    expect(dueWork(at('2020-07-03T11:59:00+08:00'), weekly, tz, EVERY_DAY)).toHaveLength(1);
    expect(dueWork(at('2020-07-03T12:00:00+08:00'), weekly, tz, EVERY_DAY)).toEqual([]);
  });

  it('without a deadline time, a week closes when its deadline day ends', () => {
    const endOfDay = { ...weekly, deadlineTime: undefined };
    expect(deadlineInstant('2020-W27', endOfDay, tz, EVERY_DAY).toISOString()).toBe('2020-07-03T16:00:00.000Z');
    expect(deadlineText('2020-W27', endOfDay, EVERY_DAY)).toBe('2020年7月3日');
  });

  it('drops a reminder that a holiday pushes past the deadline', () => {
    const thursdayOff = calendar(['2020-07-02']);
    // Thursday off: the reminder would move to Friday 00:00, still before 12:00.
    expect(reminders('2020-W27', weekly, tz, thursdayOff).map((r) => isoDateText(r.date))).toEqual(['2020-07-03']);
    const bothOff = calendar(['2020-07-02', '2020-07-03']);
    expect(reminders('2020-W27', weekly, tz, bothOff)).toEqual([]);
  });
});

describe('a quarterly schedule', () => {
  it('names days of the quarter\'s last month', () => {
    expect(isoDateText(sendDate('2020-Q3', quarterly, EVERY_DAY))).toBe('2020-09-20');
    expect(deadlineDate('2020-Q3', quarterly, EVERY_DAY)).toEqual({ year: 2020, month: 9, day: 30 });
    expect(dueWork(at('2020-08-20T09:00:00+08:00'), quarterly, tz, EVERY_DAY)).toEqual([]);
    expect(dueWork(at('2020-09-26T09:00:00+08:00'), quarterly, tz, EVERY_DAY)).toMatchObject([{ period: '2020-Q3', reminder: { slot: 'day-25' } }]);
    expect(deadlineDate('2021-Q1', { ...quarterly, deadlineDay: 31 }, EVERY_DAY)).toEqual({ year: 2021, month: 3, day: 31 });
    expect(deadlineDate('2020-Q2', { ...quarterly, deadlineDay: 31 }, EVERY_DAY)).toEqual({ year: 2020, month: 6, day: 30 });
  });
});

describe('working days', () => {
  // 2020 National Day and Mid-Autumn: 1–8 October off, Sunday 27 September and Saturday 10 October worked.
  const national = calendar(['2020-10-01', '2020-10-02', '2020-10-05', '2020-10-06', '2020-10-07', '2020-10-08'], ['2020-09-27', '2020-10-10']);
  const monthly: Schedule = { ...base, cadence: 'monthly', firstPeriod: '2020-06', sendDay: 1, reminderDays: [5], deadlineDay: 8 };

  it('moves a send day off to the working day before, a reminder day off to the working day after', () => {
    expect(isoDateText(sendDate('2020-10', monthly, national))).toBe('2020-09-30');
    expect(reminders('2020-10', monthly, tz, national).map((r) => isoDateText(r.date))).toEqual([]); // 5th → 9th, after the 8th
    expect(reminders('2020-10', { ...monthly, deadlineDay: 15 }, tz, national).map((r) => isoDateText(r.date))).toEqual(['2020-10-09']);
  });

  it('opens the next period early when its send day moved before a holiday', () => {
    const open = dueWork(at('2020-09-30T09:00:00+08:00'), { ...monthly, deadlineDay: 15 }, tz, national);
    expect(open.map((d) => d.period)).toEqual(['2020-10']);
    expect(latestOpenedPeriod(at('2020-09-30T09:00:00+08:00'), monthly, tz, national)).toBe('2020-10');
    expect(latestOpenedPeriod(at('2020-09-29T09:00:00+08:00'), monthly, tz, national)).toBe('2020-09');
  });

  it('moves a deadline off to the next working day only with deadline_shift: next_workday', () => {
    expect(isoDateText(deadlineDate('2020-10', monthly, national))).toBe('2020-10-08');
    const shifted = { ...monthly, deadlineShift: 'next_workday' as const };
    expect(isoDateText(deadlineDate('2020-10', shifted, national))).toBe('2020-10-09');
    expect(deadlineInstant('2020-10', shifted, tz, national).toISOString()).toBe('2020-10-09T16:00:00.000Z');
  });

  it('keeps a weekly period open into the next week when its deadline moved, next to the next one', () => {
    // W40 (28 Sep–4 Oct): Friday 2 October off, moved to Friday 9 October. W41's Monday (5 Oct) is off: it asks on 30 September.
    const w = { ...weekly, deadlineShift: 'next_workday' as const, reminderDays: [] };
    expect(isoDateText(deadlineDate('2020-W40', w, national))).toBe('2020-10-09');
    expect(isoDateText(sendDate('2020-W41', w, national))).toBe('2020-09-30');
    expect(dueWork(at('2020-09-30T09:00:00+08:00'), w, tz, national).map((d) => d.period)).toEqual(['2020-W40', '2020-W41']);
    expect(dueWork(at('2020-10-09T12:00:00+08:00'), w, tz, national).map((d) => d.period)).toEqual([]);
  });

  it('warns from 1 November when next year is not in the data, and any month for this year', () => {
    const known = calendar([], [], [2020]);
    expect(missingCalendarYear({ year: 2020, month: 10, day: 31 }, known)).toBeNull();
    expect(missingCalendarYear({ year: 2020, month: 11, day: 1 }, known)).toBe(2021);
    expect(missingCalendarYear({ year: 2021, month: 3, day: 1 }, known)).toBe(2021);
    expect(missingCalendarYear({ year: 2020, month: 12, day: 31 }, calendar([], [], [2020, 2021]))).toBeNull();
  });
});
