import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseYaml as parse, stringifyYaml as stringify } from '../src/yaml.js';

const run = promisify(execFile);
const BIN = path.resolve('bin/taizhang');

/** A fresh installation's config (the example's roster), and where its profile would go. */
function installation(): { config: string; profile: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tz-profile-'));
  const doc = parse(readFileSync('config/taizhang.example.yaml', 'utf8'));
  doc.data_dir = path.join(dir, 'data');
  const config = path.join(dir, 'c.yaml');
  writeFileSync(config, stringify(doc));
  return { config, profile: path.join(dir, 'profile.json') };
}

describe('TAIZHANG_PROFILE', () => {
  it('writes the counters of a command: phases, CPU by thread, garbage collections, memory', async () => {
    const { config, profile } = installation();
    await run(BIN, ['--config', config, 'status', '--json', '--period', '2020-06'], { env: { ...process.env, TAIZHANG_MAIL_PASSWORD: 'x', TAIZHANG_PROFILE: profile } });
    const p = JSON.parse(readFileSync(profile, 'utf8'));
    expect(p.totalMs).toBeGreaterThan(0);
    expect(p.cpuUserMs + p.cpuSystemMs).toBeGreaterThan(0);
    expect(p.phases).toEqual(expect.any(Object));
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
    const env = { ...process.env, TAIZHANG_MAIL_PASSWORD: 'x' };
    delete env.TAIZHANG_PROFILE;
    await run(BIN, ['--config', config, 'status', '--period', '2020-06'], { env });
    expect(existsSync(profile)).toBe(false);
  });
});
