import { describe, expect, it } from 'vitest';
import {
  addPeriods, isoWeekOf, isoWeeksInYear, parsePeriod, periodAt, periodContaining, periodDays, periodLabel, periodWords,
} from '../../src/core/period.js';

const day = (text: string) => { const [year, month, d] = text.split('-').map(Number); return { year, month, day: d }; };

describe('periods of every cadence', () => {
  it('reads ISO weeks across the new year: 2020 has 53 weeks, 2021-01-01 is in 2020-W53', () => {
    expect(isoWeeksInYear(2020)).toBe(53);
    expect(isoWeeksInYear(2021)).toBe(52);
    expect(periodDays('2020-W53')).toEqual({ first: day('2020-12-28'), last: day('2021-01-03') });
    expect(periodContaining(day('2021-01-01'), 'weekly')).toBe('2020-W53');
    expect(periodContaining(day('2021-01-03'), 'weekly')).toBe('2020-W53');
    expect(periodContaining(day('2021-01-04'), 'weekly')).toBe('2021-W01');
    expect(periodDays('2021-W01')).toEqual({ first: day('2021-01-04'), last: day('2021-01-10') });
    expect(isoWeekOf(day('2019-12-30'))).toEqual({ year: 2020, week: 1 }); // 2020-W01 starts in 2019
    expect(parsePeriod('2021-W53')).toBeNull();
    expect(parsePeriod('2020-W53')).toEqual({ cadence: 'weekly', year: 2020, index: 53 });
  });

  it('counts weeks forward and back across year ends', () => {
    expect(addPeriods('2020-W52', 1)).toBe('2020-W53');
    expect(addPeriods('2020-W53', 1)).toBe('2021-W01');
    expect(addPeriods('2021-W01', -1)).toBe('2020-W53');
    expect(addPeriods('2019-W52', 1)).toBe('2020-W01');
    expect(addPeriods('2020-W27', 52)).toBe('2021-W26');
  });

  it('names a week by its number and days, a quarter in Chinese numerals', () => {
    expect(periodLabel('2020-W27')).toBe('2020年第27周（6月29日至7月5日）');
    expect(periodLabel('2020-W53')).toBe('2020年第53周（2020年12月28日至2021年1月3日）');
    expect(periodLabel('2020-W27', { short: true })).toBe('2020年第27周');
    expect(periodLabel('2020-Q3')).toBe('2020年第三季度');
    expect(periodLabel('2020-06')).toBe('2020年6月');
    expect(periodWords('weekly')).toMatchObject({ current: '本周', that: '该周', previous: '上周' });
    expect(periodWords('quarterly')).toMatchObject({ current: '本季度', previous: '上季度' });
    expect(periodWords('monthly')).toMatchObject({ current: '本月', that: '该月', previous: '上月', history: '历月进展' });
  });

  it('reads quarters and months, and sorts each cadence as text', () => {
    expect(periodDays('2020-Q3')).toEqual({ first: day('2020-07-01'), last: day('2020-09-30') });
    expect(periodContaining(day('2020-11-15'), 'quarterly')).toBe('2020-Q4');
    expect(addPeriods('2020-Q4', 1)).toBe('2021-Q1');
    expect(addPeriods('2021-Q1', -1)).toBe('2020-Q4');
    expect(addPeriods('2020-12', 1)).toBe('2021-01');
    for (const [a, b] of [['2020-W09', '2020-W10'], ['2020-W53', '2021-W01'], ['2020-Q4', '2021-Q1'], ['2020-09', '2020-10']]) expect(a < b).toBe(true);
    for (const bad of ['2020-13', '2020-W00', '2020-W54', '2020-Q0', '2020-Q5', '2020-6', '2020W27']) expect(parsePeriod(bad)).toBeNull();
  });

  it('finds the period of an instant in the configured time zone', () => {
    // 2021-01-03 23:30 in Shanghai is still a Sunday of 2020-W53; in UTC it is 15:30.
    expect(periodAt(new Date('2021-01-03T15:30:00Z'), 'weekly', 'Asia/Shanghai')).toBe('2020-W53');
    expect(periodAt(new Date('2021-01-03T16:30:00Z'), 'weekly', 'Asia/Shanghai')).toBe('2021-W01');
    expect(periodAt(new Date('2020-06-30T16:30:00Z'), 'quarterly', 'Asia/Shanghai')).toBe('2020-Q3');
  });
});
