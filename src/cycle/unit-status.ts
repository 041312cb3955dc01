/**
 * How each subordinate unit (局属单位) of the ledger stands for a period: for `status`, the
 * 填报情况 sheet and the 局属单位 sheet. Units are recorded under the ledger's id ('main' for
 * the single `ledger:`).
 */
import type { Config } from '../app/config.js';
import { MAIN_LEDGER_ID, UNIT_STATUS_LABEL, unitKey, unitStatus, type Unit, type UnitStatus, type UnitTask } from '../core/units.js';
import type { Delivery } from '../core/merge.js';
import type { OutboxRow, Store } from '../store/store.js';
import { UnitReports } from '../store/unit-reports.js';

/** The store id of the config's ledger: `main` for the single `ledger:`. */
export function ledgerIdOf(config: Pick<Config, 'ledger'>): string {
  return config.ledger.id ?? MAIN_LEDGER_ID;
}

export function unitReportsOf(config: Pick<Config, 'ledger'>, store: Store): UnitReports {
  return new UnitReports(store, ledgerIdOf(config));
}

export interface UnitState {
  unit: Unit;
  status: UnitStatus;
  /** 已报送 / 逾期报送 / 未报送, or 退信 / 发送失败 while nothing came. */
  label: string;
  delivery: Delivery;
  reportedAt: string | null;
  /** The address the current report came from, when not the unit's own. */
  sentBy: string | null;
  reports: number;
  tasks: UnitTask[];
}

/** A unit's delivery, told as a person's is (status.ts deliveryOf): its request and reminders. */
function unitDelivery(rows: OutboxRow[]): Delivery {
  const asked = rows.filter((r) => r.kind === 'unit-request' || r.kind === 'unit-reminder');
  if (asked.some((r) => r.bounced_at)) return 'bounced';
  const request = asked.find((r) => r.kind === 'unit-request');
  if (!request) return 'none';
  if (request.state === 'failed') return asked.some((r) => r.state === 'sent') ? 'sent' : 'failed';
  return request.state === 'sent' ? 'sent' : 'queued';
}

export function unitStates(config: Pick<Config, 'ledger'>, store: Store, period: string): UnitState[] {
  const units = config.ledger.units ?? [];
  if (units.length === 0) return [];
  const reports = unitReportsOf(config, store);
  const current = reports.current(period);
  const tally = reports.tally(period);
  return units.map((unit) => {
    const r = current.get(unit.name);
    const status = unitStatus(r && { late: r.late === 1 }, tally.get(unit.name)?.anyOnTime ?? false);
    const delivery = unitDelivery(store.outboxOfPerson(period, unitKey(unit)));
    const label = status === 'pending' && delivery === 'bounced' ? '退信' : status === 'pending' && delivery === 'failed' ? '发送失败' : UNIT_STATUS_LABEL[status];
    return {
      unit, status, label, delivery, reportedAt: r?.received_at ?? null,
      sentBy: r && r.sender.toLowerCase() !== unit.email.toLowerCase() ? r.sender : null,
      reports: tally.get(unit.name)?.count ?? 0, tasks: r?.tasks ?? [],
    };
  });
}

/** The `units` array of `status --json`. */
export function unitsJson(states: UnitState[]) {
  return states.map((s) => ({
    name: s.unit.name, email: s.unit.email, status: s.status, label: s.label, delivery: s.delivery,
    reportedAt: s.reportedAt, sentBy: s.sentBy, reports: s.reports, tasks: s.tasks.length,
  }));
}
