/**
 * Deciding what a person's reply means: whose report it is, for which month, and what to
 * answer. Pure: the caller does the I/O and hands in what it found.
 */
import type { ErrorCode } from '../errors.js';
import { tasksOf, type Ledger, type Person, type ReportRow, type Task } from './ledger.js';
import { personKeysOf, type TokenFields } from './identity.js';
import { parsePeriod, periodWords } from './period.js';

export type MatchVia = 'file' | 'thread' | 'sender';

/**
 * Whose report a reply is and the month it names: `period` is the form's month (via file), the
 * thread's (via thread) or the month last asked for (via sender). `formPeriod` and
 * `threadPeriod` are what the form and the thread each say, for {@link reportMonth}.
 */
export interface Match { person: Person; period: string; via: MatchVia; formPeriod?: string; threadPeriod?: string }

export interface MatchLookups {
  ledgerKey: string;
  people: readonly Person[];
  /** Person (id) and period of one of our own outgoing mails, by Message-ID. */
  sentMail(messageId: string): { period: string; person: string | null } | undefined;
  /** The month a reply with nothing else to go by is for (asked only then: it reads the store). */
  openPeriod: string | null | (() => string | null);
  /** Whose a form key is that no configured person's id or address gives (older forms, renames). */
  formKeyPerson?(key: string): string | undefined;
}

type By = 'key' | 'email' | 'id';
const indexes: Record<By, WeakMap<readonly Person[], Map<string, Person>>> = { key: new WeakMap(), email: new WeakMap(), id: new WeakMap() };

function index(people: readonly Person[], by: By): Map<string, Person> {
  if (by === 'id') return new Map(people.map((p) => [p.id, p]));
  if (by === 'email') return new Map(people.map((p) => [p.email, p]));
  // Address keys (older forms) first, so that an id key wins should the two ever coincide.
  return new Map([...people.map((p) => [personKeysOf(p)[1], p] as const), ...people.map((p) => [personKeysOf(p)[0], p] as const)]);
}

/** Looks a person up by form key, address or id; the roster is indexed once (every reply looks someone up). */
function lookup(people: readonly Person[], by: By, value: string): Person | undefined {
  let found = indexes[by].get(people);
  if (!found) indexes[by].set(people, (found = index(people, by)));
  return found.get(value);
}

/**
 * The person a form's person key names: by their id, or (forms written before ids) by their
 * address, else by what the store remembers of keys from before (`stored`: key → id).
 */
export function personByKey(people: readonly Person[], key: string, stored?: (key: string) => string | undefined): Person | undefined {
  const found = lookup(people, 'key', key);
  if (found || !stored) return found;
  const id = stored(key);
  return id === undefined ? undefined : lookup(people, 'id', id);
}

/** The person with this id (what the store records people under). */
export function personById(people: readonly Person[], id: string): Person | undefined {
  return lookup(people, 'id', id);
}

/** The person with this address on the roster. */
export function personByEmail(people: readonly Person[], email: string): Person | undefined {
  return lookup(people, 'email', email.toLowerCase());
}

/**
 * The file's identity first (the sender's own form before a colleague's), then the thread
 * (In-Reply-To, References), then the sender's address.
 */
export function matchReply(input: { tokens: TokenFields[]; references: string[]; sender: string }, l: MatchLookups): Match | null {
  const sender = input.sender.toLowerCase();
  const ours = input.tokens.filter((t) => t.ledgerKey === l.ledgerKey)
    .map((t) => ({ t, owner: personByKey(l.people, t.personKey, l.formKeyPerson) }))
    .filter((o): o is { t: TokenFields; owner: Person } => !!o.owner);
  const own = ours.find((o) => o.owner.email === sender) ?? ours[0];
  // The newest of our mails the reply refers to: the month it answers.
  const refs = [...input.references].reverse();
  const thread = refs.map((r) => l.sentMail(r)).find(Boolean);
  if (own) return { person: own.owner, period: own.t.period, via: 'file', formPeriod: own.t.period, threadPeriod: thread?.period };
  // The thread counts only for a sender we know: a stranger with no form of ours gets no answer.
  const person = lookup(l.people, 'email', sender);
  for (const ref of person ? refs : []) {
    const sent = l.sentMail(ref);
    const addressee = sent?.person ? lookup(l.people, 'id', sent.person) : undefined;
    if (sent && addressee) return { person: addressee, period: sent.period, via: 'thread', threadPeriod: sent.period };
  }
  const openPeriod = person && (typeof l.openPeriod === 'function' ? l.openPeriod() : l.openPeriod);
  if (person && openPeriod) return { person, period: openPeriod, via: 'sender' };
  return null;
}

/** What deciding the month looks up in the store. */
export interface MonthLookups {
  /** The latest month asked for (requests sent), up to the present one. */
  openPeriod(): string | null;
  /** The month's ledger went to the office. */
  closed(period: string): boolean;
}

/** The month a report counts for, and why when it is not the one its form or thread names. */
export interface ReportMonth {
  period: string;
  /** The month the form (or the thread) named, when the report counts for a later open month instead. */
  movedFrom?: { period: string; via: 'file' | 'thread' };
  /** Sent by the correction route (更正 in the subject): for the month the form (else the thread) names, even a closed one. */
  correction: boolean;
}

/** The correction route: the subject says 更正. */
export function isCorrection(subject: string | undefined): boolean {
  return /更正/.test(subject ?? '');
}

/**
 * A report counts for the month it was asked for. The form and the thread each name a month
 * (the later of the two wins: July's thread with June's file is July's report). A month whose
 * ledger went out is not rewritten by habit: a report naming it counts for the month now asked
 * for, if that is a later one still open. Only the correction route (更正) goes to the named
 * month whatever its state; with nothing named, the month last asked for.
 */
export function reportMonth(m: Pick<Match, 'period' | 'formPeriod' | 'threadPeriod'>, correction: boolean, l: MonthLookups): ReportMonth {
  const { formPeriod: form, threadPeriod: thread } = m;
  if (!form && !thread) return { period: m.period, correction };
  if (correction) return { period: (form ?? thread)!, correction };
  let period = form && thread ? (form >= thread ? form : thread) : (form ?? thread)!;
  if (l.closed(period)) {
    const open = l.openPeriod();
    if (open && open > period && !l.closed(open)) period = open;
  }
  // Said in the receipt: the form (else the thread) named another month than the one it counts for.
  const named = form ?? thread!;
  return named === period ? { period, correction } : { period, correction, movedFrom: { period: named, via: form ? 'file' : 'thread' } };
}

/** Message-IDs a reply refers to, newest last. */
export function referencedIds(inReplyTo: string | undefined, references: string | string[] | undefined): string[] {
  const refs = Array.isArray(references) ? references : references ? references.split(/\s+/) : [];
  const all = [...refs, ...(inReplyTo ? inReplyTo.split(/\s+/) : [])].map((s) => s.trim()).filter((s) => /^<.+>$/.test(s));
  return [...new Set(all)];
}

export interface Problem { problem: string; fix: string }

/** What the person is told when a file cannot be used, by error code and the file's kind (CLOSED: the period's). */
export function problemFor(code: ErrorCode | 'NO_ATTACHMENT' | 'NOT_FILLED' | 'NOT_OURS' | 'CLOSED' | 'BODY_FOREIGN', kind?: string, period?: string): Problem {
  switch (code) {
    case 'BODY_FOREIGN':
      return { problem: '邮件正文中列出的任务均不是您负责的任务，未予登记。', fix: '请在邮件正文中按您负责任务的序号逐项写明进展情况（如“1. ……”）后回复，或在本邮件所附表格中填写后回复并附上该表格。' };
    case 'CLOSED':
      return { problem: `${periodWords(period && parsePeriod(period)?.cadence || 'monthly').that}汇总台账已报送办公室，您此前报送的内容保持不变，本次未作改动。`, fix: '如确需更正已报送的内容，请在邮件主题中注明“更正”二字后重新发送，汇总台账将随之更新并告知办公室。' };
    case 'NO_ATTACHMENT':
      return { problem: '邮件中没有找到填写后的表格附件。', fix: '请在原通知邮件所附表格的“进展情况”栏填写后保存，直接回复本邮件并添加该表格为附件。' };
    case 'NOT_FILLED':
      return { problem: '表格中您负责的任务均未填写进展情况。', fix: '请在“进展情况”栏填写后保存，重新回复并附上该表格。' };
    case 'NOT_OURS':
      return { problem: '附件不是本次发送的台账表格（缺少表单编号或与本台账不符）。', fix: '请使用通知邮件所附的表格填写后回复，不要新建或复制到其他文件。' };
    case 'SHEET_ENCRYPTED':
      return { problem: '附件设置了打开密码，系统无法读取。', fix: '请取消文件密码后另存为 .xlsx 格式，重新回复。' };
    case 'SHEET_TOO_LARGE':
      return { problem: '附件过大或结构异常，系统未予读取。', fix: '请使用通知邮件所附的原表格填写后重新回复。' };
    case 'SHEET_CORRUPT':
      return { problem: '附件已损坏或不完整，无法打开。', fix: '请重新保存表格，确认能正常打开后重新回复。' };
    case 'SHEET_TIMEOUT':
      return { problem: '附件内容过于复杂（如整表设置了数据有效性），系统无法在限定时间内读取。', fix: '请使用通知邮件所附的原表格填写后重新回复。' };
    case 'SHEET_NO_TABLE':
      return { problem: '附件中找不到台账表格（“序号”“进展情况”表头）。', fix: '请使用通知邮件所附的表格填写，不要删除或改动表头。' };
    case 'SHEET_UNSUPPORTED':
      return unsupported(kind);
    default:
      return { problem: '附件无法读取。', fix: '请另存为 .xlsx 格式后重新回复。' };
  }
}

function unsupported(kind: string | undefined): Problem {
  const fix = '请用 Excel 或 WPS 打开后“另存为” Excel 工作簿（.xlsx）格式，重新回复并附上该文件。';
  switch (kind) {
    case 'xls': return { problem: '附件为旧版 Excel 97-2003 格式（.xls），系统无法读取。', fix };
    case 'et': return { problem: '附件为 WPS 表格格式（.et），系统无法读取。', fix };
    case 'ods': return { problem: '附件为 OpenDocument 格式（.ods），系统无法读取。', fix };
    case 'xlsb': return { problem: '附件为 Excel 二进制格式（.xlsb），系统无法读取。', fix };
    case 'csv': return { problem: '附件为 CSV 文本，不是原表格。', fix: '请在通知邮件所附的 .xlsx 表格中填写后回复。' };
    case 'doc': return { problem: '附件为 Word 97-2003 文档（.doc），系统无法读取。', fix: '请用 Word 或 WPS 打开后“另存为”Word 文档（.docx）格式，或在通知邮件所附的表格中填写，重新回复。' };
    default: return { problem: '附件不是可以读取的电子表格（.xlsx）。', fix };
  }
}

export interface Evaluated {
  rows: ReportRow[];
  filled: { task: Task; row: ReportRow }[];
  empty: Task[];
}

/** The person's rows from the file, by 序号: what they filled and which of their tasks are empty. */
export function evaluateRows(ledger: Ledger, person: Person, fileRows: ReportRow[]): Evaluated {
  const byNo = new Map<number, ReportRow>();
  for (const r of fileRows) if (!byNo.has(r.no) || (byNo.get(r.no)!.progress.trim() === '' && r.progress.trim() !== '')) byNo.set(r.no, r);
  const filled: Evaluated['filled'] = [];
  const empty: Task[] = [];
  for (const task of tasksOf(ledger, person.name)) {
    const row = byNo.get(task.no);
    if (row && row.progress.trim() !== '') filled.push({ task, row: { no: task.no, progress: row.progress, remark: row.remark } });
    else empty.push(task);
  }
  return { rows: filled.map((f) => f.row), filled, empty };
}
