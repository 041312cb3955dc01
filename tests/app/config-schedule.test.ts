/** schedule: cadence, the keys each cadence takes, periods in its form, holidays. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/app/config.js';
import { parseYaml } from '../../src/app/yaml.js';
import { configProblems } from '../helpers/config.js';

const env = { TAIZHANG_MAIL_PASSWORD: 'pw' };
const withSchedule = (schedule: Record<string, unknown>) => {
  const doc = parseYaml(readFileSync('config/taizhang.example.yaml', 'utf8')) as Record<string, any>;
  doc.schedule = schedule;
  return doc;
};
const load = (schedule: Record<string, unknown>) => parseConfig(withSchedule(schedule), 'x.yaml', env).schedule;
const problems = (schedule: Record<string, unknown>) => configProblems(withSchedule(schedule), env);

describe('schedule', () => {
  it('is monthly by default, as before', () => {
    expect(load({ first_period: '2020-06', send_day: 20, deadline_day: 30, reminder_days: [28, 25] })).toMatchObject({
      cadence: 'monthly', sendDay: 20, deadlineDay: 30, reminderDays: [25, 28], deadlineShift: 'none', holidays: [], extraWorkdays: [],
    });
  });

  it('weekly: weekdays, ISO weeks, a deadline time (每周五12点前)', () => {
    expect(load({ cadence: 'weekly', first_period: '2020-W27', send_weekday: 1, reminder_weekdays: [4], deadline_weekday: 5, deadline_time: '12:00' }))
      .toMatchObject({ cadence: 'weekly', firstPeriod: '2020-W27', sendDay: 1, reminderDays: [4], deadlineDay: 5, deadlineTime: '12:00' });
    expect(load({ cadence: 'weekly', first_period: '2020-W27' })).toMatchObject({ sendDay: 1, deadlineDay: 5, reminderDays: [] });
  });

  it('quarterly: days of the quarter\'s last month, quarters as YYYY-Qn', () => {
    expect(load({ cadence: 'quarterly', first_period: '2020-Q3', last_period: '2021-Q2', send_day: 15 })).toMatchObject({ cadence: 'quarterly', sendDay: 15, deadlineDay: 30 });
  });

  it('names keys that do not fit the cadence, with their path and the key meant', () => {
    expect(problems({ first_period: '2020-06', send_weekday: 1 })).toEqual(['schedule.send_weekday: is not used by a monthly schedule; use send_day']);
    expect(problems({ cadence: 'weekly', first_period: '2020-W27', deadline_day: 5, reminder_days: [3] })).toEqual([
      'schedule.deadline_day: is not used by a weekly schedule; use deadline_weekday (1 = Monday … 7 = Sunday)',
      'schedule.reminder_days: is not used by a weekly schedule; use reminder_weekdays (1 = Monday … 7 = Sunday)',
    ]);
    expect(problems({ cadence: 'weekly', first_period: '2020-W27', send_weekday: 8 })).toEqual(['schedule.send_weekday: must be a whole number from 1 to 7']);
    expect(problems({ cadence: 'fortnightly', first_period: '2020-06' })).toEqual(['schedule.cadence: must be one of: monthly, weekly, quarterly']);
  });

  it('wants periods in the cadence\'s form', () => {
    expect(problems({ cadence: 'weekly', first_period: '2020-06' })).toEqual([expect.stringMatching(/^schedule\.first_period: must be an ISO week as YYYY-Www/)]);
    expect(problems({ cadence: 'weekly', first_period: '2021-W53' })).toEqual([expect.stringMatching(/^schedule\.first_period: must be an ISO week/)]);
    expect(problems({ cadence: 'quarterly', first_period: '2020-Q3', last_period: '2020-09' })).toEqual([expect.stringMatching(/^schedule\.last_period: must be a quarter as YYYY-Qn/)]);
    expect(problems({ first_period: '2020-W27' })).toEqual(['schedule.first_period: must be a month as YYYY-MM']);
    expect(problems({ cadence: 'weekly', first_period: '2020-W27', last_period: '2020-W26' })).toEqual(['schedule.last_period: is before first_period']);
  });

  it('checks the days against each other and the deadline time', () => {
    expect(problems({ cadence: 'weekly', first_period: '2020-W27', send_weekday: 3, reminder_weekdays: [2, 6], deadline_weekday: 5 })).toEqual([
      'schedule.reminder_weekdays[0]: must be after send_weekday (3) and not after deadline_weekday (5)',
      'schedule.reminder_weekdays[1]: must be after send_weekday (3) and not after deadline_weekday (5)',
    ]);
    expect(problems({ first_period: '2020-06', deadline_time: '25:00' })).toEqual(['schedule.deadline_time: must be HH:MM']);
    expect(problems({ cadence: 'weekly', first_period: '2020-W27', send_weekday: 5, deadline_time: '09:00', send_time: '09:00' }))
      .toEqual([expect.stringMatching(/^schedule\.deadline_time: must be after send_time/)]);
  });

  it('takes China\'s calendar, holiday lists and the deadline shift', () => {
    expect(load({ first_period: '2020-06', calendar: 'cn', holidays: ['2020-06-22'], extra_workdays: ['2020-06-28'], deadline_shift: 'next_workday' }))
      .toMatchObject({ calendar: 'cn', holidays: ['2020-06-22'], extraWorkdays: ['2020-06-28'], deadlineShift: 'next_workday' });
    expect(problems({ first_period: '2020-06', calendar: 'us', holidays: ['2020-02-30', 'soon'], deadline_shift: 'later' })).toEqual([
      'schedule.deadline_shift: must be one of: none, next_workday',
      'schedule.calendar: must be one of: cn',
      'schedule.holidays[0]: must be a date as YYYY-MM-DD',
      'schedule.holidays[1]: must be a date as YYYY-MM-DD',
    ]);
    expect(problems({ first_period: '2020-06', holidays: ['2020-06-22'], extra_workdays: ['2020-06-22'] })).toEqual(['schedule.extra_workdays[0]: 2020-06-22 is also in holidays']);
  });
});
