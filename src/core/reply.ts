/**
 * Deciding what a person's reply means: whose report it is, for which month, and what to
 * answer. Pure: the caller does the I/O and hands in what it found.
 */
import type { ErrorCode } from '../errors.js';
import { tasksOf, type Ledger, type Person, type ReportRow, type Task } from './ledger.js';
import { personKeyOf, type TokenFields } from './identity.js';

export type MatchVia = 'file' | 'thread' | 'sender';

export interface Match { person: Person; period: string; via: MatchVia }

export interface MatchLookups {
  ledgerKey: string;
  people: readonly Person[];
  /** Person and period of one of our own outgoing mails, by Message-ID. */
  sentMail(messageId: string): { period: string; person: string | null } | undefined;
  /** The month a reply with nothing else to go by is for (asked only then: it reads the store). */
  openPeriod: string | null | (() => string | null);
}

const indexes = { key: new WeakMap<readonly Person[], Map<string, Person>>(), email: new WeakMap<readonly Person[], Map<string, Person>>() };

/** Looks a person up by form key or address; the roster is indexed once (every reply looks someone up). */
function lookup(people: readonly Person[], by: 'key' | 'email', value: string): Person | undefined {
  let index = indexes[by].get(people);
  if (!index) indexes[by].set(people, (index = new Map(people.map((p) => [by === 'key' ? personKeyOf(p.email) : p.email, p]))));
  return index.get(value);
}

/** The person a form's person key names. */
export function personByKey(people: readonly Person[], key: string): Person | undefined {
  return lookup(people, 'key', key);
}

/** The file's identity first, then the thread (In-Reply-To, References), then the sender's address. */
export function matchReply(input: { tokens: TokenFields[]; references: string[]; sender: string }, l: MatchLookups): Match | null {
  for (const t of input.tokens) {
    if (t.ledgerKey !== l.ledgerKey) continue;
    const person = personByKey(l.people, t.personKey);
    if (person) return { person, period: t.period, via: 'file' };
  }
  // The thread counts only for a sender we know: a stranger with no form of ours gets no answer.
  const sender = input.sender.toLowerCase();
  const person = lookup(l.people, 'email', sender);
  for (const ref of person ? [...input.references].reverse() : []) {
    const sent = l.sentMail(ref);
    const addressee = sent?.person ? lookup(l.people, 'email', sent.person) : undefined;
    if (sent && addressee) return { person: addressee, period: sent.period, via: 'thread' };
  }
  const openPeriod = person && (typeof l.openPeriod === 'function' ? l.openPeriod() : l.openPeriod);
  if (person && openPeriod) return { person, period: openPeriod, via: 'sender' };
  return null;
}

/** Message-IDs a reply refers to, newest last. */
export function referencedIds(inReplyTo: string | undefined, references: string | string[] | undefined): string[] {
  const refs = Array.isArray(references) ? references : references ? references.split(/\s+/) : [];
  const all = [...refs, ...(inReplyTo ? inReplyTo.split(/\s+/) : [])].map((s) => s.trim()).filter((s) => /^<.+>$/.test(s));
  return [...new Set(all)];
}

export interface Problem { problem: string; fix: string }

/** What the person is told when a file cannot be used, by error code and the file's kind. */
export function problemFor(code: ErrorCode | 'NO_ATTACHMENT' | 'NOT_FILLED' | 'NOT_OURS', kind?: string): Problem {
  switch (code) {
    case 'NO_ATTACHMENT':
      return { problem: '邮件中没有找到填写后的表格附件。', fix: '请在原通知邮件所附表格的"进展情况"栏填写后保存,直接回复本邮件并添加该表格为附件。' };
    case 'NOT_FILLED':
      return { problem: '表格中您负责的任务均未填写进展情况。', fix: '请在"进展情况"栏填写后保存,重新回复并附上该表格。' };
    case 'NOT_OURS':
      return { problem: '附件不是本次发送的台账表格(缺少表单编号或与本台账不符)。', fix: '请使用通知邮件所附的表格填写后回复,不要新建或复制到其他文件。' };
    case 'SHEET_ENCRYPTED':
      return { problem: '附件设置了打开密码,系统无法读取。', fix: '请取消文件密码后另存为 .xlsx 格式,重新回复。' };
    case 'SHEET_TOO_LARGE':
      return { problem: '附件过大或结构异常,系统未予读取。', fix: '请使用通知邮件所附的原表格填写后重新回复。' };
    case 'SHEET_CORRUPT':
      return { problem: '附件已损坏或不完整,无法打开。', fix: '请重新保存表格,确认能正常打开后重新回复。' };
    case 'SHEET_TIMEOUT':
      return { problem: '附件内容过于复杂(如整表设置了数据有效性),系统无法在限定时间内读取。', fix: '请使用通知邮件所附的原表格填写后重新回复。' };
    case 'SHEET_NO_TABLE':
      return { problem: '附件中找不到台账表格("序号""进展情况"表头)。', fix: '请使用通知邮件所附的表格填写,不要删除或改动表头。' };
    case 'SHEET_UNSUPPORTED':
      return unsupported(kind);
    default:
      return { problem: '附件无法读取。', fix: '请另存为 .xlsx 格式后重新回复。' };
  }
}

function unsupported(kind: string | undefined): Problem {
  const fix = '请用 Excel 或 WPS 打开后"另存为" Excel 工作簿(.xlsx)格式,重新回复并附上该文件。';
  switch (kind) {
    case 'xls': return { problem: '附件为旧版 Excel 97-2003 格式(.xls),系统无法读取。', fix };
    case 'et': return { problem: '附件为 WPS 表格格式(.et),系统无法读取。', fix };
    case 'ods': return { problem: '附件为 OpenDocument 格式(.ods),系统无法读取。', fix };
    case 'xlsb': return { problem: '附件为 Excel 二进制格式(.xlsb),系统无法读取。', fix };
    case 'csv': return { problem: '附件为 CSV 文本,不是原表格。', fix: '请在通知邮件所附的 .xlsx 表格中填写后回复。' };
    case 'doc': return { problem: '附件为 Word 97-2003 文档（.doc），系统无法读取。', fix: '请用 Word 或 WPS 打开后“另存为”Word 文档（.docx）格式，或在通知邮件所附的表格中填写，重新回复。' };
    default: return { problem: '附件不是可以读取的电子表格(.xlsx)。', fix };
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
