/**
 * Roll-up from subordinate units (局属单位): each unit of a ledger reports its own ledger each
 * period (any number of its own tasks, in the ledger's columns). What a unit's reply is, for
 * which period, and how a unit stands. Pure: the cycle hands in the mail as read and lookups.
 */
import type { Problem } from './reply.js';
import type { Unit } from './ledger.js';
import type { RawTask } from './import.js';
import type { MergedRow } from './merge.js';

export type { Unit } from './ledger.js';

/** One task of a unit's own ledger, its cells as the unit wrote them: a ledger row's columns. */
export type UnitTask = MergedRow;

/** A unit's ledger as read from a file (sheet/unit-table.ts). */
export interface UnitLedgerRead {
  tasks: UnitTask[];
  /** The file is a consolidated workbook written by taizhang (a unit that runs it itself). */
  taizhang: boolean;
  /** The period the file names (`月份：2020年6月`), when it names one. */
  period: string | null;
}

/** The ledger of units a config's ledger has, with the store's ledger id ('main' for `ledger:`). */
export const MAIN_LEDGER_ID = 'main';

/** What a unit is recorded under in the outbox's person column: apart from every person id. */
export function unitKey(unit: Pick<Unit, 'name'>): string {
  return `unit:${unit.name}`;
}

/** The unit whose address this is. */
export function unitByEmail(units: readonly Unit[] | undefined, email: string): Unit | undefined {
  const e = email.trim().toLowerCase();
  return e ? units?.find((u) => u.email.toLowerCase() === e) : undefined;
}

export function unitByKey(units: readonly Unit[] | undefined, key: string): Unit | undefined {
  return units?.find((u) => unitKey(u) === key);
}

/** A task row worth keeping: it names a task or says something (blank rows of the form are not tasks). */
const blank = (s: string | undefined) => (s ?? '').trim() === '';

/** The raw rows of a unit's table as its tasks, by 序号, blank rows left out. Words kept as written. */
export function unitTasksFrom(raw: readonly RawTask[]): UnitTask[] {
  return [...raw].sort((a, b) => a.no - b.no)
    .filter((r) => !blank(r.task) || !blank(r.progress))
    .map((r) => ({
      no: r.no, task: r.task, due: r.due, departments: r.departments, owners: r.owners,
      progress: r.progress ?? '', remark: r.remark,
    }));
}

/** `2020年6月` (as a title or 月份 line writes it) → `2020-06`; null when the text names none. */
export function periodFromText(text: string): string | null {
  const m = /(\d{4})\s*年\s*(\d{1,2})\s*月/.exec(text);
  if (!m) return null;
  const month = Number(m[2]);
  return month >= 1 && month <= 12 ? `${m[1]}-${String(month).padStart(2, '0')}` : null;
}

/** A file of a unit's mail as deciding sees it. */
export type UnitFile = { ok: true; unitLedger?: UnitLedgerRead; filename?: string } | { ok: false; code: string; kind: string; message: string };

/** What deciding reads of a unit's mail. */
export interface UnitMail {
  from: string;
  references: string[];
  class: { kind: string };
  authFail?: string | null;
  files: UnitFile[];
}

export interface UnitLookups {
  isDuplicate(): boolean;
  /** Period and addressee (outbox person key) of one of our mails, by Message-ID. */
  sentMail(messageId: string): { period: string; person: string | null } | undefined;
  /** The latest period asked for. */
  openPeriod(): string | null;
  /** Requests went out for this period. */
  asked(period: string): boolean;
  hasCurrentReport(period: string, unit: string): boolean;
}

/** What a unit's mail is: its ledger recorded for a period, or why not. */
export interface UnitDecision {
  unit: Unit;
  period: string;
  outcome: 'accepted' | 'rejected' | 'note';
  tasks?: UnitTask[];
  /** Read from a taizhang consolidated workbook. */
  taizhang?: boolean;
  filename?: string;
  problem?: Problem;
  logLine: string;
}

const UNIT_PROBLEMS: Record<string, Problem> = {
  NO_ATTACHMENT: { problem: '邮件中没有找到本单位的台账表格。', fix: '请在通知邮件所附的《局属单位工作台账》表格中逐项填写本单位的任务和进展情况，保存后直接回复本邮件并附上该表格（也可附上本单位台账的 Word 或 Excel 文件）。' },
  SHEET_NO_TABLE: { problem: '附件中找不到台账表格（需有“序号”“主要任务”“责任人”“进展情况”表头）。', fix: '请使用通知邮件所附的表格填写，不要删除或改动表头，重新回复。' },
  EMPTY: { problem: '表格中没有填写任何任务。', fix: '请逐行填写本单位的任务（序号、主要任务、完成时间、责任科室、责任人、进展情况），保存后重新回复。' },
  SHEET_ENCRYPTED: { problem: '附件设置了打开密码，系统无法读取。', fix: '请取消文件密码后另存为 .xlsx 或 .docx 格式，重新回复。' },
  SHEET_UNSUPPORTED: { problem: '附件不是可以读取的 Excel 工作簿（.xlsx）或 Word 文档（.docx）。', fix: '请另存为 .xlsx 或 .docx 格式后重新回复。' },
  OTHER: { problem: '附件无法读取（可能已损坏或结构异常）。', fix: '请重新保存表格，确认能正常打开后重新回复。' },
};

/** The problem a unit is told for a file that gave no tasks. */
export function unitProblem(code: string): Problem {
  return UNIT_PROBLEMS[code] ?? UNIT_PROBLEMS.OTHER;
}

/** The period a unit's ledger counts for: the one the file names if it was asked for, else the thread's, else the open one. */
function unitPeriod(unit: Unit, mail: UnitMail, named: string | null, l: UnitLookups): string | null {
  if (named && l.asked(named)) return named;
  for (const ref of [...mail.references].reverse()) {
    const sent = l.sentMail(ref);
    if (sent && sent.person === unitKey(unit)) return sent.period;
  }
  return l.openPeriod();
}

/**
 * What to do with a mail from a unit's address; null when it is no unit's, or when it is for the
 * usual rules (bounces, forged senders, repeats, machine mail carrying no ledger). A unit running
 * taizhang mails its consolidated ledger as machine mail (Auto-Submitted): that is its report.
 */
export function decideUnit(mail: UnitMail, units: readonly Unit[] | undefined, l: UnitLookups): UnitDecision | null {
  const unit = unitByEmail(units, mail.from);
  if (!unit || mail.class.kind === 'bounce' || mail.authFail || l.isDuplicate()) return null;
  const read = mail.files.find((f): f is Extract<UnitFile, { ok: true }> => f.ok && !!f.unitLedger && f.unitLedger.tasks.length > 0);
  if (mail.class.kind !== 'human' && !read) return null;
  const period = unitPeriod(unit, mail, read?.unitLedger?.period ?? null, l);
  if (!period) return null; // nothing asked yet: the usual rules (kept, not answered as a report)
  if (read) {
    const { tasks, taizhang } = read.unitLedger!;
    return {
      unit, period, outcome: 'accepted', tasks, taizhang, filename: read.filename,
      logLine: `unit ledger recorded (${tasks.length} task(s)${taizhang ? ', a taizhang consolidated workbook' : ''})`,
    };
  }
  if (mail.files.length === 0 && l.hasCurrentReport(period, unit.name)) {
    return { unit, period, outcome: 'note', logLine: 'unit mail without a ledger after a recorded one: kept, not answered' };
  }
  const first = mail.files[0];
  const code = !first ? 'NO_ATTACHMENT' : first.ok ? (first.unitLedger ? 'EMPTY' : 'SHEET_NO_TABLE') : first.code;
  return { unit, period, outcome: 'rejected', problem: unitProblem(code), logLine: `unit mail not recorded: ${code}` };
}

export type UnitStatus = 'pending' | 'submitted' | 'late';
export const UNIT_STATUS_LABEL: Record<UnitStatus, string> = { pending: '未报送', submitted: '已报送', late: '逾期报送' };

/** How a unit stands for a period: as a person does (late: no report before the ledger went out). */
export function unitStatus(current: { late: boolean } | undefined, anyOnTime: boolean): UnitStatus {
  if (!current) return 'pending';
  return anyOnTime ? 'submitted' : 'late';
}
