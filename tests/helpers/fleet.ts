/**
 * Helpers for the delivery, fault and daemon tests: isolated addresses per project (so tests that
 * share one mail stack never read each other's mail), extra people, counting what was delivered,
 * running the CLI as a child process, and reading the office ledger's 填报情况 sheet.
 */
import Database from 'better-sqlite3';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import ExcelJS from 'exceljs';
import { expect } from 'vitest';
import type { AcceptedMessage, MailStack } from '../../tools/mail-stack.js';
import { BIN, type Project } from './project.js';

let seq = 0;

/** Gives the project's mailbox, office and people addresses of its own (`name.tag@domain`). */
export function isolate(doc: Record<string, any>, tag = `t${process.pid}x${++seq}`): string {
  const own = (e: string) => e.replace('@', `.${tag}@`).toLowerCase();
  doc.mailbox.address = own(doc.mailbox.address);
  doc.mailbox.imap.user = doc.mailbox.address;
  doc.mailbox.smtp.user = doc.mailbox.address;
  for (const p of doc.people) p.email = own(p.email);
  for (const o of doc.office) o.email = own(o.email);
  return tag;
}

/** Adds `n` people, each owning one new task of their own. */
export function addPeople(doc: Record<string, any>, n: number): void {
  const domain = doc.people[0].email.split('@')[1];
  const tag = doc.people[0].email.split('@')[0].split('.').slice(1).join('.');
  const maxNo = Math.max(...doc.ledger.tasks.map((t: { no: number }) => t.no));
  for (let i = 1; i <= n; i++) {
    const name = `测试员${String(i).padStart(2, '0')}`;
    doc.people.push({ name, department: `第${(i % 5) + 1}科`, email: `tester${i}${tag ? `.${tag}` : ''}@${domain}` });
    doc.ledger.tasks.push({ no: maxNo + i, task: `测试任务${i}`, due: '10.31', departments: [`第${(i % 5) + 1}科`], owners: [name] });
  }
}

/** How many accepted messages each recipient got (optionally only those whose subject matches). */
export function acceptedBy(accepted: AcceptedMessage[], subject?: RegExp): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of accepted) {
    if (subject) {
      const s = /^Subject:\s*(.*)$/im.exec(m.raw.toString('latin1'))?.[1] ?? '';
      if (!subject.test(decodeSubject(s))) continue;
    }
    for (const to of m.to) out.set(to.toLowerCase(), (out.get(to.toLowerCase()) ?? 0) + 1);
  }
  return out;
}

function decodeSubject(s: string): string {
  return s.replace(/=\?utf-8\?([bq])\?([^?]*)\?=/gi, (_m, enc: string, text: string) =>
    enc.toLowerCase() === 'b' ? Buffer.from(text, 'base64').toString('utf8') : text.replace(/_/g, ' ').replace(/=([0-9a-f]{2})/gi, (_x, h: string) => String.fromCharCode(parseInt(h, 16))));
}

/** Accepted messages addressed to `address`. */
export function acceptedTo(accepted: AcceptedMessage[], address: string): AcceptedMessage[] {
  return accepted.filter((m) => m.to.map((t) => t.toLowerCase()).includes(address.toLowerCase()));
}

export async function until<T>(what: string, fn: () => Promise<T | undefined | false | null> | T | undefined | false | null, ms = 10_000, every = 50): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false && v !== null) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

export interface Child {
  proc: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `taizhang --config FILE ...args` as a child process (for kill and daemon tests). */
export function spawnCli(project: Project, stack: MailStack, args: string[], env: Record<string, string> = {}): Child {
  const proc = spawn(BIN, ['--config', project.configFile, ...args], {
    env: { ...process.env, TAIZHANG_MAIL_PASSWORD: stack.password, TAIZHANG_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (c) => { out += c.toString(); });
  proc.stderr!.on('data', (c) => { err += c.toString(); });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  return { proc, stdout: () => out, stderr: () => err, exited };
}

/** The 填报情况 sheet of the newest ledger in the office INBOX: person name → status label. */
export async function ledgerStatus(project: Project): Promise<Map<string, string>> {
  const mails = (await project.inbox(project.office)).filter((m) => m.attachments.some((a) => a.filename?.endsWith('.xlsx')));
  const last = mails.pop();
  if (!last) throw new Error('no ledger in the office INBOX');
  const att = last.attachments.find((a) => a.filename?.endsWith('.xlsx'))!;
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(att.content as unknown as ArrayBuffer);
  const ws = wb.getWorksheet('填报情况');
  if (!ws) throw new Error('the ledger has no 填报情况 sheet');
  const out = new Map<string, string>();
  ws.eachRow((row, r) => {
    if (r === 1) return;
    const name = String(row.getCell(1).value ?? '').trim();
    const label = String(row.getCell(4).value ?? '').trim();
    if (name && label && String(row.getCell(3).value ?? '').includes('@')) out.set(name, label);
  });
  return out;
}

export interface FreezableProxy {
  port: number;
  /** Connections open now stop passing bytes either way (and stay open): a stalled server. */
  freeze(): number;
  close(): Promise<void>;
}

/** A TCP proxy to 127.0.0.1:target whose open connections can be made to go silent. */
export async function startFreezableProxy(target: number): Promise<FreezableProxy> {
  const net = await import('node:net');
  const open = new Set<{ frozen: boolean; a: import('node:net').Socket; b: import('node:net').Socket }>();
  const server = net.createServer((a) => {
    const b = net.connect({ host: '127.0.0.1', port: target });
    const c = { frozen: false, a, b };
    open.add(c);
    a.on('data', (d) => { if (!c.frozen) b.write(d); });
    b.on('data', (d) => { if (!c.frozen) a.write(d); });
    const end = () => { open.delete(c); a.destroy(); b.destroy(); };
    a.on('close', end); b.on('close', end);
    a.on('error', end); b.on('error', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as import('node:net').AddressInfo).port,
    freeze() { for (const c of open) c.frozen = true; return open.size; },
    close: () => new Promise<void>((r) => { for (const c of open) { c.a.destroy(); c.b.destroy(); } server.close(() => r()); }),
  };
}

/** Runs `fn` on the project's database, opened read-only. */
export function readDb<T>(p: Project, fn: (d: Database.Database) => T): T {
  const d = new Database(path.join(p.dataDir, 'taizhang.sqlite'), { readonly: true });
  try { return fn(d); } finally { d.close(); }
}

/** How many of the project's requests are in each outbox state. */
export function requestStates(p: Project): Record<string, number> {
  return readDb(p, (d) => Object.fromEntries(
    (d.prepare("SELECT state, COUNT(*) AS n FROM outbox WHERE kind = 'request' GROUP BY state").all() as { state: string; n: number }[]).map((r) => [r.state, r.n])));
}

/** Each person has exactly one request: accepted by the server since `start`, in their INBOX, delivered and recorded as sent. */
export async function expectOneRequestEach(stack: MailStack, p: Project, start: number, request = /请填报/): Promise<void> {
  const counts = acceptedBy(stack.smtp.accepted.slice(start), request);
  expect(p.people.filter((x) => counts.get(x.email) !== 1).map((x) => `${x.email}: ${counts.get(x.email) ?? 0}`)).toEqual([]);
  for (const person of p.people) {
    expect((await p.inbox(person.email)).filter((m) => request.test(m.subject ?? '')), person.email).toHaveLength(1);
  }
  const s = await p.status('2020-06');
  expect(s.people.filter((x: { delivery: string }) => x.delivery !== 'sent')).toEqual([]);
  expect(requestStates(p)).toEqual({ sent: p.people.length });
}

/** Undoes what a test set on the relay: held mail, the Sent copies it keeps, injected faults. */
export function resetRelay(stack: MailStack): void {
  stack.smtp.setHold(null);
  stack.smtp.setSaveSent(null);
  stack.smtp.setFault(null);
}
