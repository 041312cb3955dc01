/**
 * The parsing pipeline for an untrusted attachment (sniff → zip limits → exceljs `load()` → table
 * and token), and the worker entry (a worker thread or a child process) that runs it, or reads a
 * whole message with it (mail-read.ts), for src/parse-pool.ts.
 *
 * `parseAttachment` can also be called directly (tests, trusted files); for mail from outside
 * use the pool, which adds the memory limit and the timeout.
 */
import { readFileSync } from 'node:fs';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { TaizhangError } from '../errors.js';
import { readMail } from './read-mail.js';
import type { MailOutcome, ParseOutcome, ReadMailRequest } from './pool.js';
import { WORKER_ARG, WORKER_MARK } from './runners.js';
import { readReplyWorkbook } from '../sheet/read.js';
import { sniffSpreadsheet, type SheetKind } from '../sheet/sniff.js';
import { checkZipLimits, type ZipLimits } from '../sheet/zip.js';

/** Message the pool sends to a worker: read one attachment. */
export interface ParseRequest {
  id: number;
  type: 'sheet';
  /** The file's bytes (transferred to a thread, cloned over IPC to a process). */
  data: Uint8Array | ArrayBuffer;
  filename: string;
  secret?: string;
  limits?: Partial<ZipLimits>;
}

/** Message the pool sends to a worker: read the raw message stored at `rawPath`. */
export interface MailRequest extends ReadMailRequest {
  id: number;
  type: 'mail';
  rawPath: string;
  limits?: Partial<ZipLimits>;
  maxInputBytes?: number;
}

const KIND_NAMES: Record<SheetKind, string> = {
  xlsx: 'Excel 工作簿 (.xlsx)',
  xlsm: 'Excel 启用宏的工作簿 (.xlsm)',
  xls: 'Excel 97-2003 工作簿 (.xls)',
  et: 'WPS 表格 (.et)',
  encrypted: '加密的 Office 文件',
  ods: 'OpenDocument 电子表格 (.ods)',
  xlsb: 'Excel 二进制工作簿 (.xlsb)',
  csv: 'CSV 文本',
  'zip-other': '非表格的压缩文件',
  unknown: '无法识别的文件',
};

/** A readable name of a sniffed kind, for receipts. */
export function kindName(kind: SheetKind): string {
  return KIND_NAMES[kind];
}

function fail(code: TaizhangError['code'], message: string, kind?: SheetKind): ParseOutcome {
  return kind ? { ok: false, code, message, kind } : { ok: false, code, message };
}

/**
 * Runs the whole pipeline on one attachment. Never throws: every failure becomes an outcome
 * with a TaizhangError code (SHEET_UNSUPPORTED for formats other than .xlsx/.xlsm, including
 * CSV; SHEET_ENCRYPTED; SHEET_TOO_LARGE; SHEET_CORRUPT; SHEET_NO_TABLE; INTERNAL for bugs).
 */
export async function parseAttachment(buf: Buffer, filename: string, secret?: string, limits?: Partial<ZipLimits>): Promise<ParseOutcome> {
  let kind: SheetKind | undefined;
  try {
    const sniff = sniffSpreadsheet(buf, filename);
    kind = sniff.kind;
    const truncated = sniff.detail?.includes('truncated') ?? false;
    switch (sniff.kind) {
      case 'xlsx':
      case 'xlsm':
        break;
      case 'encrypted':
        return fail('SHEET_ENCRYPTED', '文件设置了打开密码,无法读取', kind);
      case 'zip-other':
        if (truncated) return fail('SHEET_CORRUPT', '压缩包不完整或已损坏', kind);
        return fail('SHEET_UNSUPPORTED', `不支持的文件类型:${kindName(kind)}${sniff.detail ? `(${sniff.detail})` : ''}`, kind);
      default:
        return fail('SHEET_UNSUPPORTED', `不支持的文件类型:${kindName(kind)}${sniff.detail ? `(${sniff.detail})` : ''}`, kind);
    }
    checkZipLimits(buf, limits);
    const workbook = await readReplyWorkbook(buf, { secret });
    return { ok: true, workbook, kind };
  } catch (err) {
    if (err instanceof TaizhangError) return fail(err.code, err.message, kind);
    return fail('INTERNAL', `unexpected error while parsing: ${(err as Error)?.stack ?? String(err)}`, kind);
  }
}

type Reply = (msg: { id: number; stage: string } | { id: number; outcome: ParseOutcome | MailOutcome }) => void;

async function mailJob(req: MailRequest, reply: Reply): Promise<MailOutcome> {
  let stage: string | undefined;
  try {
    // A worker may block: reading synchronously spares two hops through the libuv thread pool.
    const raw = readFileSync(req.rawPath);
    const analysis = await readMail(raw, {
      ownAddress: req.ownAddress, secret: req.secret, limits: req.limits, maxInputBytes: req.maxInputBytes, failed: req.failed,
      onStage: (s) => { stage = s; reply({ id: req.id, stage: s }); },
    }, (buf, filename) => parseAttachment(buf, filename, req.secret, req.limits));
    return { ok: true, analysis };
  } catch (err) {
    const code = err instanceof TaizhangError ? err.code : 'INTERNAL';
    const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
    return stage ? { ok: false, code, message, stage } : { ok: false, code, message };
  }
}

async function run(req: ParseRequest | MailRequest, reply: Reply): Promise<void> {
  if (req.type === 'mail') {
    reply({ id: req.id, outcome: await mailJob(req, reply) });
    return;
  }
  const data = req.data instanceof Uint8Array ? req.data : new Uint8Array(req.data);
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  reply({ id: req.id, outcome: await parseAttachment(buf, req.filename, req.secret, req.limits) });
}

/** Jobs run one after another, in the order sent: the pool sends one ahead, and its time limits and blame assume this. */
let queue: Promise<void> = Promise.resolve();
function handle(req: ParseRequest | MailRequest, reply: Reply): void {
  // run() settles every job itself; a reply that cannot be posted is left to the pool's time limit.
  queue = queue.then(() => run(req, reply)).catch(() => {});
}

if (!isMainThread && parentPort && (workerData as Record<string, unknown> | null)?.[WORKER_MARK] === true) {
  const port = parentPort;
  port.on('message', (req: ParseRequest | MailRequest) => handle(req, (res) => port.postMessage(res)));
  port.postMessage({ ready: true });
} else if (isMainThread && typeof process.send === 'function' && process.argv.includes(WORKER_ARG)) {
  process.on('message', (req: ParseRequest | MailRequest) => handle(req, (res) => process.send?.(res)));
  process.on('disconnect', () => process.exit(0));
  process.send({ ready: true });
}
