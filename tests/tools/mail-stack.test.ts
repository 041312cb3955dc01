import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import { describe, expect, it } from 'vitest';
import { startMailStack, type MailStack } from '../../tools/mail-stack.js';
import { useMailStack } from '../helpers/mail-stack.js';

const mail = useMailStack();

let seq = 0;
/** A fresh address per use, so tests sharing one stack never see each other's mail. */
const addr = (who: string) => `${who}-${process.pid}-${++seq}@example.test`;

function transport(s: MailStack, pass = s.password) {
  return nodemailer.createTransport({
    host: s.smtp.host, port: s.smtp.port, secure: false, ignoreTLS: true,
    auth: { user: 'office@example.test', pass },
  });
}

function imapClient(s: MailStack, user: string, name = 'taizhang-test') {
  const c = new ImapFlow({
    host: s.imap.host, port: s.imap.port, secure: false, logger: false,
    auth: { user, pass: s.password }, clientInfo: { name, version: '1.0.0' },
  });
  c.on('error', () => {});
  return c;
}

async function until<T>(fn: () => Promise<T | undefined> | T | undefined, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

/** True when pid is gone (or a zombie nobody reaped yet). */
function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    return /^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return true;
  }
}

describe('mail stack: SMTP relay into Dovecot', () => {
  it('delivers an authenticated submission to every recipient INBOX', async () => {
    const s = mail();
    const [a, b] = [addr('alice'), addr('bob')];
    const info = await transport(s).sendMail({
      from: 'office@example.test', to: [a, b], subject: '三月台账 / March ledger', text: '请填写附件。',
      attachments: [{ filename: '台账.xlsx', content: Buffer.from('not really a sheet') }],
    });
    expect(info.accepted).toEqual([a, b]);
    for (const user of [a, b]) {
      const msgs = await s.listMessages(user);
      expect(msgs).toHaveLength(1);
      expect(msgs[0].subject).toBe('三月台账 / March ledger');
      expect(msgs[0].from).toBe('office@example.test');
      expect(msgs[0].messageId).toBe(info.messageId);
      expect(msgs[0].source.toString()).toContain('filename');
    }
    const rec = s.smtp.accepted.find((m) => m.messageId === info.messageId);
    expect(rec).toMatchObject({ from: 'office@example.test', to: [a, b] });
    expect(rec!.raw.length).toBeGreaterThan(100);
  });

  it('refuses a wrong password', async () => {
    const s = mail();
    await expect(transport(s, 'wrong').sendMail({ from: 'office@example.test', to: addr('x'), text: 'x' }))
      .rejects.toMatchObject({ code: 'EAUTH', responseCode: 535 });
  });

  it('answers an injected 451 for one recipient and delivers to the others', async () => {
    const s = mail();
    const [good, busy] = [addr('good'), addr('busy')];
    s.smtp.setFault(({ to, phase }) => (phase === 'rcpt' && to.includes(busy)
      ? { code: 451, message: '4.2.1 Mailbox busy, try later', phase: 'rcpt' } : undefined));
    try {
      const info = await transport(s).sendMail({ from: 'office@example.test', to: [good, busy], subject: 'fault', text: 'x' });
      expect(info.accepted).toEqual([good]);
      expect(info.rejected).toEqual([busy]);
      const errs = (info as unknown as { rejectedErrors: Array<{ responseCode: number; response: string }> }).rejectedErrors;
      expect(errs[0].responseCode).toBe(451);
      expect(errs[0].response).toContain('Mailbox busy');
      // all recipients refused: the send fails with that code
      await expect(transport(s).sendMail({ from: 'office@example.test', to: [busy], text: 'x' }))
        .rejects.toMatchObject({ responseCode: 451 });
    } finally {
      s.smtp.setFault(null);
    }
    expect(await s.listMessages(good)).toHaveLength(1);
    expect(await s.listMessages(busy)).toHaveLength(0);
  });

  it('answers an injected 421 at DATA for the n-th message only', async () => {
    const s = mail();
    const to = addr('nth');
    let first: number | undefined;
    s.smtp.setFault(({ count, phase }) => {
      first ??= count;
      return phase === 'data' && count === first + 1 ? { code: 421, message: '4.3.2 Shutting down' } : undefined;
    });
    const results: Array<number | 'ok'> = [];
    try {
      for (let i = 1; i <= 3; i++) {
        try {
          await transport(s).sendMail({ from: 'office@example.test', to, subject: `m${i}`, text: 'x' });
          results.push('ok');
        } catch (e) {
          results.push((e as { responseCode: number }).responseCode);
        }
      }
    } finally {
      s.smtp.setFault(null);
    }
    expect(results).toEqual(['ok', 421, 'ok']);
    expect((await s.listMessages(to)).map((m) => m.subject)).toEqual(['m1', 'm3']);
  });
});

describe('mail stack: Dovecot', () => {
  it('logs the IMAP ID the client sends (imap_id_log)', async () => {
    const s = mail();
    const name = `taizhang-id-${process.pid}`;
    const c = imapClient(s, addr('id'), name);
    await c.connect();
    await c.logout();
    const line = await until(async () => (await fs.readFile(s.dovecotLogPath, 'utf8'))
      .split('\n').find((l) => l.includes(`ID sent: name=${name}`)));
    expect(line).toContain('version=1.0.0');
  });

  it('LMTP fixtures keep envelope, In-Reply-To and Auto-Submitted', async () => {
    const s = mail();
    const to = addr('fixture');
    const raw = [
      'From: Mailer-Daemon <mailer-daemon@example.test>', `To: ${to}`, 'Subject: Out of office',
      'Message-ID: <ooo-1@example.test>', 'In-Reply-To: <orig-1@example.test>', 'Auto-Submitted: auto-replied',
      'MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', '', 'I am away.', '',
    ].join('\r\n');
    await s.deliver(raw, [to], '');
    const [m] = await s.listMessages(to);
    expect(m).toMatchObject({
      uid: 1, subject: 'Out of office', from: 'mailer-daemon@example.test',
      messageId: '<ooo-1@example.test>', inReplyTo: '<orig-1@example.test>', autoSubmitted: 'auto-replied',
    });
    expect(m.source.toString()).toContain('Return-Path: <>');
  });

  it('pushes new mail to an IDLE client', async () => {
    const s = mail();
    const user = addr('idle');
    const c = imapClient(s, user);
    await c.connect();
    try {
      expect(c.capabilities.has('IDLE')).toBe(true);
      await c.mailboxOpen('INBOX');
      const exists = new Promise<number>((resolve) => c.on('exists', (e: { count: number }) => resolve(e.count)));
      void c.idle().catch(() => {});
      await until(() => c.idling || undefined);
      await s.deliver('Subject: ping\r\n\r\nping\r\n', [user]);
      expect(await exists).toBe(1);
      // Told while still idling: the server pushed it, the client asked nothing.
      expect(c.idling).toBe(true);
    } finally {
      await c.logout().catch(() => c.close());
    }
  });

  it('creates, lists and fills a folder with a Chinese name', async () => {
    const s = mail();
    const user = addr('cn');
    const folder = '台账-已处理';
    const nested = '台账/2024年3月';
    const c = imapClient(s, user);
    await c.connect();
    try {
      await c.mailboxCreate(folder);
      await c.mailboxCreate(nested);
      const listed = (await c.list()).map((f) => f.path);
      expect(listed).toContain(folder);
      expect(listed).toContain(nested);
      await s.deliver('Subject: 张三 3月\r\nMessage-ID: <cn-1@example.test>\r\n\r\n已填\r\n', [user]);
      await c.mailboxOpen('INBOX');
      const moved = await c.messageMove('1:*', folder, { uid: true });
      expect(moved && moved.uidMap?.size).toBe(1);
    } finally {
      await c.logout().catch(() => c.close());
    }
    const folders = await s.listFolders(user);
    expect(folders.find((f) => f.path === folder)).toMatchObject({ name: folder });
    expect(folders.find((f) => f.path === nested)).toMatchObject({ name: '2024年3月', delimiter: '/' });
    expect((await s.listMessages(user, folder)).map((m) => m.subject)).toEqual(['张三 3月']);
    expect(await s.listMessages(user)).toEqual([]);
    // on disk it is Maildir++ with the name in modified UTF-7
    const onDisk = await fs.readdir(path.join(s.dir, 'mail', user));
    expect(onDisk).toContain('.&U,CNJg--&XfJZBHQG-');
  });

  it('restartImap keeps the port and the mail; clients see the disconnect', async () => {
    const s = mail();
    const user = addr('restart');
    await s.deliver('Subject: before\r\n\r\nx\r\n', [user]);
    const port = s.imap.port;
    const pid = s.dovecotPid;
    const c = imapClient(s, user);
    await c.connect();
    await c.mailboxOpen('INBOX');
    const closed = new Promise<void>((resolve) => c.once('close', () => resolve()));
    await s.restartImap();
    await closed;
    expect(s.imap.port).toBe(port);
    expect(s.dovecotPid).not.toBe(pid);
    await transport(s).sendMail({ from: 'office@example.test', to: user, subject: 'after', text: 'x' });
    expect((await s.listMessages(user)).map((m) => m.subject)).toEqual(['before', 'after']);
  });

  it('runs several stacks side by side on distinct ports and folders, and cleans up on stop', async () => {
    const s = mail();
    const other = await startMailStack({ password: 'other-pw' });
    try {
      const mine = [s.imap.port, s.lmtp.port, s.smtp.port];
      expect(mine).not.toContain(other.imap.port);
      expect(mine).not.toContain(other.smtp.port);
      expect(other.dir).not.toBe(s.dir);
      await other.deliver('Subject: hi\r\n\r\nx\r\n', ['z@example.test']);
      expect(await other.listMessages('z@example.test')).toHaveLength(1);
    } finally {
      const pid = other.dovecotPid!;
      await other.stop();
      expect(processGone(pid)).toBe(true);
      expect(await portOpen(other.imap.port)).toBe(false);
      expect(existsSync(other.dir)).toBe(false);
    }
  });
});

describe('mail stack: command line', () => {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const cli = path.join(root, 'tools', 'mail-stack-cli.ts');
  // tsx by its file URL: a child started in another folder cannot resolve the bare name.
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

  function startCli(cwd = root): Promise<{ child: ChildProcess; info: Record<string, any> }> {
    const child = spawn(process.execPath, ['--import', tsx, cli, 'start'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr!.on('data', (c) => { err += c; });
    return new Promise((resolve, reject) => {
      child.stdout!.on('data', (c) => {
        out += c;
        if (out.includes('\n')) resolve({ child, info: JSON.parse(out.split('\n')[0]) });
      });
      child.once('exit', (code) => reject(new Error(`mail-stack-cli exited ${code}: ${err}`)));
    });
  }

  async function stopCli(child: ChildProcess): Promise<number | null> {
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    return exited;
  }

  /** Whether user `mail`, as Dovecot's mailbox processes run, can enter `dir` (and all above it). */
  function mailCanEnter(dir: string): boolean {
    return spawnSync('setpriv', ['--reuid=mail', '--regid=mail', '--clear-groups', 'test', '-x', dir]).status === 0;
  }

  it('starts in a fresh folder under the temporary folder, serves IMAP, and on SIGTERM stops and removes it', async () => {
    const { child, info } = await startCli();
    try {
      expect(path.dirname(info.dir)).toBe(os.tmpdir());
      expect(JSON.parse(await fs.readFile(path.join(info.dir, 'stack.json'), 'utf8'))).toEqual(info);
      expect(info).toMatchObject({ password: 'secret', imap: { host: '127.0.0.1' }, smtp: { host: '127.0.0.1' } });
      const c = new ImapFlow({ host: '127.0.0.1', port: info.imap.port, secure: false, logger: false, auth: { user: 'cli@example.test', pass: info.password } });
      c.on('error', () => {});
      await c.connect();
      await c.logout();
      expect(await stopCli(child)).toBe(0);
      expect(processGone(info.dovecotPid)).toBe(true);
      expect(await portOpen(info.imap.port)).toBe(false);
      expect(await portOpen(info.smtp.port)).toBe(false);
      expect(existsSync(info.dir)).toBe(false);
    } finally {
      child.kill('SIGKILL');
      await fs.rm(info.dir, { recursive: true, force: true });
    }
  });

  it('does not leak Dovecot when the process is killed with SIGKILL', async () => {
    const { child, info } = await startCli();
    try {
      child.kill('SIGKILL');
      await until(() => processGone(info.dovecotPid) || undefined, 5000);
      await until(async () => !(await portOpen(info.imap.port)) || undefined, 5000);
    } finally {
      await fs.rm(info.dir, { recursive: true, force: true });
    }
  });

  it('keeps its state outside the project, where user mail can reach it, when the project is in a folder of mode 700', async () => {
    // A clone in a home folder of mode 700 (as root's own is): user mail cannot enter it.
    const home = await fs.mkdtemp(path.join(os.tmpdir(), 'taizhang-home-'));
    await fs.chmod(home, 0o700);
    const project = path.join(home, 'clone');
    await fs.mkdir(project);
    expect(mailCanEnter(home)).toBe(false);
    let dir: string | undefined;
    try {
      const { child, info } = await startCli(project);
      dir = info.dir as string;
      let code: number | null = null;
      try {
        expect(dir.startsWith(home)).toBe(false);
        expect(dir.startsWith(root)).toBe(false);
        expect(mailCanEnter(path.join(dir, 'mail'))).toBe(true);
        const to = addr('home700');
        const sent = await nodemailer.createTransport({ host: '127.0.0.1', port: info.smtp.port, secure: false, ignoreTLS: true, auth: { user: 'office@example.test', pass: info.password } })
          .sendMail({ from: 'office@example.test', to, subject: '台账 700', text: 'x' });
        expect(sent.accepted).toEqual([to]);
        const c = new ImapFlow({ host: '127.0.0.1', port: info.imap.port, secure: false, logger: false, auth: { user: to, pass: info.password } });
        c.on('error', () => {});
        await c.connect();
        try {
          expect((await c.mailboxOpen('INBOX')).exists).toBe(1);
        } finally {
          await c.logout();
        }
      } finally {
        code = await stopCli(child);
      }
      expect(code).toBe(0);
      expect(existsSync(dir)).toBe(false);
    } finally {
      await fs.rm(home, { recursive: true, force: true });
      if (dir) await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
