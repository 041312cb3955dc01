import { describe, expect, it } from 'vitest';
import { addMonths, deadlineDate, deadlineInstant, dueWork, parseNow, periodOf, periodsUpTo, reminderDates, sendInstant, zonedInstant, type Schedule } from '../../src/core/calendar.js';

const tz = 'Asia/Shanghai';
const s: Schedule = { firstPeriod: '2020-06', lastPeriod: '2020-10', sendDay: 20, deadlineDay: 30, reminderDays: [25, 28], sendTime: '00:00' };
const at = (iso: string) => new Date(iso);

describe('period calendar', () => {
  it('reads the month in the configured time zone, not UTC', () => {
    expect(periodOf(at('2020-06-30T16:30:00Z'), tz)).toBe('2020-07'); // 00:30 on 1 July in Shanghai
    expect(periodOf(at('2020-06-30T15:59:00Z'), tz)).toBe('2020-06');
  });

  it('puts the deadline at the end of the deadline day, clamped in short months', () => {
    expect(deadlineInstant('2020-06', s, tz).toISOString()).toBe('2020-06-30T16:00:00.000Z');
    expect(deadlineDate('2021-02', s)).toEqual({ year: 2021, month: 2, day: 28 });
    expect(deadlineDate('2020-02', s)).toEqual({ year: 2020, month: 2, day: 29 });
    expect(deadlineInstant('2021-02', s, tz).toISOString()).toBe('2021-02-28T16:00:00.000Z');
  });

  it('clamps reminder days into the month and drops those after the deadline', () => {
    expect(reminderDates('2021-02', { ...s, reminderDays: [25, 28, 30] }).map((d) => d.day)).toEqual([25, 28]);
    expect(reminderDates('2020-06', { ...s, deadlineDay: 27 }).map((d) => d.day)).toEqual([25]);
  });

  it('says what is due at an instant', () => {
    expect(dueWork(at('2020-06-19T23:59:00+08:00'), s, tz)).toMatchObject({ period: '2020-06', requests: false, reminderDay: null });
    expect(dueWork(at('2020-06-20T00:00:00+08:00'), s, tz)).toMatchObject({ requests: true, reminderDay: null });
    expect(dueWork(at('2020-06-26T12:00:00+08:00'), s, tz)).toMatchObject({ requests: true, reminderDay: 25 });
    expect(dueWork(at('2020-06-29T12:00:00+08:00'), s, tz)).toMatchObject({ reminderDay: 28 });
    expect(dueWork(at('2020-07-01T00:00:00+08:00'), s, tz)).toMatchObject({ period: '2020-07', requests: false });
    expect(dueWork(at('2020-11-20T09:00:00+08:00'), s, tz)).toMatchObject({ inRange: false, requests: false });
    expect(dueWork(at('2020-05-25T09:00:00+08:00'), s, tz)).toMatchObject({ inRange: false, requests: false });
  });

  it('respects a send time of day', () => {
    const nine = { ...s, sendTime: '09:00' };
    expect(sendInstant('2020-06', nine, tz).toISOString()).toBe('2020-06-20T01:00:00.000Z');
    expect(dueWork(at('2020-06-20T08:59:00+08:00'), nine, tz).requests).toBe(false);
    expect(dueWork(at('2020-06-20T09:00:00+08:00'), nine, tz).requests).toBe(true);
  });

  it('lists periods and adds months across years', () => {
    expect(addMonths('2020-12', 1)).toBe('2021-01');
    expect(addMonths('2021-01', -1)).toBe('2020-12');
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
