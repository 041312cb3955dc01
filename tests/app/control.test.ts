/**
 * Commands while `taizhang run` is up: through the real CLI and real mail servers, two projects
 * go through the same month, one with the service running (its commands go over the control
 * socket), one without; each command's stdout, stderr and exit code are the same, and each
 * recipient gets the same mail, once. The service's data folder has a long path, so its socket
 * lives under the temporary folder. A service killed leaves its socket: the next command runs as
 * without one.
 */
import { lstatSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { replyToRequest } from '../../tools/respondent.js';
import { useMailStack } from '../helpers/mail-stack.js';
import { makeProject, type CliResult, type Project } from '../helpers/project.js';
import { acceptedBy, isolate, spawnCli, until, type Child } from '../helpers/fleet.js';
import type { MailStack } from '../../tools/mail-stack.js';
import { SOCKET_RECORD } from '../../src/app/control.js';

const mail = useMailStack();
const children: Child[] = [];
afterAll(() => {
  for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
});

interface Setup { p: Project; tag: string }

function project(stack: MailStack, longDataDir: boolean): Setup {
  let tag = '';
  let dataDir = '';
  const p = makeProject(stack, (d) => {
    tag = isolate(d);
    // The service's own schedule stays out of the way: the month is driven by --now.
    d.schedule.cron = '0 0 1 1 *';
    d.mailbox.imap.idle = false;
    d.mailbox.imap.poll_seconds = 3600;
    if (longDataDir) d.data_dir = path.join(path.dirname(d.data_dir), 'a-data-folder-whose-path-is-longer-than-a-unix-socket-may-be'.repeat(2));
    dataDir = d.data_dir;
  });
  p.dataDir = dataDir;
  mkdirSync(path.dirname(p.dataDir), { recursive: true });
  return { p, tag };
}

/** A command's result with what differs between the two projects replaced, log lines by level and message. */
function normal(r: CliResult, s: Setup): CliResult {
  const clean = (t: string) => t.split(s.p.dataDir).join('DATA').split(s.p.dir).join('DIR').split(s.tag).join('TAG');
  const stderr = clean(r.stderr).split('\n').map((line) => {
    try {
      const o = JSON.parse(line) as { level: number; msg: string };
      return `log ${o.level}: ${o.msg}`;
    } catch { return line; }
  }).join('\n');
  return { code: r.code, stdout: clean(r.stdout), stderr };
}

async function reply(stack: MailStack, p: Project, email: string): Promise<void> {
  const request = (await p.inbox(email)).find((m) => /请填报/.test(m.subject ?? ''));
  if (!request) throw new Error(`no request for ${email}`);
  await replyToRequest({ smtp: { ...stack.smtp, password: stack.password }, from: email, original: request.raw, answer: (no) => ({ progress: `第${no}项按计划推进。` }) });
  await until(`the reply of ${email} in the collection mailbox`, async () =>
    (await stack.listMessages(p.mailbox)).some((m) => m.source.toString('latin1').includes(`From: ${email}`) || m.source.toString('latin1').includes(`<${email}>`)) || undefined, 20_000, 100);
}

describe('commands while the service runs', () => {
  it('give the same output and exit codes as without it, and do the work once', async () => {
    const stack = mail();
    const served = project(stack, true);
    const plain = project(stack, false);
    const start = stack.smtp.accepted.length;
    const daemon = spawnCli(served.p, stack, ['run']);
    children.push(daemon);
    try {
      await until('the service is up', () => /tick done/.test(daemon.stderr()) || undefined, 30_000, 100);
      const both = async (...args: string[]) => {
        const a = await served.p.cli(...args);
        const b = await plain.p.cli(...args);
        expect(normal(a, served), args.join(' ')).toEqual(normal(b, plain));
        return a;
      };

      const sent = await both('send', '--now', '2020-06-20T09:00');
      expect(sent.code, sent.stderr).toBe(0);
      expect(sent.stderr).toMatch(/requests 4; reminders 0; sent 4/);
      const status = await both('status', '--json', '--now', '2020-06-20T10:00');
      expect(JSON.parse(status.stdout).summary).toMatchObject({ reported: 0 });

      for (const s of [served, plain]) await reply(stack, s.p, s.p.people[0].email);
      const collected = await both('collect', '--now', '2020-06-22T09:00');
      expect(collected.stderr).toMatch(/collected 1 new/);
      const reminded = await both('remind', '--now', '2020-06-25T10:00');
      expect(reminded.stderr).toMatch(/reminders 3/);
      const preview = await both('consolidate', '--now', '2020-06-26T10:00');
      expect(preview.stdout).toMatch(/^ledger: .*\.xlsx\n$/);
      const ticked = await both('tick', '--now', '2020-07-01T09:00');
      expect(ticked.code, ticked.stderr).toBe(0);
      expect(ticked.stdout).toMatch(/^ledger: /);
      const text = await both('status', '--period', '2020-06', '--now', '2020-07-01T10:00');
      expect(text.stdout).toMatch(/已报送/);

      // Usage errors keep their exit code, found by the client (--period) or the service (--now).
      expect((await both('send', '--period', '2020-13')).code).toBe(2);
      const badNow = await both('tick', '--now', 'yesterday');
      expect(badNow.code).toBe(2);
      expect(badNow.stderr).toMatch(/--now must be an ISO-8601/);

      // The served commands went through the service (the lock is its own) and did their work once.
      expect(daemon.stderr().match(/command through the control socket/g)).toHaveLength(8);
      const counts = (s: Setup) => new Map([...acceptedBy(stack.smtp.accepted.slice(start))].filter(([to]) => to.includes(s.tag)).map(([to, n]) => [to.replace(s.tag, 'TAG'), n]));
      expect(counts(served)).toEqual(counts(plain));
      expect(acceptedBy(stack.smtp.accepted.slice(start), /请填报/).get(served.p.people[1].email)).toBe(1);

      // The socket: under the temporary folder (the data folder's path is too long), 0600, recorded.
      const socket = readFileSync(path.join(served.p.dataDir, SOCKET_RECORD), 'utf8').trim();
      expect(Buffer.byteLength(socket)).toBeLessThan(108);
      expect(socket.startsWith(path.join(served.p.dataDir))).toBe(false);
      expect(lstatSync(socket).isSocket()).toBe(true);
      expect((lstatSync(socket).mode & 0o777).toString(8)).toBe('600');
      expect((lstatSync(path.dirname(socket)).mode & 0o777).toString(8)).toBe('700');

      // A service killed leaves its socket behind: commands run as without a service.
      daemon.proc.kill('SIGKILL');
      await daemon.exited;
      expect(lstatSync(socket).isSocket()).toBe(true);
      const after = await served.p.cli('status', '--json', '--period', '2020-06', '--now', '2020-07-01T11:00');
      expect(after.code, after.stderr).toBe(0);
      expect(JSON.parse(after.stdout).ledgerVersion).toBe(1);
      const local = await served.p.tick('2020-07-01T11:00');
      expect(local.code, local.stderr).toBe(0);
      expect(local.stderr).not.toMatch(/another taizhang worker/);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- daemon stderr (tail) ---\n${daemon.stderr().slice(-4000)}`, { cause: err });
    }
  }, 240_000);
});
