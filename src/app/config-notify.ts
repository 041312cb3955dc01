/**
 * `notify:` in the config: group chats told on reminder days and when a ledger is ready
 * (src/cycle/notify.ts). Absent or empty: nothing is posted.
 */
import { z } from 'zod';
import { mapping, optText, text } from './config-fields.js';

export const NOTIFY_KINDS = ['wecom', 'dingtalk', 'feishu'] as const;
export type NotifyKind = (typeof NOTIFY_KINDS)[number];

const MOBILE = /^\+?\d[\d -]{4,19}$/;

const channel = mapping({
  kind: z.enum(NOTIFY_KINDS, { error: `must be one of ${NOTIFY_KINDS.join(', ')}` }),
  webhook: text().refine((u) => { try { return /^https?:$/.test(new URL(u).protocol); } catch { return false; } }, 'must be an http(s) URL'),
  secret: optText(),
  /** Person id or name → mobile number, to @-mention them (WeCom, DingTalk). */
  mobiles: z.record(z.string(), z.preprocess((v) => (typeof v === 'number' ? String(v) : v), z.string().regex(MOBILE, 'not a mobile number')), {
    error: 'must be a mapping of person id or name to mobile number',
  }).optional(),
});

export const notifyFields = z.array(channel, { error: 'must be a list' }).optional();

export interface NotifyChannel {
  kind: NotifyKind;
  webhook: string;
  secret?: string;
  mobiles: Record<string, string>;
}

export function toNotify(raw: z.output<typeof notifyFields>): NotifyChannel[] {
  return (raw ?? []).map((c) => ({ kind: c.kind, webhook: c.webhook, secret: c.secret, mobiles: { ...(c.mobiles ?? {}) } }));
}
