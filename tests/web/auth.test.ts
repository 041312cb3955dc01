/**
 * The desk's login rules on an injected clock: a session ends after `session_minutes` without a
 * request (and each request moves its end), and a user name is locked for 15 minutes after five
 * wrong passwords within 15 minutes. The browser test (desk.test.ts) drives the same rules
 * through the pages.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Store } from '../../src/store/store.js';
import { Lockout, MAX_FAILURES, Sessions } from '../../src/web/auth.js';

const clockAt = (iso: string) => {
  let t = new Date(iso).getTime();
  return { now: () => new Date(t), advance: (minutes: number) => { t += minutes * 60_000; } };
};

const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });

describe('sessions', () => {
  it('end after the configured minutes without a request, and each request moves the end', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tz-desk-auth-'));
    dirs.push(dir);
    const store = Store.open(dir);
    try {
      const clock = clockAt('2020-06-27T09:00:00+08:00');
      const sessions = new Sessions(store, clock, 30);
      const id = sessions.create('clerk');
      clock.advance(29);
      expect(sessions.user(id)).toBe('clerk'); // and the end moves to 09:59
      clock.advance(29);
      expect(sessions.user(id)).toBe('clerk');
      clock.advance(30);
      expect(sessions.user(id)).toBeUndefined();
      clock.advance(-30);
      expect(sessions.user(id)).toBeUndefined(); // an ended session is gone, not merely late
      expect(sessions.user('forged-id')).toBeUndefined();
      const other = sessions.create('clerk');
      sessions.end(other);
      expect(sessions.user(other)).toBeUndefined();
    } finally {
      store.close();
    }
  });
});

describe('lockout', () => {
  it('locks a name after five wrong passwords within 15 minutes, for 15 minutes', () => {
    const clock = clockAt('2020-06-27T09:00:00+08:00');
    const lockout = new Lockout(clock);
    for (let i = 1; i < MAX_FAILURES; i++) {
      expect(lockout.fail('clerk')).toBe(false);
      clock.advance(1);
    }
    expect(lockout.lockedUntil('clerk')).toBeUndefined();
    expect(lockout.fail('clerk')).toBe(true);
    expect(lockout.lockedUntil('clerk')).toBe(clock.now().getTime() + 15 * 60_000);
    expect(lockout.lockedUntil('other')).toBeUndefined(); // one name's lock is not another's
    clock.advance(14);
    expect(lockout.lockedUntil('clerk')).toBeDefined();
    clock.advance(1);
    expect(lockout.lockedUntil('clerk')).toBeUndefined();
  });

  it('forgets wrong passwords older than 15 minutes, and all of them after a good one', () => {
    const clock = clockAt('2020-06-27T09:00:00+08:00');
    const lockout = new Lockout(clock);
    for (let i = 0; i < MAX_FAILURES - 1; i++) lockout.fail('clerk');
    clock.advance(16);
    expect(lockout.fail('clerk')).toBe(false);
    for (let i = 0; i < MAX_FAILURES - 2; i++) lockout.fail('clerk');
    lockout.succeed('clerk');
    expect(lockout.fail('clerk')).toBe(false);
    expect(lockout.lockedUntil('clerk')).toBeUndefined();
  });
});
