/**
 * Tells a person's reply apart from machine-written mail: bounces (退信), automatic replies
 * (自动回复 / out of office / newsletters) and our own mail coming back. Pure: no I/O.
 *
 * The signals follow what Request Tracker, Discourse and Redmine check (see
 * /work/shared/notes/field-notes.md), plus the Chinese subjects 163.com and Chinese clients use.
 * Order of precedence: bounce > own > auto-reply > human.
 */

export type MailClass =
  | { kind: 'human' }
  | { kind: 'auto-reply'; reason: string }
  | { kind: 'bounce'; reason: string; originalMessageId?: string; failedRecipients: string[] }
  | { kind: 'own'; reason: string };

export interface ClassifyInput {
  /** Header map, lower-case keys as mailparser gives them (values may be mailparser's structured values). */
  headers: ReadonlyMap<string, unknown>;
  /** Sender address; taken from the From header when absent. */
  from?: string;
  /** Decoded subject; taken from the headers when absent. */
  subject?: string;
  /** Top-level content type, e.g. `multipart/report; report-type=delivery-status`; taken from the headers when absent. */
  contentType?: string;
  /** Plain-text body (with mailparser's defaults, a message/delivery-status part is appended here). */
  text?: string;
  attachments?: ReadonlyArray<{ contentType: string; content: Buffer }>;
  /** The collection mailbox's own address (loop guard). */
  ownAddress: string;
}

/* ------------------------------------------------------------------------------------------ */
/* Header access                                                                               */
/* ------------------------------------------------------------------------------------------ */

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

/** One header value (mailparser's string / string[] / Date / AddressObject / StructuredHeader …) as text. */
function headerText(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? '' : v.toISOString();
  if (Buffer.isBuffer(v)) return v.toString('latin1');
  if (Array.isArray(v)) return v.map(headerText).join(', ');
  if (isRecord(v)) {
    // AddressObject
    if (Array.isArray(v.value) && typeof v.text === 'string') {
      const addrs = addressesOf(v);
      return addrs.length ? addrs.join(', ') : v.text;
    }
    // StructuredHeader
    if (typeof v.value === 'string') {
      const params = isRecord(v.params)
        ? Object.entries(v.params)
            .map(([k, p]) => `; ${k}=${String(p)}`)
            .join('')
        : '';
      return v.value + params;
    }
    // ListHeaders and the like
    try {
      return JSON.stringify(v);
    } catch {
      return '';
    }
  }
  return String(v);
}

/** All addresses in a mailparser AddressObject (or array of them), groups flattened. */
function addressesOf(v: unknown): string[] {
  const out: string[] = [];
  const walk = (x: unknown): void => {
    if (Array.isArray(x)) return x.forEach(walk);
    if (!isRecord(x)) return;
    if (Array.isArray(x.value)) return walk(x.value);
    if (typeof x.address === 'string' && x.address) out.push(x.address);
    if (Array.isArray(x.group)) walk(x.group);
  };
  walk(v);
  return out;
}

/** Case-insensitive lookup; the map normally has lower-case keys already. */
function getHeader(headers: ReadonlyMap<string, unknown>, name: string): unknown {
  if (headers.has(name)) return headers.get(name);
  for (const [k, v] of headers) if (k.toLowerCase() === name) return v;
  return undefined;
}

const ADDRESS_RE = /[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+/g;

function firstAddress(v: unknown): string | undefined {
  const structured = addressesOf(v);
  if (structured.length) return structured[0];
  const s = headerText(v);
  const m = s.match(ADDRESS_RE);
  return m ? m[0] : undefined;
}

function normAddr(a: string): string {
  return a.trim().replace(/^<|>$/g, '').trim().toLowerCase();
}

/** `Return-Path: <>` (mailparser gives an AddressObject with one empty address). */
function isNullReturnPath(v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (isRecord(v) && Array.isArray(v.value)) {
    return addressesOf(v).length === 0 && (v.value as unknown[]).length > 0;
  }
  const s = headerText(v).trim();
  return s === '<>' || s === '< >';
}

/** Splits `type/subtype; a=b; c="d"` into its value and lower-case params. */
function parseContentType(v: unknown): { value: string; params: Record<string, string> } {
  if (isRecord(v) && typeof v.value === 'string') {
    const params: Record<string, string> = {};
    if (isRecord(v.params)) for (const [k, p] of Object.entries(v.params)) params[k.toLowerCase()] = String(p);
    return { value: v.value.toLowerCase().trim(), params };
  }
  const s = headerText(v);
  const [head = '', ...rest] = s.split(';');
  const params: Record<string, string> = {};
  for (const part of rest) {
    const m = part.match(/^\s*([^=\s]+)\s*=\s*"?([^"]*)"?\s*$/);
    if (m) params[m[1].toLowerCase()] = m[2];
  }
  return { value: head.toLowerCase().trim(), params };
}

/* ------------------------------------------------------------------------------------------ */
/* Signals                                                                                     */
/* ------------------------------------------------------------------------------------------ */

const DAEMON_LOCALPART_RE = /^(mailer[-_]?daemon|post[-_]?master|mail[-_]?delivery[-_]?(system|subsystem)?)$/i;

/** Reply/forward prefixes: a person forwarding a bounce or answering "自动回复…" is still a person. */
const REPLY_PREFIX_RE = /^\s*(re|fw|fwd|aw|wg|sv|vs|tr|回复|回覆|答复|转发|轉寄|转寄)\s*[:：]/i;

const BOUNCE_SUBJECT_RE = new RegExp(
  '^\\s*(?:' +
    [
      '系统退信',
      '退信',
      '邮件退信',
      '投递失败',
      '邮件投递失败',
      '未送达',
      'Undelivered',
      'Undeliverable',
      'Delivery Status Notification',
      'Returned mail',
      'Mail delivery failed',
      'Delivery Failure',
      'failure notice',
      'Mail System Error',
      'Non[- ]?delivery',
    ].join('|') +
    ')',
  'i',
);

const AUTO_SUBJECT_RE = new RegExp(
  '^\\s*(?:' +
    [
      'Auto\\s*:',
      'Automatic reply',
      'Auto[- ]?reply',
      'Autoreply',
      'Auto[- ]?response',
      'Out of (the )?Office',
      'OOO\\b',
      '自动回复',
      '自动答复',
      '自動回覆',
      '自動回復',
      '休假',
      'Abwesenheitsnotiz',
      'Automatische Antwort',
      'Réponse automatique',
      'Respuesta automática',
    ].join('|') +
    ')',
  'i',
);

/** Discourse's header pattern. Tested against header names and (for non-content headers) values. */
const AUTO_HEADER_RE = /auto[-_]?(response|submitted|replied|reply|generated|respond)|holidayreply|machinegenerated/i;

/** Headers that are handled explicitly or whose values are free text written by people. */
const AUTO_HEADER_SKIP = new Set([
  'auto-submitted', // "no" is a valid value: handled explicitly
  'x-auto-response-suppress', // set by Outlook and services on ordinary mail: not a sign
]);
const FREE_TEXT_HEADERS = new Set([
  'subject',
  'thread-topic',
  'from',
  'to',
  'cc',
  'bcc',
  'reply-to',
  'sender',
  'message-id',
  'in-reply-to',
  'references',
  'received',
  'date',
  'content-type',
  'content-disposition',
  'dkim-signature',
  'arc-message-signature',
  'arc-seal',
  'arc-authentication-results',
  'authentication-results',
  'x-ms-exchange-crosstenant-originalarrivaltime',
]);

function autoHeaderReason(headers: ReadonlyMap<string, unknown>): string | undefined {
  const autoSubmitted = headerText(getHeader(headers, 'auto-submitted')).trim();
  if (autoSubmitted && !/^no\b/i.test(autoSubmitted)) return `Auto-Submitted: ${autoSubmitted}`;

  for (const name of ['x-autoreply', 'x-autorespond', 'x-autoresponder']) {
    const v = getHeader(headers, name);
    if (v !== undefined && !/^\s*(no|false|0)\s*$/i.test(headerText(v))) return `${name}: ${headerText(v)}`;
  }

  const precedence = headerText(getHeader(headers, 'precedence')).trim();
  if (/^(bulk|junk|list|auto[-_]?reply)\b/i.test(precedence)) return `Precedence: ${precedence}`;

  for (const [rawName, v] of headers) {
    const name = rawName.toLowerCase();
    if (AUTO_HEADER_SKIP.has(name)) continue;
    if (AUTO_HEADER_RE.test(name)) return `header ${name}`;
    if (FREE_TEXT_HEADERS.has(name)) continue;
    const text = headerText(v);
    if (AUTO_HEADER_RE.test(text)) return `header ${name}: ${text.slice(0, 80)}`;
  }
  return undefined;
}

/* ------------------------------------------------------------------------------------------ */
/* Bounce details                                                                              */
/* ------------------------------------------------------------------------------------------ */

/** Unfolds header-style text (`Name: value` with continuation lines) into [name, value] pairs per block. */
function fieldBlocks(text: string): Array<Array<[string, string]>> {
  const blocks: Array<Array<[string, string]>> = [];
  let block: Array<[string, string]> = [];
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  for (const line of lines) {
    if (/^\s*$/.test(line)) {
      if (block.length) blocks.push(block);
      block = [];
      continue;
    }
    const m = line.match(/^([A-Za-z][A-Za-z0-9-]*)\s*:\s?(.*)$/);
    if (m) block.push([m[1].toLowerCase(), m[2].trim()]);
    else if (/^[ \t]/.test(line) && block.length) block[block.length - 1][1] += ' ' + line.trim();
  }
  if (block.length) blocks.push(block);
  return blocks;
}

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

function bounceDetails(input: ClassifyInput, exclude: Set<string>, reason: string): Extract<MailClass, { kind: 'bounce' }> {
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
  const result: Extract<MailClass, { kind: 'bounce' }> = { kind: 'bounce', reason: reason + notes, failedRecipients: failed };
  if (originalMessageId) result.originalMessageId = originalMessageId;
  return result;
}

/* ------------------------------------------------------------------------------------------ */
/* Classifier                                                                                  */
/* ------------------------------------------------------------------------------------------ */

export function classifyMail(input: ClassifyInput): MailClass {
  const { headers } = input;
  const own = normAddr(input.ownAddress);
  const fromHeader = getHeader(headers, 'from');
  const from = normAddr(input.from ?? firstAddress(fromHeader) ?? '');
  const fromLocal = from.split('@')[0] ?? '';
  const subject = (input.subject ?? headerText(getHeader(headers, 'subject'))).trim();
  const isReplySubject = REPLY_PREFIX_RE.test(subject);
  const ct = parseContentType(input.contentType ?? getHeader(headers, 'content-type'));
  const reportType = (ct.params['report-type'] ?? '').toLowerCase();
  const nullReturnPath = isNullReturnPath(getHeader(headers, 'return-path'));
  const fromDaemon = DAEMON_LOCALPART_RE.test(fromLocal);
  const attachments = input.attachments ?? [];

  const exclude = new Set<string>([own, from].filter(Boolean));

  // --- bounces -------------------------------------------------------------------------------
  const bounceReasons: string[] = [];
  if (ct.value === 'multipart/report' && (reportType === 'delivery-status' || reportType === 'global-delivery-status'))
    bounceReasons.push(`multipart/report; report-type=${reportType}`);
  if (attachments.some((a) => /^message\/(global-)?delivery-status$/i.test(a.contentType))) bounceReasons.push('message/delivery-status part');
  if (!isReplySubject && BOUNCE_SUBJECT_RE.test(subject)) bounceReasons.push(`subject "${subject.slice(0, 60)}"`);
  if (getHeader(headers, 'x-failed-recipients') !== undefined) bounceReasons.push('X-Failed-Recipients');
  if (fromDaemon && (bounceReasons.length || nullReturnPath)) bounceReasons.push(`from ${from}`);
  if (bounceReasons.length) {
    if (nullReturnPath) bounceReasons.push('Return-Path <>');
    return bounceDetails(input, exclude, bounceReasons.join(', '));
  }

  // --- our own mail --------------------------------------------------------------------------
  if (own && from === own) return { kind: 'own', reason: `From is our own address ${own}` };

  // --- automatic replies and other machine mail ------------------------------------------------
  if (fromDaemon) return { kind: 'auto-reply', reason: `from ${from}` };
  if (nullReturnPath) return { kind: 'auto-reply', reason: 'Return-Path <>' };
  if (ct.value === 'multipart/report') return { kind: 'auto-reply', reason: `multipart/report; report-type=${reportType || '?'}` };
  const headerReason = autoHeaderReason(headers);
  if (headerReason) return { kind: 'auto-reply', reason: headerReason };
  if (!isReplySubject && AUTO_SUBJECT_RE.test(subject)) return { kind: 'auto-reply', reason: `subject "${subject.slice(0, 60)}"` };

  return { kind: 'human' };
}
