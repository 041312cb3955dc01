/** The desk's pages and downloads (GET only: nothing here changes anything). */
import { timingOf } from '../cycle/timing.js';
import { createReadStream, existsSync } from 'node:fs';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { periodLabel } from '../core/calendar.js';
import { personById } from '../core/reply.js';
import { formFileName, personForm } from '../cycle/forms.js';
import { defaultPeriod } from '../cycle/status.js';
import { messageById, QUARANTINE_OUTCOMES, recentAudit, REJECTED_OUTCOMES, unsettledMessages } from '../store/desk.js';
import { mailInfo } from './mail-info.js';
import type { Context } from '../cycle/context.js';
import { ledgerById, ledgerContext, severalLedgers } from '../cycle/ledgers.js';
import type { Desk } from './types.js';
import { ledgerFile, pageOfPerson, pageOfPeriod, stamp } from './view.js';

/** The ledgers this deployment runs (`main` for a single `ledger:`), in the config's order. */
export function ledgerIds(desk: Desk): string[] {
  return desk.deps.ctx.config.ledgers.map((l) => l.id);
}

type Req = FastifyRequest<{ Params: Record<string, string>; Querystring: Record<string, string> }>;

export function knownLedger(desk: Desk, req: Req, reply: FastifyReply): string | undefined {
  const id = req.params.ledger;
  if (ledgerIds(desk).includes(id)) return id;
  void reply.callNotFound();
  return undefined;
}

/** The ledger's own view of the context (its people, schedule, store); the deployment's without one. */
export function ledgerCtx(desk: Desk, ledger: string | undefined): Context {
  const { ctx } = desk.deps;
  return ledger === undefined ? ctx : ledgerContext(ctx, ledgerById(ctx.config, ledger));
}

/** The ledgers for the page's switcher (shown when there are several). */
function ledgerLinks(desk: Desk, current: string) {
  const all = desk.deps.ctx.config.ledgers;
  return all.length > 1 ? all.map((l) => ({ id: l.id, title: l.title, current: l.id === current })) : [];
}

/** A period of the ledger's own cadence, else its default period. */
export function periodParam(desk: Desk, value: string | undefined, ctx: Context = desk.deps.ctx): string {
  return value && timingOf(ctx.config.schedule, ctx.config.timezone).owns(value) ? value : defaultPeriod(ctx.config, ctx.store, desk.clock.now());
}

/** An attachment's header: the Chinese name for browsers (RFC 5987), a plain one for the rest. */
export function attachmentHeader(name: string): string {
  return `attachment; filename="${name.replace(/[^\x20-\x7e]/g, '_').replace(/"/g, '')}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

export function registerPages(app: FastifyInstance, desk: Desk): void {
  app.get('/', (_req, reply) => reply.redirect(`/l/${ledgerIds(desk)[0]}/`, 303));

  app.get('/l/:ledger/', (req: Req, reply) => {
    const ledger = knownLedger(desk, req, reply);
    const ctx = ledgerCtx(desk, ledger);
    if (!ledger) return;
    const page = pageOfPeriod(ctx, ledger, req.query.period);
    const lists = { rejected: unsettledMessages(ctx.store, REJECTED_OUTCOMES).length, quarantined: unsettledMessages(ctx.store, QUARANTINE_OUTCOMES).length };
    return reply.view('status.hbs', { ...page, ledgers: ledgerLinks(desk, ledger), lists, user: req.user, title: `${page.periodLabel}报送情况` });
  });

  app.get('/l/:ledger/people/:id', (req: Req, reply) => {
    const ledger = knownLedger(desk, req, reply);
    const ctx = ledgerCtx(desk, ledger);
    const person = ledger && personById(ctx.config.people, req.params.id);
    if (!ledger || !person) return ledger && reply.callNotFound();
    const page = pageOfPerson(ctx, ledger, person, periodParam(desk, req.query.period, ctx));
    return reply.view('person.hbs', { ...page, user: req.user, title: `${person.name} · ${page.periodLabel}` });
  });

  app.get('/l/:ledger/mail', async (req: Req, reply) => {
    const ledger = knownLedger(desk, req, reply);
    const ctx = ledgerCtx(desk, ledger);
    if (!ledger) return;
    const list = async (outcomes: readonly string[]) => Promise.all(unsettledMessages(ctx.store, outcomes).map((m) => mailInfo(ctx, m)));
    return reply.view('mail.hbs', { ledger, rejected: await list(REJECTED_OUTCOMES), quarantined: await list(QUARANTINE_OUTCOMES), user: req.user, title: '需补正和隔离邮件' });
  });

  app.get('/l/:ledger/mail/:id/raw', (req: Req, reply) => {
    const ledger = knownLedger(desk, req, reply);
    const ctx = ledgerCtx(desk, ledger);
    const row = ledger && messageById(ctx.store, Number(req.params.id));
    if (!ledger || !row || !existsSync(row.raw_path)) return ledger && reply.callNotFound();
    desk.deps.log.info({ user: req.user, message: row.id }, 'desk: raw mail downloaded');
    return reply.type('message/rfc822').header('Content-Disposition', attachmentHeader(`邮件-${row.id}.eml`)).send(createReadStream(row.raw_path));
  });

  app.get('/l/:ledger/ledgers/:period/:version', (req: Req, reply) => {
    const ledger = knownLedger(desk, req, reply);
    const ctx = ledgerCtx(desk, ledger);
    const period = req.params.period;
    const version = Number(req.params.version);
    if (!ledger || !timingOf(ctx.config.schedule, ctx.config.timezone).owns(period) || !Number.isInteger(version)) return ledger && reply.callNotFound();
    const file = ledgerFile(ctx, period, version);
    if (!existsSync(file)) return reply.callNotFound();
    return reply.type('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet')
      .header('Content-Disposition', attachmentHeader(`${severalLedgers(ctx.config) ? ctx.config.ledger.title : ''}${periodLabel(period, { short: true })}工作台账汇总（第${version}版）.xlsx`)).send(createReadStream(file));
  });

  app.get('/l/:ledger/forms/:period/:id', async (req: Req, reply) => {
    const ledger = knownLedger(desk, req, reply);
    const ctx = ledgerCtx(desk, ledger);
    const person = ledger && personById(ctx.config.people, req.params.id);
    const period = req.params.period;
    if (!ledger || !person || !timingOf(ctx.config.schedule, ctx.config.timezone).owns(period)) return ledger && reply.callNotFound();
    const form = await desk.deps.serial.run(() => personForm(ctx, period, person)); // may write the file
    return reply.type('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet')
      .header('Content-Disposition', attachmentHeader(formFileName(period, person, severalLedgers(ctx.config) ? ctx.config.ledger.title : undefined))).send(form);
  });

  app.get('/l/:ledger/audit', (req: Req, reply) => {
    const ledger = knownLedger(desk, req, reply);
    const ctx = ledgerCtx(desk, ledger);
    if (!ledger) return;
    const entries = recentAudit(ctx.store, 200).map((e) => ({ ...e, at: stamp(ctx, e.at) }));
    return reply.view('audit.hbs', { ledger, entries, user: req.user, title: '操作记录' });
  });
}
