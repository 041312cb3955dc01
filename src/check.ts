import type { Config } from './config.js';
import { errorMessage, TaizhangError } from './errors.js';
import { connectImap, ensureFolders } from './imap.js';
import type { Logger } from './logger.js';
import nodemailer from 'nodemailer';

interface Finding { ok: boolean; what: string; hint?: string }

/** Explains a login failure in plain Chinese and English. */
function hintFor(err: unknown, side: 'IMAP' | 'SMTP'): string {
  const text = errorMessage(err);
  if (/auth|535|login|password|credentials/i.test(text)) {
    return '登录被拒绝:163/126/QQ 邮箱须使用"授权码"而非登录密码,并在网页版设置中开启 IMAP/SMTP 服务。 Login refused: use the authorization code (授权码), not the account password, and enable IMAP/SMTP in the mailbox settings.';
  }
  if (/Unsafe Login/i.test(text)) return '163 要求客户端发送 IMAP ID 命令(本程序已发送);请确认 IMAP 已开启。 163 requires the IMAP ID command; check that IMAP is enabled.';
  if (/certificate|self.signed|TLS|SSL/i.test(text)) return 'TLS 证书校验失败:请检查主机名与端口。 TLS verification failed: check host and port.';
  if (/ECONNREFUSED|ENOTFOUND|ETIMEDOUT/i.test(text)) return `无法连接 ${side} 服务器:请检查主机名、端口和网络。 Cannot reach the ${side} server: check host, port and network.`;
  if (/553|Local user only/i.test(text)) return '发件人必须是登录账号本身(mailbox.address 与 smtp.user 一致)。 From must be the logged-in account.';
  return text;
}

/** `taizhang check`: config is valid (it loaded), IMAP and SMTP log in, the folders exist. */
export async function runCheck(config: Config, log: Logger): Promise<number> {
  const findings: Finding[] = [{ ok: true, what: `配置有效 config OK (${config.people.length} people, ${config.ledger.tasks.length} tasks)` }];
  try {
    const client = await connectImap(config.mailbox.imap, log);
    const f = config.mailbox.folders;
    await ensureFolders(client, [f.processed, f.rejected, f.quarantine, f.machine, f.sent]);
    await client.mailboxOpen('INBOX', { readOnly: true });
    findings.push({ ok: true, what: `IMAP 登录成功 IMAP login OK (${config.mailbox.imap.host}); folders ready` });
    await client.logout();
  } catch (err) {
    findings.push({ ok: false, what: `IMAP ${config.mailbox.imap.host}:${config.mailbox.imap.port}`, hint: hintFor(err, 'IMAP') });
  }
  const smtp = config.mailbox.smtp;
  const transport = nodemailer.createTransport({ host: smtp.host, port: smtp.port, secure: smtp.secure, auth: { user: smtp.user, pass: smtp.password }, tls: { rejectUnauthorized: smtp.tlsVerify }, connectionTimeout: 20_000 });
  try {
    await transport.verify();
    findings.push({ ok: true, what: `SMTP 登录成功 SMTP login OK (${smtp.host})` });
  } catch (err) {
    findings.push({ ok: false, what: `SMTP ${smtp.host}:${smtp.port}`, hint: hintFor(err, 'SMTP') });
  } finally {
    transport.close();
  }
  if (smtp.user.toLowerCase() !== config.mailbox.address.toLowerCase()) {
    findings.push({ ok: false, what: 'mailbox.smtp.user', hint: '发件账号与 mailbox.address 不一致,163 等邮箱会以 553 拒发。 SMTP user differs from mailbox.address: providers reject such mail (553).' });
  }
  for (const f of findings) process.stdout.write(`${f.ok ? '✔' : '✘'} ${f.what}${f.hint ? `\n    ${f.hint}` : ''}\n`);
  const bad = findings.filter((f) => !f.ok).length;
  if (bad) throw new TaizhangError('INTERNAL', `check found ${bad} problem(s)`);
  return 0;
}
