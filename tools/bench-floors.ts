/**
 * The benchmark's floors and replies (tools/bench.ts runs them): what the send and collect ticks
 * cannot do faster than, done with the same libraries one step after another in the benchmark's
 * own process, and the N replies the collect tick reads.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import ExcelJS from 'exceljs';
import * as XLSX from '@e965/xlsx';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import type { Config } from '../src/app/config.js';
import { periodLabel } from '../src/core/calendar.js';
import { timingOf } from '../src/cycle/timing.js';
import { ledgerKeyFor, makeToken, personKeyOf } from '../src/core/identity.js';
import { tasksOf, type Ledger, type Person } from '../src/core/ledger.js';
import { formFileName } from '../src/cycle/forms.js';
import type { Templates } from '../src/mail/templates.js';
import { writePersonTemplate } from '../src/sheet/template.js';
import type { Floor } from './bench-report.js';
import { watchCpu } from './measure.js';
import { fillForm } from './respondent.js';
import { deliverLmtp } from './smtp-relay.js';

export interface StackInfo { imap: { host: string; port: number }; smtp: { host: string; port: number }; lmtp: { host: string; port: number }; password: string; dir: string }

export const PERIOD = '2020-06';

/**
 * How the i-th person replies: most with the filled .xlsx; one in eight saves it as .xls (old
 * Office/WPS) and one in eight types the progress in the mail body: a quarter not .xlsx.
 */
export type ReplyKind = 'xlsx' | 'xls' | 'body';
export const replyKindOf = (i: number): ReplyKind => (i % 8 === 1 ? 'xls' : i % 8 === 5 ? 'body' : 'xlsx');
/** A reply as the collect floor must at least read it: the file and its format (none for a body). */
export interface ReplyFile { kind: ReplyKind; content: Buffer | null }

export const progressText = (no: number) => `第${no}项:已召开专题会议研究部署,制定实施方案,各项措施按计划推进。下一步:继续抓好落实。`;

/** Creates every recipient's mailbox up front (one LMTP delivery), so no step pays for it. */
export async function warmMailboxes(stack: StackInfo, addresses: string[]): Promise<void> {
  for (let i = 0; i < addresses.length; i += 200) {
    await deliverLmtp(stack.lmtp, 'Subject: warm-up\r\nFrom: bench@bench.test\r\n\r\nwarm-up\r\n', addresses.slice(i, i + 200), 'bench@bench.test');
  }
}

function smtpPool(stack: StackInfo, user: string, maxConnections: number) {
  return nodemailer.createTransport({
    host: stack.smtp.host, port: stack.smtp.port, secure: false, ignoreTLS: true,
    auth: { user, pass: stack.password }, pool: true, maxConnections, maxMessages: 100,
  });
}

/** The ledger a person reports in (the bench's ledgers have people of their own), and where its forms are kept. */
function ledgerOf(config: Config, person: Person): { ledger: Ledger; formDir: string; fileName: string } {
  const scope = config.ledgers.find((l) => l.people.some((p) => p.id === person.id)) ?? config.ledgers[0];
  const several = config.ledgers.length > 1;
  const home = scope.id === 'main' ? config.dataDir : path.join(config.dataDir, 'ledgers', scope.id);
  return { ledger: scope.ledger, formDir: path.join(home, 'forms', PERIOD), fileName: formFileName(PERIOD, person, several ? scope.title : undefined) };
}

function requestData(config: Config, person: Person) {
  const { ledger, fileName } = ledgerOf(config, person);
  return {
    person, ledgerTitle: ledger.title, periodLabel: periodLabel(PERIOD),
    deadline: timingOf(config.schedule, config.timezone).deadlineText(PERIOD),
    attachmentName: fileName, officeName: config.mailbox.senderName, sentDate: '2020年6月20日',
    tasks: tasksOf(ledger, person.name).map((t) => ({ ...t, departments: t.departments.join('、') })),
  };
}

/** Runs a floor, adding the CPU it took here and in the mail servers. */
export async function withCpu<F extends Floor>(stackPid: number, fn: () => Promise<F>): Promise<F> {
  const stop = watchCpu(stackPid);
  const f = await fn();
  const c = stop();
  return { ...f, cpuMs: c.ownCpuMs, mailServersCpuMs: c.serversCpuMs, otherWorkCpuMs: c.otherWorkCpuMs };
}

async function timeStep<T>(steps: Record<string, number>, name: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const r = await fn();
  steps[name] = performance.now() - t0;
  return r;
}

const total = (steps: Record<string, number>) => Object.values(steps).reduce((a, b) => a + b, 0);

/**
 * Where the floors' copies go: taizhang sends each mail with a copy to its own mailbox (self_copy),
 * so the floors deliver one too, to a mailbox of their own (the collection mailbox must not get them).
 */
export const FLOOR_COPIES = 'floor-copies@bench.test';

/** Who a floor's mail goes to: the person, and a copy as taizhang sends one. */
const envelopeOf = (config: Config, to: string) => ({ from: config.mailbox.address, to: config.mailbox.selfCopy ? [to, FLOOR_COPIES] : [to] });

/** exceljs writing N templates, then N mails carrying them through one pooled transport. */
export async function sendFloor(stack: StackInfo, config: Config, templates: Templates, maxConnections: number): Promise<Floor> {
  const steps: Record<string, number> = {};
  const secret = 'bench-floor-secret';
  const files = await timeStep(steps, 'xlsx write', async () => {
    const out: Buffer[] = [];
    for (const person of config.people) {
      const { ledger } = ledgerOf(config, person);
      out.push(await writePersonTemplate({
        ledger, person, periodLabel: periodLabel(PERIOD), deadlineText: timingOf(config.schedule, config.timezone).deadlineText(PERIOD),
        token: makeToken({ ledgerKey: ledgerKeyFor(ledger), period: PERIOD, personKey: personKeyOf(person), secret }),
      }));
    }
    return out;
  });
  const transport = smtpPool(stack, config.mailbox.address, maxConnections);
  await timeStep(steps, 'smtp', () => Promise.all(config.people.map((person, i) => {
    const mail = templates.render('request', requestData(config, person));
    return transport.sendMail({
      from: { name: config.mailbox.senderName, address: config.mailbox.address }, to: { name: person.name, address: person.email },
      envelope: envelopeOf(config, person.email),
      subject: mail.subject, text: mail.text, html: mail.html,
      attachments: [{ filename: ledgerOf(config, person).fileName, content: files[i], contentType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' }],
    });
  })));
  transport.close();
  return { totalMs: total(steps), steps };
}

/** One IMAP FETCH of the N replies, loading their files (exceljs; SheetJS for .xls), N receipt-sized mails pooled. */
export async function collectFloor(stack: StackInfo, config: Config, files: ReplyFile[], templates: Templates, maxConnections: number, folder: string): Promise<Floor & { fetched: number; bytes: number }> {
  const steps: Record<string, number> = {};
  const client = new ImapFlow({ host: stack.imap.host, port: stack.imap.port, secure: false, auth: { user: config.mailbox.address, pass: stack.password }, logger: false });
  client.on('error', () => {});
  await client.connect();
  await client.mailboxOpen(folder, { readOnly: true });
  let fetched = 0;
  let bytes = 0;
  await timeStep(steps, 'imap fetch', async () => {
    for await (const m of client.fetch('1:*', { uid: true, source: true, internalDate: true })) {
      fetched++;
      bytes += m.source?.length ?? 0;
    }
  });
  await client.logout();
  await timeStep(steps, 'sheet load', async () => {
    for (const f of files) {
      if (f.kind === 'xlsx') await new ExcelJS.Workbook().xlsx.load(f.content as unknown as ArrayBuffer);
      else if (f.kind === 'xls') XLSX.read(f.content, { type: 'buffer', cellFormula: false, cellHTML: false });
    }
  });
  const transport = smtpPool(stack, config.mailbox.address, maxConnections);
  await timeStep(steps, 'smtp', () => Promise.all(config.people.map((person) => {
    const tasks = tasksOf(ledgerOf(config, person).ledger, person.name);
    const mail = templates.render('receipt', {
      personName: person.name, periodLabel: periodLabel(PERIOD), accepted: true, late: false, receivedAt: '2020-06-21 10:00',
      rows: tasks.map((t) => ({ no: t.no, task: t.task, progress: progressText(t.no), remark: '' })), emptyRows: [],
      onBehalfOf: false, sender: person.email, officeName: config.mailbox.senderName,
    });
    return transport.sendMail({ from: { name: config.mailbox.senderName, address: config.mailbox.address }, to: person.email, envelope: envelopeOf(config, person.email), subject: mail.subject, text: mail.text, inReplyTo: '<reply@bench.test>' });
  })));
  transport.close();
  return { totalMs: total(steps), steps, fetched, bytes };
}

/** Each person fills the form they were sent and replies to the request; delivered over LMTP. */
export async function makeReplies(stack: StackInfo, config: Config): Promise<ReplyFile[]> {
  const db = new Database(path.join(config.dataDir, 'taizhang.sqlite'), { readonly: true });
  const requests = new Map((db.prepare("SELECT person, message_id, subject FROM outbox WHERE kind = 'request' AND period = ?").all(PERIOD) as { person: string; message_id: string; subject: string }[]).map((r) => [r.person, r]));
  db.close();
  // Builds each message without sending it: nodemailer's stream transport, buffered (a Buffer).
  const composer = nodemailer.createTransport({ streamTransport: true, buffer: true });
  const files: ReplyFile[] = [];
  const pending = new Set<Promise<void>>();
  // Each form is kept as `<person key>-<content hash>.xlsx`.
  const formFiles = new Map<string, string>();
  for (const dir of new Set(config.people.map((p) => ledgerOf(config, p).formDir))) {
    for (const n of readdirSync(dir)) formFiles.set(n.split('-')[0], path.join(dir, n));
  }
  for (const [i, person] of config.people.entries()) {
    const req = requests.get(person.id);
    if (!req) throw new Error(`no request was queued for ${person.id}`);
    const own = ledgerOf(config, person);
    const form = readFileSync(formFiles.get(personKeyOf(person)) ?? path.join(own.formDir, 'missing.xlsx'));
    const kind = replyKindOf(i);
    const filled = kind === 'body' ? null : await fillForm(form, (no) => ({ progress: progressText(no) }));
    const content = filled && kind === 'xls' ? asXls(filled) : filled;
    files.push({ kind, content });
    const body = tasksOf(own.ledger, person.name).map((t) => `${t.no}. ${progressText(t.no)}`).join('\n');
    const { message } = await composer.sendMail({
      from: { name: person.name, address: person.email }, to: config.mailbox.address, subject: `回复:${req.subject}`,
      text: kind === 'body' ? `${body}\n\n${person.name}` : '已填写,请查收。', inReplyTo: req.message_id, references: [req.message_id],
      attachments: content ? [{ filename: own.fileName.replace(/\.xlsx$/, `.${kind}`), content }] : [],
    });
    while (pending.size >= 8) await Promise.race(pending);
    const p: Promise<void> = deliverLmtp(stack.lmtp, message as Buffer, [config.mailbox.address], person.email).finally(() => pending.delete(p));
    pending.add(p);
  }
  await Promise.all(pending);
  return files;
}

/** The filled form saved as Excel 97-2003 (.xls, BIFF8), as old Office and WPS save by default. */
function asXls(xlsx: Buffer): Buffer {
  return XLSX.write(XLSX.read(xlsx, { type: 'buffer' }), { type: 'buffer', bookType: 'xls' }) as Buffer;
}
