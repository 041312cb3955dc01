/**
 * What the clerk's desk reads and writes in the store besides the cycle's own records: the audit
 * log, the sessions, the mails settled by hand, and the lists of mail that was not recorded.
 */
import type { MessageRow, Store } from './store.js';

export interface AuditEntry { id: number; at: string; user: string; action: string; target: string; detail: string | null }
export interface SessionRow { id_hash: string; user: string; created_at: string; expires_at: string }

/** Outcomes of the 隔离 list (kept, never answered) and of the 需补正 list (answered with what to fix). */
export const QUARANTINE_OUTCOMES = ['quarantined', 'unreadable', 'error'] as const;
export const REJECTED_OUTCOMES = ['rejected'] as const;

export function addAudit(store: Store, e: Omit<AuditEntry, 'id'>): void {
  store.db.prepare('INSERT INTO desk_audit (at, user, action, target, detail) VALUES (?, ?, ?, ?, ?)').run(e.at, e.user, e.action, e.target, e.detail);
}

export function recentAudit(store: Store, limit = 100): AuditEntry[] {
  return store.db.prepare('SELECT * FROM desk_audit ORDER BY id DESC LIMIT ?').all(limit) as AuditEntry[];
}

export function saveSession(store: Store, s: SessionRow): void {
  store.db.prepare('INSERT INTO desk_sessions (id_hash, user, created_at, expires_at) VALUES (?, ?, ?, ?)').run(s.id_hash, s.user, s.created_at, s.expires_at);
}

export function sessionByHash(store: Store, idHash: string): SessionRow | undefined {
  return store.db.prepare('SELECT * FROM desk_sessions WHERE id_hash = ?').get(idHash) as SessionRow | undefined;
}

export function extendSession(store: Store, idHash: string, expiresAt: string): void {
  store.db.prepare('UPDATE desk_sessions SET expires_at = ? WHERE id_hash = ?').run(expiresAt, idHash);
}

export function dropSession(store: Store, idHash: string): void {
  store.db.prepare('DELETE FROM desk_sessions WHERE id_hash = ?').run(idHash);
}

/** Forgets sessions that ended before `now` (ISO). */
export function dropExpiredSessions(store: Store, now: string): void {
  store.db.prepare('DELETE FROM desk_sessions WHERE expires_at <= ?').run(now);
}

/** Records that the clerk settled a mail of the lists by hand; false when it was settled already. */
export function settleMessage(store: Store, s: { messageRow: number; action: 'attach' | 'dismiss'; user: string; at: string; person?: string; period?: string }): boolean {
  return store.db.prepare('INSERT OR IGNORE INTO desk_settled (message_row, action, user, at, person, period) VALUES (?, ?, ?, ?, ?, ?)')
    .run(s.messageRow, s.action, s.user, s.at, s.person ?? null, s.period ?? null).changes === 1;
}

export function isSettled(store: Store, messageRow: number): boolean {
  return !!store.db.prepare('SELECT 1 FROM desk_settled WHERE message_row = ?').get(messageRow);
}

/** Mails with one of these outcomes the clerk has not settled, newest first. */
export function unsettledMessages(store: Store, outcomes: readonly string[], limit = 200): MessageRow[] {
  const marks = outcomes.map(() => '?').join(', ');
  return store.db.prepare(`SELECT * FROM messages WHERE state = 'done' AND outcome IN (${marks})
    AND id NOT IN (SELECT message_row FROM desk_settled) ORDER BY id DESC LIMIT ?`).all(...outcomes, limit) as MessageRow[];
}

export function messageById(store: Store, id: number): MessageRow | undefined {
  return store.db.prepare('SELECT * FROM messages WHERE id = ?').get(id) as MessageRow | undefined;
}

/** Every report of a person (superseded ones included), newest first. */
export function reportsOfPerson(store: Store, period: string, person: string) {
  return store.reportsOf(period).filter((r) => r.person === person).reverse();
}
