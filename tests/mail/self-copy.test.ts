/**
 * Exactly once without the provider's help: the relay here keeps no copy in Sent (as many
 * providers do for SMTP submissions). Every mail also goes to the collection mailbox itself (an
 * envelope recipient only); after a SIGKILL in the middle of sending, that copy tells the next
 * run which mails the server took. The copies are filed into Sent, never read as replies, and
 * the office's inbox stays clean.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { useMailStack } from '../helpers/mail-stack.js';
import { makeProject, type Project } from '../helpers/project.js';
import { acceptedBy, addPeople, expectOneRequestEach, isolate, readDb as db, requestStates, resetRelay, spawnCli, until } from '../helpers/fleet.js';
import { FOLDERS } from '../helpers/replies.js';
import type { MailStack } from '../../tools/mail-stack.js';
import { selfCopyId } from '../../src/mail/self-copy.js';

const mail = useMailStack();
const REQUEST = /请填报/;
const SEND_DAY = '2020-06-20T09:00:00+08:00';

afterEach(() => resetRelay(mail()));

const heldId = (raw: Buffer) => /^Message-ID:\s*(<[^>]+>)/im.exec(raw.toString('latin1'))?.[1];

/** Each person has exactly one request, and the collection mailbox is tidy. */
async function expectOneRequestEachAndTidy(stack: MailStack, p: Project, start: number): Promise<void> {
  await expectOneRequestEach(stack, p, start, REQUEST);
  // The own copies: out of the INBOX, in Sent once each, none taken for a reply.
  expect(await stack.listMessages(p.mailbox, 'INBOX')).toEqual([]);
  const sent = (await stack.listMessages(p.mailbox, 'Sent')).filter((m) => REQUEST.test(m.subject ?? ''));
  expect(sent).toHaveLength(p.people.length);
  expect(new Set(sent.map((m) => m.messageId)).size).toBe(p.people.length);
  expect(db(p, (d) => d.prepare('SELECT COUNT(*) AS n FROM messages').get())).toEqual({ n: 0 });
}

describe('exactly once where the provider keeps no Sent copy', () => {
  it('SIGKILL while sending to 44 people, then tick again: one request each, the copies filed into Sent', async () => {
    const stack = mail();
    const p = makeProject(stack, (d) => { isolate(d); addPeople(d, 40); });
    const start = stack.smtp.accepted.length;
    const mine = () => stack.smtp.accepted.length - start;
    // Every request goes to its person and, in the envelope only, to the collection mailbox.
    const child = spawnCli(p, stack, ['tick', '--now', SEND_DAY]);
    await until('the relay accepted 15 requests', () => mine() >= 15 || undefined, 60_000, 2);
    child.proc.kill('SIGKILL');
    expect((await child.exited).signal).toBe('SIGKILL');
    expect(mine()).toBeLessThan(44);
    await until('the relay is idle', () => stack.smtp.inFlight === 0 || undefined);
    expect(stack.smtp.accepted.slice(start).every((m) => m.to.includes(p.mailbox) && m.to.length === 2)).toBe(true);
    expect(stack.smtp.accepted.slice(start).every((m) => !/^bcc:/im.test(m.raw.toString('latin1')))).toBe(true);

    const r = await p.tick(SEND_DAY);
    expect(r.code, r.stderr).toBe(0);
    await expectOneRequestEachAndTidy(stack, p, start);
  });

  it('SIGKILL after the server delivered a message but before it answered: its own copy says so, not sent again', async () => {
    const stack = mail();
    const p = makeProject(stack, (d) => { isolate(d); addPeople(d, 6); d.mailbox.smtp.max_connections = 1; });
    const start = stack.smtp.accepted.length;
    let held: string | undefined;
    let n = 0;
    stack.smtp.setHold((m) => {
      if (!p.people.some((x) => m.to.includes(x.email))) return;
      if (++n === 3) { held = heldId(m.raw); return 60_000; }
    });
    const child = spawnCli(p, stack, ['tick', '--now', SEND_DAY]);
    await until('the 3rd request is delivered and its answer held', () => (held && stack.smtp.accepted.length - start >= 3) || undefined, 60_000, 5);
    child.proc.kill('SIGKILL');
    await child.exited;
    expect(requestStates(p).sending).toBeGreaterThanOrEqual(1);
    stack.smtp.setHold(null);
    // No Sent copy anywhere: only the mailbox's own copy, in its INBOX.
    expect(await stack.listMessages(p.mailbox, 'Sent').catch(() => [])).toEqual([]);
    expect((await stack.listMessages(p.mailbox, 'INBOX')).map((m) => m.messageId)).toContain(held);

    const r = spawnCli(p, stack, ['tick', '--now', SEND_DAY]);
    expect((await r.exited).code, r.stderr()).toBe(0);
    const settled = r.stderr().split('\n').filter((l) => l.includes('settled an interrupted send')).map((l) => JSON.parse(l));
    expect(settled.find((l) => l.messageId === held)).toMatchObject({ found: true });
    await expectOneRequestEachAndTidy(stack, p, start);
  });

  it('without self_copy the same kill sends the held request twice: the window the copy closes', async () => {
    const stack = mail();
    const p = makeProject(stack, (d) => { isolate(d); addPeople(d, 2); d.mailbox.smtp.max_connections = 1; d.mailbox.self_copy = false; });
    const start = stack.smtp.accepted.length;
    let heldTo: string | undefined;
    stack.smtp.setHold((m) => {
      const to = p.people.find((x) => m.to.includes(x.email));
      if (!to || heldTo) return;
      heldTo = to.email;
      return 60_000;
    });
    const child = spawnCli(p, stack, ['tick', '--now', SEND_DAY]);
    await until('the first request is delivered and its answer held', () => heldTo, 60_000, 5);
    child.proc.kill('SIGKILL');
    await child.exited;
    stack.smtp.setHold(null);
    expect(stack.smtp.accepted.slice(start).every((m) => !m.to.includes(p.mailbox))).toBe(true);
    const r = await p.tick(SEND_DAY);
    expect(r.code, r.stderr).toBe(0);
    expect(acceptedBy(stack.smtp.accepted.slice(start), REQUEST).get(heldTo!)).toBe(2);
  });

  it('a recipient refused for a moment: the copy that went in alone is counted as stray, filed apart, and Sent shows the mail once', async () => {
    const stack = mail();
    const p = makeProject(stack, (d) => { isolate(d); });
    const wang = p.people[1].email;
    let refused = 0;
    stack.smtp.setFault((m) => (m.phase === 'rcpt' && m.to.includes(wang) && refused++ < 1 ? { code: 451, message: '4.7.1 RP:DRC try later', phase: 'rcpt' } : undefined));
    const start = stack.smtp.accepted.length;
    const r = await p.tick(SEND_DAY);
    expect(r.code, r.stderr).toBe(0);
    const mid = db(p, (d) => (d.prepare('SELECT message_id AS mid, stray_copies AS n, state FROM outbox WHERE person = ?').get(p.people[1].name) as { mid: string; n: number; state: string }));
    expect(mid).toMatchObject({ n: 1, state: 'sent' });
    // Two transactions: the copy alone, then the mail with its copy.
    expect(stack.smtp.accepted.slice(start).filter((m) => m.messageId === mid.mid).map((m) => m.to)).toEqual([[p.mailbox], [wang, p.mailbox]]);
    expect((await p.inbox(wang)).filter((m) => REQUEST.test(m.subject ?? ''))).toHaveLength(1);
    expect(await stack.listMessages(p.mailbox, 'INBOX')).toEqual([]);
    expect((await stack.listMessages(p.mailbox, 'Sent')).filter((m) => m.messageId === mid.mid)).toHaveLength(1);
    expect((await stack.listMessages(p.mailbox, FOLDERS.machine)).filter((m) => m.messageId === mid.mid)).toHaveLength(1);
  });

  it('a copy that arrives after the tick is filed by the next collection, never answered', async () => {
    const stack = mail();
    const p = makeProject(stack, (d) => { isolate(d); });
    const r = await p.tick(SEND_DAY);
    expect(r.code, r.stderr).toBe(0);
    expect(await stack.listMessages(p.mailbox, 'INBOX')).toEqual([]);
    // A copy delivered late (a slow provider), and a forged mail From our address with a Message-ID of its own.
    const [request] = (await stack.listMessages(p.mailbox, 'Sent')).filter((m) => REQUEST.test(m.subject ?? ''));
    const isOurs = (mid: string) => db(p, (d) => !!d.prepare('SELECT 1 FROM outbox WHERE message_id = ?').get(mid));
    expect(selfCopyId(request.source, p.mailbox, isOurs)).toBe(request.messageId);
    await stack.deliver(request.source, [p.mailbox], p.mailbox);
    const forged = `From: ${p.mailbox}\r\nTo: ${p.mailbox}\r\nSubject: test\r\nMessage-ID: <forged-${process.pid}@example.test>\r\n\r\nhello\r\n`;
    expect(selfCopyId(Buffer.from(forged), p.mailbox, isOurs)).toBeNull();
    await stack.deliver(forged, [p.mailbox], p.mailbox);

    const c = await p.cli('collect', '--now', '2020-06-20T10:00:00+08:00');
    expect(c.code, c.stderr).toBe(0);
    expect(c.stderr).toMatch(/collected 1 new \(machine 1\)/); // the forged one only; the copy is no reply
    expect(await stack.listMessages(p.mailbox, 'INBOX')).toEqual([]);
    // Sent had that request already: the late copy goes to the machine folder, with the forged mail.
    const machine = await stack.listMessages(p.mailbox, FOLDERS.machine);
    expect(machine.map((m) => m.messageId).sort()).toEqual([request.messageId, `<forged-${process.pid}@example.test>`].sort());
    expect((await stack.listMessages(p.mailbox, 'Sent')).filter((m) => m.messageId === request.messageId)).toHaveLength(1);
    expect(db(p, (d) => d.prepare("SELECT COUNT(*) AS n FROM outbox WHERE kind = 'receipt'").get())).toEqual({ n: 0 });
  });
});
