/**
 * Tells a person's reply apart from machine-written mail: bounces (退信), automatic replies
 * (自动回复 / out of office / newsletters) and our own mail coming back. Pure: no I/O.
 *
 * The signals follow what Request Tracker, Discourse and Redmine check (see
 * /work/shared/notes/field-notes.md), plus the Chinese subjects 163.com and Chinese clients use.
 * Order of precedence: bounce > own > auto-reply > human.
 */
import { bounceDetails, DAEMON_LOCALPART_RE, type Bounce } from './bounce.js';
import { firstAddress, getHeader, headerText, isNullReturnPath, normAddr, parseContentType } from './headers.js';

export type MailClass =
  | { kind: 'human' }
  | { kind: 'auto-reply'; reason: string }
  | Bounce
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


/** What kind of mail this is: a person's, a bounce, an automatic reply, or our own coming back. */
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
