/**
 * Exactly once under SIGKILL: `tick` runs as a child process sending requests to 44 people and is
 * killed in the middle of sending; `tick` at the same instant then finishes the job. Every person
 * ends with exactly one request, counted at the SMTP server and in their INBOX.
 *
 * The relay here files every accepted submission in the sender's Sent folder before it answers
 * (as Gmail, Exchange and QQ Mail with its setting on do): that copy is what lets the second tick
 * tell a message the server took before the kill from one it never got. A message delivered but
 * not yet answered when the worker died (the server's answer to DATA held back) is the hard case.
 */
import { writeFileSync } from 'node:fs';
import { stringifyYaml as stringify } from '../../src/app/yaml.js';
import { afterEach, describe, expect, it } from 'vitest';
import { useMailStack } from '../helpers/mail-stack.js';
import { makeProject } from '../helpers/project.js';
import { addPeople, expectOneRequestEach, isolate, requestStates, resetRelay, spawnCli, until } from '../helpers/fleet.js';
import { connectImap, folderHasMessageId } from '../../src/mail/imap.js';
import { silentLogger } from '../../src/logger.js';

const mail = useMailStack();
const REQUEST = /请填报/;
const SEND_DAY = '2020-06-20T09:00:00+08:00';

afterEach(() => resetRelay(mail()));

describe('exactly once under kill', () => {
  it('SIGKILL while sending to 44 people, then tick again at the same instant: one request each', async () => {
    const stack = mail();
    stack.smtp.setSaveSent('Sent');
    const p = makeProject(stack, (d) => { isolate(d); addPeople(d, 40); });
    expect(p.people).toHaveLength(44);
    const start = stack.smtp.accepted.length;
    const mine = () => stack.smtp.accepted.length - start;

    const child = spawnCli(p, stack, ['tick', '--now', SEND_DAY]);
    await until('the relay accepted 15 requests', () => mine() >= 15 || undefined, 60_000, 2);
    child.proc.kill('SIGKILL');
    expect((await child.exited).signal).toBe('SIGKILL');
    expect(mine()).toBeLessThan(44); // killed in the middle, not after the end
    await until('the relay is idle', () => stack.smtp.inFlight === 0 || undefined);
    const before = requestStates(p);
    expect(before.sent ?? 0).toBeLessThan(44);

    const r = await p.tick(SEND_DAY);
    expect(r.code, r.stderr).toBe(0);
    await expectOneRequestEach(stack, p, start);
    // The mailbox's Sent folder has each request once: the server's copy, no second one of ours.
    const sent = await stack.listMessages(p.mailbox, 'Sent');
    expect(sent.filter((m) => REQUEST.test(m.subject ?? ''))).toHaveLength(44);
  });

  it('SIGKILL after the server delivered a message but before it answered: not sent again', async () => {
    const stack = mail();
    stack.smtp.setSaveSent('Sent');
    const p = makeProject(stack, (d) => {
      isolate(d);
      addPeople(d, 6);
      d.mailbox.smtp.max_connections = 1; // one lane at a time: the held message is the only one in flight
    });
    const start = stack.smtp.accepted.length;
    let held: string | undefined;
    // The 3rd request is delivered and filed, then the relay sits on its answer.
    let n = 0;
    stack.smtp.setHold((m) => {
      if (!p.people.some((x) => m.to.includes(x.email))) return;
      if (++n === 3) { held = /^Message-ID:\s*(<[^>]+>)/im.exec(m.raw.toString('latin1'))?.[1]; return 60_000; }
    });
    const child = spawnCli(p, stack, ['tick', '--now', SEND_DAY]);
    await until('the 3rd request is delivered and its answer held', () => (held && stack.smtp.accepted.length - start >= 3) || undefined, 60_000, 5);
    child.proc.kill('SIGKILL');
    expect((await child.exited).signal).toBe('SIGKILL');
    // The worker died with the held request recorded as being sent.
    expect(requestStates(p).sending).toBeGreaterThanOrEqual(1);
    stack.smtp.setHold(null);

    const r = await spawnCli(p, stack, ['tick', '--now', SEND_DAY]);
    const exit = await r.exited;
    expect(exit.code, r.stderr()).toBe(0);
    // The second tick found the held request in Sent and did not send it again.
    const settled = r.stderr().split('\n').filter((l) => l.includes('settled an interrupted send')).map((l) => JSON.parse(l));
    expect(settled.find((l) => l.messageId === held)).toMatchObject({ found: true });
    await expectOneRequestEach(stack, p, start);
  });

  it('an interrupted send waits while the Sent folder cannot be read, and is settled once it can', async () => {
    const stack = mail();
    stack.smtp.setSaveSent('Sent');
    const p = makeProject(stack, (d) => { isolate(d); d.mailbox.smtp.max_connections = 1; });
    const start = stack.smtp.accepted.length;
    let held: string | undefined;
    stack.smtp.setHold((m) => {
      if (held || !p.people.some((x) => m.to.includes(x.email))) return;
      held = /^Message-ID:\s*(<[^>]+>)/im.exec(m.raw.toString('latin1'))?.[1];
      return 60_000;
    });
    const child = spawnCli(p, stack, ['tick', '--now', SEND_DAY]);
    await until('the first request is delivered and its answer held', () => held || undefined, 60_000, 5);
    child.proc.kill('SIGKILL');
    await child.exited;
    stack.smtp.setHold(null);
    // The held request, and at most the one waiting behind it for the connection.
    const undecided = requestStates(p).sending;
    expect(undecided).toBeGreaterThanOrEqual(1);

    // IMAP unreachable (a port nobody listens on): the others go out, the undecided one waits.
    const good = structuredClone(p.config);
    const bad = structuredClone(p.config);
    bad.mailbox.imap.port = 1;
    writeFileSync(p.configFile, stringify(bad));
    const blind = await p.tick(SEND_DAY);
    expect(blind.code).toBe(1); // the mailbox could not be read
    expect(blind.stderr).toMatch(new RegExp(`sent ${4 - undecided}\\b`));
    expect(requestStates(p)).toEqual({ sending: undecided, sent: 4 - undecided });

    writeFileSync(p.configFile, stringify(good));
    const r = await p.tick(SEND_DAY);
    expect(r.code, r.stderr).toBe(0);
    // The held one is found in Sent; only one that never reached the server goes out now.
    expect(r.stderr).toMatch(new RegExp(`sent ${undecided - 1}\\b`));
    await expectOneRequestEach(stack, p, start);
  });

  it('save_sent keeps one copy of each mail in Sent, also when the provider files one itself', async () => {
    const stack = mail();
    for (const providerFiles of [false, true]) {
      stack.smtp.setSaveSent(providerFiles ? 'Sent' : null);
      const p = makeProject(stack, (d) => { isolate(d); d.mailbox.save_sent = true; });
      const r = await p.tick(SEND_DAY);
      expect(r.code, r.stderr).toBe(0);
      const sent = await stack.listMessages(p.mailbox, 'Sent');
      const ids = sent.map((m) => m.messageId);
      expect(ids, `provider files: ${providerFiles}`).toHaveLength(p.people.length);
      expect(new Set(ids).size).toBe(p.people.length);
    }
  });

  it('the Sent lookup: found, not found, a folder that does not exist (not found), a server that is gone (cannot tell)', async () => {
    const stack = mail();
    const user = `lookup-${process.pid}@example.test`;
    const mid = `<lookup-${process.pid}@example.test>`;
    const cfg = { host: stack.imap.host, port: stack.imap.port, secure: false, tlsVerify: true, user, password: stack.password, idle: true, pollSeconds: 60 };
    const client = await connectImap(cfg, silentLogger);
    try {
      expect(await folderHasMessageId(client, 'Sent', mid)).toBe(false);
      await client.append('Sent', `Message-ID: ${mid}\r\nSubject: x\r\n\r\nbody\r\n`);
      expect(await folderHasMessageId(client, 'Sent', mid)).toBe(true);
      expect(await folderHasMessageId(client, '已发送-不存在', mid)).toBe(false);
      client.close();
      await expect(folderHasMessageId(client, 'Sent', mid)).rejects.toThrow();
    } finally {
      client.close();
    }
  });
});
