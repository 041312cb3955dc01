/** `taizhang passwd` through the real command line, and the config's web: key. */
import { describe, expect, it } from 'vitest';
import { verifyPassword } from '../../src/web/password.js';
import { exampleInstallation, BIN } from '../helpers/project.js';
import { passwdCli } from './helpers.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

describe('taizhang passwd', () => {
  it('prints one self-describing scrypt hash of the first line of standard input, which verifies that password only', async () => {
    const r = await passwdCli('办公室-Clerk-2020\nignored second line\n');
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(await verifyPassword('办公室-Clerk-2020', lines[0])).toBe(true);
    expect(await verifyPassword('办公室-Clerk-2021', lines[0])).toBe(false);
    const again = await passwdCli('办公室-Clerk-2020\n');
    expect(again.stdout.trim()).not.toBe(lines[0]); // salted
  });

  it('refuses a short password with exit code 2', async () => {
    const r = await passwdCli('short\n');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/at least 8 characters/);
    expect(r.stdout).toBe('');
  });
});

describe('the web: key', () => {
  const check = async (web: unknown) => {
    const { config } = exampleInstallation((d) => { d.web = web; });
    try {
      await run(BIN, ['--config', config, 'status']);
      return { code: 0, stderr: '' };
    } catch (err) {
      const e = err as { code: number; stderr: string };
      return { code: e.code, stderr: e.stderr };
    }
  };

  it('is checked strictly, naming the path and never repeating a hash', async () => {
    const hash = (await passwdCli('a-good-password\n')).stdout.trim();
    expect((await check({ users: [{ name: 'clerk', password_hash: hash }] })).code).toBe(0);
    const bad = await check({ listen: 'nowhere', users: [{ name: 'clerk', password_hash: 'plain-text-secret' }], sesion_minutes: 5 });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/web\.listen: must be HOST:PORT/);
    expect(bad.stderr).toMatch(/web\.users\[0\]\.password_hash: must be a hash printed by `taizhang passwd`/);
    expect(bad.stderr).toMatch(/did you mean session_minutes/);
    expect(bad.stderr).not.toContain('plain-text-secret');
    expect((await check({ users: [] })).stderr).toMatch(/web\.users: needs at least one user/);
  });
});
