/**
 * `taizhang run` as a child process against the real stack (real time, IDLE on Dovecot, a
 * 5-second poll): replies that came while it was down are answered at start, a new reply within
 * seconds, again after Dovecot restarts and after the connection stalls silently; a second service
 * on the same data folder is refused; SIGTERM stops it with exit 0 within seconds.
 *
 * The schedule is the seed's (2020): with real time nothing is due but the 2020-06 ledger, so the
 * daemon's own ticks do not get in the way. Requests are sent first by `tick --now`.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { replyToRequest } from '../../tools/respondent.js';
import { useMailStack } from '../helpers/mail-stack.js';
import { makeProject, type Project } from '../helpers/project.js';
import { isolate, spawnCli, startFreezableProxy, until, type Child, type FreezableProxy } from '../helpers/fleet.js';
import type { MailStack } from '../../tools/mail-stack.js';

const mail = useMailStack();
const REQUEST = /请填报/;
const ANSWER_WITHIN_MS = 20_000;

const children: Child[] = [];
let proxy: FreezableProxy | undefined;
afterAll(async () => {
  for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
  await proxy?.close();
});

/** A person replies to their request with every row filled; returns the reply's Message-ID. */
async function reply(stack: MailStack, p: Project, person: { email: string }): Promise<string> {
  const request = (await p.inbox(person.email)).find((m) => REQUEST.test(m.subject ?? ''));
  if (!request) throw new Error(`no request for ${person.email}`);
  return replyToRequest({
    smtp: { ...stack.smtp, password: stack.password }, from: person.email, original: request.raw,
    answer: (no) => ({ progress: `第${no}项按计划推进。` }),
  });
}

/** Waits until the person has the receipt for the reply with this Message-ID. */
async function answered(p: Project, person: { email: string }, replyId: string, ms = ANSWER_WITHIN_MS): Promise<void> {
  await until(`a receipt to ${person.email} for ${replyId}`, async () =>
    (await p.inbox(person.email)).some((m) => m.inReplyTo === replyId) || undefined, ms, 250);
}

describe('the daemon', () => {
  it('answers replies within seconds, before and after IMAP restarts and stalls; one worker per data folder; stops on SIGTERM', async () => {
    const stack = mail();
    proxy = await startFreezableProxy(stack.imap.port);
    const p = makeProject(stack, (d) => {
      isolate(d);
      d.mailbox.imap.port = proxy!.port;
      d.mailbox.imap.poll_seconds = 5;
      d.schedule.cron = '*/1 * * * *';
    });
    const sent = await p.tick('2020-06-20T09:00:00+08:00');
    expect(sent.code, sent.stderr).toBe(0);
    const [ai, wang, ma, li] = p.people;

    // A reply that arrives while no worker runs is answered when the daemon starts.
    const early = await reply(stack, p, ai);
    const daemon = spawnCli(p, stack, ['run']);
    children.push(daemon);
    try {
    await answered(p, ai, early);
    await until('the daemon watches the mailbox', () => /watching the collection mailbox/.test(daemon.stderr()) || undefined, ANSWER_WITHIN_MS);

    // While it runs: a second service on the same data folder is refused (commands go through it:
    // tests/app/control.test.ts).
    const second = spawnCli(p, stack, ['run']);
    children.push(second);
    expect((await second.exited).code).toBe(1);
    expect(second.stderr()).toMatch(new RegExp(`another taizhang worker \\(pid ${daemon.proc.pid}\\) is using .*only one may run at a time`));

    // A reply while it runs.
    await answered(p, wang, await reply(stack, p, wang));

    // Dovecot restarts: the watcher reconnects, and the next reply is answered.
    await stack.restartImap();
    await answered(p, ma, await reply(stack, p, ma));
    expect(daemon.stderr()).toMatch(/reconnecting to the collection mailbox/);

    // The connections stall (the server stops answering but never closes them): noticed and replaced.
    expect(proxy.freeze()).toBeGreaterThan(0);
    await answered(p, li, await reply(stack, p, li), 40_000);
    expect(daemon.stderr()).toMatch(/NOOP got no answer|stalled/);

    // SIGTERM: exit 0 within seconds, the lock released.
    daemon.proc.kill('SIGTERM');
    const exit = await Promise.race([daemon.exited, new Promise<null>((r) => setTimeout(() => r(null), 8000))]);
    expect(exit, `still running 8 s after SIGTERM:\n${daemon.stderr().slice(-2000)}`).toEqual({ code: 0, signal: null });
    expect(existsSync(path.join(p.dataDir, 'taizhang.lock'))).toBe(false);
    expect(daemon.stderr()).not.toMatch(/unit of work failed|unexpected failure/);
    const s = await p.status('2020-06');
    expect(s.summary.reported).toBe(4);
    } catch (err) {
      const inbox = await stack.listMessages(p.mailbox).catch((e) => String(e));
      const folders = await stack.listFolders(p.mailbox).catch((e) => String(e));
      throw new Error(`${(err as Error).message}\n--- mailbox INBOX: ${JSON.stringify(Array.isArray(inbox) ? inbox.map((m) => [m.uid, m.from, m.subject]) : inbox)}\n--- folders ${JSON.stringify(folders)}\n--- daemon stderr (tail) ---\n${daemon.stderr().slice(-6000)}`, { cause: err });
    }
  }, 180_000);
});
