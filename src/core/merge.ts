/** Merging reports into the office's ledger: pure functions, no I/O. */
import type { Ledger, Person, ReportRow, Task } from './ledger.js';

export type PersonStatus = 'pending' | 'submitted' | 'late';
export type Delivery = 'none' | 'queued' | 'sent' | 'failed' | 'bounced';

export interface AcceptedReport {
  rows: ReportRow[];
  late: boolean;
  receivedAt: string;
  /** Address the report came from. */
  sender: string;
}

export interface PersonState {
  person: Person;
  status: PersonStatus;
  delivery: Delivery;
  report?: AcceptedReport;
  reportCount: number;
  /** Set when somebody else sent the report on this person's behalf. */
  sentBy?: string;
  /** How many of the person's tasks their current report fills (progress not empty), of `tasks`. */
  filled: number;
  /** How many tasks the person has in the ledger. */
  tasks: number;
}

/** A report that leaves some of the person's tasks empty (部分填报); status stays submitted or late. */
export function isPartial(s: Pick<PersonState, 'status' | 'filled' | 'tasks'>): boolean {
  return s.status !== 'pending' && s.filled < s.tasks;
}

/** The label of the 填报情况 sheet: 部分填报 for a partial report on time, 逾期报送（部分填报） for a late one. */
export function sheetStatusLabel(s: Pick<PersonState, 'status' | 'delivery' | 'filled' | 'tasks'>): string {
  if (!isPartial(s)) return statusLabel(s);
  return s.status === 'late' ? `${STATUS_LABEL.late}（${PARTIAL_LABEL}）` : PARTIAL_LABEL;
}

export const PARTIAL_LABEL = '部分填报';

export const NOT_REPORTED = '未报送';
export const NOT_FILLED = '未填写';

export const STATUS_LABEL: Record<PersonStatus, string> = { pending: '未报送', submitted: '已报送', late: '逾期报送' };

/** The label the office sees: delivery problems first, since they explain a silence. */
export function statusLabel(s: Pick<PersonState, 'status' | 'delivery'>): string {
  if (s.status === 'pending' && s.delivery === 'bounced') return '退信';
  if (s.status === 'pending' && s.delivery === 'failed') return '发送失败';
  return STATUS_LABEL[s.status];
}

/** `own`: the person's tasks, to count how many their report fills (none given: counted as complete). */
export function personState(person: Person, reports: { accepted?: AcceptedReport; anyOnTime: boolean; count: number }, delivery: Delivery, own?: readonly Task[]): PersonState {
  const status: PersonStatus = reports.accepted ? (reports.anyOnTime ? 'submitted' : 'late') : 'pending';
  const sender = reports.accepted?.sender.toLowerCase();
  const words = new Set((reports.accepted?.rows ?? []).filter((r) => r.progress.trim() !== '').map((r) => r.no));
  const tasks = own?.length ?? 0;
  return {
    person, status, delivery, report: reports.accepted, reportCount: reports.count, tasks,
    filled: own ? own.filter((t) => words.has(t.no)).length : reports.accepted ? tasks : 0,
    sentBy: sender && sender !== person.email.toLowerCase() ? reports.accepted!.sender : undefined,
  };
}

export interface MergedRow {
  no: number;
  task: string;
  due: string;
  departments: string;
  owners: string;
  progress: string;
  remark: string;
}

function ownerWords(task: Task, owner: string, byName: Map<string, PersonState>, field: 'progress' | 'remark'): { text: string; reported: boolean } {
  const st = byName.get(owner);
  const report = st?.report;
  if (!report) return { text: field === 'progress' ? NOT_REPORTED : '', reported: false };
  const row = report.rows.find((r) => r.no === task.no);
  const text = row?.[field] ?? '';
  if (field === 'progress' && text.trim() === '') return { text: NOT_FILLED, reported: false };
  return { text, reported: true };
}

/**
 * One cell from the owners' words: a single owner's words exactly as written; with several
 * owners each one's words prefixed by the name. A silent owner reads `姓名:未报送`. Words a person
 * reported for the task before it was given to someone else stay, prefixed by their name, after
 * the current owners' (`formerly`: those people's names).
 */
export function mergeCell(task: Task, byName: Map<string, PersonState>, field: 'progress' | 'remark', formerly: string[] = []): string {
  const owners = task.owners.map((o) => ({ owner: o, ...ownerWords(task, o, byName, field) }));
  const former = formerly.map((o) => ({ owner: o, ...ownerWords(task, o, byName, field) })).filter((p) => p.reported);
  if (task.owners.length === 1 && former.length === 0) {
    const p = owners[0];
    return p.reported || field === 'remark' ? p.text : `${p.owner}：${p.text}`;
  }
  return [...owners.filter((p) => field === 'progress' || p.text !== ''), ...former.filter((p) => p.text !== '')]
    .map((p) => `${p.owner}：${p.text}`).join('\n');
}

/** Per task number, people who reported words for it without being among its owners now. */
function formerOwners(ledger: Ledger, states: PersonState[]): Map<number, string[]> {
  const owners = new Map(ledger.tasks.map((t) => [t.no, new Set(t.owners)]));
  const out = new Map<number, string[]>();
  for (const s of states) {
    for (const r of s.report?.rows ?? []) {
      const now = owners.get(r.no);
      if (!now || now.has(s.person.name) || (r.progress.trim() === '' && r.remark.trim() === '')) continue;
      const list = out.get(r.no) ?? [];
      if (!list.includes(s.person.name)) list.push(s.person.name);
      out.set(r.no, list);
    }
  }
  return out;
}

export function mergeRows(ledger: Ledger, states: PersonState[]): MergedRow[] {
  const byName = new Map(states.map((s) => [s.person.name, s]));
  const former = formerOwners(ledger, states);
  return [...ledger.tasks].sort((a, b) => a.no - b.no).map((t) => {
    const formerly = former.get(t.no) ?? [];
    const remark = mergeCell(t, byName, 'remark', formerly);
    return {
      no: t.no, task: t.task, due: t.due, departments: t.departments.join('、'), owners: t.owners.join(' '),
      progress: mergeCell(t, byName, 'progress', formerly),
      remark: [remark, t.note ?? ''].filter(Boolean).join('\n'),
    };
  });
}

export interface Summary {
  total: number;
  reported: number;
  onTime: number;
  late: number;
  missing: string[];
  /** Names of those whose report leaves some of their tasks empty (部分填报). */
  partial: string[];
  bounced: string[];
  departments: { name: string; total: number; reported: number }[];
}

export function summarize(states: PersonState[]): Summary {
  const depts = new Map<string, { name: string; total: number; reported: number }>();
  for (const s of states) {
    const name = s.person.department || '（未填科室）';
    const d = depts.get(name) ?? { name, total: 0, reported: 0 };
    d.total++;
    if (s.status !== 'pending') d.reported++;
    depts.set(name, d);
  }
  return {
    total: states.length,
    reported: states.filter((s) => s.status !== 'pending').length,
    onTime: states.filter((s) => s.status === 'submitted').length,
    late: states.filter((s) => s.status === 'late').length,
    missing: states.filter((s) => s.status === 'pending').map((s) => s.person.name),
    partial: states.filter(isPartial).map((s) => s.person.name),
    bounced: states.filter((s) => s.delivery === 'bounced' || s.delivery === 'failed').map((s) => s.person.name),
    departments: [...depts.values()],
  };
}

export interface HistoryRow { no: number; task: string; cells: string[]; unchanged: boolean }

/**
 * One row a task, one cell a month. A task is unchanged when its words this month are
 * the same as last month's (and there are words at all).
 */
export function buildHistory(ledger: Ledger, monthly: MergedRow[][]): HistoryRow[] {
  const byNo = monthly.map((rows) => new Map([...rows].reverse().map((r) => [r.no, r]))); // the first row of a number, as find() gave
  return [...ledger.tasks].sort((a, b) => a.no - b.no).map((t) => {
    const cells = byNo.map((rows) => rows.get(t.no)?.progress ?? '');
    const n = cells.length;
    const unchanged = n >= 2 && cells[n - 1] === cells[n - 2] && hasWords(cells[n - 1]);
    return { no: t.no, task: t.task, cells, unchanged };
  });
}

function hasWords(cell: string): boolean {
  return cell.trim() !== '' && !cell.split('\n').every((l) => l.endsWith(NOT_REPORTED) || l.endsWith(NOT_FILLED));
}
