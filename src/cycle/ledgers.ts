/**
 * Several ledgers in one deployment: each ledger's view of the context, in which the config's
 * `ledger`, `people`, `office` and `schedule` are that ledger's, and the store and outbox read
 * and write that ledger's months, mail and reports. The mailbox, the parse workers and sending
 * stay the deployment's, shared.
 */
import path from 'node:path';
import type { Config, ConfigLedger } from '../app/config.js';
import { TaizhangError } from '../errors.js';
import { MAIN_LEDGER } from '../core/ledger.js';
import type { Context } from './context.js';
import type { Templates } from '../mail/templates.js';

const views = new WeakMap<Config, Map<string, Config>>();

/** The config as one ledger sees it (made once per config and ledger). */
export function ledgerConfig(config: Config, scope: ConfigLedger): Config {
  let byId = views.get(config);
  if (!byId) views.set(config, (byId = new Map()));
  let view = byId.get(scope.id);
  if (!view) {
    view = Object.freeze({
      ...config, ledger: scope.ledger, people: scope.people, office: scope.office, schedule: { ...scope.schedule, cron: config.schedule.cron }, ledgerMaker: scope.maker,
      mailbox: Object.freeze({ ...config.mailbox, senderName: scope.senderName }),
    });
    byId.set(scope.id, view);
  }
  return view;
}

/** What names the ledger in mail: 《title》 where the deployment runs several, else nothing (as before). */
export function ledgerLabel(config: Config, scope: ConfigLedger): string {
  return severalLedgers(config) ? `《${scope.title}》` : '';
}

/** Mail wording with `ledgerLabel` (and the ledger's title) given to every template. */
function ledgerTemplates(templates: Templates, data: { ledgerLabel: string; ledgerTitle: string }): Templates {
  const view = Object.create(templates) as Templates;
  view.render = (kind, d) => templates.render(kind, { ...data, ...d });
  return view;
}

/** The context as the ledger `scope` sees it. */
export function ledgerContext(ctx: Context, scope: ConfigLedger): Context {
  const config = ledgerConfig(ctx.config, scope);
  const store = ctx.store.forLedger(scope.id);
  const templates = ledgerTemplates(ctx.templates, { ledgerLabel: ledgerLabel(ctx.config, scope), ledgerTitle: scope.title });
  return { ...ctx, config, store, templates, outbox: ctx.outbox.forLedger(store, config) };
}

/** The ledger with this id; an unknown one is a usage error (`--ledger`). */
export function ledgerById(config: Config, id: string): ConfigLedger {
  const found = config.ledgers.find((l) => l.id === id);
  if (!found) throw new TaizhangError('USAGE', `--ledger: no ledger "${id}" in the config (its ledgers: ${config.ledgers.map((l) => l.id).join(', ')})`);
  return found;
}

/** The ledgers a command acts on: the one `--ledger` names, else all. */
export function chosenLedgers(config: Config, only?: string): ConfigLedger[] {
  return only === undefined ? [...config.ledgers] : [ledgerById(config, only)];
}

/** Each chosen ledger's view of the context. */
export function ledgerContexts(ctx: Context, only?: string): Context[] {
  return chosenLedgers(ctx.config, only).map((l) => ledgerContext(ctx, l));
}

/** Whether the deployment runs several ledgers (mail then names its ledger in the subject). */
export function severalLedgers(config: Config): boolean {
  return config.ledgers.length > 1;
}

/** Where a ledger keeps its files: the data folder for `main` (as before ledgers had ids), `ledgers/<id>/` in it for any other. */
export function ledgerHome(config: Pick<Config, 'dataDir' | 'ledger'>): string {
  const id = config.ledger.id ?? MAIN_LEDGER;
  return id === MAIN_LEDGER ? config.dataDir : path.join(config.dataDir, 'ledgers', id);
}
