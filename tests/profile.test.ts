import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { BIN, exampleInstallation } from './helpers/project.js';

const run = promisify(execFile);

/** A fresh installation of the example, and where its profile would go. */
function installation(): { config: string; profile: string } {
  const { dir, config } = exampleInstallation();
  return { config, profile: path.join(dir, 'profile.json') };
}

describe('TAIZHANG_PROFILE', () => {
  it('writes the counters of a command: phases, CPU by thread, garbage collections, memory', async () => {
    const { config, profile } = installation();
    await run(BIN, ['--config', config, 'status', '--json', '--period', '2020-06'], { env: { ...process.env, TAIZHANG_MAIL_PASSWORD: 'x', TAIZHANG_PROFILE: profile } });
    const p = JSON.parse(readFileSync(profile, 'utf8'));
    expect(p.totalMs).toBeGreaterThan(0);
    expect(p.cpuUserMs + p.cpuSystemMs).toBeGreaterThan(0);
    expect(p.phases.db.count).toBeGreaterThan(0); // status reads the store
    for (const ph of Object.values(p.phases) as Array<Record<string, number>>) {
      expect(ph.firstMs).toBeGreaterThanOrEqual(0);
      expect(ph.lastMs).toBeGreaterThanOrEqual(ph.firstMs);
      expect(ph.lastMs).toBeLessThanOrEqual(p.totalMs);
      expect(ph.wallMs).toBeLessThanOrEqual(ph.lastMs - ph.firstMs + 1);
    }
    expect(p.peak.heapUsedMb).toBeGreaterThan(0); // sampled at least once, at the end
    expect(p.memoryTimeline.length).toBeGreaterThanOrEqual(1);
    const [ms, rss, heapTotal, heapUsed] = p.memoryTimeline.at(-1);
    expect(ms).toBeGreaterThan(0);
    expect(rss).toBeGreaterThan(heapTotal);
    expect(heapTotal).toBeGreaterThanOrEqual(heapUsed);
    for (const kind of ['young', 'full']) expect(p.gc[kind]).toEqual({ count: expect.any(Number), ms: expect.any(Number) });
    if (process.platform === 'linux') {
      expect(p.threadsCpuMs.main).toBeGreaterThan(0);
      expect(p.threadsCpuMs.parseWorkers).toBe(0); // status reads no mail
      expect(Array.isArray(p.threadsCpuMs.otherLive)).toBe(true);
    }
  });

  it('writes nothing when unset', async () => {
    const { config, profile } = installation();
    const env: NodeJS.ProcessEnv = { ...process.env, TAIZHANG_MAIL_PASSWORD: 'x' };
    delete env.TAIZHANG_PROFILE;
    await run(BIN, ['--config', config, 'status', '--period', '2020-06'], { env });
    expect(existsSync(profile)).toBe(false);
  });
});
