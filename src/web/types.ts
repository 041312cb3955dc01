/** The desk's shared types, apart from the server so that its routes need not import it. */
import type { Config } from '../app/config.js';
import type { Serial } from '../app/serial.js';
import type { Context } from '../cycle/context.js';
import type { Logger } from '../logger.js';
import type { Clock, Sessions } from './auth.js';

export type WebConfig = NonNullable<Config['web']>;

/** What the desk works with: the daemon's context and Serial, and a way to send what it queued. */
export interface DeskDeps {
  ctx: Context;
  serial: Serial;
  /** Sends what is queued (through the Serial, not awaited by the page). */
  flush: () => void;
  log: Logger;
  /** Injected in tests; the context's clock otherwise. */
  clock?: Clock;
}

export interface Desk { deps: DeskDeps; web: WebConfig; sessions: Sessions; clock: Clock }

