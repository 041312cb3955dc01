/**
 * Helpers for the collection tests: extra people (one per case, so cases sharing a project never
 * touch each other), replies sent through the stack's SMTP relay as a mail client would, and
 * lookups in the collection mailbox's folders and the people's inboxes.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import ExcelJS from 'exceljs';
import type { ParsedMail } from 'mailparser';
import nodemailer from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer/index.js';
import type { MailStack } from '../../tools/mail-stack.js';
import { fillForm } from '../../tools/respondent.js';
import { readZipDirectory, readZipEntry } from '../../src/sheet/zip.js';
import { storedZip } from './stored-zip.js';
import type { Project } from './project.js';

export const FIXTURES = path.resolve(import.meta.dirname, '..', 'fixtures');
export const fixture = (rel: string) => readFileSync(path.join(FIXTURES, rel));

export const FOLDERS = {
  processed: '台账-已处理',
  rejected: '台账-需补正',
  quarantine: '台账-隔离',
  machine: '台账-自动邮件',
} as const;

export interface CasePerson { key: string; name: string; department: string; email: string; tasks: { no: number; task: string }[] }

/**
 * One extra person per key, each owning `tasksEach` tasks of their own (numbered from `firstNo`).
 * Names are Chinese-looking and unique; addresses are `<key>@cases.test`.
 */
export function casePeople(keys: string[], firstNo = 101, tasksEach = 2): Record<string, CasePerson> {
  const out: Record<string, CasePerson> = {};
  let no = firstNo;
  keys.forEach((key, i) => {
    const tasks = Array.from({ length: tasksEach }, (_, j) => ({ no: no + j, task: `测试任务${key}之${j + 1}` }));
    no += tasksEach;
    out[key] = { key, name: `测试员${String.fromCharCode(0x7532 + i)}${key}`, department: '测试科', email: `${key.toLowerCase()}@cases.test`, tasks };
  });
  return out;
}

/** Adds case people and their tasks to a config document (for makeProject's `edit`). */
export function addPeople(doc: Record<string, any>, people: Record<string, CasePerson>): void {
  for (const p of Object.values(people)) {
    doc.people.push({ name: p.name, department: p.department, email: p.email });
    for (const t of p.tasks) doc.ledger.tasks.push({ no: t.no, task: t.task, due: '10.31', departments: [p.department], owners: [p.name] });
  }
}

export type Parsed = ParsedMail & { uid: number; raw: Buffer };

/** The month's request (【请填报】) in a person's inbox. */
export async function requestOf(project: Project, email: string): Promise<Parsed> {
  const all = await project.inbox(email);
  const req = all.find((m) => (m.subject ?? '').startsWith('【请填报】'));
  if (!req) throw new Error(`no request in ${email}'s inbox (${all.map((m) => m.subject).join(' | ')})`);
  return req;
}

/** The .xlsx form attached to a request. */
export function formOf(mail: ParsedMail): { filename: string; content: Buffer } {
  const a = mail.attachments.find((x) => x.filename?.endsWith('.xlsx'));
  if (!a || !a.filename) throw new Error('the request has no .xlsx attached');
  return { filename: a.filename, content: a.content };
}

/** A filled copy of a person's form: `answer(no)` gives the words for 序号 `no`. */
export async function filledForm(project: Project, email: string, answer: (no: number) => { progress?: string; remark?: string } | undefined) {
  const req = await requestOf(project, email);
  const form = formOf(req);
  return { request: req, filename: form.filename, content: await fillForm(form.content, answer) };
}

export interface SendOptions {
  from: string;
  to?: string;
  subject?: string;
  text?: string;
  /** The mail replied to: sets In-Reply-To and References. */
  replyTo?: ParsedMail;
  attachments?: Mail.Attachment[];
  headers?: Record<string, string>;
  messageId?: string;
}

/** Sends a mail through the stack's SMTP relay, logged in as the sender; returns its Message-ID. */
export async function send(stack: MailStack, project: Project, o: SendOptions): Promise<string> {
  const t = nodemailer.createTransport({
    host: stack.smtp.host, port: stack.smtp.port, secure: false, ignoreTLS: true,
    auth: { user: o.from, pass: stack.password },
  });
  try {
    const info = await t.sendMail({
      from: o.from, to: o.to ?? project.mailbox,
      subject: o.subject ?? (o.replyTo ? `回复:${o.replyTo.subject ?? ''}` : '进展情况'),
      text: o.text ?? '已填写,请查收。',
      inReplyTo: o.replyTo?.messageId, references: o.replyTo?.messageId ? [o.replyTo.messageId] : undefined,
      attachments: o.attachments ?? [], headers: o.headers, messageId: o.messageId,
    });
    return info.messageId;
  } finally {
    t.close();
  }
}

/** Every message of the collection mailbox, by folder (INBOX and the four outcome folders). */
export async function collectionFolders(stack: MailStack, project: Project): Promise<Record<string, { messageId?: string; source: Buffer }[]>> {
  const out: Record<string, { messageId?: string; source: Buffer }[]> = {};
  const existing = new Set((await stack.listFolders(project.mailbox)).map((f) => f.path));
  for (const folder of ['INBOX', ...Object.values(FOLDERS)]) {
    out[folder] = existing.has(folder) ? await stack.listMessages(project.mailbox, folder) : [];
  }
  return out;
}

export type FolderSnapshot = Awaited<ReturnType<typeof collectionFolders>>;

/** The folders of the collection mailbox holding a Message-ID (normally exactly one). */
export async function foldersOf(stack: MailStack, project: Project, messageId: string, snapshot?: FolderSnapshot): Promise<string[]> {
  const all = snapshot ?? (await collectionFolders(stack, project));
  const mid = messageId.replace(/^<|>$/g, '');
  return Object.entries(all).flatMap(([f, list]) => list.filter((m) => (m.messageId ?? '').replace(/^<|>$/g, '') === mid).map(() => f));
}

/** Mail in a user's inbox that answers the given Message-ID. */
export async function answersTo(project: Project, user: string, messageId: string): Promise<Parsed[]> {
  return (await project.inbox(user)).filter((m) => m.inReplyTo === messageId);
}

/** Mail in a user's inbox other than the month's request and reminders. */
export async function nonRequestMail(project: Project, user: string): Promise<Parsed[]> {
  return (await project.inbox(user)).filter((m) => !/^【(请填报|提醒)】/.test(m.subject ?? ''));
}

/** The raw header value as written (first occurrence). */
export function header(raw: Buffer, name: string): string | undefined {
  const text = raw.toString('latin1');
  const head = text.slice(0, text.search(/\r?\n\r?\n/)).replace(/\r?\n[ \t]+/g, ' ');
  return new RegExp(`^${name}:[ \\t]*(.*)$`, 'im').exec(head)?.[1].trim();
}

export interface LedgerMail { mail: Parsed; workbook: ExcelJS.Workbook; progress: Map<number, string>; remark: Map<number, string>; people: Map<string, string[]> }

/** The office's ledger mails (oldest first), each with its attachment read by exceljs. */
export async function ledgers(project: Project): Promise<LedgerMail[]> {
  const out: LedgerMail[] = [];
  for (const mail of await project.inbox(project.office)) {
    const att = mail.attachments.find((a) => a.filename?.endsWith('.xlsx'));
    if (!att) continue;
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(att.content as unknown as ArrayBuffer);
    const progress = new Map<number, string>();
    const remark = new Map<number, string>();
    const ws = wb.getWorksheet('台账');
    if (!ws) throw new Error('ledger has no 台账 sheet');
    let cols: Record<string, number> | null = null;
    ws.eachRow((row) => {
      const vals = (row.values as unknown[]).map((v) => (typeof v === 'string' ? v : typeof v === 'number' ? v : v == null ? '' : (v as any).richText ? (v as any).richText.map((r: any) => r.text).join('') : String(v)));
      if (!cols) {
        if (vals.includes('序号') && vals.includes('进展情况')) cols = { no: vals.indexOf('序号'), progress: vals.indexOf('进展情况'), remark: vals.indexOf('备注') };
        return;
      }
      const no = Number(vals[cols.no]);
      if (!Number.isInteger(no)) return;
      progress.set(no, String(vals[cols.progress] ?? ''));
      remark.set(no, String(vals[cols.remark] ?? ''));
    });
    const people = new Map<string, string[]>();
    const ps = wb.getWorksheet('填报情况');
    ps?.eachRow((row) => {
      const vals = (row.values as unknown[]).slice(1).map((v) => (v == null ? '' : typeof v === 'object' && (v as any).richText ? (v as any).richText.map((r: any) => r.text).join('') : String(v)));
      if (vals.some((v) => v.includes('@'))) people.set(vals.find((v) => v.includes('@'))!, vals);
    });
    out.push({ mail, workbook: wb, progress, remark, people });
  }
  return out;
}

// ── zips built in tests: stored entries (helpers/stored-zip.ts) ──
/** A zip archive of the given entries, stored (not compressed). */
export const zipStored = storedZip;

/** The same zip with some entries' bytes changed (`edit` returns undefined to keep one as it is). */
export function rezip(zip: Buffer, edit: (name: string, data: Buffer) => Buffer | undefined): Buffer {
  const entries = readZipDirectory(zip).map((e) => {
    const data = readZipEntry(zip, e, 64 * 1024 * 1024);
    return { name: e.name, data: edit(e.name, data) ?? data };
  });
  return zipStored(entries);
}
