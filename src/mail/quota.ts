/**
 * Keeping inside the provider's sending quota. A quota answer from the server (or our own daily
 * limit, reached) pauses all sending, recorded in the store so that every later run and `status`
 * know it: until the next local midnight for a daily quota, for an hour when the server says we
 * send too fast. Nothing fails meanwhile; queued mail waits.
 */
import { localParts, localStamp, zonedInstant } from '../core/calendar.js';
import type { Store } from '../store/store.js';

/** Why sending pauses: the server's daily quota, the server's rate limit, our own daily limit. */
export type PauseReason = 'daily' | 'throttle' | 'daily_limit';

export interface SendingPause {
  /** ISO instant from which sending resumes. */
  until: string;
  reason: PauseReason;
  /** The server's answer, when it gave one. */
  answer: string | null;
}

/** How long a rate-limit answer pauses sending. */
export const THROTTLE_PAUSE_MS = 60 * 60_000;

const KEY = 'sending_paused';

/** The instant the next local day starts in `tz`. */
export function nextLocalMidnight(now: Date, tz: string): Date {
  const p = localParts(now, tz);
  // Noon of the same local day plus a day lands on the next local date whatever the DST shift.
  const noon = zonedInstant(p.year, p.month, p.day, 12, 0, tz);
  const next = localParts(new Date(noon.getTime() + 24 * 3600_000), tz);
  return zonedInstant(next.year, next.month, next.day, 0, 0, tz);
}

/** The instant the current local day started in `tz`. */
export function localMidnight(now: Date, tz: string): Date {
  const p = localParts(now, tz);
  return zonedInstant(p.year, p.month, p.day, 0, 0, tz);
}

/** Until when a pause for `reason`, starting `now`, lasts. */
export function pauseEnd(reason: PauseReason, now: Date, tz: string): Date {
  return reason === 'throttle' ? new Date(now.getTime() + THROTTLE_PAUSE_MS) : nextLocalMidnight(now, tz);
}

/** The pause in force at `now`, or null. */
export function currentPause(store: Store, now: Date): SendingPause | null {
  const raw = store.getMeta(KEY);
  if (!raw) return null;
  try {
    const p = JSON.parse(raw) as SendingPause;
    return typeof p.until === 'string' && new Date(p.until) > now ? p : null;
  } catch {
    return null;
  }
}

/** Records a pause (a later end wins over an earlier one already recorded). */
export function recordPause(store: Store, pause: SendingPause): void {
  const old = currentPause(store, new Date(0));
  if (old && old.until >= pause.until) return;
  store.setMeta(KEY, JSON.stringify(pause));
}

/** Forgets a pause that has ended. */
export function clearPause(store: Store, now: Date): void {
  if (store.getMeta(KEY) && !currentPause(store, now)) store.setMeta(KEY, '');
}

/** The pause in words, for the log and `status`. */
export function pauseText(p: SendingPause, tz: string): string {
  const why = p.reason === 'daily_limit' ? 'the daily limit (mailbox.smtp.daily_limit) is reached'
    : p.reason === 'daily' ? "the provider's daily quota is used up" : 'the provider says we send too fast';
  return `sending paused until ${localStamp(p.until, tz)}: ${why}${p.answer ? ` (${p.answer})` : ''}`;
}

/** Counts the messages of one local day against `limit` (0: no limit). */
export class DailyBudget {
  private used: number;

  constructor(store: Store, private readonly limit: number, now: Date, tz: string) {
    this.used = limit > 0 ? store.sentSince(localMidnight(now, tz).toISOString()) : 0;
  }

  /** Takes one message from the day's budget; false when none is left. */
  take(): boolean {
    if (this.limit <= 0) return true;
    if (this.used >= this.limit) return false;
    this.used++;
    return true;
  }
}
