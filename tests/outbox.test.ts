/**
 * Exactly once under SIGKILL: `tick` runs as a child process sending requests to ~44 people and
 * is killed in the middle of sending; `tick` at the same instant then finishes the job. Every
 * person ends with exactly one request, counted at the SMTP server and in their INBOX.
 */
import { describe, expect, it } from 'vitest';
import { useMailStack } from './helpers/mail-stack.js';
import { makeProject } from './helpers/project.js';
import { acceptedBy, addPeople, isolate, sleep, spawnCli, until } from './helpers/fleet.js';

const mail = useMailStack();
const REQUEST = /请填报/;
const SEND_DAY = '2020-06-20T09:00:00+08:00';

describe('exactly once under kill', () => {
  it('SIGKILL while sending to 44 people, then tick again: one request each', async () => {
    const stack = mail();
    const p = makeProject(stack, (d) => { isolate(d); addPeople(d, 40); });
    expect(p.people).toHaveLength(44);
    const start = stack.smtp.accepted.length;
    const mine = () => stack.smtp.accepted.slice(start).filter((m) => p.people.some((x) => m.to.includes(x.email)));

    const child = spawnCli(p, stack, ['tick', '--now', SEND_DAY]);
    await until('the relay accepted 15 requests', () => mine().length >= 15 || undefined, 60_000, 2);
    child.proc.kill('SIGKILL');
    const exit = await child.exited;
    expect(exit.signal).toBe('SIGKILL');
    const atKill = mine().length;
    expect(atKill).toBeLessThan(44); // killed in the middle, not after the end
    await sleep(1000); // let the relay finish what it had in hand

    const r = await p.tick(SEND_DAY);
    expect(r.code, r.stderr).toBe(0);
    const counts = acceptedBy(mine(), REQUEST);
    const wrong = p.people.filter((x) => counts.get(x.email) !== 1).map((x) => `${x.email}: ${counts.get(x.email) ?? 0}`);
    expect(wrong).toEqual([]);
    for (const person of p.people) {
      const got = (await p.inbox(person.email)).filter((m) => REQUEST.test(m.subject ?? ''));
      expect(got.length, person.email).toBe(1);
    }
    const s = await p.status('2020-06');
    expect(s.people.filter((x: { delivery: string }) => x.delivery !== 'sent')).toEqual([]);
  });
});
