/**
 * Who is logged in to the desk: sessions kept in the store by a hash of their id (the id itself
 * lives only in the user's cookie), ended after `session_minutes` without a request; and the
 * lockout of a user name after repeated wrong passwords.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Store } from '../store/store.js';
import { dropExpiredSessions, dropSession, extendSession, saveSession, sessionByHash } from '../store/desk.js';

export interface Clock { now(): Date }

const hashOf = (id: string) => createHash('sha256').update(id).digest('hex');

export class Sessions {
  constructor(private readonly store: Store, private readonly clock: Clock, private readonly minutes: number) {}

  private expiry(): string { return new Date(this.clock.now().getTime() + this.minutes * 60_000).toISOString(); }

  /** A new session for the user; returns the id for the cookie. */
  create(user: string): string {
    const now = this.clock.now().toISOString();
    dropExpiredSessions(this.store, now);
    const id = randomBytes(32).toString('base64url');
    saveSession(this.store, { id_hash: hashOf(id), user, created_at: now, expires_at: this.expiry() });
    return id;
  }

  /** The user of a live session, whose expiry moves on; undefined for an unknown or ended one. */
  user(id: string | undefined): string | undefined {
    if (!id || id.length > 100) return undefined;
    const s = sessionByHash(this.store, hashOf(id));
    if (!s) return undefined;
    if (s.expires_at <= this.clock.now().toISOString()) {
      dropSession(this.store, s.id_hash);
      return undefined;
    }
    extendSession(this.store, s.id_hash, this.expiry());
    return s.user;
  }

  end(id: string | undefined): void {
    if (id) dropSession(this.store, hashOf(id));
  }
}

/** Wrong passwords allowed for one user name within the window before it is locked. */
export const MAX_FAILURES = 5;
const WINDOW_MS = 15 * 60_000;
const LOCK_MS = 15 * 60_000;

/** Locks a user name for a while after MAX_FAILURES wrong passwords (等保: login-failure lockout). */
export class Lockout {
  private readonly failures = new Map<string, { times: number[]; until?: number }>();

  constructor(private readonly clock: Clock) {}

  /** Until when (ms) the name is locked, or undefined. */
  lockedUntil(name: string): number | undefined {
    const f = this.failures.get(name);
    return f?.until && f.until > this.clock.now().getTime() ? f.until : undefined;
  }

  /** Counts a wrong password; true when this one locked the name. */
  fail(name: string): boolean {
    const now = this.clock.now().getTime();
    const f = this.failures.get(name) ?? { times: [] };
    f.times = [...f.times.filter((t) => now - t < WINDOW_MS), now];
    if (f.times.length >= MAX_FAILURES) { f.until = now + LOCK_MS; f.times = []; }
    this.failures.set(name, f);
    if (this.failures.size > 10_000) this.failures.delete(this.failures.keys().next().value!); // names are typed by anyone
    return f.until === now + LOCK_MS;
  }

  succeed(name: string): void { this.failures.delete(name); }
}
