/**
 * A message that fails for a passing reason of ours (here: the parse workers are down) is not
 * answered, stays in the inbox, and is handled once at the next tick.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { openContext } from '../src/context.js';
import { replyToRequest } from '../src/dev/respondent.js';
import { silentLogger } from '../src/logger.js';
import { Connections, collectStep, type TickReport } from '../src/tick.js';
import { useMailStack } from './helpers/mail-stack.js';
import { makeProject } from './helpers/project.js';

const mail = useMailStack();

describe('a passing failure while processing', () => {
  it('keeps the message for the next tick, then handles it once', async () => {
    const p = makeProject(mail(), (doc) => { doc.mailbox.address = doc.mailbox.imap.user = doc.mailbox.smtp.user = 'retry@office.test'; });
    expect((await p.tick('2020-06-20T09:00:00+08:00')).code).toBe(0);
    const req = (await p.inbox('aiyankun@example.com'))[0];
    await replyToRequest({ smtp: p.smtp, from: 'aiyankun@example.com', original: req.raw, answer: () => ({ progress: '已完成' }) });

    const config = loadConfig(p.configFile, { ...process.env, TAIZHANG_MAIL_PASSWORD: mail().password });
    const ctx = openContext(config, silentLogger, { clock: { now: () => new Date('2020-06-21T01:00:00Z') } });
    ctx.pool.parse = async () => { throw new Error('parse workers are down'); };
    const conn = new Connections(ctx);
    const report: TickReport = { requests: 0, reminders: 0, ledgers: [], errors: [] };
    try {
      await collectStep(ctx, conn, report);
    } finally {
      await conn.close();
      await ctx.close();
    }
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
