/**
 * Mail that cannot be read at all (a thousand MIME parts, a header of a megabyte: what the parser
 * refuses, or what still fails at the last attempt) stays in quarantine and is counted in
 * `status`; its sender, when the roster knows the address, is asked in the thread to send the
 * form again. The sender is taken from the raw header, since the message could not be parsed.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { chineseStamp, periodLabel } from '../core/calendar.js';
import { timingOf } from './timing.js';
import { signature } from './signature.js';
import type { Person } from '../core/ledger.js';
import { TaizhangError } from '../errors.js';
import { ADDRESS_RE, headerEnd } from '../mail/headers.js';
import type { MessageRow } from '../store/store.js';
import type { ApplyContext } from './apply.js';
import { latestAskedPeriod } from './status.js';

/** What the person is told: the receipt's 原因 and 处理办法. */
export const UNREADABLE_PROBLEM = {
  problem: '系统无法读取您的这封邮件（邮件结构异常，例如分段过多或邮件头过大），原邮件已保留。',
  fix: '请直接回复通知邮件，将填好的表格作为附件添加后重新发送。',
};

/** How much of a raw message is searched for its header block. */
const HEAD_LIMIT = 4 * 1024 * 1024;

/** A message that cannot be read (analyze.ts): permanent when the parser refused it. */
export function isUnreadable(err: unknown): err is TaizhangError {
  return err instanceof TaizhangError && err.code === 'MAIL_UNREADABLE';
}

/** The sender's address in a raw message's header block (`Name <a@b>` or `a@b`), lower case; '' when none. */
export function rawSender(raw: Buffer): string {
  const head = raw.subarray(0, headerEnd(raw)).toString('latin1').replace(/\r?\n[ \t]+/g, ' ');
  const from = /^from[ \t]*:(.*)$/im.exec(head)?.[1] ?? '';
  const address = /<([^<>\s@]+@[^<>\s@]+)>/.exec(from)?.[1] ?? from.match(ADDRESS_RE)?.[0] ?? '';
  return address.toLowerCase();
}

function readHead(file: string): Buffer {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(HEAD_LIMIT);
    return buf.subarray(0, readSync(fd, buf, 0, HEAD_LIMIT, 0));
  } finally {
    closeSync(fd);
  }
}

/** Queues the 请补正 for a message that cannot be read, when its sender is on the roster. Returns the sender and the person. */
export async function answerUnreadable(ctx: ApplyContext, row: MessageRow): Promise<{ from: string; person: Person | null }> {
  const from = rawSender(readHead(row.raw_path));
  const person = ctx.config.people.find((p) => p.email === from) ?? null;
  if (!person) return { from, person };
  const now = ctx.clock.now();
  const tz = ctx.config.timezone;
  const t = timingOf(ctx.config.schedule, tz);
  const period = latestAskedPeriod(ctx.store, now, t) ?? t.periodAt(now);
  const mail = ctx.templates.render('receipt', {
    words: t.words, personName: person.name, periodLabel: periodLabel(period), accepted: false, late: false,
    receivedAt: chineseStamp(row.received_at, tz), rows: [], emptyRows: [], others: [],
    onBehalfOf: false, sender: from, ...UNREADABLE_PROBLEM, ...signature(ctx.config, now),
  });
  await ctx.outbox.queue({ kind: 'receipt', period, person: person.email, slot: `msg-${row.id}` }, {
    to: [{ address: person.email }], ...mail, inReplyTo: row.message_id ?? undefined, references: row.message_id ? [row.message_id] : [],
  }, now);
  return { from, person };
}
