/** China's official calendar from chinese-days, the office's overrides, and the fallback for years not in the data. */
import { describe, expect, it } from 'vitest';
import { deadlineDate, reminders, sendDate, type Schedule } from '../../src/core/calendar.js';
import { isoDateText, parseIsoDate } from '../../src/core/dates.js';
import { EVERY_DAY } from '../../src/core/workdays.js';
import { calendarWarning, chinaCalendar, workdaysOf } from '../../src/cycle/workdays.js';

const d = (text: string) => parseIsoDate(text)!;
const schedule = (extra: Partial<Schedule>): Schedule => ({
  cadence: 'monthly', firstPeriod: '2020-01', sendDay: 20, deadlineDay: 30, reminderDays: [], sendTime: '00:00',
  deadlineShift: 'none', holidays: [], extraWorkdays: [], ...extra,
});
const cn = chinaCalendar();

describe('China\'s holiday calendar', () => {
  it('knows the 2020 National Day week and its 调休 Saturday and Sunday', () => {
    for (const off of ['2020-10-01', '2020-10-05', '2020-10-08']) expect(cn.isWorkday(d(off))).toBe(false);
    expect(cn.isWorkday(d('2020-09-27'))).toBe(true); // a Sunday worked
    expect(cn.isWorkday(d('2020-10-10'))).toBe(true); // a Saturday worked
    expect(cn.isWorkday(d('2020-10-09'))).toBe(true);
    expect(cn.isWorkday(d('2020-10-11'))).toBe(false); // an ordinary Sunday
  });

  it('moves days around the 2021 Spring Festival (11–17 February off, 7 and 20 February worked)', () => {
    const s = schedule({ calendar: 'cn', sendDay: 15, reminderDays: [12], deadlineDay: 26 });
    const cal = workdaysOf(s);
    expect(isoDateText(sendDate('2021-02', s, cal))).toBe('2021-02-10');
    expect(reminders('2021-02', s, 'Asia/Shanghai', cal).map((r) => isoDateText(r.date))).toEqual(['2021-02-18']);
    expect(cal.isWorkday(d('2021-02-07')) && cal.isWorkday(d('2021-02-20'))).toBe(true);
    const shifted = { ...s, deadlineDay: 13, deadlineShift: 'next_workday' as const };
    expect(isoDateText(deadlineDate('2021-02', shifted, workdaysOf(shifted)))).toBe('2021-02-18');
  });

  it('reads a year the data lacks as plain weekends, never as a guess at its holidays', () => {
    expect(cn.covers(2020) && cn.covers(2026)).toBe(true);
    expect(cn.covers(2099)).toBe(false);
    expect(cn.isWorkday(d('2099-01-01'))).toBe(true); // a Thursday: no holiday is invented
    expect(cn.isWorkday(d('2099-01-03'))).toBe(false); // a Saturday
  });

  it('warns from 1 November when next year is missing; a year the office listed counts as known', () => {
    const s = schedule({ calendar: 'cn' });
    const last = Math.max(...Array.from({ length: 100 }, (_, i) => 2000 + i).filter((y) => cn.covers(y)));
    expect(calendarWarning(s, { year: last, month: 10, day: 31 })).toBeNull();
    expect(calendarWarning(s, { year: last, month: 11, day: 1 })).toContain(`${last + 1}`);
    expect(calendarWarning(s, { year: last, month: 11, day: 1 })).toContain(`尚无${last + 1}年安排`);
    expect(calendarWarning(schedule({ calendar: 'cn', holidays: [`${last + 1}-01-01`] }), { year: last, month: 11, day: 1 })).toBeNull();
    expect(calendarWarning(schedule({}), { year: last, month: 12, day: 1 })).toBeNull(); // no calendar, nothing to miss
  });
});

describe('the office\'s own days', () => {
  it('override the official calendar both ways', () => {
    const cal = workdaysOf(schedule({ calendar: 'cn', holidays: ['2020-10-09'], extraWorkdays: ['2020-10-11'] }));
    expect(cal.isWorkday(d('2020-10-09'))).toBe(false);
    expect(cal.isWorkday(d('2020-10-11'))).toBe(true);
    expect(cal.isWorkday(d('2020-10-01'))).toBe(false);
  });

  it('without calendar: cn mean weekends and the lists; with nothing at all, every day works as before', () => {
    const lists = workdaysOf(schedule({ holidays: ['2020-06-22'] }));
    expect(lists.isWorkday(d('2020-06-20'))).toBe(false); // Saturday
    expect(lists.isWorkday(d('2020-06-22'))).toBe(false);
    expect(lists.isWorkday(d('2020-10-01'))).toBe(true); // no official holidays
    expect(workdaysOf(schedule({}))).toBe(EVERY_DAY);
  });
});
