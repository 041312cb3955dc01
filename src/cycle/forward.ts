/**
 * A reply without a form whose text names no task (a question, "请问第14项是否由我牵头…") is
 * for a person to answer: forwarded to the office addresses, once (through the outbox), as a
 * proper forward (the original attached as message/rfc822), or kept for the web desk
 * (`text_replies: desk`). The sender's receipt says so and carries their form again.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { chineseStamp, periodLabel } from '../core/calendar.js';
import type { Decision } from '../core/decide.js';
import type { Analysis } from '../parse/analyze.js';
import type { MessageRow } from '../store/store.js';
import type { ApplyContext } from './answer.js';
import { EchoBudget } from './echo.js';
import { signature } from './signature.js';
import { ownLines } from '../core/body-report.js';

/** Originals larger than this are not attached to the forward (they stay in the mailbox). */
export const MAX_FORWARD_BYTES = 10 * 1024 * 1024;

/** Queues the forward of a text reply to every office address (once per message). */
export async function forwardToOffice(ctx: ApplyContext, row: MessageRow, a: Analysis, d: Decision): Promise<void> {
  if (d.forward !== 'forward' || !d.person || !d.period) return;
  const slot = `msg-${row.id}`;
  if (ctx.outbox.has('forward', d.period, d.person.id, slot)) return;
  const raw = row.raw_path && existsSync(row.raw_path) && statSync(row.raw_path).size <= MAX_FORWARD_BYTES ? readFileSync(row.raw_path) : null;
  const echo = new EchoBudget();
  const own = ownLines(a.body ?? a.lead ?? '', d.person).join('\n').trim();
  const text = echo.take(own || (a.lead ?? ''));
  const mail = ctx.templates.render('forward', {
    personName: d.person.name, department: d.person.department || '未填科室', sender: a.from, subject: a.subject,
    receivedAt: chineseStamp(row.received_at, ctx.config.timezone), periodLabel: periodLabel(d.period),
    text, cut: echo.cut, attached: !!raw, folder: ctx.config.mailbox.folders.rejected,
    formBack: a.from.toLowerCase() === d.person.email && !!ctx.secret, // as the receipt does (answer.ts)
    ...signature(ctx.config, ctx.clock.now()), addressee: [...new Set(ctx.config.office.map((o) => o.name))].join('、'),
  });
  await ctx.outbox.queue({ kind: 'forward', period: d.period, person: d.person.id, slot }, {
    to: ctx.config.office.map((o) => ({ name: o.name, address: o.email })), ...mail,
    attachments: raw ? [{ filename: '原邮件.eml', content: raw, contentType: 'message/rfc822', contentDisposition: 'attachment' }] : [],
  }, ctx.clock.now());
}
