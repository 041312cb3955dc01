/**
 * Subordinate units' reports (table `unit_reports`, schema.ts): each is one unit's own ledger
 * for a period. The one that arrived last is current, as a person's report is.
 */
import type { UnitTask } from '../core/units.js';
import type { Store } from './store.js';

export interface UnitReportRecord {
  id: number;
  ledger: string;
  period: string;
  unit: string;
  message_row: number | null;
  sender: string;
  received_at: string;
  late: number;
  tasks: UnitTask[];
  superseded: number;
}

type Row = Omit<UnitReportRecord, 'tasks'> & { rows_json: string };
const record = (r: Row): UnitReportRecord => {
  const { rows_json: json, ...rest } = r;
  return { ...rest, tasks: JSON.parse(json) as UnitTask[] };
};

/** The unit reports of one ledger of a store. */
export class UnitReports {
  constructor(private readonly store: Store, private readonly ledger: string) {}

  private get db() { return this.store.db; }

  /** Records a unit's ledger; the one that arrived last is current, whatever order they were read in. */
  add(r: { period: string; unit: string; messageRow: number | null; sender: string; receivedAt: string; late: boolean; tasks: UnitTask[] }): number {
    const newer = this.db.prepare('SELECT 1 FROM unit_reports WHERE ledger = ? AND period = ? AND unit = ? AND superseded = 0 AND received_at > ?')
      .get(this.ledger, r.period, r.unit, r.receivedAt);
    if (!newer) this.db.prepare('UPDATE unit_reports SET superseded = 1 WHERE ledger = ? AND period = ? AND unit = ? AND superseded = 0').run(this.ledger, r.period, r.unit);
    return Number(this.db.prepare(`INSERT INTO unit_reports (ledger, period, unit, message_row, sender, received_at, late, rows_json, superseded)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(this.ledger, r.period, r.unit, r.messageRow, r.sender, r.receivedAt, r.late ? 1 : 0, JSON.stringify(r.tasks), newer ? 1 : 0).lastInsertRowid);
  }

  /** The current report of each unit (by name) for a period. */
  current(period: string): Map<string, UnitReportRecord> {
    const rows = this.db.prepare('SELECT * FROM unit_reports WHERE ledger = ? AND period = ? AND superseded = 0').all(this.ledger, period) as Row[];
    return new Map(rows.map((r) => [r.unit, record(r)]));
  }

  hasCurrent(period: string, unit: string): boolean {
    return !!this.db.prepare('SELECT 1 FROM unit_reports WHERE ledger = ? AND period = ? AND unit = ? AND superseded = 0').get(this.ledger, period, unit);
  }

  /** Per unit: how many reports the period has, and whether any came before the ledger went out. */
  tally(period: string): Map<string, { count: number; anyOnTime: boolean }> {
    const rows = this.db.prepare('SELECT unit, COUNT(*) AS n, MAX(late = 0) AS on_time FROM unit_reports WHERE ledger = ? AND period = ? GROUP BY unit')
      .all(this.ledger, period) as { unit: string; n: number; on_time: number }[];
    return new Map(rows.map((r) => [r.unit, { count: r.n, anyOnTime: r.on_time === 1 }]));
  }

  /** Whether a message was recorded as a unit's report already (applying is done once per message). */
  recorded(messageRow: number): boolean {
    return !!this.db.prepare('SELECT 1 FROM unit_reports WHERE message_row = ?').get(messageRow);
  }
}
