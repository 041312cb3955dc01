/**
 * Group-chat bots (WeCom 企业微信, DingTalk 钉钉, Feishu 飞书): the request each platform's custom
 * bot webhook expects, signed by its rule, and what its answer means. The webhook URL is the
 * office's, whole (government variants such as 浙政钉 live on other hosts).
 *
 * - WeCom: POST the webhook (`…/cgi-bin/webhook/send?key=…`); `mentioned_mobile_list`; no signing;
 *   text up to 2,048 bytes; 20 messages a minute per bot.
 * - DingTalk: `…/robot/send?access_token=…` plus `timestamp` (ms) and `sign` =
 *   urlencode(base64(HMAC-SHA256(key = secret, `${timestamp}\n${secret}`))); `at.atMobiles` (the
 *   numbers also written in the text, as DingTalk shows them); 20 a minute.
 * - Feishu: `…/open-apis/bot/v2/hook/…`; `timestamp` (s) and `sign` = base64(HMAC-SHA256(key =
 *   `${timestamp}\n${secret}`, empty message)) in the body; 100 a minute and 5 a second. Its custom
 *   bots mention people by Feishu user id only, not by mobile: names are written in the text.
 */
import { createHash, createHmac } from 'node:crypto';
import type { NotifyChannel, NotifyKind } from '../app/config-notify.js';

export interface ChatMessage {
  text: string;
  /** Mobile numbers to @-mention (where the platform can). */
  mobiles: string[];
}

export interface ChatLimits { perMinute: number; perSecond?: number }

export const CHAT_LIMITS: Record<NotifyKind, ChatLimits> = {
  wecom: { perMinute: 20 },
  dingtalk: { perMinute: 20 },
  feishu: { perMinute: 100, perSecond: 5 },
};

const MAX_TEXT_BYTES: Record<NotifyKind, number> = { wecom: 2048, dingtalk: 18000, feishu: 18000 };

/** A channel's key in the store: the platform and a hash of its webhook (which holds its token). */
export function channelKey(c: NotifyChannel): string {
  return `${c.kind}:${createHash('sha256').update(c.webhook).digest('hex').slice(0, 16)}`;
}

/** Cuts text to `max` UTF-8 bytes on a character boundary, marking the cut. */
function clip(text: string, max: number): string {
  if (Buffer.byteLength(text) <= max) return text;
  const mark = '……';
  let out = '';
  for (const ch of text) {
    if (Buffer.byteLength(out + ch + mark) > max) break;
    out += ch;
  }
  return out + mark;
}

export function dingtalkSign(secret: string, timestampMs: number): string {
  return createHmac('sha256', secret).update(`${timestampMs}\n${secret}`).digest('base64');
}

export function feishuSign(secret: string, timestampS: number): string {
  return createHmac('sha256', `${timestampS}\n${secret}`).update('').digest('base64');
}

/** The HTTP request for one message, signed at `nowMs` (real time: the platform checks it). */
export function chatRequest(c: NotifyChannel, m: ChatMessage, nowMs: number): { url: string; body: string } {
  const url = new URL(c.webhook);
  switch (c.kind) {
    case 'wecom': {
      const content = clip(m.text, MAX_TEXT_BYTES.wecom);
      return { url: url.href, body: JSON.stringify({ msgtype: 'text', text: { content, mentioned_mobile_list: m.mobiles } }) };
    }
    case 'dingtalk': {
      if (c.secret) {
        // URLSearchParams form-encodes the base64 (+ / =), as the platform asks.
        url.searchParams.set('timestamp', String(nowMs));
        url.searchParams.set('sign', dingtalkSign(c.secret, nowMs));
      }
      const at = m.mobiles.length ? `\n${m.mobiles.map((n) => `@${n}`).join(' ')}` : '';
      const content = clip(m.text, MAX_TEXT_BYTES.dingtalk - Buffer.byteLength(at)) + at;
      return { url: url.href, body: JSON.stringify({ msgtype: 'text', text: { content }, at: { atMobiles: m.mobiles, isAtAll: false } }) };
    }
    case 'feishu': {
      const seconds = Math.floor(nowMs / 1000);
      const signed = c.secret ? { timestamp: String(seconds), sign: feishuSign(c.secret, seconds) } : {};
      return { url: url.href, body: JSON.stringify({ ...signed, msg_type: 'text', content: { text: clip(m.text, MAX_TEXT_BYTES.feishu) } }) };
    }
  }
}

export type ChatOutcome = { ok: true } | { ok: false; transient: boolean; error: string };

/** Rate-limit answers: worth trying again later. */
const TRANSIENT_CODES = new Set([
  -1, // WeCom, DingTalk: system busy
  45009, // WeCom: over the bot's rate
  130101, // DingTalk: sent too fast
  9499, 11232, 11233, // Feishu: over the rate
]);

/** What the platform's answer means. */
export function chatOutcome(status: number, text: string): ChatOutcome {
  if (status === 429 || status >= 500) return { ok: false, transient: true, error: `HTTP ${status}` };
  let json: Record<string, unknown> = {};
  try { json = JSON.parse(text) as Record<string, unknown>; } catch { /* not JSON */ }
  const code = json.errcode ?? json.code ?? json.StatusCode;
  const message = String(json.errmsg ?? json.msg ?? json.StatusMessage ?? text.slice(0, 200));
  if (status < 200 || status >= 300) return { ok: false, transient: false, error: `HTTP ${status}: ${message}` };
  if (code === undefined || code === 0) return { ok: true };
  return { ok: false, transient: TRANSIENT_CODES.has(Number(code)), error: `code ${String(code)}: ${message}` };
}

/** Posts one message; network failures and timeouts are transient. */
export async function postChat(c: NotifyChannel, m: ChatMessage, nowMs: number, timeoutMs = 10_000): Promise<ChatOutcome> {
  const { url, body } = chatRequest(c, m, nowMs);
  try {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json; charset=utf-8' }, body, signal: AbortSignal.timeout(timeoutMs) });
    return chatOutcome(res.status, await res.text());
  } catch (err) {
    return { ok: false, transient: true, error: (err as Error).name === 'TimeoutError' ? 'no answer in time' : `cannot reach the webhook (${(err as Error).message})` };
  }
}
