import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { BIN, exampleInstallation } from '../helpers/project.js';

const run = promisify(execFile);

async function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  try {
    const r = await run(BIN, args, { env: { ...process.env, ...env } });
    return { code: 0, ...r };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('command line', () => {
  it('--help on every command exits 0 and prints usage', async () => {
    for (const cmd of ['tick', 'run', 'status', 'send', 'remind', 'collect', 'consolidate', 'check']) {
      const r = await cli([cmd, '--help']);
      expect(r.code, cmd).toBe(0);
      expect(r.stdout).toContain(cmd);
    }
    const all = await cli(['--help']);
    expect(all.stdout).toContain('consolidate');
  });

  it('usage errors exit 2 with one line on stderr', async () => {
    const r = await cli(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect((await cli(['status', '--period', '2020-13'])).code).toBe(2);
    expect((await cli([])).code).toBe(2);
  });

  it('config errors exit 2, naming every problem with its path', async () => {
    const { dir, config: file } = exampleInstallation((doc) => {
      doc.people[2].email = 'nope';
      doc.schedule.send_day = 40;
    });
    const r = await cli(['--config', file, 'status'], { TAIZHANG_MAIL_PASSWORD: 'x' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('people[2].email: not an email address');
    expect(r.stderr).toContain('schedule.send_day: must be a whole number from 1 to 31');
    const missing = await cli(['--config', file, 'status'], { TAIZHANG_MAIL_PASSWORD: '' });
    expect(missing.code).toBe(2);
    const nofile = await cli(['--config', path.join(dir, 'none.yaml'), 'tick']);
    expect(nofile.code).toBe(2);
    expect(nofile.stderr).toContain('not found');
  });

  it('status --json of a fresh installation lists everyone as pending', async () => {
    const { config: file } = exampleInstallation();
    const r = await cli(['--config', file, 'status', '--json', '--period', '2020-06'], { TAIZHANG_MAIL_PASSWORD: 'x' });
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({ period: '2020-06', deadline: '2020-06-30' });
    expect(s.people).toHaveLength(4);
    expect(s.people.every((p: { status: string; name: string; email: string }) => p.status === 'pending' && p.name && p.email)).toBe(true);
  });
});
