/**
 * Group-chat notices at the module level, with the real store and the local stand-in for the
 * platforms: the config keys, each platform's rate (20 a minute for WeCom, 5 a second for Feishu)
 * kept with an injected clock, transient failures waiting for a later tick, superseded reminders.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig, type Config } from '../../src/app/config.js';
import { openContext, type Context } from '../../src/cycle/context.js';
import { postNotices } from '../../src/cycle/notify.js';
import { channelKey, chatOutcome, dingtalkSign, feishuSign } from '../../src/mail/chat.js';
import { recordNotice, supersedeNotices } from '../../src/store/notify-posts.js';
import { silentLogger } from '../../src/logger.js';
import { TaizhangError } from '../../src/errors.js';
import { exampleInstallation } from '../helpers/project.js';
import { notifyConfig, startChatServer, type ChatServer } from '../helpers/chat-server.js';
import { parseYaml } from '../../src/app/yaml.js';
import { readFileSync } from 'node:fs';

const SECRETS = { dingtalk: 'SECding', feishu: 'fs-secret' };
let chat: ChatServer;
const contexts: Context[] = [];
afterAll(async () => {
  for (const c of contexts) await c.close();
  await chat?.close();
});

function configWith(edit: (doc: Record<string, any>) => void): Config {
  const { config } = exampleInstallation(edit);
  return parseConfig(parseYaml(readFileSync(config, 'utf8')), config, { TAIZHANG_MAIL_PASSWORD: 'x' });
}

function problems(edit: (doc: Record<string, any>) => void): string[] {
  try { configWith(edit); } catch (err) { return (err as TaizhangError).details as string[]; }
  return [];
}

/** A context whose real-time clock only moves when told (or when the code sleeps). */
function setUp(notify: unknown[]) {
  const config = configWith((d) => { d.notify = notify; });
  const ctx = openContext(config, silentLogger);
  contexts.push(ctx);
  let t = Date.now();
  const sleeps: number[] = [];
  const opts = { realNow: () => new Date(t), sleep: async (ms: number) => { sleeps.push(ms); t += ms; } };
  const record = (i: number, event: string) => recordNotice(ctx.store, {
    channel: channelKey(config.notify[i]), event, period: '2020-06', message: { text: `消息${event}`, mobiles: [] },
    createdAt: new Date(t).toISOString(), now: new Date(t).toISOString(),
  });
  return { ctx, opts, sleeps, record, advance: (ms: number) => { t += ms; } };
}

describe('group-chat notices', () => {
  it('config: notify entries and status_days are checked; without them, none', () => {
    expect(configWith(() => {}).notify).toEqual([]);
    expect(configWith(() => {}).schedule.statusDays).toEqual([]);
    const c = configWith((d) => {
      d.schedule.status_days = [26, 23];
      d.notify = [{ kind: 'dingtalk', webhook: 'https://oapi.dingtalk.com/robot/send?access_token=t', secret: 'SEC1', mobiles: { 王群才: 13800000001 } }];
    });
    expect(c.schedule.statusDays).toEqual([23, 26]);
    expect(c.notify[0]).toMatchObject({ kind: 'dingtalk', mobiles: { 王群才: '13800000001' } });
    expect(problems((d) => {
      d.schedule.status_days = [5];
      d.notify = [{ kind: 'slack', webhook: 'not a url', mobiles: { 王群才: 'abc' } }];
    })).toEqual(expect.arrayContaining([
      expect.stringMatching(/^schedule\.status_days\[0\]: must be after send_day/),
      expect.stringMatching(/^notify\[0\]\.kind: must be one of wecom, dingtalk, feishu/),
      expect.stringMatching(/^notify\[0\]\.webhook: must be an http\(s\) URL/),
      expect.stringMatching(/^notify\[0\]\.mobiles\.王群才: not a mobile number/),
    ]));
    expect(problems((d) => { d.notify = [{ kind: 'wecom', webhook: 'https://x', hook: 1 }]; })).toEqual([expect.stringMatching(/^notify\[0\]\.hook: unknown key/)]);
  });

  it('signs as the platforms publish (DingTalk: key = secret over ts\\nsecret; Feishu: key = ts\\nsecret over nothing)', () => {
    // Values computed independently with Python's hmac (the platforms' own sample code).
    expect(dingtalkSign('this is secret', 1577836800000)).toBe('fFV9t5lBS7KH4+5B0JjR99ab+AJkXFauQXycgTkS/tc=');
    expect(feishuSign('demo', 1599360473)).toBe('l1N0gAcBjdwBvGm1xMjOF0XSyaLRpR7tuO5dHfhAYc8=');
  });

  it('tells transient answers from refusals', () => {
    expect(chatOutcome(200, '{"errcode":0,"errmsg":"ok"}')).toEqual({ ok: true });
    expect(chatOutcome(200, '{"code":0,"msg":"success"}')).toEqual({ ok: true });
    expect(chatOutcome(200, '{"errcode":45009,"errmsg":"api freq out of limit"}')).toMatchObject({ ok: false, transient: true });
    expect(chatOutcome(200, '{"errcode":130101,"errmsg":"send too fast"}')).toMatchObject({ ok: false, transient: true });
    expect(chatOutcome(200, '{"code":19021,"msg":"sign match fail"}')).toMatchObject({ ok: false, transient: false });
    expect(chatOutcome(502, 'bad gateway')).toMatchObject({ ok: false, transient: true });
    expect(chatOutcome(404, 'not found')).toMatchObject({ ok: false, transient: false });
  });

  it('keeps WeCom to 20 a minute and Feishu to 5 a second; a busy platform is tried again at a later tick', async () => {
    chat = await startChatServer(SECRETS);
    const [wecom, , feishu] = notifyConfig(chat, SECRETS, {});
    const w = setUp([wecom]);
    for (let i = 1; i <= 22; i++) w.record(0, `e${i}`);
    expect(await postNotices(w.ctx, w.opts)).toEqual({ posted: 20, waiting: 2, failed: 0 });
    expect(chat.accepted('wecom')).toHaveLength(20);
    w.advance(61_000);
    expect(await postNotices(w.ctx, w.opts)).toEqual({ posted: 2, waiting: 0, failed: 0 });
    expect(chat.accepted('wecom').map((b) => b.text.content)).toEqual(Array.from({ length: 22 }, (_, i) => `消息e${i + 1}`));

    const f = setUp([feishu]);
    for (let i = 1; i <= 7; i++) f.record(0, `f${i}`);
    expect(await postNotices(f.ctx, f.opts)).toEqual({ posted: 7, waiting: 0, failed: 0 });
    expect(f.sleeps).toEqual([1000]); // after the fifth within a second
    expect(chat.accepted('feishu')).toHaveLength(7);

    // Busy twice in a row (the retry within the tick too): waits for a later tick, then goes once.
    chat.fail('feishu', 2);
    f.record(0, 'busy');
    expect(await postNotices(f.ctx, f.opts)).toEqual({ posted: 0, waiting: 1, failed: 0 });
    expect(await postNotices(f.ctx, f.opts)).toEqual({ posted: 0, waiting: 0, failed: 0 }); // not yet due
    f.advance(61_000);
    expect(await postNotices(f.ctx, f.opts)).toEqual({ posted: 1, waiting: 0, failed: 0 });
    expect(chat.accepted('feishu').filter((b) => b.content.text === '消息busy')).toHaveLength(1);

    // A newer reminder day supersedes one still waiting.
    chat.fail('feishu', 2);
    f.record(0, 'reminder:2020-06:25');
    await postNotices(f.ctx, f.opts);
    f.record(0, 'reminder:2020-06:28');
    supersedeNotices(f.ctx.store, channelKey(f.ctx.config.notify[0]), 'reminder:2020-06:', 'reminder:2020-06:28');
    f.advance(120_000);
    expect(await postNotices(f.ctx, f.opts)).toEqual({ posted: 1, waiting: 0, failed: 0 });
    expect(chat.accepted('feishu').at(-1).content.text).toBe('消息reminder:2020-06:28');
  });
});
