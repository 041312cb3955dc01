/** Simulated responsible persons for the demo, tests and benchmark: they fill the form and reply. */
import ExcelJS from 'exceljs';
import { simpleParser } from 'mailparser';
import nodemailer, { type Transporter } from 'nodemailer';

export interface SmtpEndpoint { host: string; port: number; password: string }

/** Fills 进展情况 (and 备注) in a form, found by header and 序号 like a person would. */
export async function fillForm(xlsx: Buffer, answer: (no: number) => { progress?: string; remark?: string } | undefined): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(xlsx as unknown as ArrayBuffer);
  for (const ws of wb.worksheets) {
    if (ws.state !== 'visible') continue;
    let cols: { no: number; progress: number; remark: number } | null = null;
    ws.eachRow((row, r) => {
      const texts = (row.values as unknown[]).map((v) => (typeof v === 'string' ? v.trim() : v));
      if (!cols) {
        const no = texts.indexOf('序号');
        const progress = texts.indexOf('进展情况');
        if (no > 0 && progress > 0) cols = { no, progress, remark: texts.indexOf('备注') };
        return;
      }
      const n = Number(row.getCell(cols.no).value);
      const a = Number.isInteger(n) ? answer(n) : undefined;
      if (!a) return;
      if (a.progress !== undefined) ws.getRow(r).getCell(cols.progress).value = a.progress;
      if (a.remark !== undefined && cols.remark > 0) ws.getRow(r).getCell(cols.remark).value = a.remark;
    });
  }
  return Buffer.from(await wb.xlsx.writeBuffer());
}

export interface ReplyOptions {
  smtp: SmtpEndpoint;
  from: string;
  /** The raw request or reminder the person received. */
  original: Buffer;
  answer?: (no: number) => { progress?: string; remark?: string } | undefined;
  /** Send without the attachment (a person who forgot it). */
  noAttachment?: boolean;
  text?: string;
  transport?: Transporter;
}

/** Replies to a request as a mail client would: Re: subject, In-Reply-To, References, the filled file. */
export async function replyToRequest(o: ReplyOptions): Promise<string> {
  const req = await simpleParser(o.original);
  const att = req.attachments.find((a) => a.filename?.endsWith('.xlsx'));
  const attachments = [];
  if (att && !o.noAttachment) {
    const filled = o.answer ? await fillForm(att.content, o.answer) : att.content;
    attachments.push({ filename: att.filename, content: filled });
  }
  const transport = o.transport ?? nodemailer.createTransport({ host: o.smtp.host, port: o.smtp.port, secure: false, ignoreTLS: true, auth: { user: o.from, pass: o.smtp.password } });
  const to = req.from?.value?.[0]?.address ?? '';
  try {
    const info = await transport.sendMail({
      from: o.from, to, subject: `回复:${req.subject ?? ''}`, text: o.text ?? '已填写,请查收。',
      inReplyTo: req.messageId, references: req.messageId ? [req.messageId] : undefined, attachments,
    });
    return info.messageId;
  } finally {
    if (!o.transport) transport.close();
  }
}
