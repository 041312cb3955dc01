import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
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

  it('each command\'s --help explains the options it reads, in English and Chinese', async () => {
    const status = await cli(['status', '-h']);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/--period YYYY-MM +the month \(月份\), default: /);
    expect(status.stdout).toMatch(/--json +print JSON .*\(输出 JSON\)/);
    expect(status.stdout).toMatch(/--now ISO-8601 +act as if it were this instant \(按此时刻执行\)/);
    expect(status.stdout).toMatch(/--config FILE +the configuration file \(配置文件\), default: config\/taizhang.yaml/);
    const check = await cli(['check', '--help']);
    expect(check.stdout).not.toContain('--period');
    expect(check.stdout).toContain('检查配置');
  });

  it('usage errors exit 2 with one line on stderr', async () => {
    const cases: [string[], string][] = [
      [['frobnicate'], 'taizhang: unknown command "frobnicate" (try --help)'],
      [['status', '--period', '2020-13'], 'taizhang: --period must be YYYY-MM, got "2020-13"'],
      [['status', '--period=2020-13'], 'taizhang: --period must be YYYY-MM, got "2020-13"'],
      [['status', '--frob'], 'taizhang: unknown option --frob'],
      [['status', '--period'], 'taizhang: --period needs a value'],
      [['--config=', 'status'], 'taizhang: --config needs a value'],
      [['status', 'extra'], 'taizhang: unexpected argument extra'],
    ];
    for (const [args, line] of cases) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toEqual([line]);
    }
    const none = await cli([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('Usage: taizhang');
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
    const nofile = await cli(['--config', path.join(dir, 'none.yaml'), 'tick']);
    expect(nofile.code).toBe(2);
    expect(nofile.stderr).toContain('not found');
  });

  it('an unknown key is a config error naming the key meant, beside the other problems', async () => {
    const { config: file } = exampleInstallation((doc) => {
      doc.schedule.sendday = 20;
      doc.people[0].mail = 'x@example.com';
      doc.timezone = 'Mars/Base';
    });
    const r = await cli(['--config', file, 'status'], { TAIZHANG_MAIL_PASSWORD: 'x' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('schedule.sendday: unknown key; did you mean send_day?');
    expect(r.stderr).toContain('people[0].mail: unknown key; did you mean email?');
    expect(r.stderr).toContain('timezone: unknown time zone "Mars/Base"');
  });

  it('a YAML syntax error tells where, not the secret on that line', async () => {
    const { config: file } = exampleInstallation();
    writeFileSync(file, `secret: hunter2-secret\n  bad: indentation\n${readFileSync(file, 'utf8')}`);
    const r = await cli(['--config', file, 'status']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not valid YAML: bad indentation of a mapping entry at line 2, column 6/);
    expect(r.stderr).not.toContain('hunter2');
  });

  it('status works without the mail password; commands that mail still need it', async () => {
    const { config: file } = exampleInstallation();
    const unset = { TAIZHANG_MAIL_PASSWORD: undefined };
    const status = await cli(['--config', file, 'status', '--period=2020-06'], unset);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain('2020年6月 报送情况');
    const json = await cli(['--config', file, 'status', '--json'], unset);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout).people).toHaveLength(4);
    for (const command of ['tick', 'send', 'check']) {
      const r = await cli(['--config', file, command], unset);
      expect(r.code, command).toBe(2);
      expect(r.stderr).toContain('mailbox.imap.password: environment variable TAIZHANG_MAIL_PASSWORD is not set');
      expect(r.stderr).toContain('mailbox.smtp.password: environment variable TAIZHANG_MAIL_PASSWORD is not set');
    }
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
