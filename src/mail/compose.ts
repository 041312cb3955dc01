import { randomBytes } from 'node:crypto';
import MailComposer from 'nodemailer/lib/mail-composer';

export interface OutgoingMail {
  to: { name?: string; address: string }[];
  subject: string;
  text: string;
  html?: string;
  attachments?: { filename: string; content: Buffer; contentType?: string; contentDisposition?: 'attachment' | 'inline' }[];
  inReplyTo?: string;
  references?: string[];
}

/** A Message-ID of this service's own, in the collection mailbox's domain. */
export function newMessageId(kind: string, address: string): string {
  const domain = address.split('@')[1] ?? 'taizhang.local';
  return `<taizhang.${kind}.${Date.now().toString(36)}.${randomBytes(6).toString('hex')}@${domain}>`;
}

/**
 * Builds the raw RFC 5322 message once, so that what is recorded in the outbox is byte for byte
 * what is sent, however often a send has to be tried again.
 */
export function composeRaw(mail: OutgoingMail, from: { name: string; address: string }, messageId: string, date: Date): Promise<Buffer> {
  return new MailComposer({
    from,
    to: mail.to,
    subject: mail.subject,
    text: mail.text,
    html: mail.html,
    attachments: mail.attachments?.map((a) => ({ filename: a.filename, content: a.content, contentType: a.contentType, contentDisposition: a.contentDisposition })),
    messageId,
    date,
    // Base64 for every text part: Chinese text is under half the size it is in quoted-printable.
    textEncoding: 'base64',
    inReplyTo: mail.inReplyTo,
    references: mail.references,
    headers: {
      // Tells autoresponders and mail servers not to answer (RFC 3834; Exchange's own header).
      'Auto-Submitted': 'auto-generated',
      'X-Auto-Response-Suppress': 'All',
      'X-Mailer': 'taizhang',
    },
  }).compile().build();
}
