import { describe, expect, it } from 'vitest';
import { deadlineDate, deadlineInstant, dueWork, parseNow, periodNow, periodsUpTo, reminders, sendInstant, zonedInstant, type Schedule } from '../../src/core/calendar.js';
import { addPeriods } from '../../src/core/period.js';
import { EVERY_DAY } from '../../src/core/workdays.js';

const tz = 'Asia/Shanghai';
const s: Schedule = {
  cadence: 'monthly', firstPeriod: '2020-06', lastPeriod: '2020-10', sendDay: 20, deadlineDay: 30, reminderDays: [25, 28], sendTime: '00:00',
  deadlineShift: 'none', holidays: [], extraWorkdays: [],
};
const at = (iso: string) => new Date(iso);
const cal = EVERY_DAY;
/** The one open period at an instant, as the monthly calendar without holidays always has at most one. */
const due = (now: Date, sched: Schedule = s) => {
  const open = dueWork(now, sched, tz, cal);
  expect(open.length).toBeLessThanOrEqual(1);
  return open[0] ? { period: open[0].period, requests: open[0].requests, reminderDay: open[0].reminder ? Number(open[0].reminder.slot.slice(4)) : null } : { requests: false, reminderDay: null };
};

describe('period calendar', () => {
  it('reads the month in the configured time zone, not UTC', () => {
    expect(periodNow(at('2020-06-30T16:30:00Z'), s, tz)).toBe('2020-07'); // 00:30 on 1 July in Shanghai
    expect(periodNow(at('2020-06-30T15:59:00Z'), s, tz)).toBe('2020-06');
  });

  it('puts the deadline at the end of the deadline day, clamped in short months', () => {
    expect(deadlineInstant('2020-06', s, tz, cal).toISOString()).toBe('2020-06-30T16:00:00.000Z');
    expect(deadlineDate('2021-02', s, cal)).toEqual({ year: 2021, month: 2, day: 28 });
    expect(deadlineDate('2020-02', s, cal)).toEqual({ year: 2020, month: 2, day: 29 });
    expect(deadlineInstant('2021-02', s, tz, cal).toISOString()).toBe('2021-02-28T16:00:00.000Z');
  });

  it('clamps reminder days into the month and drops those after the deadline', () => {
    expect(reminders('2021-02', { ...s, reminderDays: [25, 28, 30] }, tz, cal).map((r) => r.date.day)).toEqual([25, 28]);
    expect(reminders('2020-06', { ...s, deadlineDay: 27 }, tz, cal).map((r) => r.date.day)).toEqual([25]);
    // A month's reminder keeps the outbox slot it had before cadences existed.
    expect(reminders('2020-06', s, tz, cal).map((r) => r.slot)).toEqual(['day-25', 'day-28']);
  });

  it('says what is due at an instant', () => {
    expect(due(at('2020-06-19T23:59:00+08:00'))).toMatchObject({ requests: false, reminderDay: null });
    expect(due(at('2020-06-20T00:00:00+08:00'))).toMatchObject({ period: '2020-06', requests: true, reminderDay: null });
    expect(due(at('2020-06-26T12:00:00+08:00'))).toMatchObject({ requests: true, reminderDay: 25 });
    expect(due(at('2020-06-29T12:00:00+08:00'))).toMatchObject({ reminderDay: 28 });
    expect(due(at('2020-07-01T00:00:00+08:00'))).toMatchObject({ requests: false });
    expect(due(at('2020-11-20T09:00:00+08:00'))).toMatchObject({ requests: false });
    expect(due(at('2020-05-25T09:00:00+08:00'))).toMatchObject({ requests: false });
  });

  it('respects a send time of day', () => {
    const nine = { ...s, sendTime: '09:00' };
    expect(sendInstant('2020-06', nine, tz, cal).toISOString()).toBe('2020-06-20T01:00:00.000Z');
    expect(due(at('2020-06-20T08:59:00+08:00'), nine).requests).toBe(false);
    expect(due(at('2020-06-20T09:00:00+08:00'), nine).requests).toBe(true);
  });

  it('lists periods and adds months across years', () => {
    expect(addPeriods('2020-12', 1)).toBe('2021-01');
    expect(addPeriods('2021-01', -1)).toBe('2020-12');
    expect(periodsUpTo('2020-08', s)).toEqual(['2020-06', '2020-07', '2020-08']);
    expect(periodsUpTo('2021-03', s)).toEqual(['2020-06', '2020-07', '2020-08', '2020-09', '2020-10']);
  });

  it('handles zones with daylight saving time', () => {
    const ny = zonedInstant(2021, 3, 14, 12, 0, 'America/New_York');
    expect(ny.toISOString()).toBe('2021-03-14T16:00:00.000Z');
  });

  it('parses --now as an instant, or a bare date as local midnight', () => {
    expect(parseNow('2020-06-20T09:00:00+08:00', tz)!.toISOString()).toBe('2020-06-20T01:00:00.000Z');
    expect(parseNow('2020-06-20', tz)!.toISOString()).toBe('2020-06-19T16:00:00.000Z');
    expect(parseNow('2020-06-20T09:30', tz)!.toISOString()).toBe('2020-06-20T01:30:00.000Z');
    expect(parseNow('2020-06-20T09:00:00.250', tz)!.toISOString()).toBe('2020-06-20T01:00:00.250Z');
    expect(parseNow('2020-06-20T09:00:00.000Z', tz)!.toISOString()).toBe('2020-06-20T09:00:00.000Z');
    expect(parseNow('not a date', tz)).toBeNull();
  });
});
