import { randomBytes } from 'node:crypto';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import type MimeNode from 'nodemailer/lib/mime-node/index.js';

export interface OutgoingMail {
  to: { name?: string; address: string }[];
  subject: string;
  text: string;
  html?: string;
  attachments?: { filename: string; content: Buffer; contentType?: string }[];
  inReplyTo?: string;
  references?: string[];
}

/** A Message-ID of this service's own, in the collection mailbox's domain. */
export function newMessageId(kind: string, address: string): string {
  const domain = address.split('@')[1] ?? 'taizhang.local';
  return `<taizhang.${kind}.${Date.now().toString(36)}.${randomBytes(6).toString('hex')}@${domain}>`;
}

/**
 * Builds the raw RFC 5322 message, so that what is recorded in the outbox is byte for byte
 * what is sent, however often a send has to be tried again.
 */
export async function composeRaw(mail: OutgoingMail, from: { name: string; address: string }, messageId: string, date: Date): Promise<Buffer> {
  const root = compileMail(mail, from, messageId, date);
  return buildSync(root) ?? root.build();
}

/** The MIME tree of a mail, as nodemailer's MailComposer compiles it. */
export function compileMail(mail: OutgoingMail, from: { name: string; address: string }, messageId: string, date: Date): MimeNode {
  return new MailComposer({
    from,
    to: mail.to,
    subject: mail.subject,
    text: mail.text,
    html: mail.html,
    attachments: mail.attachments?.map((a) => ({ filename: a.filename, content: a.content, contentType: a.contentType })),
    messageId,
    date,
    // Base64 for every text part: Chinese text is a third of the size of quoted-printable, and
    // the message can be built without streams (buildSync).
    textEncoding: 'base64',
    inReplyTo: mail.inReplyTo,
    references: mail.references,
    headers: {
      'Auto-Submitted': 'auto-generated',
      'X-Auto-Response-Suppress': 'All',
      'X-Mailer': 'taizhang',
    },
  }).compile();
}

/** MimeNode's fields that its typings leave out. */
interface MimeNodeInternals {
  _raw?: unknown;
  _transforms?: unknown[];
  _processFuncs?: unknown[];
  newline?: unknown;
}

/**
 * The bytes `root.build()` gives, built synchronously: nodemailer builds every message through a
 * chain of streams, a millisecond of the main thread per receipt. Only for the shapes this
 * service composes (string or Buffer content, base64 or 7bit); null for anything else, which is
 * then built by nodemailer itself. tests/compose.test.ts holds the two to the same bytes.
 */
export function buildSync(root: MimeNode): Buffer | null {
  const r = root as MimeNode & MimeNodeInternals;
  if (r._transforms?.length || r._processFuncs?.length || r.newline) return null;
  const out: Buffer[] = [];
  if (!appendNode(root, out)) return null;
  const last = out[out.length - 1];
  if (!last || last[last.length - 1] !== 0x0a) out.push(Buffer.from(last && last[last.length - 1] === 0x0d ? '\n' : '\r\n'));
  return Buffer.concat(out);
}

/** `bytes` in base64, lines of 76 characters joined by CRLF, as nodemailer's `wrap` writes them (without its regular expression). */
function base64Lines(bytes: Buffer): Buffer {
  const b64 = Buffer.from(bytes.toString('base64'), 'latin1');
  const out = Buffer.allocUnsafe(b64.length + Math.max(Math.ceil(b64.length / 76) - 1, 0) * 2);
  let to = 0;
  for (let from = 0; from < b64.length; from += 76) {
    if (from > 0) {
      out[to++] = 0x0d;
      out[to++] = 0x0a;
    }
    to += b64.copy(out, to, from, Math.min(from + 76, b64.length));
  }
  return out;
}

function appendNode(node: MimeNode, out: Buffer[]): boolean {
  const { content } = node;
  if ((node as MimeNodeInternals)._raw || (content !== undefined && typeof content !== 'string' && !Buffer.isBuffer(content))) return false;
  const encoding = node.getTransferEncoding() || '';
  if (content && !['base64', '7bit', '8bit', 'binary'].includes(encoding)) return false;
  out.push(Buffer.from(`${node.buildHeaders()}\r\n\r\n`));
  if (content) {
    const bytes = typeof content === 'string' ? Buffer.from(content) : content;
    out.push(encoding === 'base64' ? base64Lines(bytes) : bytes);
  }
  if (!node.multipart) return true;
  for (const [i, child] of node.childNodes.entries()) {
    out.push(Buffer.from(`${i > 0 ? '\r\n' : ''}--${node.boundary}\r\n`));
    if (!appendNode(child, out)) return false;
  }
  out.push(Buffer.from(`\r\n--${node.boundary}--\r\n`));
  return true;
}
