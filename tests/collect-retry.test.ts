/**
 * A message that fails for a passing reason of ours (here: the parse workers cannot start) is not
 * answered, stays in the inbox, and is handled once at the next tick. A message that was being
 * read when a run died is read again in a child process.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { openContext, type Context } from '../src/context.js';
import { replyToRequest } from '../src/dev/respondent.js';
import { silentLogger } from '../src/logger.js';
import { createParsePool } from '../src/parse-pool.js';
import { Connections, collectStep, type TickReport } from '../src/tick.js';
import { useMailStack } from './helpers/mail-stack.js';
import { makeProject } from './helpers/project.js';

const mail = useMailStack();

/** Worker threads that cannot start (their script is missing): every read fails as INTERNAL. */
async function breakThreads(ctx: Context): Promise<void> {
  await ctx.pool.close();
  ctx.pool = createParsePool({ isolation: 'thread', workerUrl: new URL('./fixtures/workers/no-such-worker.mjs', import.meta.url) });
}

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
      expect(ctx.store.getMeta('collect.in_flight')).toBe('[]');
      // What a run that died mid-read leaves behind: the message recorded as being read.
      ctx.store.setMeta('collect.in_flight', JSON.stringify([row.id]));
      // The threads are still broken, so only the child-process pool can read it now.
      expect((await collectOnce(ctx)).collected?.outcomes).toEqual({ accepted: 1 });
      expect(ctx.isolatedPool().stats().completed).toBe(1);
      expect(ctx.store.getMeta('collect.in_flight')).toBe('[]');
    } finally {
      await ctx.close();
    }
    expect((await p.status('2020-06')).people.find((x: any) => x.name === '艾延坤').status).toBe('submitted');
    expect((await p.tick('2020-06-21T10:00:00+08:00')).code).toBe(0); // sends the receipt queued above
    const ours = (await p.inbox('aiyankun@example.com')).filter((m) => m.from?.value[0]?.address === 'crashed@office.test');
    expect(ours.filter((m) => /回执/.test(m.subject ?? ''))).toHaveLength(1);
  });
});
