/**
 * The entry of a parse worker (a worker thread or a child process, see runners.ts): it reads the
 * messages the pool names, one after another, each with readMail (read-mail.ts) and each of its
 * spreadsheets with parseAttachment (attachment.ts), reporting each stage before it starts.
 */
import { readFileSync } from 'node:fs';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { TaizhangError } from '../errors.js';
import { parseAttachment } from './attachment.js';
import { readMail } from './read-mail.js';
import { parseUnitAttachment } from './unit-attachment.js';
import { WORKER_ARG, WORKER_MARK } from './runners.js';
import type { MailJob, MailOutcome } from './types.js';

type Reply = (msg: { id: number; stage: string } | { id: number; outcome: MailOutcome }) => void;

async function mailJob(job: MailJob, reply: Reply): Promise<MailOutcome> {
  let stage: string | undefined;
  try {
    // A worker may block: reading synchronously spares two hops through the libuv thread pool.
    const raw = readFileSync(job.rawPath);
    const analysis = await readMail(raw, {
      ownAddress: job.ownAddress, secret: job.secret, limits: job.limits, maxInputBytes: job.maxInputBytes, failed: job.failed, unitAddresses: job.unitAddresses,
      onStage: (s) => { stage = s; reply({ id: job.id, stage: s }); },
    }, (buf, filename) => parseAttachment(buf, filename, job.secret, job.limits), (buf, filename) => parseUnitAttachment(buf, filename, job.limits));
    return { ok: true, analysis };
  } catch (err) {
    const code = err instanceof TaizhangError ? err.code : 'INTERNAL';
    const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
    return stage ? { ok: false, code, message, stage } : { ok: false, code, message };
  }
}

/** Jobs run one after another, in the order sent: the pool sends one ahead, and its time limits and blame assume this. */
let queue: Promise<void> = Promise.resolve();
function handle(job: MailJob, reply: Reply): void {
  // mailJob settles every job itself; a reply that cannot be posted is left to the pool's time limit.
  queue = queue.then(async () => reply({ id: job.id, outcome: await mailJob(job, reply) })).catch(() => {});
}

if (!isMainThread && parentPort && (workerData as Record<string, unknown> | null)?.[WORKER_MARK] === true) {
  const port = parentPort;
  port.on('message', (job: MailJob) => handle(job, (res) => port.postMessage(res)));
  port.postMessage({ ready: true });
} else if (isMainThread && typeof process.send === 'function' && process.argv.includes(WORKER_ARG)) {
  process.on('message', (job: MailJob) => handle(job, (res) => process.send?.(res)));
  process.on('disconnect', () => process.exit(0));
  process.send({ ready: true });
}
