/**
 * The 需补正 and 隔离 lists: for each kept mail its sender, subject, first lines of the body and
 * why it was not recorded. The body comes from the kept raw mail (mailparser, only for mail of a
 * bounded size); the reason from reading it again in the parse worker and deciding as collect
 * did. Both are cached: a list is looked at often, a mail does not change.
 */
import { readFileSync, statSync } from 'node:fs';
import { simpleParser } from 'mailparser';
import { chineseStamp } from '../core/calendar.js';
import { decideMessage } from '../cycle/apply.js';
import type { Context } from '../cycle/context.js';
import { analyzeMessage } from '../parse/analyze.js';
import type { MessageRow } from '../store/store.js';

export interface MailInfo { id: number; from: string; subject: string; receivedAt: string; lines: string[]; reason: string }

/** Raw mail larger than this is not parsed for its first lines (download it instead). */
const MAX_PREVIEW_BYTES = 2 * 1024 * 1024;
const LINES = 5;
const LINE_CHARS = 200;
const cache = new Map<string, MailInfo>();

async function firstLines(file: string): Promise<string[]> {
  try {
    if (statSync(file).size > MAX_PREVIEW_BYTES) return ['（邮件较大，请下载原件查看）'];
    const parsed = await simpleParser(readFileSync(file), { skipHtmlToText: false, skipImageLinks: true });
    const text = parsed.text ?? '';
    return text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('>')).slice(0, LINES)
      .map((l) => ([...l].length > LINE_CHARS ? `${[...l].slice(0, LINE_CHARS).join('')}…` : l));
  } catch {
    return ['（邮件正文无法读取，请下载原件查看）'];
  }
}

async function reasonOf(ctx: Context, row: MessageRow): Promise<string> {
  if (row.outcome === 'unreadable' || row.outcome === 'error') return `邮件无法读取${row.error ? `（${row.error}）` : ''}`;
  try {
    const a = await analyzeMessage(ctx, row.raw_path);
    if (a.authFail) return `收件服务器验证发件人地址未通过（${a.authFail}），疑似伪造，未登记、未回复`;
    if (row.outcome === 'quarantined') return '发件人不在名单中，邮件中也没有本系统发出的表格，来源不明，未登记、未回复';
    const d = decideMessage(ctx, row, a);
    return d.problem ? `${d.problem.problem}（已回复请其补正）` : '未登记（已回复请其补正）';
  } catch {
    return '邮件无法读取';
  }
}

export async function mailInfo(ctx: Context, row: MessageRow): Promise<MailInfo> {
  const key = `${row.id}:${row.outcome}`;
  const known = cache.get(key);
  if (known) return known;
  const info: MailInfo = {
    id: row.id, from: row.from_addr ?? '（未知）', subject: row.subject ?? '', receivedAt: chineseStamp(row.received_at, ctx.config.timezone),
    lines: await firstLines(row.raw_path), reason: await reasonOf(ctx, row),
  };
  if (cache.size > 2000) cache.delete(cache.keys().next().value!);
  cache.set(key, info);
  return info;
}
