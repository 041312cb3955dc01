/**
 * Within the provider's quotas, through the real command line and the local mail stack: the SMTP
 * server starts answering with a quota error after some messages (163's `554 MI:STC`, Aliyun's
 * "too frequently sending"), or our own daily limit is reached. Sending pauses (until the next
 * local midnight, or for an hour) instead of failing mail; `status` says what waits and when it
 * goes; the next day everyone has exactly one request. Time is injected with `--now`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { useMailStack } from '../helpers/mail-stack.js';
import { makeProject, type Project } from '../helpers/project.js';
import { acceptedBy, addPeople, isolate } from '../helpers/fleet.js';
import type { MailStack } from '../../tools/mail-stack.js';

const mail = useMailStack();
const REQUEST = /请填报/;
const SEND_DAY = '2020-06-20T09:00:00+08:00';
/** Local midnight after the send day, Asia/Shanghai. */
const NEXT_MIDNIGHT = '2020-06-20T16:00:00.000Z';

afterEach(() => mail().smtp.setFault(null));

async function status(p: Project, now: string, json = true): Promise<any> {
  const r = await p.cli('status', '--now', now, ...(json ? ['--json'] : []));
  expect(r.code, r.stderr).toBe(0);
  return json ? JSON.parse(r.stdout) : r.stdout;
}

/** Answers this project's messages with `answer` at DATA once `after` of them went through. */
function quotaAfter(stack: MailStack, p: Project, after: number, answer: { code: number; message: string }): () => number {
  let taken = 0;
  stack.smtp.setFault((m) => {
    if (m.from !== p.mailbox || m.phase !== 'data') return;
    if (taken >= after) return answer;
    taken++;
  });
  return () => taken;
}

const requestsOf = (stack: MailStack, start: number) => acceptedBy(stack.smtp.accepted.slice(start), REQUEST);

describe('the provider\'s daily quota', () => {
  it('554 MI:STC after 10 messages: the rest wait for the next day, nothing fails, status says so', async () => {
    const stack = mail();
    const p = makeProject(stack, (d) => { isolate(d); addPeople(d, 20); });
    const start = stack.smtp.accepted.length;
    quotaAfter(stack, p, 10, { code: 554, message: '5.5.0 MI:STC Too many mails today' });

    const r = await p.tick(SEND_DAY);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`sending paused until ${NEXT_MIDNIGHT}`);
    expect(stack.smtp.accepted.length - start).toBe(10);
    const s = await status(p, '2020-06-20T12:00');
    expect(s).toMatchObject({ sendingPausedUntil: NEXT_MIDNIGHT, sendingPausedReason: 'daily', waiting: p.people.length - 10 });
    expect(s.people.filter((x: { delivery: string }) => x.delivery === 'failed')).toEqual([]);
    expect(s.people.filter((x: { delivery: string }) => x.delivery === 'queued')).toHaveLength(p.people.length - 10);
    expect(await status(p, '2020-06-20T12:00', false)).toContain(`邮件发送已暂停（邮箱服务商当日发信数量已达上限），${p.people.length - 10} 封待发邮件将于2020年6月21日0时起继续发送。`);

    // Later the same day, even with the server willing: not one more attempt.
    stack.smtp.setFault(null);
    const before = stack.smtp.accepted.length;
    const later = await p.tick('2020-06-20T18:00');
    expect(later.code, later.stderr).toBe(0);
    expect(stack.smtp.accepted.length).toBe(before);

    // The next day the rest go out: one request each, nothing paused, nothing waiting.
    const next = await p.tick('2020-06-21T00:05');
    expect(next.code, next.stderr).toBe(0);
    const counts = requestsOf(stack, start);
    expect(p.people.filter((x) => counts.get(x.email) !== 1).map((x) => x.email)).toEqual([]);
    expect(await status(p, '2020-06-21T00:10')).toMatchObject({ sendingPausedUntil: null, sendingPausedReason: null, waiting: 0 });
  });

  it('a rate-limit answer ("too frequently sending") pauses sending for an hour', async () => {
    const stack = mail();
    const p = makeProject(stack, (d) => { isolate(d); addPeople(d, 6); });
    const start = stack.smtp.accepted.length;
    quotaAfter(stack, p, 3, { code: 554, message: 'Reject by behaviour spamANTISPAM_BAT[01201311R196x, c01a1x]: too frequently sending' });
    const r = await p.tick(SEND_DAY);
    expect(r.code, r.stderr).toBe(0);
    expect(stack.smtp.accepted.length - start).toBe(3);
    expect(await status(p, '2020-06-20T09:30')).toMatchObject({ sendingPausedUntil: '2020-06-20T02:00:00.000Z', sendingPausedReason: 'throttle', waiting: p.people.length - 3 });
    stack.smtp.setFault(null);
    const soon = await p.tick('2020-06-20T09:30');
    expect(soon.code, soon.stderr).toBe(0);
    expect(stack.smtp.accepted.length - start).toBe(3);
    const after = await p.tick('2020-06-20T10:01');
    expect(after.code, after.stderr).toBe(0);
    const counts = requestsOf(stack, start);
    expect(p.people.filter((x) => counts.get(x.email) !== 1).map((x) => x.email)).toEqual([]);
  });

  it('daily_limit keeps a day inside the quota: 5 messages a day, the rest the next day', async () => {
    const stack = mail();
    const p = makeProject(stack, (d) => { isolate(d); addPeople(d, 6); d.mailbox.smtp.daily_limit = 5; });
    expect(p.people).toHaveLength(10);
    const start = stack.smtp.accepted.length;
    const r = await p.tick(SEND_DAY);
    expect(r.code, r.stderr).toBe(0);
    expect(stack.smtp.accepted.length - start).toBe(5);
    expect(await status(p, '2020-06-20T10:00')).toMatchObject({ sendingPausedUntil: NEXT_MIDNIGHT, sendingPausedReason: 'daily_limit', waiting: 5 });
    expect(await status(p, '2020-06-20T10:00', false)).toContain('已达本系统设定的每日发信上限');

    const next = await p.tick('2020-06-21T08:00');
    expect(next.code, next.stderr).toBe(0);
    expect(stack.smtp.accepted.length - start).toBe(10);
    const counts = requestsOf(stack, start);
    expect(p.people.filter((x) => counts.get(x.email) !== 1).map((x) => x.email)).toEqual([]);
    expect(await status(p, '2020-06-21T08:05')).toMatchObject({ sendingPausedUntil: null, waiting: 0 });
  });
});
