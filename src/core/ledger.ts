/** Pure domain types and helpers for the work ledger (工作台账). No I/O here. */

export interface Task {
  /** 序号 */
  no: number;
  /** 主要任务 */
  task: string;
  /** 完成时间, as written in the notice, e.g. "10.31" */
  due: string;
  /** 责任科室 */
  departments: string[];
  /** 责任人 (names, matching Person.name) */
  owners: string[];
  /** 任务要求 */
  requirements?: string;
  /** 备注 */
  note?: string;
}

export interface Person {
  /**
   * The stable key of the person (`people[].id`, by default the name): what reports, mail and
   * forms are recorded under, so that a new address keeps them.
   */
  id: string;
  name: string;
  department: string;
  email: string;
}

/** The ledger of a single-`ledger:` config, and of everything recorded before ledgers had ids. */
export const MAIN_LEDGER = 'main';

/** A subordinate unit (局属单位) that reports its own ledger each period (`ledger.units`). */
export interface Unit {
  /** The unit's name, the key its reports are recorded under. */
  name: string;
  /** Where it is asked, and whose mail is its report (a unit running taizhang: its collection address). */
  email: string;
}

export interface Ledger {
  /** `ledgers[].id`; absent or `main` for the single `ledger:` of a config (see MAIN_LEDGER). */
  id?: string;
  title: string;
  tasks: Task[];
  /** Subordinate units rolled up into this ledger (局属单位); none when absent. */
  units?: Unit[];
}

/** The columns of the seed's table, in order. */
export const LEDGER_COLUMNS = ['序号', '主要任务', '完成时间', '进展情况', '责任科室', '责任人', '备注'] as const;

/** One row of a person's reply: what they wrote for one task. */
export interface ReportRow {
  no: number;
  /** 进展情况, exactly as written */
  progress: string;
  /** 备注, exactly as written */
  remark: string;
}

/** Each owner's tasks, per task list: each request and each reply looks up one person among thousands. */
const tasksByOwner = new WeakMap<Task[], { count: number; byOwner: Map<string, Task[]> }>();

export function tasksOf(ledger: Ledger, personName: string): Task[] {
  let index = tasksByOwner.get(ledger.tasks);
  if (!index || index.count !== ledger.tasks.length) {
    const byOwner = new Map<string, Task[]>();
    for (const t of [...ledger.tasks].sort((a, b) => a.no - b.no)) {
      for (const o of new Set(t.owners)) {
        const list = byOwner.get(o);
        if (list) list.push(t);
        else byOwner.set(o, [t]);
      }
    }
    index = { count: ledger.tasks.length, byOwner };
    tasksByOwner.set(ledger.tasks, index);
  }
  return [...(index.byOwner.get(personName) ?? [])];
}
