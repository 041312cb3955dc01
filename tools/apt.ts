/**
 * Installs Debian packages the tests need (Dovecot, Chromium) when their files are missing.
 * Parallel test processes may all find a package missing: one apt-get at a time (flock), and
 * whoever gets the lock second finds it installed.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export async function ensureDebianPackages(what: string, packages: readonly string[], files: readonly string[],
  log: (s: string) => void = () => {}): Promise<void> {
  const missing = files.filter((f) => !existsSync(f));
  if (!missing.length) return;
  const install = `apt-get update && apt-get install -y ${packages.join(' ')}`;
  if (process.getuid?.() !== 0) {
    throw new Error(`${what}: not installed (missing ${missing.join(', ')}) and this process is not root; run as root: ${install}`);
  }
  const check = files.map((f) => `test -e ${f}`).join(' && ');
  const script = `${check} && exit 0; apt-get -qq -o DPkg::Lock::Timeout=300 update && ` +
    `apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends ${packages.join(' ')}`;
  log(`${what}: installing (missing ${missing.join(', ')}): ${install}`);
  try {
    await run('flock', [path.join(os.tmpdir(), 'taizhang-apt.lock'), 'sh', '-c', script], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, maxBuffer: 64 * 1024 * 1024,
    });
  } catch (e) {
    const err = e as Error & { stderr?: string };
    throw new Error(`${what}: installing ${packages.join(' ')} failed: ${err.stderr || err.message}`, { cause: e });
  }
  const still = files.filter((f) => !existsSync(f));
  if (still.length) throw new Error(`${what}: still missing after apt-get install: ${still.join(', ')}`);
  log(`${what}: installed`);
}
