/**
 * The desk's actions. Each is a confirm page (GET) whose form POSTs the action: no script. The
 * form carries a one-time key (`nonce`) that names the mail it queues (the outbox's slot), so a
 * form sent twice queues one mail. Each runs through the Serial (never beside a tick), is logged
 * with its user and written to the audit table, and its mail goes out through the outbox.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { periodLabel } from '../core/calendar.js';
import { timingOf } from '../cycle/timing.js';
import type { Person } from '../core/ledger.js';
import { personById } from '../core/reply.js';
import { consolidatePeriod, previewLedger, buildLedger } from '../cycle/consolidate.js';
import { attachMessage, remindPerson, resendRequest, type RemindResult } from '../cycle/desk.js';
import { queueReminders } from '../cycle/requests.js';
import { ADDRESS } from '../mail/headers.js';
import { addAudit, isSettled, messageById, settleMessage } from '../store/desk.js';
import { mailInfo } from './mail-info.js';
import { attachmentHeader, knownLedger, ledgerCtx, periodParam } from './pages.js';
import type { Context } from '../cycle/context.js';
import type { Desk } from './types.js';

type Req = FastifyRequest<{ Params: Record<string, string>; Querystring: Record<string, string>; Body: Record<string, string> }>;

const nonce = () => randomBytes(9).toString('hex');
const NONCE = /^[0-9a-f]{18}$/;

const REMIND_TEXT: Record<RemindResult, string> = {
  queued: '提醒已发出。', reported: '该同志本期已报送，未发送提醒。', repeat: '该提醒已发送过，未重复发送。',
  'no-request': '本期填报通知尚未送达该同志，未发送提醒（可先重新发送填报通知）。', 'asked-today': '该同志今日刚收到填报通知，暂不提醒。',
};

interface Outcome { text: string; detail?: string }

/** Runs an action in the Serial, audits and logs it, sends what it queued, and shows what happened. */
async function act(desk: Desk, req: Req, reply: FastifyReply, what: { action: string; target: string; back: string }, fn: () => Promise<Outcome>) {
  const { ctx, log, serial } = desk.deps;
  const outcome = await serial.run(fn);
  addAudit(ctx.store, { at: desk.clock.now().toISOString(), user: req.user!, action: what.action, target: what.target, detail: outcome.detail ?? outcome.text });
  log.info({ user: req.user, action: what.action, target: what.target, result: outcome.detail ?? outcome.text }, 'desk action');
  desk.deps.flush();
  return reply.view('message.hbs', { title: '操作结果', text: outcome.text, back: what.back, user: req.user });
}

function confirm(reply: FastifyReply, req: Req, data: Record<string, unknown>) {
  return reply.view('confirm.hbs', { csrf: reply.generateCsrf(), nonce: nonce(), user: req.user, ...data });
}

/** One of the ledger's people (whom its view of the config names). */
function personOf(ctx: Context, id: string | undefined): Person | undefined {
  return id ? personById(ctx.config.people, id) : undefined;
}

export function registerActions(app: FastifyInstance, desk: Desk): void {
  const home = (ledger: string, period: string) => `/l/${ledger}/?period=${period}`;
  const checked = (req: Req, reply: FastifyReply) => {
    const ledger = knownLedger(desk, req, reply);
    if (ledger && !NONCE.test(req.body?.nonce ?? '')) { void reply.code(400).view('message.hbs', { title: '请求无效', text: '请返回重新操作。', user: req.user }); return undefined; }
    return ledger;
  };

  app.get('/l/:ledger/act/remind', (req: Req, reply) => {
    const ledger = knownLedger(desk, req, reply);
    const ctx = ledgerCtx(desk, ledger);
    if (!ledger) return;
    const period = periodParam(desk, req.query.period, ctx);
    const person = personOf(ctx, req.query.person);
    const question = person ? `确认现在向${person.name}（${person.email}）发送${periodLabel(period)}的提醒？` : `确认现在向${periodLabel(period)}所有未报送的同志发送提醒？`;
    return confirm(reply, req, { title: '发送提醒', question, action: `/l/${ledger}/act/remind`, button: '确认发送提醒', back: home(ledger, period),
      hidden: [{ name: 'period', value: period }, ...(person ? [{ name: 'person', value: person.id }] : [])] });
  });
  app.post('/l/:ledger/act/remind', (req: Req, reply) => {
    const ledger = checked(req, reply);
    const ctx = ledgerCtx(desk, ledger);
    if (!ledger) return;
    const period = periodParam(desk, req.body.period, ctx);
    const person = personOf(ctx, req.body.person);
    const slot = `desk-${req.body.nonce}`;
    return act(desk, req, reply, { action: person ? 'remind' : 'remind-all', target: `${ledger}/${period}${person ? `/${person.id}` : ''}`, back: home(ledger, period) }, async () => {
      if (person) return { text: REMIND_TEXT[await remindPerson(ctx, period, person, slot)] };
      const n = await queueReminders(ctx, period, slot);
      return { text: n ? `已向${n}位未报送的同志发出提醒。` : '没有需要提醒的同志（已报送，或今日刚收到填报通知）。', detail: `${n} reminders queued` };
    });
  });

  app.get('/l/:ledger/act/ledger', (req: Req, reply) => {
    const ledger = knownLedger(desk, req, reply);
    const ctx = ledgerCtx(desk, ledger);
    if (!ledger) return;
    const period = periodParam(desk, req.query.period, ctx);
    const early = desk.clock.now() < timingOf(ctx.config.schedule, ctx.config.timezone).deadlineInstant(period);
    return confirm(reply, req, {
      title: '发送汇总台账', back: home(ledger, period), action: `/l/${ledger}/act/ledger`, hidden: [{ name: 'period', value: period }],
      question: early ? `${periodLabel(period)}尚未截止。确认现在将汇总台账作为预览发送办公室？（本期继续收集）` : `确认现在将${periodLabel(period)}汇总台账发送办公室？`,
      preview: early ? `/l/${ledger}/preview/${period}` : undefined, button: early ? '确认发送预览' : '确认发送',
    });
  });
  app.post('/l/:ledger/act/ledger', (req: Req, reply) => {
    const ledger = checked(req, reply);
    const ctx = ledgerCtx(desk, ledger);
    if (!ledger) return;
    const period = periodParam(desk, req.body.period, ctx);
    return act(desk, req, reply, { action: 'send-ledger', target: `${ledger}/${period}`, back: home(ledger, period) }, async () => {
      const early = desk.clock.now() < timingOf(ctx.config.schedule, ctx.config.timezone).deadlineInstant(period);
      const file = early ? await previewLedger(ctx, period) : await consolidatePeriod(ctx, period);
      return { text: early ? '汇总台账（预览）已发送办公室，本期继续收集。' : '汇总台账已发送办公室。', detail: file };
    });
  });
  app.get('/l/:ledger/preview/:period', async (req: Req, reply) => {
    const ledger = knownLedger(desk, req, reply);
    const ctx = ledgerCtx(desk, ledger);
    if (!ledger) return;
    const period = periodParam(desk, req.params.period, ctx);
    const build = await desk.deps.serial.run(() => buildLedger(ctx, period, (ctx.store.period(period)?.ledger_version ?? 0) + 1, false, true));
    desk.deps.log.info({ user: req.user, period }, 'desk: ledger preview downloaded');
    return reply.type('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet')
      .header('Content-Disposition', attachmentHeader(`${periodLabel(period)}工作台账汇总（预览）.xlsx`)).send(build.buffer);
  });

  app.get('/l/:ledger/act/resend', (req: Req, reply) => {
    const ledger = knownLedger(desk, req, reply);
    const ctx = ledgerCtx(desk, ledger);
    const person = personOf(ctx, req.query.person);
    if (!ledger || !person) return ledger && reply.callNotFound();
    const period = periodParam(desk, req.query.period, ctx);
    return confirm(reply, req, {
      title: '重新发送填报通知', back: `/l/${ledger}/people/${encodeURIComponent(person.id)}?period=${period}`, action: `/l/${ledger}/act/resend`,
      question: `向${person.name}重新发送${periodLabel(period)}的填报通知。如原地址有误（退信），请填写更正后的地址（并请在配置文件中一并更正）。`,
      hidden: [{ name: 'period', value: period }, { name: 'person', value: person.id }],
      inputs: [{ label: '收件地址', name: 'email', value: person.email, type: 'email' }], button: '确认发送',
    });
  });
  app.post('/l/:ledger/act/resend', (req: Req, reply) => {
    const ledger = checked(req, reply);
    const ctx = ledgerCtx(desk, ledger);
    const person = personOf(ctx, req.body?.person);
    if (!ledger || !person) return ledger && reply.callNotFound();
    const period = periodParam(desk, req.body.period, ctx);
    const address = String(req.body.email ?? '').trim().toLowerCase();
    const back = `/l/${ledger}/people/${encodeURIComponent(person.id)}?period=${period}`;
    return act(desk, req, reply, { action: 'resend-request', target: `${ledger}/${period}/${person.id}`, back }, async () => {
      if (!ADDRESS.test(address)) return { text: `“${address}”不是有效的邮箱地址，未发送。` };
      const queued = await resendRequest(ctx, period, person, address, `desk-${req.body.nonce}`);
      return { text: queued ? `填报通知已重新发往${address}。` : '该通知已发送过，未重复发送。', detail: `to ${address}` };
    });
  });

  app.get('/l/:ledger/act/attach', async (req: Req, reply) => {
    const ledger = knownLedger(desk, req, reply);
    const ctx = ledgerCtx(desk, ledger);
    const row = ledger && messageById(ctx.store, Number(req.query.message));
    if (!ledger || !row) return ledger && reply.callNotFound();
    const info = await mailInfo(ctx, row);
    const period = periodParam(desk, req.query.period, ctx);
    const periods = [...new Set([...ctx.store.periods().map((p) => p.period), period])].sort().reverse();
    return confirm(reply, req, {
      title: '登记为报送', back: `/l/${ledger}/mail`, action: `/l/${ledger}/act/attach`, mail: info,
      question: '将这封邮件所附表格登记为以下同志的报送（按通常方式向发件人发送回执；非本人发送的，同时通知本人）：',
      hidden: [{ name: 'message', value: String(row.id) }],
      selects: [
        { label: '责任人', name: 'person', options: ctx.config.people.map((p) => ({ value: p.id, label: `${p.name}（${p.department}，${p.email}）`, selected: p.email === row.from_addr })) },
        { label: '期次', name: 'period', options: periods.map((p) => ({ value: p, label: periodLabel(p), selected: p === period })) },
      ],
      button: '确认登记',
    });
  });
  app.post('/l/:ledger/act/attach', (req: Req, reply) => {
    const ledger = checked(req, reply);
    const ctx = ledgerCtx(desk, ledger);
    if (!ledger) return;
    const row = messageById(ctx.store, Number(req.body.message));
    const person = personOf(ctx, req.body.person);
    const period = periodParam(desk, req.body.period, ctx);
    if (!row || !person) return reply.callNotFound();
    return act(desk, req, reply, { action: 'attach', target: `${ledger}/${period}/${person.id}/mail-${row.id}`, back: home(ledger, period) }, async () => {
      if (isSettled(ctx.store, row.id)) return { text: '这封邮件已处理过。' };
      const r = await attachMessage(ctx, row, person, period);
      if (!r.ok) return { text: r.why };
      settleMessage(ctx.store, { messageRow: row.id, action: 'attach', user: req.user!, at: desk.clock.now().toISOString(), person: person.id, period });
      return { text: `已登记为${person.name}${periodLabel(period)}的报送（${r.filled}项），并已发送回执。`, detail: `${r.filled} rows recorded` };
    });
  });

  app.get('/l/:ledger/act/dismiss', async (req: Req, reply) => {
    const ledger = knownLedger(desk, req, reply);
    const ctx = ledgerCtx(desk, ledger);
    const row = ledger && messageById(ctx.store, Number(req.query.message));
    if (!ledger || !row) return ledger && reply.callNotFound();
    return confirm(reply, req, {
      title: '不予处理', back: `/l/${ledger}/mail`, action: `/l/${ledger}/act/dismiss`, mail: await mailInfo(ctx, row),
      question: '确认这封邮件不予处理，从列表中移除？（原邮件仍保留在邮箱中）', hidden: [{ name: 'message', value: String(row.id) }], button: '确认不予处理',
    });
  });
  app.post('/l/:ledger/act/dismiss', (req: Req, reply) => {
    const ledger = checked(req, reply);
    const ctx = ledgerCtx(desk, ledger);
    const row = ledger && messageById(ctx.store, Number(req.body.message));
    if (!ledger || !row) return ledger && reply.callNotFound();
    return act(desk, req, reply, { action: 'dismiss', target: `${ledger}/mail-${row.id}`, back: `/l/${ledger}/mail` }, async () => {
      const done = settleMessage(ctx.store, { messageRow: row.id, action: 'dismiss', user: req.user!, at: desk.clock.now().toISOString() });
      return { text: done ? '已从列表中移除。' : '这封邮件已处理过。' };
    });
  });
}
