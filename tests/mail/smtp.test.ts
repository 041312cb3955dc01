/**
 * The SMTP transport against a real SMTP server in this process (smtp-server on loopback):
 * messages go out byte for byte, over at most `max_connections` connections that are reused,
 * within `rate_per_minute` (on an injected clock), and failures come back classified.
 */
import type { AddressInfo, Socket } from 'node:net';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../../src/app/config.js';
import { TaizhangError } from '../../src/errors.js';
import { silentLogger } from '../../src/logger.js';
import { createSmtpTransport, rateGate, type MailTransport, type RateClock } from '../../src/mail/smtp.js';

/** A real SMTP server that records what it gets, on the clock the test gives the transport. */
class Sink {
  readonly received: { raw: Buffer; to: string[]; at: number }[] = [];
  /** Client connections, open or closed. */
  readonly sockets: Socket[] = [];
  server!: SMTPServer;
  port = 0;
  private waiters: { n: number; resolve: () => void }[] = [];

  constructor(private readonly clock: RateClock = manualClock()) {}

  async start(extra: Partial<SMTPServerOptions> = {}): Promise<this> {
    this.server = new SMTPServer({
      disabledCommands: ['STARTTLS'],
      allowInsecureAuth: true,
      logger: false,
      onAuth: (auth, _session, cb) => cb(null, { user: auth.username }),
      onRcptTo(address, _session, cb) {
        if (address.address.startsWith('refused')) return cb(Object.assign(new Error('5.1.1 no such user'), { responseCode: 550 }));
        if (address.address.startsWith('later')) return cb(Object.assign(new Error('4.3.0 MI:SFQ try again later'), { responseCode: 451 }));
        cb();
      },
      onData: (stream, session, cb) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          this.received.push({ raw: Buffer.concat(chunks), to: session.envelope.rcptTo.map((r) => r.address), at: this.clock.now() });
          cb();
          this.waiters = this.waiters.filter((w) => (w.n <= this.received.length ? (w.resolve(), false) : true));
        });
      },
      ...extra,
    });
    this.server.server.on('connection', (s: Socket) => this.sockets.push(s));
    sinks.push(this);
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.port = (this.server.server.address() as AddressInfo).port;
    return this;
  }

  /** Resolves once the server has received `n` messages. */
  receivedCount(n: number): Promise<void> {
    if (this.received.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }

  stop(): Promise<void> {
    sinks.splice(sinks.indexOf(this), 1);
    return new Promise((r) => this.server.close(() => r()));
  }
}

/** A clock that moves only when told to; sleepers wake when it passes their time. */
interface ManualClock extends RateClock {
  /** When each pending sleep ends. */
  sleepers(): number[];
  advanceTo(t: number): void;
}

function manualClock(): ManualClock {
  let t = 0;
  let sleeping: { until: number; wake: () => void }[] = [];
  return {
    now: () => t,
    sleep: (ms) => new Promise<void>((wake) => { sleeping.push({ until: t + ms, wake }); }),
    sleepers: () => sleeping.map((s) => s.until),
    advanceTo(to) {
      t = to;
      const due = sleeping.filter((s) => s.until <= t);
      sleeping = sleeping.filter((s) => s.until > t);
      for (const s of due) s.wake();
    },
  };
}

const sinks: Sink[] = [];
const transports: MailTransport[] = [];
afterEach(async () => {
  for (const t of transports.splice(0)) t.close();
  await Promise.all([...sinks].map((s) => s.stop()));
});

function smtpConfig(port: number, o: Partial<Config['mailbox']['smtp']> = {}): Config['mailbox']['smtp'] {
  return {
    host: '127.0.0.1', port, secure: false, requireTLS: false, tlsVerify: true, user: 'office@bureau.test', password: 'auth-code',
    ratePerMinute: 10_000, maxConnections: 2, retryDelaysMs: [], maxAttempts: 3, dailyLimit: 0, ...o,
  };
}

function transport(port: number, o: Partial<Config['mailbox']['smtp']> = {}, clock: RateClock = manualClock()): MailTransport {
  const t = createSmtpTransport(smtpConfig(port, o), silentLogger, clock);
  transports.push(t);
  return t;
}

const mail = (i: number) => Buffer.from(`From: office@bureau.test\r\nTo: p${i}@bureau.test\r\nSubject: ${i}\r\n\r\n第${i}封\r\n.leading dot\r\n`);
const envelope = (i: number, to = `p${i}@bureau.test`) => ({ from: 'office@bureau.test', to: [to] });

/** The classified error a promise rejects with. */
async function failure(p: Promise<unknown>): Promise<TaizhangError> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(TaizhangError);
  return err as TaizhangError;
}

describe('createSmtpTransport', () => {
  it('sends every message byte for byte, over no more connections than max_connections, reusing them', async () => {
    const sink = await new Sink().start();
    const t = transport(sink.port, { maxConnections: 2 });
    await Promise.all(Array.from({ length: 20 }, (_, i) => t.send(envelope(i), mail(i))));
    expect(sink.received).toHaveLength(20);
    const byTo = new Map(sink.received.map((m) => [m.to.join(), m.raw]));
    for (let i = 0; i < 20; i++) expect(byTo.get(`p${i}@bureau.test`)?.equals(mail(i))).toBe(true); // no header added, dot-stuffing undone
    expect(sink.sockets.length).toBeGreaterThanOrEqual(1);
    expect(sink.sockets.length).toBeLessThanOrEqual(2);
  });

  it('replaces a connection after 100 messages', async () => {
    const sink = await new Sink().start();
    const t = transport(sink.port, { maxConnections: 1 });
    for (let i = 0; i < 101; i++) await t.send(envelope(i), mail(i));
    expect(sink.received).toHaveLength(101);
    expect(sink.sockets).toHaveLength(2);
  });

  it('keeps to rate_per_minute: the rest wait for the minute to pass since the first went out', async () => {
    const clock = manualClock();
    const sink = await new Sink(clock).start();
    const t = transport(sink.port, { ratePerMinute: 2, maxConnections: 2 }, clock);
    const all = Promise.all(Array.from({ length: 5 }, (_, i) => t.send(envelope(i), mail(i))));
    await sink.receivedCount(2);
    // The other three wait on the clock, which has not moved: none of them can have gone out.
    expect(clock.sleepers()).toEqual([60_000, 60_000, 60_000]);
    clock.advanceTo(59_999);
    expect(clock.sleepers()).toHaveLength(3);
    clock.advanceTo(60_000);
    await sink.receivedCount(4);
    expect(clock.sleepers()).toEqual([120_000]);
    clock.advanceTo(120_000);
    await all;
    expect(sink.received.map((m) => m.at)).toEqual([0, 0, 60_000, 60_000, 120_000]);
    expect(sink.sockets.length).toBeLessThanOrEqual(2);
  });

  it('a refused recipient fails that message only, as final; the connection goes on', async () => {
    const sink = await new Sink().start();
    const t = transport(sink.port, { maxConnections: 1 });
    const err = await failure(t.send(envelope(0, 'refused@bureau.test'), mail(0)));
    expect(err).toMatchObject({ code: 'SMTP_REJECTED', permanent: true, details: { responseCode: 550 } });
    await t.send(envelope(1), mail(1));
    expect(sink.received.map((m) => m.to)).toEqual([['p1@bureau.test']]);
    expect(sink.sockets).toHaveLength(1);
  });

  it('a 4xx answer about a recipient is worth trying again, with the same envelope', async () => {
    const sink = await new Sink().start();
    const t = transport(sink.port);
    const env = envelope(0, 'later@bureau.test'); // the outbox sends every attempt with one envelope
    for (let attempt = 0; attempt < 2; attempt++) {
      expect(await failure(t.send(env, mail(0)))).toMatchObject({ code: 'SMTP_TRANSIENT', permanent: false, details: { responseCode: 451 } });
    }
    expect(env.to).toEqual(['later@bureau.test']);
    expect(sink.received).toHaveLength(0);
  });

  it('a copy recipient is one more envelope recipient, no header; its acceptance alone is no delivery', async () => {
    const sink = await new Sink().start();
    const t = transport(sink.port, { maxConnections: 1 });
    await t.send({ ...envelope(0), copyTo: 'office@bureau.test' }, mail(0));
    expect(sink.received.map((m) => m.to)).toEqual([['p0@bureau.test', 'office@bureau.test']]);
    expect(sink.received[0].raw.equals(mail(0))).toBe(true);
    // The server takes the copy but refuses the person: that mail was not sent.
    expect(await failure(t.send({ ...envelope(1, 'refused@bureau.test'), copyTo: 'office@bureau.test' }, mail(1))))
      .toMatchObject({ code: 'SMTP_REJECTED', permanent: true, details: { responseCode: 550 } });
    expect(await failure(t.send({ ...envelope(2, 'later@bureau.test'), copyTo: 'office@bureau.test' }, mail(2))))
      .toMatchObject({ code: 'SMTP_TRANSIENT', permanent: false, details: { responseCode: 451 } });
  });

  it('quota answers: a daily quota or a rate limit pauses sending (SMTP_QUOTA), whatever the reply code', async () => {
    const answers: Record<string, [number, string]> = {
      'stc@bureau.test': [554, '5.5.0 MI:STC Too many mails today'],
      'ms@bureau.test': [554, '5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException'],
      'gmail@bureau.test': [550, '5.4.5 Daily user sending quota exceeded.'],
      'qq@bureau.test': [550, 'Ip frequency limited'],
      'ali@bureau.test': [554, 'Reject by behaviour spamANTISPAM_BAT[01201311R196x, c01a1x]: too frequently sending'],
      'spam@bureau.test': [554, 'DT:SPM 163 smtp judged as spam'],
    };
    const sink = await new Sink().start({
      onRcptTo(address, _s, cb) {
        const a = answers[address.address];
        cb(a ? Object.assign(new Error(a[1]), { responseCode: a[0] }) : undefined);
      },
    });
    const t = transport(sink.port, { maxConnections: 1 });
    const code = async (to: string) => {
      const e = await failure(t.send(envelope(0, to), mail(0)));
      return [e.code, (e.details as { quota?: string }).quota ?? null];
    };
    expect(await code('stc@bureau.test')).toEqual(['SMTP_QUOTA', 'daily']);
    expect(await code('ms@bureau.test')).toEqual(['SMTP_QUOTA', 'daily']);
    expect(await code('gmail@bureau.test')).toEqual(['SMTP_QUOTA', 'daily']);
    expect(await code('qq@bureau.test')).toEqual(['SMTP_QUOTA', 'throttle']);
    expect(await code('ali@bureau.test')).toEqual(['SMTP_QUOTA', 'throttle']);
    expect(await code('spam@bureau.test')).toEqual(['SMTP_REJECTED', null]); // about this mail: final
  });

  it('login refused: every waiting message fails as SMTP_AUTH, none hangs; verify says the same', async () => {
    const sink = await new Sink().start({ onAuth: (_a, _s, cb) => cb(new Error('bad password')) });
    const t = transport(sink.port, { maxConnections: 1 });
    const results = await Promise.allSettled(Array.from({ length: 3 }, (_, i) => t.send(envelope(i), mail(i))));
    expect(results.map((r) => r.status === 'rejected' && (r.reason as TaizhangError).code)).toEqual(['SMTP_AUTH', 'SMTP_AUTH', 'SMTP_AUTH']);
    expect(await failure(t.verify())).toMatchObject({ code: 'SMTP_AUTH' });
    expect(sink.received).toHaveLength(0);
  });

  it('verify logs in and sends nothing', async () => {
    let logins = 0;
    const sink = await new Sink().start({ onAuth: (a, _s, cb) => { logins++; cb(null, { user: a.username }); } });
    await transport(sink.port).verify();
    expect(logins).toBe(1);
    expect(sink.received).toHaveLength(0);
  });

  it('no server: every message fails as a connection problem (tried again later), none hangs', async () => {
    const sink = await new Sink().start();
    await sink.stop();
    const t = transport(sink.port);
    const results = await Promise.allSettled(Array.from({ length: 4 }, (_, i) => t.send(envelope(i), mail(i))));
    expect(results.map((r) => r.status === 'rejected' && (r.reason as TaizhangError).code)).toEqual(Array(4).fill('SMTP_CONNECT'));
    expect(await failure(t.verify())).toMatchObject({ code: 'SMTP_CONNECT', permanent: false });
  });

  it('require_tls with a server that offers no STARTTLS: nothing goes out in plaintext', async () => {
    const sink = await new Sink().start();
    const err = await failure(transport(sink.port, { requireTLS: true }).send(envelope(0), mail(0)));
    expect(err).toMatchObject({ code: 'SMTP_CONNECT', permanent: false });
    expect(errorText(err.cause)).toMatch(/STARTTLS/);
    expect(sink.received).toHaveLength(0);
  });

  it('a connection the server closed while idle is dropped, and the next message gets a new one', async () => {
    const sink = await new Sink().start();
    const t = transport(sink.port, { maxConnections: 1 });
    await t.send(envelope(0), mail(0));
    expect(sink.sockets).toHaveLength(1);
    const [first] = sink.sockets;
    await new Promise<void>((r) => first.end(() => r()));
    await t.send(envelope(1), mail(1));
    expect(sink.received.map((m) => m.to)).toEqual([['p0@bureau.test'], ['p1@bureau.test']]);
    expect(sink.sockets).toHaveLength(2);
  });

  it('after close, sending fails and nothing goes out', async () => {
    const sink = await new Sink().start();
    const t = transport(sink.port);
    await t.send(envelope(0), mail(0));
    t.close();
    expect(await failure(t.send(envelope(1), mail(1)))).toMatchObject({ code: 'SMTP_CONNECT' });
    expect(sink.received).toHaveLength(1);
  });
});

describe('rateGate', () => {
  it('lets at most `limit` through in any window, counted from each one let through', async () => {
    const clock = manualClock();
    const gate = rateGate(2, 60_000, clock);
    const through: number[] = [];
    const pass = (p: Promise<void>) => p.then(() => through.push(clock.now()));
    await pass(gate());
    clock.advanceTo(30_000);
    await pass(gate());
    clock.advanceTo(59_000);
    const third = pass(gate());
    const fourth = pass(gate());
    await Promise.resolve();
    expect(clock.sleepers()).toEqual([60_000, 60_000]);
    clock.advanceTo(60_000); // the first leaves the window: room for one
    await third;
    await Promise.resolve();
    expect(clock.sleepers()).toEqual([90_000]); // the second leaves it at 90 s
    clock.advanceTo(90_000);
    await fourth;
    expect(through).toEqual([0, 30_000, 60_000, 90_000]);
  });
});

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
