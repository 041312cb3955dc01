/**
 * Transient and permanent SMTP failures against the real stack (Dovecot + the fault-injecting
 * relay), driven through the real command line: 451 is retried within the tick and at a later
 * tick and delivered once; 421 (connection dropped) likewise; 550 is final and shows as
 * "failed" in `status --json` and as 发送失败 in the office ledger's 填报情况.
 */
import Database from 'better-sqlite3';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { classifySmtpError } from '../../src/mail/smtp.js';
import { useMailStack } from '../helpers/mail-stack.js';
import { makeProject } from '../helpers/project.js';
import { acceptedBy, acceptedTo, isolate, ledgerStatus } from '../helpers/fleet.js';

const mail = useMailStack();
const REQUEST = /请填报/;
const SEND_DAY = '2020-06-20T09:00:00+08:00';

describe('SMTP faults', () => {
  it('451 for one recipient: retried within the tick, delivered once', async () => {
    const stack = mail();
    const p = makeProject(stack, (d) => isolate(d));
    const [ai] = p.people;
    let refused = 0;
    stack.smtp.setFault((m) => {
      if (m.to.includes(ai.email) && refused < 1) { refused++; return { code: 451, message: '4.3.0 MI:SFQ try again later', phase: 'rcpt' }; }
    });
    try {
      const r = await p.tick(SEND_DAY);
      expect(r.code, r.stderr).toBe(0);
    } finally {
      stack.smtp.setFault(null);
    }
    expect(refused).toBe(1);
    const counts = acceptedBy(stack.smtp.accepted, REQUEST);
    for (const person of p.people) expect(counts.get(person.email), person.email).toBe(1);
    expect((await p.inbox(ai.email)).filter((m) => REQUEST.test(m.subject ?? ''))).toHaveLength(1);
    const s = await p.status('2020-06');
    expect(s.people.map((x: { delivery: string }) => x.delivery)).toEqual(p.people.map(() => 'sent'));
  });

  it('451 that outlasts the tick: queued, not resent at the same instant, delivered once at a later tick', async () => {
    const stack = mail();
    const p = makeProject(stack, (d) => isolate(d));
    const [, wang] = p.people;
    let refused = 0;
    let open = false;
    stack.smtp.setFault((m) => {
      if (m.to.includes(wang.email) && !open) { refused++; return { code: 451, message: '4.7.1 RP:DRC too many recipients, try later', phase: 'rcpt' }; }
    });
    try {
      const first = await p.tick(SEND_DAY);
      expect(first.code, first.stderr).toBe(0);
      expect(first.stderr).toMatch(/retrying 1/);
      // retry_delays_ms has one step: two attempts within the tick.
      expect(refused).toBe(2);
      expect(acceptedTo(stack.smtp.accepted, wang.email)).toHaveLength(0);
      let s = await p.status('2020-06');
      expect(s.people.find((x: { email: string }) => x.email === wang.email).delivery).toBe('queued');
      expect(s.people.filter((x: { delivery: string }) => x.delivery === 'sent')).toHaveLength(p.people.length - 1);

      // Same instant again: the backoff has not passed, so nothing is tried.
      const again = await p.tick(SEND_DAY);
      expect(again.code, again.stderr).toBe(0);
      expect(refused).toBe(2);

      // Ten minutes later the server takes it.
      open = true;
      const later = await p.tick('2020-06-20T09:10:00+08:00');
      expect(later.code, later.stderr).toBe(0);
      s = await p.status('2020-06');
      expect(s.people.map((x: { delivery: string }) => x.delivery)).toEqual(p.people.map(() => 'sent'));
    } finally {
      stack.smtp.setFault(null);
    }
    const counts = acceptedBy(stack.smtp.accepted, REQUEST);
    for (const person of p.people) expect(counts.get(person.email), person.email).toBe(1);
    expect((await p.inbox(wang.email)).filter((m) => REQUEST.test(m.subject ?? ''))).toHaveLength(1);
  });

  it('a mail queued by an earlier version (its bytes in a file, not in the database) is still sent, byte for byte', async () => {
    const stack = mail();
    const p = makeProject(stack, (d) => isolate(d));
    const [, wang] = p.people;
    stack.smtp.setFault((m) => (m.to.includes(wang.email) ? { code: 451, message: '4.7.1 try later', phase: 'rcpt' } : undefined));
    try {
      expect((await p.tick(SEND_DAY)).code).toBe(0);
    } finally {
      stack.smtp.setFault(null);
    }
    // Turn the queued row into what earlier versions left: the raw message in data_dir/outbox/,
    // named by an eml_path column of a schema version 1 database (the next start migrates it).
    const db = new Database(path.join(p.dataDir, 'taizhang.sqlite'));
    const row = db.prepare("SELECT o.id, o.message_id AS mid, r.raw FROM outbox o JOIN outbox_raw r ON r.id = o.id WHERE o.state = 'queued'").get() as { id: number; mid: string; raw: Buffer };
    const file = path.join(p.dataDir, 'outbox', 'legacy.eml');
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, row.raw);
    db.exec("ALTER TABLE outbox ADD COLUMN eml_path TEXT NOT NULL DEFAULT ''");
    db.prepare('UPDATE outbox SET eml_path = ? WHERE id = ?').run(file, row.id);
    db.prepare('DELETE FROM outbox_raw WHERE id = ?').run(row.id);
    db.pragma('user_version = 1');
    db.close();

    const later = await p.tick('2020-06-20T09:10:00+08:00');
    expect(later.code, later.stderr).toBe(0);
    // (The refused attempts still put the mailbox's own copy through: stray copies, never a delivery.)
    const sent = stack.smtp.accepted.filter((m) => m.messageId === row.mid && m.to.includes(wang.email));
    expect(sent).toHaveLength(1);
    expect(sent[0].to).toEqual([wang.email, p.mailbox]);
    expect(sent[0].raw.toString('latin1')).toContain(row.raw.toString('latin1').trimEnd());
    const s = await p.status('2020-06');
    expect(s.people.map((x: { delivery: string }) => x.delivery)).toEqual(p.people.map(() => 'sent'));
  });

  it('421 (the server drops the connection) in the middle of a batch: every request still arrives once', async () => {
    const stack = mail();
    const p = makeProject(stack, (d) => isolate(d));
    const start = stack.smtp.accepted.length;
    let dropped = 0;
    // The second message of this run is answered 421 HL:ICC at DATA, which also closes the connection.
    let seen = 0;
    stack.smtp.setFault((m) => {
      if (m.phase !== 'data' || !p.people.some((x) => m.to.includes(x.email))) return;
      if (++seen === 2) { dropped++; return { code: 421, message: '4.7.0 HL:ICC too many connections', phase: 'data' }; }
    });
    try {
      const r = await p.tick(SEND_DAY);
      expect(r.code, r.stderr).toBe(0);
    } finally {
      stack.smtp.setFault(null);
    }
    expect(dropped).toBe(1);
    const counts = acceptedBy(stack.smtp.accepted.slice(start), REQUEST);
    for (const person of p.people) expect(counts.get(person.email), person.email).toBe(1);
    for (const person of p.people) expect((await p.inbox(person.email)).filter((m) => REQUEST.test(m.subject ?? '')), person.email).toHaveLength(1);
  });

  it('550 for one recipient: final, "failed" in status, 发送失败 in the ledger; the others are fine', async () => {
    const stack = mail();
    const p = makeProject(stack, (d) => isolate(d));
    const li = p.people[3];
    let refused = 0;
    stack.smtp.setFault((m) => {
      if (m.to.includes(li.email)) { refused++; return { code: 550, message: '5.1.1 User not found', phase: 'rcpt' }; }
    });
    try {
      const r = await p.tick(SEND_DAY);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/failed 1/);
      expect(refused).toBe(1); // permanent: not tried again within the tick

      const s = await p.status('2020-06');
      const byEmail = new Map(s.people.map((x: { email: string; delivery: string }) => [x.email, x.delivery]));
      expect(byEmail.get(li.email)).toBe('failed');
      for (const person of p.people.slice(0, 3)) expect(byEmail.get(person.email)).toBe('sent');
      const text = await p.cli('status', '--period', '2020-06');
      expect(text.stdout).toMatch(new RegExp(`${li.name}.*\\[发送失败\\]`));

      // A later tick does not try the failed mail again.
      const later = await p.tick('2020-06-21T09:00:00+08:00');
      expect(later.code, later.stderr).toBe(0);
      expect(refused).toBe(1);

      // After the deadline the office gets the ledger; 填报情况 says 发送失败 for li.
      const ledger = await p.tick('2020-07-01T09:00:00+08:00');
      expect(ledger.code, ledger.stderr).toBe(0);
    } finally {
      stack.smtp.setFault(null);
    }
    const labels = await ledgerStatus(p);
    expect(labels.get(li.name)).toBe('发送失败');
    for (const person of p.people.slice(0, 3)) expect(labels.get(person.name)).toBe('未报送');
    expect(acceptedTo(stack.smtp.accepted, li.email)).toHaveLength(0);
  });
});

describe('classifying what nodemailer reports', () => {
  const err = (o: Record<string, unknown>) => Object.assign(new Error(String(o.response ?? 'failed')), o);
  it('a reply about the message or a recipient: 4xx transient, 5xx permanent', () => {
    expect(classifySmtpError(err({ code: 'EENVELOPE', responseCode: 451, response: '451 MI:SFQ' }))).toMatchObject({ code: 'SMTP_TRANSIENT', permanent: false });
    expect(classifySmtpError(err({ code: 'EMESSAGE', responseCode: 421, response: '421 HL:ICC' }))).toMatchObject({ code: 'SMTP_TRANSIENT', permanent: false });
    expect(classifySmtpError(err({ code: 'EENVELOPE', responseCode: 550, response: '550 User not found' }))).toMatchObject({ code: 'SMTP_REJECTED', permanent: true });
    expect(classifySmtpError(err({ code: 'EMESSAGE', responseCode: 554, response: '554 DT:SPM' }))).toMatchObject({ code: 'SMTP_REJECTED', permanent: true });
  });
  it('login refused is its own kind; a connection that could not be set up is never final for the mail', () => {
    expect(classifySmtpError(err({ code: 'EAUTH', responseCode: 535 }))).toMatchObject({ code: 'SMTP_AUTH' });
    expect(classifySmtpError(err({ code: 'ETLS', responseCode: 500, response: '500 command not recognized' }))).toMatchObject({ code: 'SMTP_CONNECT', permanent: false });
    expect(classifySmtpError(err({ code: 'ECONNECTION' }))).toMatchObject({ code: 'SMTP_CONNECT', permanent: false });
    expect(classifySmtpError(err({ code: 'ESOCKET', message: 'socket hang up' }))).toMatchObject({ code: 'SMTP_CONNECT', permanent: false });
  });

  it('550 for one of two office addresses: the other gets the ledger, the refusal shows in status', async () => {
    const stack = mail();
    const p = makeProject(stack, (d) => {
      d.office = [{ name: '办公室', email: 'clerk@office.test' }, { name: '督查组', email: 'gone@office.test' }];
      isolate(d);
    });
    const [clerk, gone] = p.config.office.map((o: { email: string }) => o.email);
    expect((await p.tick(SEND_DAY)).code).toBe(0);
    stack.smtp.setFault((m) => (m.to.includes(gone) ? { code: 550, message: '5.1.1 User unknown', phase: 'rcpt' } : undefined));
    try {
      expect((await p.tick('2020-07-01T09:00:00+08:00')).code).toBe(0);
    } finally {
      stack.smtp.setFault(null);
    }
    expect((await p.inbox(clerk)).filter((m) => /台账汇总/.test(m.subject ?? ''))).toHaveLength(1);
    expect(await p.inbox(gone)).toHaveLength(0);
    const s = await p.status('2020-06');
    expect(s.office.find((o: { email: string }) => o.email === gone)).toMatchObject({ state: 'failed' });
    expect(s.office.find((o: { email: string }) => o.email === clerk)).toMatchObject({ state: 'sent' });
    const text = await p.cli('status', '--period', '2020-06');
    expect(text.stdout).toContain(`汇总台账发送失败：${gone}`);
  });
});
