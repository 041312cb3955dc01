/** The record of group-chat notices (table notify_posts): recorded first, posted once. */
import type { Store } from './store.js';

export interface NotifyPost {
  id: number;
  channel: string;
  event: string;
  period: string;
  message_json: string;
  state: 'pending' | 'posted' | 'failed';
  attempts: number;
  created_at: string;
  next_at: string;
  posted_at: string | null;
  last_error: string | null;
}

/** Records an event for a channel; false when it was recorded before (nothing changes then). */
export function recordNotice(store: Store, n: { channel: string; event: string; period: string; message: unknown; createdAt: string; now: string }): boolean {
  const r = store.db.prepare(`INSERT OR IGNORE INTO notify_posts (channel, event, period, message_json, created_at, next_at)
    VALUES (?, ?, ?, ?, ?, ?)`).run(n.channel, n.event, n.period, JSON.stringify(n.message), n.createdAt, n.now);
  return r.changes > 0;
}

/** Gives up the channel's notices still pending whose event starts with `prefix`, but `keep`: news no more. */
export function supersedeNotices(store: Store, channel: string, prefix: string, keep: string): void {
  store.db.prepare(`UPDATE notify_posts SET state = 'failed', last_error = 'superseded by ' || ?
    WHERE channel = ? AND state = 'pending' AND substr(event, 1, length(?)) = ? AND event <> ?`).run(keep, channel, prefix, prefix, keep);
}

/** Notices of the channel still to post whose time has come, oldest first. */
export function dueNotices(store: Store, channel: string, now: string): NotifyPost[] {
  return store.db.prepare("SELECT * FROM notify_posts WHERE channel = ? AND state = 'pending' AND next_at <= ? ORDER BY id")
    .all(channel, now) as NotifyPost[];
}

export function markPosted(store: Store, id: number, at: string): void {
  store.db.prepare("UPDATE notify_posts SET state = 'posted', posted_at = ?, attempts = attempts + 1, last_error = NULL WHERE id = ?").run(at, id);
}

/** A failed attempt: tried again from `nextAt`, or given up (`final`). */
export function markNoticeFailed(store: Store, id: number, error: string, nextAt: string, final: boolean): void {
  store.db.prepare('UPDATE notify_posts SET state = ?, attempts = attempts + 1, last_error = ?, next_at = ? WHERE id = ?')
    .run(final ? 'failed' : 'pending', error, nextAt, id);
}

/** Posts to the channel after `since` (real time): what its rate limit counts. */
export function postedSince(store: Store, channel: string, since: string): number {
  return (store.db.prepare("SELECT COUNT(*) AS n FROM notify_posts WHERE channel = ? AND state = 'posted' AND posted_at > ?")
    .get(channel, since) as { n: number }).n;
}
