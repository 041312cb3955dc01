import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { meanFloor, writeFigures } from '../../tools/bench-report.js';

describe('meanFloor', () => {
  it('is the mean of the measurements, step by step, and keeps each total', () => {
    const f = meanFloor([
      { totalMs: 5000, steps: { fetch: 1000, smtp: 4000 }, cpuMs: 3000, mailServersCpuMs: 2000, otherWorkCpuMs: 0 },
      { totalMs: 7000, steps: { fetch: 2000, smtp: 5000 }, cpuMs: 4000, mailServersCpuMs: 3000, otherWorkCpuMs: 1000 },
    ]);
    expect(f).toEqual({ totalMs: 6000, steps: { fetch: 1500, smtp: 4500 }, cpuMs: 3500, mailServersCpuMs: 2500, otherWorkCpuMs: 500, measuredMs: [5000, 7000] });
  });
});

describe('writeFigures', () => {
  let dir: string | undefined;
  afterEach(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });
  const file = () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'tz-bench-report-'));
    return path.join(dir, 'RESULTS.md');
  };

  it('replaces only what is between the markers, keeping the prose around them', () => {
    const f = file();
    writeFileSync(f, '# Results\n\nHow to read them.\n\n<!-- bench:start -->\nold figures\n<!-- bench:end -->\n\nNotes after.\n');
    writeFigures(f, '| new | figures |\n');
    expect(readFileSync(f, 'utf8')).toBe('# Results\n\nHow to read them.\n\n<!-- bench:start -->\n| new | figures |\n<!-- bench:end -->\n\nNotes after.\n');
    writeFigures(f, 'newer\n');
    expect(readFileSync(f, 'utf8')).toBe('# Results\n\nHow to read them.\n\n<!-- bench:start -->\nnewer\n<!-- bench:end -->\n\nNotes after.\n');
  });

  it('adds the markers and the figures at the end of a file without them, or to a new file', () => {
    const f = file();
    writeFileSync(f, '# Results\n');
    writeFigures(f, 'figures\n');
    expect(readFileSync(f, 'utf8')).toBe('# Results\n\n<!-- bench:start -->\nfigures\n<!-- bench:end -->\n');
    const fresh = path.join(dir!, 'new.md');
    writeFigures(fresh, 'figures\n');
    expect(readFileSync(fresh, 'utf8')).toBe('<!-- bench:start -->\nfigures\n<!-- bench:end -->\n');
  });
});
