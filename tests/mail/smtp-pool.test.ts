import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { afterEach, describe, expect, it } from 'vitest';
import { createSmtpPool, type SmtpPoolOptions } from '../../src/mail/smtp-pool.js';

/** A real SMTP server in this process, on loopback, that records what it gets. */
interface Sink {
  port: number;
  /** Messages as received, with the time they were complete. */
  received: Array<{ raw: string; to: string[]; at: number }>;
  /** Connections opened so far. */
  connections: number;
  server: SMTPServer;
}

const sinks: SMTPServer[] = [];
afterEach(async () => {
  await Promise.all(sinks.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
});

async function startSink(extra: Partial<SMTPServerOptions> = {}): Promise<Sink> {
  const sink = { received: [], connections: 0 } as unknown as Sink;
  sink.server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onConnect(_session, cb) { sink.connections++; cb(); },
    onRcptTo(address, _session, cb) {
      if (address.address.startsWith('refused')) return cb(Object.assign(new Error('5.1.1 no such user'), { responseCode: 550 }));
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        sink.received.push({ raw: Buffer.concat(chunks).toString('utf8'), to: session.envelope.rcptTo.map((r) => r.address), at: performance.now() });
        cb();
      });
    },
    ...extra,
  });
  sinks.push(sink.server);
  await new Promise<void>((r) => sink.server.listen(0, '127.0.0.1', () => r()));
  sink.port = (sink.server.server.address() as AddressInfo).port;
  return sink;
}

const mail = (i: number) => Buffer.from(`From: a@office.test\r\nTo: p${i}@bureau.test\r\nSubject: ${i}\r\n\r\n第${i}封\r\n.leading dot\r\n`);
const envelope = (i: number) => ({ from: 'a@office.test', to: [`p${i}@bureau.test`] });

function pool(port: number, o: Partial<SmtpPoolOptions> = {}) {
  return createSmtpPool({ connection: { host: '127.0.0.1', port, ignoreTLS: true }, maxConnections: 2, maxMessages: 100, ...o });
}

describe('createSmtpPool', () => {
  it('sends every message as given, over no more connections than allowed, reusing them', async () => {
    const sink = await startSink();
    const p = pool(sink.port, { maxConnections: 2 });
    await Promise.all(Array.from({ length: 20 }, (_, i) => p.send(envelope(i), mail(i))));
    p.close();
    expect(sink.received).toHaveLength(20);
    const byTo = new Map(sink.received.map((m) => [m.to[0], m.raw]));
    for (let i = 0; i < 20; i++) expect(byTo.get(`p${i}@bureau.test`)).toBe(mail(i).toString('utf8')); // dot-stuffing undone, bytes intact
    expect(sink.connections).toBeLessThanOrEqual(2);
  });

  it('opens a new connection after max_messages', async () => {
    const sink = await startSink();
    const p = pool(sink.port, { maxConnections: 1, maxMessages: 3 });
    for (let i = 0; i < 10; i++) await p.send(envelope(i), mail(i));
    p.close();
    expect(sink.received).toHaveLength(10);
    expect(sink.connections).toBe(4);
  });

  it('a refused recipient fails that message only; the connection goes on (after RSET)', async () => {
    const sink = await startSink();
    const p = pool(sink.port, { maxConnections: 1 });
    await expect(p.send({ from: 'a@office.test', to: ['refused@bureau.test'] }, mail(0))).rejects.toMatchObject({ code: 'EENVELOPE', responseCode: 550 });
    await p.send(envelope(1), mail(1));
    p.close();
    expect(sink.received.map((m) => m.to)).toEqual([['p1@bureau.test']]);
    expect(sink.connections).toBe(1);
  });

  it('a connection the server closed while idle is dropped, and the next message gets a new one', async () => {
    const sink = await startSink();
    const p = pool(sink.port, { maxConnections: 1 });
    await p.send(envelope(0), mail(0));
    for (const c of (sink.server as unknown as { connections: Set<{ close(): void }> }).connections) c.close();
    await new Promise((r) => setTimeout(r, 50)); // the close reaches the client
    await p.send(envelope(1), mail(1));
    p.close();
    expect(sink.received).toHaveLength(2);
    expect(sink.connections).toBe(2);
  });

  it('keeps to the rate limit: no more than `rateLimit` messages in any window', async () => {
    const sink = await startSink();
    const p = pool(sink.port, { maxConnections: 2, rateLimit: 2, rateWindowMs: 400 });
    const t0 = performance.now();
    await Promise.all(Array.from({ length: 5 }, (_, i) => p.send(envelope(i), mail(i))));
    p.close();
    const at = sink.received.map((m) => m.at - t0).sort((a, b) => a - b);
    expect(at).toHaveLength(5);
    expect(at[2]).toBeGreaterThanOrEqual(400);
    expect(at[4]).toBeGreaterThanOrEqual(800);
  });

  it('login refused: every waiting message fails with EAUTH, none hangs', async () => {
    const sink = await startSink({ authOptional: false, allowInsecureAuth: true, onAuth: (_a, _s, cb) => cb(new Error('bad password')) });
    const p = pool(sink.port, { maxConnections: 1, auth: { user: 'u', pass: 'wrong' } });
    const results = await Promise.allSettled(Array.from({ length: 3 }, (_, i) => p.send(envelope(i), mail(i))));
    p.close();
    expect(results.map((r) => r.status === 'rejected' && (r.reason as { code?: string }).code)).toEqual(['EAUTH', 'EAUTH', 'EAUTH']);
  });

  it('no server: every message fails with a connection error, none hangs', async () => {
    const sink = await startSink();
    const port = sink.port;
    await new Promise<void>((r) => sink.server.close(() => r()));
    sinks.splice(sinks.indexOf(sink.server), 1);
    const p = pool(port, { maxConnections: 2 });
    const results = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => p.send(envelope(i), mail(i))));
    p.close();
    expect(results.map((r) => r.status === 'rejected' && (r.reason as { code?: string }).code)).toEqual(Array(5).fill('ESOCKET')) // nodemailer's code for a refused connection;
  });

  it('after close, sending fails at once', async () => {
    const sink = await startSink();
    const p = pool(sink.port);
    await p.send(envelope(0), mail(0));
    p.close();
    await expect(p.send(envelope(1), mail(1))).rejects.toThrow(/closed/);
    expect(sink.received).toHaveLength(1);
  });
});
