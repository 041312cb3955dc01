/**
 * Which ledger's view of the context handles an incoming message (core/route.ts decides), and the
 * answer to a person of several ledgers whose mail does not say which one it is about.
 */
import { chineseStamp, periodLabel } from '../core/calendar.js';
import { timingOf } from './timing.js';
import { personByEmail } from '../core/reply.js';
import { otherLedgerForms, routeReply, type Route } from '../core/route.js';
import type { Analysis } from '../parse/analyze.js';
import type { MessageRow } from '../store/store.js';
import type { Context } from './context.js';
import { ledgerById, ledgerContext } from './ledgers.js';
import { signature } from './signature.js';
import { applyDecision, decideMessage } from './apply.js';
import { leaveInJunk } from './junk.js';
import { latestAskedPeriod } from './status.js';

/** The route of a message, by its forms, thread, subject and sender. */
export function routeMessage(ctx: Context, a: Analysis): Route {
  const tokens = a.files.flatMap((f) => (f.ok && f.token ? [f.token] : []));
  return routeReply({ tokens, references: a.references, subject: a.subject, from: a.from }, ctx.config.ledgers,
    (mid) => ctx.store.outboxByMessageId(mid)?.ledger);
}

/** The ledgers besides `routed` whose forms the message carries. */
export function alsoForLedgers(ctx: Context, a: Analysis, routed: string): string[] {
  if (ctx.config.ledgers.length === 1) return [];
  return otherLedgerForms(a.files.flatMap((f) => (f.ok && f.token ? [f.token] : [])), ctx.config.ledgers, routed);
}

/**
 * Asks the sender, a person of each of `ids`' ledgers, which ledger the mail is about: a 请补正
 * naming the ledgers, in the first one's records (it has to be kept under one).
 */
export async function answerWhichLedger(ctx: Context, row: MessageRow, a: Analysis, ids: string[]): Promise<void> {
  const scopes = ids.map((id) => ledgerById(ctx.config, id));
  const lctx = ledgerContext(ctx, scopes[0]);
  const person = personByEmail(lctx.config.people, a.from)!;
  const now = ctx.clock.now();
  const tz = ctx.config.timezone;
  const timing = timingOf(lctx.config.schedule, tz);
  const period = latestAskedPeriod(lctx.store, now, timing) ?? timing.periodAt(now);
  const slot = `msg-${row.id}`;
  if (lctx.outbox.has('receipt', period, person.id, slot)) return; // answered before a restart
  const titles = scopes.map((s) => `《${s.title}》`).join('');
  const mail = lctx.templates.render('receipt', {
    // No ledger named in the subject: it is the one thing not known.
    ledgerLabel: '', personName: person.name, periodLabel: '', accepted: false, late: false,
    receivedAt: chineseStamp(row.received_at, tz), rows: [], emptyRows: [], others: [], onBehalfOf: false, sender: a.from,
    problem: `您同时是${titles}的责任人，这封邮件未附系统发出的表格，也不是对某一台账通知邮件的回复，主题中也未写明台账名称，系统无法确定您报送的是哪一项台账，未予登记。`,
    fix: '请直接回复相应台账的填报通知邮件并附上该台账的表格，或在邮件主题中写明台账名称后重新发送。',
    ...signature(lctx.config, now),
  });
  const refs = a.messageId ? [...a.references, a.messageId] : a.references;
  await lctx.outbox.queue({ kind: 'receipt', period, person: person.id, slot }, {
    to: [{ address: a.from }], ...mail, inReplyTo: a.messageId ?? undefined, references: refs,
  }, now);
}

/**
 * The forms of another ledger in the same mail: decided and answered in that ledger too (its
 * report, its receipt). The message's folder is the first ledger's outcome's.
 */
export async function alsoApply(ctx: Context, row: MessageRow, a: Analysis, id: string, log: Context['log']): Promise<void> {
  const lctx = ledgerContext(ctx, ledgerById(ctx.config, id));
  const d = decideMessage(lctx, row, a);
  if (d.match?.via !== 'file' || !['accepted', 'held', 'rejected'].includes(d.outcome)) return;
  await applyDecision(lctx, row, a, d);
  log.info({ outcome: d.outcome, ledger: id, person: d.person?.name, period: d.period ? periodLabel(d.period) : undefined }, `also for another ledger: ${d.logLine}`);
}

/** A person of several ledgers whose mail does not say which: asked, not recorded (left alone in the junk folder). */
export async function whichLedger(ctx: Context, row: MessageRow, a: Analysis, ids: string[], inJunk: boolean, log: Context['log']): Promise<string> {
  if (inJunk) return leaveInJunk(ctx, row, log, 'matches several ledgers by its sender alone');
  await answerWhichLedger(ctx, row, a, ids);
  ctx.store.updateMessage(row.id, { state: 'done', outcome: 'rejected', target_folder: ctx.config.mailbox.folders.rejected, error: null });
  log.info({ outcome: 'rejected', ledgers: ids, from: a.from }, 'reply not recorded: its sender reports for several ledgers and it names none; asked which');
  return 'rejected';
}
