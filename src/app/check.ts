import type { Config } from './config.js';
import { errorMessage, TaizhangError } from '../errors.js';
import { connectImap, ensureFolders, sentFolderOf } from '../mail/imap.js';
import { scrubSecrets, type Logger } from '../logger.js';
import { createSmtpTransport } from '../mail/smtp.js';
import { localParts } from '../core/calendar.js';
import { calendarWarning } from '../cycle/workdays.js';

interface Finding { ok: boolean; what: string; hint?: string; warning?: boolean }

/** Explains a connection or login failure in plain Chinese and English (the most specific cause first). */
export function hintFor(err: unknown, side: 'IMAP' | 'SMTP'): string {
  const text = scrubSecrets(errorMessage(err));
  const detail = ` (${text})`;
  if (/Unsafe Login/i.test(text)) {
    return `163 拒绝了不安全登录:客户端须发送 IMAP ID 命令(本程序已发送),请确认网页版设置中已开启 IMAP 服务。 163 refused an "Unsafe Login": it requires the IMAP ID command (sent by taizhang); check that IMAP is enabled in the mailbox settings.${detail}`;
  }
  if (/STARTTLS/i.test(text)) {
    return `服务器未提供 STARTTLS:端口 465 请设 secure: true,端口 587 须支持 STARTTLS。 The server offered no STARTTLS: use secure: true on port 465; port 587 must offer STARTTLS.${detail}`;
  }
  if (/certificate|self.signed|TLS|SSL|wrong version number/i.test(text)) {
    return `TLS 连接失败:请检查主机名、端口与 secure 设置(465/993 为 SSL)。 TLS failed: check host, port and the secure setting (465/993 are implicit TLS).${detail}`;
  }
  if (/ECONNREFUSED|ENOTFOUND|ETIMEDOUT|EHOSTUNREACH|ECONNRESET|connection failed|timed? ?out/i.test(text)) {
    return `无法连接 ${side} 服务器:请检查主机名、端口和网络。 Cannot reach the ${side} server: check host, port and network.${detail}`;
  }
  if (/\b553\b|Local user only|Mail from must equal/i.test(text)) {
    return `发件人必须是登录账号本身(mailbox.address 与 smtp.user 一致)。 From must be the logged-in account (mailbox.address = smtp.user).${detail}`;
  }
  if (/auth|\b535\b|login|password|credentials/i.test(text)) {
    return `登录被拒绝:163/126/QQ 邮箱须使用"授权码"而非登录密码,并在网页版设置中开启 IMAP/SMTP 服务。 Login refused: use the authorization code (授权码), not the account password, and enable IMAP/SMTP in the mailbox settings.${detail}`;
  }
  return text;
}

/** `taizhang check`: config is valid (it loaded), IMAP and SMTP log in, the folders exist. */
export async function runCheck(config: Config, log: Logger, now = new Date()): Promise<number> {
  const ledgers = config.ledgers.length > 1 ? `, ${config.ledgers.length} ledgers: ${config.ledgers.map((l) => l.id).join(', ')}` : '';
  const tasks = config.ledgers.reduce((n, l) => n + l.ledger.tasks.length, 0);
  const findings: Finding[] = [{ ok: true, what: `配置有效 config OK (${config.people.length} people, ${tasks} tasks${ledgers})` }];
  // From 1 November, next year's holidays should be known: a warning, not a failure (each ledger's own calendar).
  const gaps = new Set(config.ledgers.map((l) => calendarWarning(l.schedule, localParts(now, config.timezone))).filter((g): g is string => !!g));
  for (const gap of gaps) {
    findings.push({ ok: true, warning: true, what: 'schedule.calendar', hint: gap });
    log.warn(gap);
  }
  let client: Awaited<ReturnType<typeof connectImap>> | undefined;
  try {
    client = await connectImap(config.mailbox.imap, log);
    const f = config.mailbox.folders;
    const folders = [f.processed, f.rejected, f.quarantine, f.machine, await sentFolderOf(client, f.sent)];
    await ensureFolders(client, folders);
    await client.mailboxOpen('INBOX', { readOnly: true });
    findings.push({ ok: true, what: `IMAP 登录成功 IMAP login OK (${config.mailbox.imap.host}); 文件夹已就绪 folders ready: ${folders.join(', ')}` });
  } catch (err) {
    findings.push({ ok: false, what: `IMAP ${config.mailbox.imap.host}:${config.mailbox.imap.port}`, hint: hintFor(err, 'IMAP') });
  } finally {
    const c = client;
    if (c) await c.logout().catch(() => c.close());
  }
  const smtp = config.mailbox.smtp;
  // The transport mail is sent with: what works here works when sending.
  const transport = createSmtpTransport(smtp, log);
  try {
    await transport.verify();
    findings.push({ ok: true, what: `SMTP 登录成功 SMTP login OK (${smtp.host})` });
  } catch (err) {
    // Explained by nodemailer's own words, which name the step that failed (STARTTLS, login …).
    findings.push({ ok: false, what: `SMTP ${smtp.host}:${smtp.port}`, hint: hintFor(err instanceof TaizhangError && err.cause ? err.cause : err, 'SMTP') });
  } finally {
    transport.close();
  }
  if (smtp.user.toLowerCase() !== config.mailbox.address.toLowerCase()) {
    findings.push({ ok: false, what: 'mailbox.smtp.user', hint: '发件账号与 mailbox.address 不一致,163 等邮箱会以 553 拒发。 SMTP user differs from mailbox.address: providers reject such mail (553).' });
  }
  for (const f of findings) process.stdout.write(`${f.warning ? '!' : f.ok ? '✔' : '✘'} ${f.what}${f.hint ? `\n    ${f.hint}` : ''}\n`);
  const bad = findings.filter((f) => !f.ok).length;
  if (bad) throw new TaizhangError('INTERNAL', `check found ${bad} problem(s)`);
  return 0;
}
