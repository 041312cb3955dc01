/**
 * Group-chat notices (`notify:`): on a reminder day, who has not reported yet; when a month's
 * ledger is ready, that it went to the office and who is missing from it. Pending people are
 * @-mentioned by the mobile numbers the channel's `mobiles` gives (by person id or name).
 *
 * Each notice is recorded per channel before it is posted (notify_posts), so it is posted once;
 * a transient failure is tried again at once, then at later ticks with growing waits, up to
 * MAX_ATTEMPTS; a platform's refusal (a wrong secret) is final. Each channel keeps to its
 * platform's rate: past it, what is left waits for the next tick. Nothing here throws into the tick.
 */
import { chineseStamp, periodLabel, type DueWork } from '../core/calendar.js';
import { timingOf } from './timing.js';
import type { NotifyChannel } from '../app/config-notify.js';
import { CHAT_LIMITS, channelKey, postChat, type ChatMessage } from '../mail/chat.js';
import { dueNotices, markNoticeFailed, markPosted, postedSince, recordNotice, supersedeNotices } from '../store/notify-posts.js';
import type { Context } from './context.js';
import { pendingPeople } from './office-status.js';
import { periodStates } from './status.js';
import { errorMessage } from '../errors.js';
import { MAIN_LEDGER } from '../core/ledger.js';

export const MAX_ATTEMPTS = 8;
/** Waits before later attempts, by attempts made: 1 min, 5 min, 30 min, then 2 h. */
const LATER_MS = [60_000, 300_000, 1_800_000, 7_200_000];
/** The one retry within a tick, after a transient failure. */
const RETRY_NOW_MS = 1000;
/** A ledger made this long ago or less is still news (a tick that stopped after making it posts it at the next). */
const LEDGER_NEWS_MS = 24 * 3600_000;

export interface NotifyOptions {
  /** Real time: signatures and rate limits are about the platform's clock, not --now. */
  realNow?: () => Date;
  sleep?: (ms: number) => Promise<void>;
}

export interface NotifyResult { posted: number; waiting: number; failed: number }

function mobilesOf(c: NotifyChannel, people: { id: string; name: string }[]): string[] {
  return [...new Set(people.map((p) => c.mobiles[p.id] ?? c.mobiles[p.name]).filter((m): m is string => !!m))];
}

function record(ctx: Context, what: string, period: string, message: (c: NotifyChannel) => ChatMessage, supersedesWhat?: string): void {
  const now = new Date().toISOString();
  // Events of a ledger other than `main` carry its id: two ledgers' reminder days never collide.
  const own = (e: string) => (ctx.store.ledger === MAIN_LEDGER ? e : `${ctx.store.ledger}:${e}`);
  const event = own(what);
  const supersedes = supersedesWhat === undefined ? undefined : own(supersedesWhat);
  for (const c of ctx.config.notify) {
    const channel = channelKey(c);
    if (recordNotice(ctx.store, { channel, event, period, message: message(c), createdAt: ctx.clock.now().toISOString(), now }) && supersedes) {
      supersedeNotices(ctx.store, channel, supersedes, event); // after downtime, only the latest reminder day
    }
  }
}

/** Records the reminder day's notice (when somebody is still pending). */
export function recordReminderNotice(ctx: Context, period: string, slot: string): void {
  if (!ctx.config.notify.length) return;
  const pending = pendingPeople(ctx, period);
  if (!pending.length) return;
  const { ledger, schedule, timezone } = ctx.config;
  const text = `【台账提醒】${ledger.title}（${periodLabel(period)}）：截至${chineseStamp(ctx.clock.now(), timezone)}，`
    + `尚有${pending.length}人未报送：${pending.map((p) => p.label).join('、')}。请于${timingOf(schedule, timezone).deadlineText(period)}前回复填报通知邮件报送进展情况。`;
  record(ctx, `reminder:${period}:${slot}`, period, (c) => ({ text, mobiles: mobilesOf(c, pending) }), `reminder:${period}:`);
}

/** Records the notice of each ledger made within the last day (once per version). */
export function recordLedgerNotices(ctx: Context): void {
  if (!ctx.config.notify.length) return;
  const now = ctx.clock.now().getTime();
  for (const p of ctx.store.periods()) {
    if (!p.ledger_version || !p.consolidated_at) continue;
    const age = now - Date.parse(p.consolidated_at);
    if (age < 0 || age > LEDGER_NEWS_MS) continue;
    const states = periodStates(ctx.config, ctx.store, p.period);
    const pending = pendingPeople(ctx, p.period);
    const reported = states.length - pending.length;
    const what = p.ledger_version > 1 ? `汇总台账已更新（第${p.ledger_version}版）` : '汇总台账已生成';
    const text = `【台账汇总】${ctx.config.ledger.title}（${periodLabel(p.period)}）${what}，已发送至办公室邮箱。应报${states.length}人，已报${reported}人`
      + (pending.length ? `，未报送${pending.length}人：${pending.map((x) => x.label).join('、')}。` : '，全部按要求报送。');
    record(ctx, `ledger:${p.period}:v${p.ledger_version}`, p.period, (c) => ({ text, mobiles: mobilesOf(c, pending) }));
  }
}

/** Posts what is recorded and due, channel by channel, within each platform's rate. */
export async function postNotices(ctx: Context, opts: NotifyOptions = {}): Promise<NotifyResult> {
  const result: NotifyResult = { posted: 0, waiting: 0, failed: 0 };
  const realNow = opts.realNow ?? (() => new Date());
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (const [index, c] of ctx.config.notify.entries()) {
    const channel = channelKey(c);
    const log = ctx.log.child({ notify: c.kind, channel: index });
    const limits = CHAT_LIMITS[c.kind];
    for (const post of dueNotices(ctx.store, channel, realNow().toISOString())) {
      const since = (ms: number) => postedSince(ctx.store, channel, new Date(realNow().getTime() - ms).toISOString());
      if (since(60_000) >= limits.perMinute) {
        log.warn({ event: post.event }, 'group chat rate limit reached: the rest waits for the next tick');
        result.waiting++;
        continue;
      }
      if (limits.perSecond && since(1000) >= limits.perSecond) await sleep(1000);
      const message = JSON.parse(post.message_json) as ChatMessage;
      let outcome = await postChat(c, message, realNow().getTime());
      if (!outcome.ok && outcome.transient) {
        await sleep(RETRY_NOW_MS);
        outcome = await postChat(c, message, realNow().getTime());
      }
      if (outcome.ok) {
        markPosted(ctx.store, post.id, realNow().toISOString());
        log.info({ event: post.event }, 'group chat notice posted');
        result.posted++;
        continue;
      }
      const attempts = post.attempts + 1;
      const final = !outcome.transient || attempts >= MAX_ATTEMPTS;
      const next = new Date(realNow().getTime() + LATER_MS[Math.min(attempts - 1, LATER_MS.length - 1)]).toISOString();
      markNoticeFailed(ctx.store, post.id, outcome.error, next, final);
      log.warn({ event: post.event, error: outcome.error, attempts, final }, final ? 'group chat notice failed' : 'group chat notice not posted yet: tried again later');
      if (final) result.failed++;
      else result.waiting++;
    }
  }
  return result;
}

/** The tick's part: record what is due, post what is recorded; logs, never throws. */
export async function notifyStep(ctx: Context, due: readonly DueWork[], opts?: NotifyOptions): Promise<NotifyResult | undefined> {
  return notifyLedgers(ctx, [{ ctx, due }], opts);
}

/** notifyStep for several ledgers: each records its own notices (in its own ledger's view); all are posted once. */
export async function notifyLedgers(ctx: Context, ledgers: readonly { ctx: Context; due: readonly DueWork[] }[], opts?: NotifyOptions): Promise<NotifyResult | undefined> {
  if (!ctx.config.notify.length) return undefined;
  try {
    for (const l of ledgers) {
      for (const d of l.due) if (d.reminder) recordReminderNotice(l.ctx, d.period, d.reminder.slot);
      recordLedgerNotices(l.ctx);
    }
    return await postNotices(ctx, opts);
  } catch (err) {
    ctx.log.error({ err }, `group chat notices: ${errorMessage(err)}`);
    return undefined;
  }
}
