/**
 * What the clerk's desk does to a period, through the same records and mail as the cycle: a
 * reminder to one person, a request again to a corrected address, a kept mail recorded as a
 * person's report (the decide/apply path's records and receipt), or set aside. Each mail is keyed
 * by the click's own slot, so that a form submitted twice queues one mail.
 */
import { sameLocalDay } from '../core/calendar.js';
import type { Decision } from '../core/decide.js';
import { tasksOf, type Person } from '../core/ledger.js';
import { fileNotes } from '../core/notes.js';
import { evaluateRows } from '../core/reply.js';
import { analyzeMessage, type Analysis } from '../parse/analyze.js';
import type { MessageRow } from '../store/store.js';
import { applyDecision } from './apply.js';
import type { Context } from './context.js';
import { commonData, personForm } from './forms.js';

const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

export type RemindResult = 'queued' | 'reported' | 'no-request' | 'asked-today' | 'repeat';

/** A reminder to one person now (by hand), after a request that went out on an earlier day. */
export async function remindPerson(ctx: Context, period: string, person: Person, slot: string): Promise<RemindResult> {
  const now = ctx.clock.now();
  if (ctx.store.hasCurrentReport(period, person.id)) return 'reported';
  if (ctx.outbox.has('reminder', period, person.id, slot)) return 'repeat';
  const requests = ctx.store.outboxFor('request', period, person.id);
  const request = requests.find((r) => r.state === 'sent');
  if (!request) return 'no-request';
  if (sameLocalDay(new Date(request.created_at), now, ctx.config.timezone)) return 'asked-today';
  const data = { ...commonData(ctx, period, person), taskCount: tasksOf(ctx.config.ledger, person.name).length };
  const form = await personForm(ctx, period, person);
  const added = await ctx.outbox.queue({ kind: 'reminder', period, person: person.id, slot }, {
    to: [{ name: person.name, address: person.email }], ...ctx.templates.render('reminder', data),
    attachments: [{ filename: data.attachmentName, content: form, contentType: XLSX }],
    inReplyTo: request.message_id, references: [request.message_id],
  }, now);
  return added ? 'queued' : 'repeat';
}

/** The period's request again, to the address the clerk corrected (a bounced or mistyped one). */
export async function resendRequest(ctx: Context, period: string, person: Person, address: string, slot: string): Promise<boolean> {
  const now = ctx.clock.now();
  ctx.store.markRequestsStarted(period, now.toISOString());
  const tasks = tasksOf(ctx.config.ledger, person.name).map((t) => ({ ...t, departments: t.departments.join('、') }));
  const data = { ...commonData(ctx, period, person), tasks };
  const form = await personForm(ctx, period, person);
  return ctx.outbox.queue({ kind: 'request', period, person: person.id, slot }, {
    to: [{ name: person.name, address }], ...ctx.templates.render('request', data),
    attachments: [{ filename: data.attachmentName, content: form, contentType: XLSX }],
  }, now);
}

export type AttachResult = { ok: true; filled: number } | { ok: false; why: string };

/**
 * Records a kept mail's form as the person's report for the period, as if it had come matched to
 * them: the report, a receipt to the sender and, when someone else sent it, the owner's notice.
 * The clerk chose the person, so only the rows of that person's tasks are taken.
 */
export async function attachMessage(ctx: Context, row: MessageRow, person: Person, period: string): Promise<AttachResult> {
  if (ctx.store.messageRecorded(row.id)) return { ok: false, why: '该邮件已登记过' };
  let analysis: Analysis;
  try {
    analysis = await analyzeMessage(ctx, row.raw_path);
  } catch {
    return { ok: false, why: '该邮件无法读取，不能登记' };
  }
  const files = analysis.files.filter((f) => f.ok);
  const file = files.find((f) => f.token?.period === period) ?? files[0];
  if (!file || !file.ok) return { ok: false, why: '该邮件没有可读取的表格，不能登记' };
  const report = evaluateRows(ctx.config.ledger, person, file.rows);
  if (report.filled.length === 0) return { ok: false, why: `该邮件的表格中没有${person.name}所负责任务的进展情况，未登记` };
  const decision: Decision = {
    outcome: 'accepted', folder: 'processed', person, period, report, hold: false, others: [],
    match: { person, period, via: 'sender' }, notes: fileNotes(ctx.config.ledger, person, file),
    logLine: 'kept mail recorded as the person\'s report by the desk',
  };
  // The receiving server's verdict is the clerk's to overrule: the mail is treated as a person's.
  await applyDecision(ctx, row, { ...analysis, authFail: null }, decision);
  ctx.store.updateMessage(row.id, { outcome: 'accepted', person: person.id, period, error: null });
  return { ok: true, filled: report.filled.length };
}
