/**
 * A message that fails for a passing reason of ours (here: the parse workers cannot start) is not
 * answered, stays in the inbox, and is handled once at the next tick. A message that was being
 * read when a run died is read again in a child process.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app/config.js';
import { openContext, type Context } from '../../src/cycle/context.js';
import { replyToRequest } from '../../tools/respondent.js';
import { silentLogger } from '../../src/logger.js';
import { createParsePool } from '../../src/parse/pool.js';
import { Connections, collectStep, type TickReport } from '../../src/cycle/tick.js';
import { useMailStack } from '../helpers/mail-stack.js';
import { makeProject } from '../helpers/project.js';
import { send } from '../helpers/replies.js';

const mail = useMailStack();

/** Worker threads that cannot start (their script is missing): every read fails as INTERNAL. */
async function breakThreads(ctx: Context): Promise<void> {
  await ctx.pool.close();
  ctx.pool = createParsePool({ isolation: 'thread', workerUrl: new URL('../fixtures/workers/no-such-worker.mjs', import.meta.url) });
}

const stateOf = (ctx: Context, id: number) => (ctx.store.db.prepare('SELECT state FROM messages WHERE id = ?').get(id) as { state: string }).state;

async function collectOnce(ctx: Context): Promise<TickReport> {
  const conn = new Connections(ctx);
  const report: TickReport = { requests: 0, reminders: 0, ledgers: [], errors: [] };
  try {
    await collectStep(ctx, conn, report);
  } finally {
    await conn.close();
  }
  return report;
}

describe('a passing failure while processing', () => {
  it('keeps the message for the next tick, then handles it once', async () => {
    const p = makeProject(mail(), (doc) => { doc.mailbox.address = doc.mailbox.imap.user = doc.mailbox.smtp.user = 'retry@office.test'; });
    expect((await p.tick('2020-06-20T09:00:00+08:00')).code).toBe(0);
    const req = (await p.inbox('aiyankun@example.com'))[0];
    await replyToRequest({ smtp: p.smtp, from: 'aiyankun@example.com', original: req.raw, answer: () => ({ progress: '已完成' }) });

    const config = loadConfig(p.configFile, { ...process.env, TAIZHANG_MAIL_PASSWORD: mail().password });
    const ctx = openContext(config, silentLogger, { clock: { now: () => new Date('2020-06-21T01:00:00Z') } });
    await breakThreads(ctx);
    const report = await collectOnce(ctx).finally(() => ctx.close());
    expect(report.collected?.fetched).toBe(1);
    expect(report.collected?.outcomes).toEqual({});
    expect(await p.inbox(p.mailbox)).toHaveLength(1);
    expect((await p.inbox('aiyankun@example.com')).filter((m) => /回执|补正/.test(m.subject ?? ''))).toHaveLength(0);
    expect((await p.status('2020-06')).people.find((x: any) => x.name === '艾延坤').status).toBe('pending');

    const r = await p.tick('2020-06-21T10:00:00+08:00');
    expect(r.code, r.stderr).toBe(0);
    expect(await p.inbox(p.mailbox)).toHaveLength(0);
    expect(await p.inbox(p.mailbox, '台账-已处理')).toHaveLength(1);
    expect((await p.inbox('aiyankun@example.com')).filter((m) => /回执/.test(m.subject ?? ''))).toHaveLength(1);
    expect((await p.status('2020-06')).people.find((x: any) => x.name === '艾延坤').status).toBe('submitted');
    await p.tick('2020-06-21T11:00:00+08:00');
    expect((await p.inbox('aiyankun@example.com')).filter((m) => /回执/.test(m.subject ?? ''))).toHaveLength(1);
  });
});

describe('a run that died while reading', () => {
  it('reads the messages it was reading in child processes', async () => {
    const p = makeProject(mail(), (doc) => { doc.mailbox.address = doc.mailbox.imap.user = doc.mailbox.smtp.user = 'crashed@office.test'; });
    expect((await p.tick('2020-06-20T09:00:00+08:00')).code).toBe(0);
    // The mail stack is shared with the test above: answer this project's request.
    const req = (await p.inbox('aiyankun@example.com')).find((m) => m.from?.value[0]?.address === 'crashed@office.test')!;
    await replyToRequest({ smtp: p.smtp, from: 'aiyankun@example.com', original: req.raw, answer: () => ({ progress: '已完成' }) });

    const config = loadConfig(p.configFile, { ...process.env, TAIZHANG_MAIL_PASSWORD: mail().password });
    const ctx = openContext(config, silentLogger, { clock: { now: () => new Date('2020-06-21T01:00:00Z') } });
    try {
      await breakThreads(ctx);
      // The first pass fetches the message and cannot read it: it stays for the next pass.
      const first = await collectOnce(ctx);
      expect(first.collected).toMatchObject({ fetched: 1, outcomes: {} });
      const row = ctx.store.db.prepare("SELECT id FROM messages WHERE state = 'retry'").get() as { id: number };
      expect(row).toBeDefined();
      // What a run that died mid-read leaves behind: the message recorded as being read.
      ctx.store.db.prepare("UPDATE messages SET state = 'reading' WHERE id = ?").run(row.id);
      // The threads are still broken, so only the child-process pool can read it now.
      expect((await collectOnce(ctx)).collected?.outcomes).toEqual({ accepted: 1 });
      expect(ctx.isolatedPool().stats().completed).toBe(1);
      expect(stateOf(ctx, row.id)).toBe('done');
    } finally {
      await ctx.close();
    }
    expect((await p.status('2020-06')).people.find((x: any) => x.name === '艾延坤').status).toBe('submitted');
    expect((await p.tick('2020-06-21T10:00:00+08:00')).code).toBe(0); // sends the receipt queued above
    const ours = (await p.inbox('aiyankun@example.com')).filter((m) => m.from?.value[0]?.address === 'crashed@office.test');
    expect(ours.filter((m) => /回执/.test(m.subject ?? ''))).toHaveLength(1);
  });
});

describe('reading while fetching', () => {
  const MESSAGES = 12;
  /** A project whose inbox holds MESSAGES mails from a stranger (each gets a receipt). */
  async function inboxOfTwelve(address: string) {
    const p = makeProject(mail(), (doc) => { doc.mailbox.address = doc.mailbox.imap.user = doc.mailbox.smtp.user = address; });
    for (let i = 0; i < MESSAGES; i++) await send(mail(), p, { from: 'stranger@example.com', subject: `进展 ${i}` });
    const config = loadConfig(p.configFile, { ...process.env, TAIZHANG_MAIL_PASSWORD: mail().password });
    const ctx = openContext(config, silentLogger, { clock: { now: () => new Date('2020-06-21T01:00:00Z') } });
    return { p, ctx, probe: new Database(path.join(config.dataDir, 'taizhang.sqlite'), { readonly: true }) };
  }

  /** Calls `seen` with each message as a worker gets it, before it does. */
  function watchReads(ctx: Context, seen: (rawPath: string) => void): void {
    const readMail = ctx.pool.readMail.bind(ctx.pool);
    ctx.pool.readMail = (rawPath, request) => {
      seen(rawPath);
      return readMail(rawPath, request);
    };
  }

  it('records each message as being read, committed, before a worker gets it, and reads while the fetch goes on', async () => {
    const { ctx, probe } = await inboxOfTwelve('overlap@office.test');
    const states: string[] = [];
    const stored: number[] = [];
    watchReads(ctx, (rawPath) => {
      // Another connection sees only what is committed.
      states.push((probe.prepare('SELECT state FROM messages WHERE raw_path = ?').get(rawPath) as { state: string }).state);
      stored.push((probe.prepare('SELECT COUNT(*) AS n FROM messages').get() as { n: number }).n);
    });
    try {
      const report = await collectOnce(ctx);
      expect(report.collected).toMatchObject({ fetched: MESSAGES, handled: MESSAGES });
      expect(states).toEqual(Array(MESSAGES).fill('reading'));
      // The first messages went to the worker when only they had been stored.
      expect(stored[0]).toBeLessThan(MESSAGES);
      expect(probe.prepare("SELECT COUNT(*) AS n FROM messages WHERE state = 'done'").get()).toEqual({ n: MESSAGES });
    } finally {
      probe.close();
      await ctx.close();
    }
  });

  it('a run that ends early leaves recorded as being read only what a run died on', async () => {
    const { ctx, probe } = await inboxOfTwelve('stopped@office.test');
    const count = (state: string) => (probe.prepare('SELECT COUNT(*) AS n FROM messages WHERE state = ?').get(state) as { n: number }).n;
    // The database fails while the first message is handled (its record and the fallback).
    const update = ctx.store.updateMessage.bind(ctx.store);
    let failures = 0;
    ctx.store.updateMessage = (id, f) => {
      if (failures-- > 0) throw new Error('disk I/O error');
      update(id, f);
    };
    try {
      failures = 2;
      const first = await collectOnce(ctx);
      expect(first.errors.join('\n')).toMatch(/disk I\/O error/);
      expect(count('reading')).toBe(0);
      expect(count('received')).toBe(MESSAGES);
      // One message a run died on: a run that ends early leaves it for a child process.
      const suspect = (probe.prepare('SELECT id FROM messages ORDER BY uid DESC LIMIT 1').get() as { id: number }).id;
      ctx.store.markReading([suspect]);
      failures = 2;
      expect((await collectOnce(ctx)).errors).toHaveLength(1);
      expect(probe.prepare("SELECT id FROM messages WHERE state = 'reading'").all()).toEqual([{ id: suspect }]);
      const last = await collectOnce(ctx);
      expect(last.collected).toMatchObject({ fetched: 0, handled: MESSAGES });
      expect(Object.values(last.collected!.outcomes).reduce((a, b) => a + b, 0)).toBe(MESSAGES);
      expect(count('done')).toBe(MESSAGES);
      // Read in a child process (in the last pass, or already in the one that ended early).
      expect(ctx.isolatedPool().stats().completed).toBeGreaterThanOrEqual(1);
    } finally {
      probe.close();
      await ctx.close();
    }
  });
});
