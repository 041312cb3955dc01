/**
 * The outbox's state machine on a real SQLite store in a temporary folder, with an injected clock
 * and sleep and a transport written here (the sending itself is tested against real servers in
 * outbox.test.ts and tests/cycle): a mail is recorded once, marked `sending` on disk before it
 * is handed over, retried on a schedule, failed when refused, and settled after a crash.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig, type Config } from '../../src/app/config.js';
import { TaizhangError } from '../../src/errors.js';
import { silentLogger } from '../../src/logger.js';
import type { OutgoingMail } from '../../src/mail/compose.js';
import { Outbox, type Clock } from '../../src/mail/outbox.js';
import type { MailTransport } from '../../src/mail/smtp.js';
import { Store, type OutboxKind, type OutboxRow } from '../../src/store/store.js';

const OFFICE = 'office@bureau.test';
const T0 = new Date('2020-06-20T01:00:00Z');
const MINUTE = 60_000;

let dir: string;
let stores: Store[];
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tz-outbox-'));
  stores = [];
});
afterEach(() => {
  for (const s of stores) s.close();
  rmSync(dir, { recursive: true, force: true });
});

function config(smtp: Record<string, unknown> = {}, mailbox: Record<string, unknown> = {}): Config {
  const login = { host: '127.0.0.1', port: 1587, secure: false, password: 'auth-code' };
  return parseConfig({
    data_dir: dir,
    mailbox: { address: OFFICE, sender_name: '办公室', imap: { ...login, port: 1143 }, smtp: { ...login, ...smtp }, ...mailbox },
    schedule: { first_period: '2020-06', send_day: 20, deadline_day: 30 },
    office: [{ name: '办公室', email: OFFICE }],
    people: [{ name: '张三', department: '政法科', email: 'zhang@bureau.test' }],
    ledger: { title: '台账', tasks: [{ no: 1, task: '任务', owners: ['张三'] }] },
  }, path.join(dir, 'taizhang.yaml'), {});
}

function openStore(readonly = false): Store {
  const s = Store.open(dir, { readonly });
  stores.push(s);
  return s;
}

/** The outbox as a run of the service has it; `sleeps` records every wait between attempts. */
function setup(smtp: Record<string, unknown> = {}, mailbox: Record<string, unknown> = {}) {
  const store = openStore();
  const sleeps: number[] = [];
  const outbox = new Outbox(store, config(smtp, mailbox), silentLogger, async (ms) => { sleeps.push(ms); });
  let now = T0;
  const clock: Clock & { set(d: Date): void } = { now: () => now, set: (d) => { now = d; } };
  return { store, outbox, sleeps, clock };
}

/** A transport that answers each send as `answer` says, recording what it was given. */
class ScriptedTransport implements MailTransport {
  readonly sends: { to: string[]; from: string; raw: Buffer; stateOnDisk?: string }[] = [];

  constructor(private readonly answer: (call: number, to: string[]) => unknown = () => undefined, private readonly onDisk?: Store) {}

  async send(envelope: { from: string; to: string[] }, raw: Buffer): Promise<void> {
    const messageId = /^Message-ID: (<[^>]+>)/im.exec(raw.toString('latin1'))?.[1];
    // What another connection (another process after a crash) would find at this moment.
    const stateOnDisk = this.onDisk && messageId ? this.onDisk.outboxByMessageId(messageId)?.state : undefined;
    this.sends.push({ ...envelope, raw, stateOnDisk });
    const err = this.answer(this.sends.length, envelope.to);
    if (err) throw err;
  }

  async verify(): Promise<void> {}
  close(): void {}
}

const transient = () => new TaizhangError('SMTP_TRANSIENT', 'SMTP 451: 4.3.0 MI:SFQ', { details: { responseCode: 451 } });

function request(to: string, text = '请填报。'): OutgoingMail {
  return { to: [{ name: '张三', address: to }], subject: '【工作台账】请报送2020年6月进展情况', text };
}

async function queueRequests(outbox: Outbox, people: string[], at = T0): Promise<void> {
  for (const p of people) expect(await outbox.queue({ kind: 'request', period: '2020-06', person: p, slot: 'send' }, request(p), at)).toBe(true);
}

function rows(store: Store, kind: OutboxKind = 'request'): OutboxRow[] {
  return store.db.prepare('SELECT * FROM outbox WHERE kind = ? ORDER BY id').all(kind) as OutboxRow[];
}

describe('Outbox.queue', () => {
  it('records a mail once per (kind, period, person, slot), with its bytes', async () => {
    const { store, outbox } = setup();
    const key = { kind: 'request' as const, period: '2020-06', person: 'zhang@bureau.test', slot: 'send' };
    expect(outbox.has(key.kind, key.period, key.person, key.slot)).toBe(false);
    expect(await outbox.queue(key, request('zhang@bureau.test'), T0)).toBe(true);
    expect(await outbox.queue(key, request('zhang@bureau.test', '第二遍'), T0)).toBe(false);
    expect(outbox.has(key.kind, key.period, key.person, key.slot)).toBe(true);
    expect(await outbox.queue({ ...key, slot: 'remind-25' }, request('zhang@bureau.test'), T0)).toBe(true);
    expect(await outbox.queue({ ...key, period: '2020-07' }, request('zhang@bureau.test'), T0)).toBe(true);
    expect(await outbox.queue({ ...key, person: 'li@bureau.test' }, request('li@bureau.test'), T0)).toBe(true);
    const office = { kind: 'ledger' as const, period: '2020-06', person: null, slot: 'v1' };
    expect(await outbox.queue(office, { to: [{ address: OFFICE }], subject: '台账汇总', text: '见附件。' }, T0)).toBe(true);
    expect(await outbox.queue(office, { to: [{ address: OFFICE }], subject: '台账汇总', text: '见附件。' }, T0)).toBe(false);
    expect(rows(store)).toHaveLength(4);
    expect(rows(store, 'ledger')).toHaveLength(1);

    const [first] = rows(store);
    expect(first).toMatchObject({ state: 'queued', attempts: 0, recipients: 'zhang@bureau.test', next_attempt_at: T0.toISOString() });
    const parsed = await simpleParser(store.outboxRaw(first.id)!);
    expect(parsed.messageId).toBe(first.message_id);
    expect(parsed.text?.trim()).toBe('请填报。'); // the first version, not the one queued again
    expect(parsed.date?.toISOString()).toBe(T0.toISOString());
    expect(parsed.from?.value).toEqual([{ name: '办公室', address: OFFICE }]);
  });
});

describe('Outbox.flush', () => {
  it('hands over the recorded bytes once each, after the mail is marked sending on disk', async () => {
    const { store, outbox, clock } = setup();
    const people = ['a@bureau.test', 'b@bureau.test', 'c@bureau.test'];
    await queueRequests(outbox, people);
    const transport = new ScriptedTransport(undefined, openStore(true));
    clock.set(new Date(T0.getTime() + MINUTE));
    expect(await outbox.flush(transport, clock)).toEqual({ sent: 3, retrying: 0, failed: 0 });
    expect(transport.sends.map((s) => s.to)).toEqual(people.map((p) => [p]));
    expect(transport.sends.map((s) => s.stateOnDisk)).toEqual(['sending', 'sending', 'sending']);
    for (const [i, row] of rows(store).entries()) {
      expect(transport.sends[i].from).toBe(OFFICE);
      expect(transport.sends[i].raw.equals(store.outboxRaw(row.id)!)).toBe(true);
      expect(row).toMatchObject({ state: 'sent', attempts: 1, sent_at: clock.now().toISOString() });
    }
    expect(await outbox.flush(transport, clock)).toEqual({ sent: 0, retrying: 0, failed: 0 });
    expect(transport.sends).toHaveLength(3);
  });

  it('marks sending on disk also while other work holds a batch of writes open', async () => {
    const { store, outbox, clock } = setup();
    await queueRequests(outbox, ['a@bureau.test', 'b@bureau.test']);
    const transport = new ScriptedTransport(undefined, openStore(true));
    // Collecting batches its writes while the mail of the tick goes out.
    const result = await store.batch(async () => outbox.flush(transport, clock));
    expect(result).toEqual({ sent: 2, retrying: 0, failed: 0 });
    expect(transport.sends.map((s) => s.stateOnDisk)).toEqual(['sending', 'sending']);
  });

  it('a passing failure is tried again in the same flush after each of retry_delays_ms, with jitter', async () => {
    const { store, outbox, sleeps, clock } = setup({ retry_delays_ms: [2000, 10000] });
    await queueRequests(outbox, ['a@bureau.test']);
    const transport = new ScriptedTransport((call) => (call <= 2 ? transient() : undefined));
    expect(await outbox.flush(transport, clock)).toEqual({ sent: 1, retrying: 0, failed: 0 });
    expect(sleeps).toHaveLength(2);
    expect(sleeps[0]).toBeGreaterThanOrEqual(1500);
    expect(sleeps[0]).toBeLessThanOrEqual(2500);
    expect(sleeps[1]).toBeGreaterThanOrEqual(7500);
    expect(sleeps[1]).toBeLessThanOrEqual(12500);
    expect(transport.sends).toHaveLength(3);
    expect(rows(store)[0]).toMatchObject({ state: 'sent', attempts: 3 });
  });

  it('still failing after those: queued for a later flush with backoff, until max_attempts, then failed', async () => {
    const { store, outbox, sleeps, clock } = setup({ retry_delays_ms: [100], max_attempts: 4 });
    await queueRequests(outbox, ['a@bureau.test']);
    const transport = new ScriptedTransport(() => transient());
    expect(await outbox.flush(transport, clock)).toEqual({ sent: 0, retrying: 1, failed: 0 });
    expect(transport.sends).toHaveLength(2);
    expect(sleeps).toHaveLength(1);
    const row = rows(store)[0];
    expect(row).toMatchObject({ state: 'queued', attempts: 2, last_error: expect.stringMatching(/451/) });
    // Two attempts so far: two minutes later, give or take a quarter.
    const wait = Date.parse(row.next_attempt_at) - T0.getTime();
    expect(wait).toBeGreaterThanOrEqual(1.5 * MINUTE);
    expect(wait).toBeLessThanOrEqual(2.5 * MINUTE);

    clock.set(new Date(T0.getTime() + 1.4 * MINUTE)); // not due yet
    expect(await outbox.flush(transport, clock)).toEqual({ sent: 0, retrying: 0, failed: 0 });
    expect(transport.sends).toHaveLength(2);

    clock.set(new Date(T0.getTime() + 3 * MINUTE));
    expect(await outbox.flush(transport, clock)).toEqual({ sent: 0, retrying: 0, failed: 1 });
    expect(transport.sends).toHaveLength(4);
    expect(rows(store)[0]).toMatchObject({ state: 'failed', attempts: 4 });

    clock.set(new Date(T0.getTime() + 600 * MINUTE));
    expect(await outbox.flush(transport, clock)).toEqual({ sent: 0, retrying: 0, failed: 0 });
    expect(transport.sends).toHaveLength(4);
  });

  it('a connection that cannot be made is never final for the mail, whatever max_attempts says', async () => {
    const { store, outbox, clock } = setup({ retry_delays_ms: [], max_attempts: 1 });
    await queueRequests(outbox, ['a@bureau.test']);
    const answers = [new TaizhangError('SMTP_CONNECT', 'SMTP connection failed: ECONNREFUSED'), new Error('socket hang up')];
    const transport = new ScriptedTransport((call) => answers[call - 1]);
    for (let i = 0; i < 2; i++) {
      expect(await outbox.flush(transport, clock)).toEqual({ sent: 0, retrying: 1, failed: 0 });
      expect(rows(store)[0]).toMatchObject({ state: 'queued', attempts: i + 1 });
      clock.set(new Date(Date.parse(rows(store)[0].next_attempt_at)));
    }
    expect(await outbox.flush(transport, clock)).toEqual({ sent: 1, retrying: 0, failed: 0 });
  });

  it('a refusal is final at once: no wait, no second try, the reason kept', async () => {
    const { store, outbox, sleeps, clock } = setup();
    await queueRequests(outbox, ['gone@bureau.test', 'b@bureau.test']);
    const refused = new TaizhangError('SMTP_REJECTED', 'SMTP 550: 5.1.1 User unknown', { details: { responseCode: 550 } });
    const transport = new ScriptedTransport((_call, to) => (to.includes('gone@bureau.test') ? refused : undefined));
    expect(await outbox.flush(transport, clock)).toEqual({ sent: 1, retrying: 0, failed: 1 });
    expect(sleeps).toEqual([]);
    expect(rows(store).map((r) => [r.state, r.attempts, r.last_error])).toEqual([['failed', 1, 'SMTP 550: 5.1.1 User unknown'], ['sent', 1, null]]);
    clock.set(new Date(T0.getTime() + 600 * MINUTE));
    await outbox.flush(transport, clock);
    expect(transport.sends).toHaveLength(2);
  });

  it('login refused stops the flush: the error is thrown, nothing is failed or left marked sending', async () => {
    const { store, outbox, clock } = setup({ max_connections: 1 });
    await queueRequests(outbox, ['a@bureau.test', 'b@bureau.test', 'c@bureau.test', 'd@bureau.test']);
    const transport = new ScriptedTransport(() => new TaizhangError('SMTP_AUTH', 'SMTP login refused: 535 authentication failed'));
    await expect(outbox.flush(transport, clock)).rejects.toMatchObject({ code: 'SMTP_AUTH' });
    // Two lanes for one connection: at most the two mails they held were tried.
    expect(transport.sends.length).toBeGreaterThanOrEqual(1);
    expect(transport.sends.length).toBeLessThanOrEqual(2);
    const after = rows(store);
    expect(after.map((r) => r.state)).toEqual(['queued', 'queued', 'queued', 'queued']);
    expect(after.filter((r) => r.attempts > 0)).toHaveLength(transport.sends.length);
    expect(after.every((r) => r.next_attempt_at === T0.toISOString())).toBe(true);
  });
});

describe('Outbox.recover: sends a crash left marked sending', () => {
  it('settled on restart by the Sent folder; undecided while it cannot be read, never sent blind', async () => {
    const first = setup();
    const people = ['found@bureau.test', 'missing@bureau.test', 'unknown@bureau.test'];
    await queueRequests(first.outbox, people);
    // The process died with all three handed to SMTP: marked sending, committed, nothing after.
    for (const r of rows(first.store)) first.store.durable(() => first.store.markSending(r.id));
    first.store.close();
    stores.splice(stores.indexOf(first.store), 1);

    const { store, outbox, clock } = setup();
    const byPerson = new Map(rows(store).map((r) => [r.person, r.message_id]));
    const transport = new ScriptedTransport();
    expect(await outbox.recover(null, clock.now())).toBe(3); // no mailbox: all stay undecided
    expect(await outbox.flush(transport, clock)).toEqual({ sent: 0, retrying: 0, failed: 0 });
    expect(transport.sends).toEqual([]);

    const lookup = async (mid: string) => {
      if (mid === byPerson.get('unknown@bureau.test')) throw new Error('IMAP connection lost');
      return mid === byPerson.get('found@bureau.test');
    };
    expect(await outbox.recover(lookup, clock.now())).toBe(1);
    expect(rows(store).map((r) => [r.person, r.state])).toEqual([['found@bureau.test', 'sent'], ['missing@bureau.test', 'queued'], ['unknown@bureau.test', 'sending']]);
    expect(await outbox.flush(transport, clock)).toEqual({ sent: 1, retrying: 0, failed: 0 });
    expect(transport.sends.map((s) => s.to)).toEqual([['missing@bureau.test']]);

    // Once the Sent folder can be read and the mail is not in it, it goes out.
    expect(await outbox.recover(async () => false, clock.now())).toBe(0);
    expect(await outbox.flush(transport, clock)).toEqual({ sent: 1, retrying: 0, failed: 0 });
    expect(transport.sends.map((s) => s.to)).toEqual([['missing@bureau.test'], ['unknown@bureau.test']]);
    expect(rows(store).map((r) => r.state)).toEqual(['sent', 'sent', 'sent']);
  });
});

describe('Outbox: the mailbox\'s own copy and the provider\'s quota', () => {
  it('every mail carries the collection mailbox as a copy recipient, unless self_copy is off', async () => {
    for (const selfCopy of [true, false]) {
      const { outbox, clock } = setup({}, { self_copy: selfCopy });
      await queueRequests(outbox, [`a${selfCopy}@bureau.test`]);
      const transport = new ScriptedTransport();
      await outbox.flush(transport, clock);
      expect(transport.sends.map((s) => (s as { copyTo?: string }).copyTo)).toEqual([selfCopy ? OFFICE : undefined]);
    }
  });

  it('a copy that went in while the recipient was refused makes copies prove nothing: a crash then means sending again', async () => {
    const { store, outbox, clock } = setup({ retry_delays_ms: [] });
    await queueRequests(outbox, ['later@bureau.test']);
    const stray = new TaizhangError('SMTP_TRANSIENT', 'SMTP 451: 4.7.1 RP:DRC', { details: { responseCode: 451, strayCopy: true } });
    expect(await outbox.flush(new ScriptedTransport(() => stray), clock)).toEqual({ sent: 0, retrying: 1, failed: 0 });
    const [row] = rows(store);
    expect(row.stray_copies).toBe(1);
    // A later attempt is interrupted by a crash; a copy is found, but it may be the stray one.
    store.durable(() => store.markSending(row.id));
    expect(await outbox.recover(async () => true, clock.now())).toBe(0);
    expect(rows(store)[0].state).toBe('queued');
  });

  it('a daily-quota answer pauses all sending until local midnight; the attempt does not count; the next day the rest go', async () => {
    const { store, outbox, clock } = setup();
    const people = ['a@bureau.test', 'b@bureau.test', 'c@bureau.test', 'd@bureau.test'];
    await queueRequests(outbox, people);
    const quota = new TaizhangError('SMTP_QUOTA', 'SMTP 554: 5.5.0 MI:STC', { details: { responseCode: 554, quota: 'daily' } });
    const transport = new ScriptedTransport((call) => (call > 1 ? quota : undefined));
    const midnight = '2020-06-20T16:00:00.000Z'; // Asia/Shanghai, T0 is 09:00 there
    const first = await outbox.flush(transport, clock);
    expect(first).toMatchObject({ sent: 1, failed: 0, pausedUntil: midnight, waiting: 3 });
    const waiting = rows(store).filter((r) => r.state !== 'sent');
    expect(waiting.map((r) => r.state)).toEqual(['queued', 'queued', 'queued']);
    expect(waiting.every((r) => r.attempts === 0)).toBe(true);
    // Later the same day: nothing is tried.
    const tries = transport.sends.length;
    clock.set(new Date('2020-06-20T15:59:00Z'));
    expect(await outbox.flush(new ScriptedTransport(), clock)).toMatchObject({ sent: 0, pausedUntil: midnight, waiting: 3 });
    expect(transport.sends.length).toBe(tries);
    clock.set(new Date(midnight));
    expect(await outbox.flush(new ScriptedTransport(), clock)).toEqual({ sent: 3, retrying: 0, failed: 0 });
  });
});
