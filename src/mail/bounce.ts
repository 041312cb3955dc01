/**
 * What a bounce (退信) says: which recipients failed and which of our messages it returns, from
 * its delivery-status part (RFC 3464), the enclosed original, or failing those its free text.
 * Pure: no I/O.
 */
import { ADDRESS_RE, fieldBlocks, getHeader, headerText, normAddr } from './headers.js';

/** What a bounce is read from: the part of classify.ts's input it looks at. */
export interface BounceInput {
  /** Header map, lower-case keys as mailparser gives them. */
  headers: ReadonlyMap<string, unknown>;
  /** Plain-text body (a folded message/delivery-status part included). */
  text?: string;
  attachments?: ReadonlyArray<{ contentType: string; content: Buffer }>;
}

/**
 * A bounce: why it is one, the recipients that failed, and the Message-ID of the returned mail
 * when known. `delayedOnly`: its delivery-status part reports recipients, none of them failed.
 */
export interface Bounce { kind: 'bounce'; reason: string; originalMessageId?: string; failedRecipients: string[]; delayedOnly?: true }

/** Local parts of mail system senders (MAILER-DAEMON, postmaster …). */
export const DAEMON_LOCALPART_RE = /^(mailer[-_]?daemon|post[-_]?master|mail[-_]?delivery[-_]?(system|subsystem)?)$/i;

/** `rfc822; a@b` / `rfc822;<a@b>` → `a@b` */
function dsnAddress(v: string): string | undefined {
  const after = v.includes(';') ? v.slice(v.indexOf(';') + 1) : v;
  const m = after.match(ADDRESS_RE);
  return m ? m[0] : undefined;
}

interface DsnResult {
  failed: string[];
  /** Recipients reported but not failed (delayed, delivered, relayed, expanded). */
  other: Array<{ address: string; action: string }>;
  found: boolean;
}

/** Reads per-recipient fields of a message/delivery-status (RFC 3464) from any text that contains them. */
function parseDeliveryStatus(text: string): DsnResult {
  const res: DsnResult = { failed: [], other: [], found: false };
  for (const block of fieldBlocks(text)) {
    const get = (n: string) => block.find(([k]) => k === n)?.[1];
    const finalR = get('final-recipient');
    const origR = get('original-recipient');
    if (!finalR && !origR) continue;
    res.found = true;
    // Original-Recipient is what we addressed; Final-Recipient may be after aliasing.
    const addr = (origR && dsnAddress(origR)) || (finalR && dsnAddress(finalR));
    if (!addr) continue;
    const action = (get('action') ?? '').toLowerCase().trim();
    const status = (get('status') ?? '').trim();
    if (action === 'failed' || (!action && /^5/.test(status)) || (!action && !status)) res.failed.push(addr);
    else res.other.push({ address: addr, action: action || status });
  }
  return res;
}

/** The header block of an embedded message (message/rfc822 or text/rfc822-headers). */
function headerBlockOf(raw: string): string {
  const s = raw.replace(/\r\n?/g, '\n');
  const end = s.search(/\n\s*\n/);
  return end === -1 ? s : s.slice(0, end);
}

function messageIdFromHeaderBlock(block: string): string | undefined {
  for (const [k, v] of fieldBlocks(block)[0] ?? []) {
    if (k === 'message-id') {
      const m = v.match(/<[^<>\s]+>/);
      if (m) return m[0];
      if (v.trim()) return `<${v.trim().replace(/^<|>$/g, '')}>`;
    }
  }
  return undefined;
}

function toFromHeaderBlock(block: string): string[] {
  const out: string[] = [];
  for (const [k, v] of fieldBlocks(block)[0] ?? []) {
    if (k === 'to' || k === 'cc') out.push(...(v.match(ADDRESS_RE) ?? []));
  }
  return out;
}

/** Scans free text (a bounce's human-readable part) for the original Message-ID. */
function messageIdFromText(text: string): string | undefined {
  const m = text.match(/(?:^|\n)\s*(?:Original-)?Message-ID\s*[:：]\s*(<[^<>\s]+>)/i);
  return m ? m[1] : undefined;
}

/**
 * Addresses in free text that look like failed recipients: everything that is an address,
 * minus our own, daemons, Message-IDs and addresses on From/Sender/Return-Path lines.
 */
function recipientsFromText(text: string, exclude: Set<string>): string[] {
  const out: string[] = [];
  for (const line of text.replace(/\r\n?/g, '\n').split('\n')) {
    if (/^\s*(in-reply-to|references|from|sender|return-path|reply-to|reporting-mta|received|x-postfix-sender|发件人)\s*[:：]/i.test(line)) continue;
    // msg-ids such as <req-1@taizhang.local> look like addresses
    if (/message[-_ ]?id/i.test(line)) continue;
    for (const a of line.match(ADDRESS_RE) ?? []) {
      const n = normAddr(a);
      const local = n.split('@')[0];
      if (exclude.has(n) || DAEMON_LOCALPART_RE.test(local)) continue;
      if (!out.includes(n)) out.push(n);
    }
  }
  return out;
}

function dedupe(list: string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const a of list) {
    const n = normAddr(a);
    if (n && !seen.has(n)) {
      seen.add(n);
      out.push(n);
    }
  }
  return out;
}

/**
 * The bounce's details: failed recipients (never `exclude`: our own address, the bounce's
 * sender) and the Message-ID of the returned mail, when any part names it.
 */
export function bounceDetails(input: BounceInput, exclude: Set<string>, reason: string): Bounce {
  const attachments = input.attachments ?? [];
  const text = input.text ?? '';

  // 1. message/delivery-status: as an attachment (keepDeliveryStatus) or folded into the text (default).
  let failed: string[] = [];
  let dsnFound = false;
  const delayed: string[] = [];
  const dsnSources: string[] = [];
  for (const a of attachments) {
    const ct = a.contentType.toLowerCase();
    if (ct === 'message/delivery-status' || ct === 'message/global-delivery-status') dsnSources.push(a.content.toString('utf8'));
  }
  dsnSources.push(text);
  for (const src of dsnSources) {
    const r = parseDeliveryStatus(src);
    if (r.found) {
      dsnFound = true;
      failed.push(...r.failed);
      delayed.push(...r.other.map((o) => `${o.address} (${o.action})`));
    }
  }

  // 2. the original message or its headers
  let originalMessageId: string | undefined;
  const enclosedTo: string[] = [];
  for (const a of attachments) {
    const ct = a.contentType.toLowerCase();
    if (ct === 'message/rfc822' || ct === 'text/rfc822-headers' || ct === 'message/global' || ct === 'message/global-headers') {
      const block = headerBlockOf(a.content.toString('utf8'));
      originalMessageId ??= messageIdFromHeaderBlock(block);
      enclosedTo.push(...toFromHeaderBlock(block));
    }
  }
  originalMessageId ??= messageIdFromText(text);

  // 3. fallbacks for recipients
  if (!dsnFound) {
    const xFailed = headerText(getHeader(input.headers, 'x-failed-recipients'));
    failed.push(...(xFailed.match(ADDRESS_RE) ?? []));
    if (!failed.length) failed.push(...recipientsFromText(text, exclude));
    if (!failed.length) failed.push(...enclosedTo);
  }
  failed = dedupe(failed).filter((a) => !exclude.has(a));

  const notes = delayed.length && !failed.length ? `; not a failure: ${delayed.join(', ')}` : '';
  const result: Bounce = { kind: 'bounce', reason: reason + notes, failedRecipients: failed };
  if (originalMessageId) result.originalMessageId = originalMessageId;
  if (notes) result.delayedOnly = true;
  return result;
}
