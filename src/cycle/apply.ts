/** Deciding a stored message against the store, and recording what the decision says. */
import { decide, type Decision, type PlannedReport } from '../core/decide.js';
import type { Bounce } from '../mail/bounce.js';
import type { Analysis } from '../parse/analyze.js';
import type { MessageRow, Store } from '../store/store.js';
import { answer, type ApplyContext } from './answer.js';
import type { Context } from './context.js';
import { latestAskedPeriod } from './status.js';
import { timingOf } from './timing.js';
import { applyUnitDecision, decideUnitMessage } from './units.js';
import { forwardToOffice } from './forward.js';

export type { ApplyContext } from './answer.js';

/** What to do with one analysed message, by what the store holds. Reads state, changes nothing. */
export function decideMessage(ctx: Pick<Context, 'config' | 'store' | 'clock'>, row: MessageRow, a: Analysis): Decision {
  const { config, store } = ctx;
  const unit = decideUnitMessage(ctx, row, a); // a subordinate unit's ledger (局属单位)
  if (unit) return unit;
  return decide(a, config, {
    isDuplicate: () => !!store.duplicateOf(row),
    sentMail: (mid) => {
      const o = store.outboxByMessageId(mid);
      return o && { period: o.period, person: o.person || null };
    },
    openPeriod: () => latestAskedPeriod(store, ctx.clock.now(), timingOf(config.schedule, config.timezone)),
    closed: (period) => !!store.period(period)?.consolidated_at,
    hasCurrentReport: (period, email) => store.hasCurrentReport(period, email),
    heldReport: (mid) => heldByNotice(store, mid),
    formKeyPerson: (key) => store.formKeyPerson(key),
    currentRows: (period, person) => store.currentReport(period, person)?.rows,
  });
}

/** The report still held for its owner that a notice of ours (by Message-ID) asked about. */
function heldByNotice(store: Store, messageId: string): { id: number; person: string; period: string } | undefined {
  const o = store.outboxByMessageId(messageId);
  const m = o?.kind === 'notice' && o.person ? /^held-(\d+)$/.exec(o.slot) : null;
  const held = m ? store.heldReport({ messageRow: Number(m[1]), person: o!.person! }) : undefined;
  return held?.state === 'held' ? { id: held.id, person: held.person, period: held.period } : undefined;
}

/**
 * A bounce counts only when it names a Message-ID of a mail we sent: that is the proof it
 * returns our mail (the IDs are random; a stranger cannot know one). A delay notice is no failure.
 */
function recordBounce(ctx: ApplyContext, b: Bounce): void {
  const target = b.originalMessageId ? ctx.store.outboxByMessageId(b.originalMessageId) : undefined;
  const proven = !!target && (target.state === 'sent' || target.state === 'sending') && !b.delayedOnly;
  if (proven) ctx.store.markBounced(target.id, ctx.clock.now().toISOString());
  const why = !b.originalMessageId ? 'it names no Message-ID' : !target ? 'it names no mail of ours' : b.delayedOnly ? 'a delay, not a failure' : 'that mail was never sent';
  ctx.log.warn({ person: target?.person, period: target?.period, messageId: b.originalMessageId, failed: b.failedRecipients },
    proven ? 'our mail bounced: delivery marked as bounced' : `bounce not counted: ${why}`);
}

/** The reports a decision records or holds: its main one first. */
export function plannedReports(d: Decision): PlannedReport[] {
  if ((d.outcome !== 'accepted' && d.outcome !== 'held') || !d.person || !d.period || !d.report) return [];
  return [{ person: d.person, period: d.period, report: d.report, hold: d.hold, movedFrom: d.movedFrom }, ...(d.others ?? [])];
}

/** Records what the decision says and queues the answers. Idempotent per message. */
export async function applyDecision(ctx: ApplyContext, row: MessageRow, a: Analysis, d: Decision): Promise<void> {
  const { store } = ctx;
  if (d.unit) return applyUnitDecision(ctx, row, a, d.unit);
  if (d.outcome === 'bounce' && a.class.kind === 'bounce') return recordBounce(ctx, a.class);
  // Late means it arrived after the ledger went out; one that arrived before but is read only now
  // (the mailbox was unreachable, a retry) is on time, and the office gets an updated ledger.
  const closedAt = (period: string) => store.period(period)?.consolidated_at;
  const isLate = (period: string) => { const at = closedAt(period); return !!at && row.received_at >= at; };
  const touch = (period: string) => { if (closedAt(period)) store.markDirty(period); };
  if (d.outcome === 'confirmed' && d.confirms) {
    store.tx(() => {
      const held = store.heldReport({ id: d.confirms! });
      if (!held || held.state !== 'held') return;
      store.addReport({ period: held.period, person: held.person, messageRow: row.id, sender: held.sender, receivedAt: row.received_at, late: isLate(held.period), rows: held.rows });
      store.markHeldApplied(held.id, row.id);
      touch(held.period);
    });
    return answer(ctx, row, a, d, [], isLate);
  }
  if (!d.person || !d.period || (d.outcome !== 'accepted' && d.outcome !== 'held' && d.outcome !== 'rejected')) return;
  const plans = plannedReports(d);
  store.tx(() => {
    if (store.messageRecorded(row.id)) return;
    for (const p of plans) {
      const r = { period: p.period, person: p.person.id, messageRow: row.id, sender: a.from, receivedAt: row.received_at, rows: p.report.rows };
      if (p.hold) store.holdReport(r);
      else {
        store.addReport({ ...r, late: isLate(p.period) });
        touch(p.period);
      }
    }
  });
  await forwardToOffice(ctx, row, a, d);
  await answer(ctx, row, a, d, plans, isLate);
}
