import { describe, expect, it } from 'vitest';
import { meanFloor } from '../../tools/bench-report.js';

describe('meanFloor', () => {
  it('is the mean of the measurements, step by step, and keeps each total', () => {
    const f = meanFloor([
      { totalMs: 5000, steps: { fetch: 1000, smtp: 4000 }, cpuMs: 3000, mailServersCpuMs: 2000, otherWorkCpuMs: 0 },
      { totalMs: 7000, steps: { fetch: 2000, smtp: 5000 }, cpuMs: 4000, mailServersCpuMs: 3000, otherWorkCpuMs: 1000 },
    ]);
    expect(f).toEqual({ totalMs: 6000, steps: { fetch: 1500, smtp: 4500 }, cpuMs: 3500, mailServersCpuMs: 2500, otherWorkCpuMs: 500, measuredMs: [5000, 7000] });
  });
});
