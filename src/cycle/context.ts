import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../app/config.js';
import type { Logger } from '../logger.js';
import { Outbox, realSleep, type Clock, type Sleep } from '../mail/outbox.js';
import { createParsePool, type ParsePool } from '../parse/pool.js';
import { Templates } from '../mail/templates.js';
import { FILE_MODE, privateDir } from '../store/files.js';
import { Store } from '../store/store.js';

/** A progress line for a person watching a terminal; silent otherwise. */
export type Progress = (label: string, done: number, total: number) => void;

/** Everything one unit of work needs: config, state, mail wording, parsing, time. */
export interface Context {
  config: Config;
  store: Store;
  log: Logger;
  clock: Clock;
  templates: Templates;
  outbox: Outbox;
  secret: string;
  /** Reads incoming mail in worker threads. */
  pool: ParsePool;
  /** The same in child processes, started on first use: for mail that may have killed a run. */
  isolatedPool(): ParsePool;
  progress: Progress;
  close(): Promise<void>;
}

/** The identity secret: from the config, else one generated once and kept under data_dir. */
export function loadSecret(config: Config): string {
  if (config.secret) return config.secret;
  const file = path.join(config.dataDir, 'secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  privateDir(config.dataDir);
  const s = randomBytes(24).toString('hex');
  writeFileSync(file, `${s}\n`, { mode: FILE_MODE, flag: 'wx' });
  return s;
}

export function openContext(config: Config, log: Logger, opts: { clock?: Clock; sleep?: Sleep; progress?: Progress; templatesDir?: string } = {}): Context {
  // The first ledger's view of the store (see cycle/ledgers.ts for each ledger's): `main` for a single `ledger:`.
  const store = Store.open(config.dataDir, { people: config.people }).forLedger(config.ledgers[0].id);
  for (const r of store.renamed) log.warn({ from: r.from, to: r.to }, 'person renamed with the same address: their records carried over to the new id');
  const pool = createParsePool({ isolation: 'thread' });
  let isolated: ParsePool | null = null;
  const ctx: Context = {
    config,
    store,
    log,
    clock: opts.clock ?? { now: () => new Date() },
    templates: new Templates(opts.templatesDir ?? config.templatesDir),
    outbox: new Outbox(store, config, log, opts.sleep ?? realSleep),
    secret: loadSecret(config),
    pool,
    isolatedPool: () => (isolated ??= createParsePool({ isolation: 'process' })),
    progress: opts.progress ?? (() => {}),
    async close() {
      await Promise.all([pool.close(), isolated?.close()]);
      store.close();
    },
  };
  return ctx;
}
