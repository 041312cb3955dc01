/**
 * A throwaway Dovecot (IMAP + LMTP) for tests and local runs: its own config, folders, log and
 * ports, run as a child process that dies with its parent. See tools/mail-stack.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs, constants as fsc } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const DOVECOT_BIN = '/usr/sbin/dovecot';
export const DOVECOT_LIBEXEC = '/usr/lib/dovecot';
/** Files the packages dovecot-core, dovecot-imapd and dovecot-lmtpd bring. */
export const DOVECOT_REQUIRED = [DOVECOT_BIN, `${DOVECOT_LIBEXEC}/imap`, `${DOVECOT_LIBEXEC}/lmtp`];

const HOST = '127.0.0.1';

export interface DovecotOptions {
  dir: string;
  password: string;
  imapPort: number;
  lmtpPort: number;
  log: (s: string) => void;
}

/** Ask the kernel for a free port on 127.0.0.1 (free now; a caller must cope with losing a race). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, HOST, () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function escapeValue(s: string): string {
  // Dovecot expands %-variables in passdb/userdb args; values here are also space-separated.
  if (/[\s"'\\]/.test(s)) throw new Error(`mail stack: password/path must not contain spaces, quotes or backslashes: ${JSON.stringify(s)}`);
  return s.replace(/%/g, '%%');
}

export function dovecotConfig(o: Omit<DovecotOptions, 'log'>): string {
  const d = o.dir;
  const pw = escapeValue(o.password);
  escapeValue(d);
  return `# Written by tools/dovecot.ts: a throwaway Dovecot for tests. Do not edit.
protocols = imap lmtp
listen = ${HOST}
base_dir = ${d}/run
state_dir = ${d}/state
instance_name = taizhang-${path.basename(d)}
log_path = ${d}/dovecot.log
info_log_path = ${d}/dovecot.log
debug_log_path = ${d}/dovecot.log
auth_verbose = yes
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_internal_user = dovecot
default_internal_group = dovecot
default_login_user = dovenull
mail_uid = mail
mail_gid = mail
first_valid_uid = 8
first_valid_gid = 8
mail_location = maildir:${d}/mail/%u
mail_fsync = never
mailbox_idle_check_interval = 1 secs
recipient_delimiter =
imap_id_log = *
# Answer ID with several fields, as 163.com's Coremail does: clients then do not resend it after login.
imap_id_send = name * version * vendor *
passdb {
  driver = static
  args = password=${pw}
}
userdb {
  driver = static
  args = uid=mail gid=mail home=${d}/home/%u
}
namespace inbox {
  inbox = yes
  separator = /
  mailbox Drafts {
    special_use = \\Drafts
    auto = subscribe
  }
  mailbox Sent {
    special_use = \\Sent
    auto = subscribe
  }
  mailbox Trash {
    special_use = \\Trash
    auto = subscribe
  }
  mailbox Junk {
    special_use = \\Junk
    auto = subscribe
  }
}
protocol imap {
  mail_max_userip_connections = 1000
}
service imap-login {
  inet_listener imap {
    address = ${HOST}
    port = ${o.imapPort}
  }
  inet_listener imaps {
    port = 0
  }
}
service lmtp {
  inet_listener lmtp {
    address = ${HOST}
    port = ${o.lmtpPort}
  }
}
`;
}

/** Debian's base-passwd gives the user and group `mail` id 8; Dovecot keeps the mailboxes as them. */
const MAIL_ID = 8;

/**
 * A fresh folder for Dovecot's config, log and mail under the system's temporary folder, never
 * under the project: user `mail` must be able to enter every parent, and a clone in a home folder
 * of mode 700 has one it cannot. The caller removes it when done.
 */
export async function makeStateDir(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'taizhang-mail-'));
  try {
    await fs.chmod(dir, 0o755);
    await checkEnterable(dir);
    for (const sub of ['mail', 'home']) {
      await fs.mkdir(path.join(dir, sub), { mode: 0o755 });
      await fs.chown(path.join(dir, sub), MAIL_ID, MAIL_ID);
    }
    await fs.mkdir(path.join(dir, 'state'), { mode: 0o755 });
    return dir;
  } catch (e) {
    await fs.rm(dir, { recursive: true, force: true });
    throw e;
  }
}

/** Throws unless user `mail` may enter `dir` and every folder above it (o+x, or its own). */
async function checkEnterable(dir: string): Promise<void> {
  for (let p = dir; ; p = path.dirname(p)) {
    const st = await fs.stat(p);
    if ((st.mode & 0o001) === 0 && st.uid !== MAIL_ID) {
      throw new Error(`mail stack: user "mail" cannot enter ${p} (mode ${(st.mode & 0o777).toString(8)}), ` +
        `which holds the temporary folder ${os.tmpdir()}; point TMPDIR at a folder all users can enter, e.g. /tmp`);
    }
    if (p === path.dirname(p)) break;
  }
}

/** Wait until an IMAP greeting ("* OK") arrives on host:port. */
export async function waitForImap(port: number, timeoutMs: number, alive: () => string | null): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const dead = alive();
    if (dead) throw new Error(dead);
    const ok = await new Promise<boolean>((resolve) => {
      const sock = net.connect({ host: HOST, port });
      let buf = '';
      const done = (v: boolean) => { sock.destroy(); resolve(v); };
      sock.setTimeout(1000, () => done(false));
      sock.on('data', (c) => { buf += c.toString(); if (buf.includes('\n')) done(buf.startsWith('* OK')); });
      sock.on('error', () => done(false));
      sock.on('close', () => done(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`mail stack: Dovecot did not answer on ${HOST}:${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * A Dovecot master process (`dovecot -F`) in a process group of its own. Stopping signals the whole
 * group: SIGTERM to the master alone takes about a second and leaves the imap processes serving
 * their clients for up to ~10 s more. A small shell watchdog ends the group when this Node process
 * dies, even by SIGKILL, since Dovecot has no parent-death option of its own.
 */
export class DovecotProcess {
  private child: ChildProcess | null = null;
  private watchdog: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private stderr = '';
  private readonly onExit = () => { this.killGroup('SIGKILL'); };
  readonly configPath: string;
  readonly logPath: string;

  constructor(private readonly o: DovecotOptions) {
    this.configPath = path.join(o.dir, 'dovecot.conf');
    this.logPath = path.join(o.dir, 'dovecot.log');
  }

  get pid(): number | undefined { return this.child?.pid; }
  get imapPort(): number { return this.o.imapPort; }
  get lmtpPort(): number { return this.o.lmtpPort; }

  async start(timeoutMs = 20_000): Promise<void> {
    if (this.child) throw new Error('mail stack: Dovecot already running');
    await fs.writeFile(this.configPath, dovecotConfig(this.o));
    this.stderr = '';
    const child = spawn(DOVECOT_BIN, ['-F', '-c', this.configPath], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.child = child;
    let exitInfo: string | null = null;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        exitInfo = `code ${code} signal ${signal}`;
        this.killGroup('SIGTERM', child.pid); // leftovers of a master that died on its own
        if (this.child === child) this.child = null;
        this.watchdog?.kill('SIGKILL');
        this.watchdog = null;
        process.off('exit', this.onExit);
        resolve();
      });
    });
    child.once('error', (e) => { exitInfo = String(e); });
    child.stdout!.on('data', (c) => { this.stderr += c.toString(); });
    child.stderr!.on('data', (c) => { this.stderr += c.toString(); });
    process.on('exit', this.onExit);
    if (child.pid) {
      this.watchdog = spawn('/bin/sh', ['-c',
        'while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 1; done; ' +
        'kill -TERM -"$2" 2>/dev/null && sleep 2 && kill -KILL -"$2" 2>/dev/null',
        'watchdog', String(process.pid), String(child.pid)], { detached: true, stdio: 'ignore' });
      this.watchdog.unref();
    }
    try {
      await waitForImap(this.o.imapPort, timeoutMs, () => exitInfo === null ? null
        : `mail stack: Dovecot exited (${exitInfo}) during start: ${this.stderr.trim()}`);
    } catch (e) {
      await this.stop();
      const tail = await this.logTail();
      throw new Error(`${(e as Error).message}${tail ? `\n--- ${this.logPath} (tail) ---\n${tail}` : ''}`, { cause: e });
    }
    this.o.log(`dovecot pid ${child.pid}: imap ${HOST}:${this.o.imapPort}, lmtp ${HOST}:${this.o.lmtpPort}`);
  }

  /** SIGTERM the whole group and wait until it is empty; SIGKILL what is left after a grace period. */
  async stop(graceMs = 3000): Promise<void> {
    const pid = this.child?.pid;
    if (!this.child || !pid) { await this.exited; return; }
    this.killGroup('SIGTERM');
    const timer = setTimeout(() => this.killGroup('SIGKILL', pid), graceMs);
    await this.exited;
    clearTimeout(timer);
    const deadline = Date.now() + graceMs;
    while (this.groupAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    this.killGroup('SIGKILL', pid);
  }

  private killGroup(signal: NodeJS.Signals, pid = this.child?.pid): void {
    if (!pid) return;
    try { process.kill(-pid, signal); } catch { /* group already gone */ }
  }

  private groupAlive(pid: number): boolean {
    try { process.kill(-pid, 0); return true; } catch { return false; }
  }

  /** The startup error text, for telling a port clash apart from other failures. */
  get output(): string { return this.stderr; }

  async logTail(lines = 30): Promise<string> {
    try {
      await fs.access(this.logPath, fsc.R_OK);
      return (await fs.readFile(this.logPath, 'utf8')).split('\n').slice(-lines - 1).join('\n').trim();
    } catch {
      return '';
    }
  }
}
