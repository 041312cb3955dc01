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
  name: string;
  department: string;
  email: string;
}

export interface Ledger {
  title: string;
  tasks: Task[];
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

export function tasksOf(ledger: Ledger, personName: string): Task[] {
  return ledger.tasks.filter((t) => t.owners.includes(personName)).sort((a, b) => a.no - b.no);
}
