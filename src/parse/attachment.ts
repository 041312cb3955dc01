/**
 * The parsing pipeline for one untrusted attachment: sniff → limits (zip limits for zip-based
 * files, a size limit for BIFF) → the format's reader (exceljs for .xlsx/.xlsm, SheetJS for
 * .xls/.et/.ods/.xlsb, our walk for .docx) → table and token. A parse worker runs it for each spreadsheet of a message (worker.ts); it can
 * also be called directly on trusted files, but mail from outside goes through the pool, which
 * adds the memory limit and the timeout.
 */
import { TaizhangError } from '../errors.js';
import { formatName } from '../core/notes.js';
import { readDocxReply } from '../sheet/docx.js';
import { MAX_BIFF_BYTES, guardOdsRepeats, readLegacyWorkbook } from '../sheet/legacy.js';
import { readReplyWorkbook, type ReplyWorkbook } from '../sheet/read.js';
import { sniffSpreadsheet, type SheetKind } from '../sheet/sniff.js';
import { checkZipLimits, type ZipLimits } from '../sheet/zip.js';
import type { JobFailure } from './types.js';

/** What parsing one attachment gave. `kind` is the sniffed file kind, when sniffing got that far. */
export type ParseOutcome = { ok: true; workbook: ReplyWorkbook; kind?: SheetKind } | JobFailure;

function fail(code: TaizhangError['code'], message: string, kind?: SheetKind): ParseOutcome {
  return kind ? { ok: false, code, message, kind } : { ok: false, code, message };
}

/** Reads a file of a kind we read, after the limits that kind needs. */
async function readKind(kind: SheetKind, buf: Buffer, secret: string | undefined, limits?: Partial<ZipLimits>): Promise<ReplyWorkbook> {
  switch (kind) {
    case 'xls':
    case 'et':
      if (buf.length > MAX_BIFF_BYTES) throw new TaizhangError('SHEET_TOO_LARGE', `BIFF workbook of ${buf.length} bytes (limit ${MAX_BIFF_BYTES})`);
      return readLegacyWorkbook(buf, { secret });
    case 'ods':
      checkZipLimits(buf, limits);
      guardOdsRepeats(buf);
      return readLegacyWorkbook(buf, { secret });
    case 'xlsb':
      checkZipLimits(buf, limits);
      return readLegacyWorkbook(buf, { secret });
    case 'docx':
      checkZipLimits(buf, limits);
      return readDocxReply(buf, { secret });
    default:
      checkZipLimits(buf, limits);
      return readReplyWorkbook(buf, { secret });
  }
}

const unsupported = (kind: SheetKind, detail?: string) => `不支持的文件类型：${formatName(kind)}${detail ? `（${detail}）` : ''}`;

/**
 * Runs the whole pipeline on one attachment. Never throws: every failure becomes an outcome
 * with a TaizhangError code (SHEET_UNSUPPORTED for what no reader here reads: CSV, .doc, PDF…;
 * SHEET_ENCRYPTED; SHEET_TOO_LARGE; SHEET_CORRUPT; SHEET_NO_TABLE; INTERNAL for bugs).
 */
export async function parseAttachment(buf: Buffer, filename: string, secret?: string, limits?: Partial<ZipLimits>): Promise<ParseOutcome> {
  let kind: SheetKind | undefined;
  try {
    const sniff = sniffSpreadsheet(buf, filename);
    kind = sniff.kind;
    const truncated = sniff.detail?.includes('truncated') ?? false;
    switch (sniff.kind) {
      case 'xlsx': case 'xlsm': case 'xls': case 'et': case 'ods': case 'xlsb': case 'docx':
        return { ok: true, workbook: await readKind(sniff.kind, buf, secret, limits), kind };
      case 'encrypted':
        return fail('SHEET_ENCRYPTED', '文件设置了打开密码，无法读取', kind);
      case 'zip-other':
        if (truncated) return fail('SHEET_CORRUPT', '压缩包不完整或已损坏', kind);
        return fail('SHEET_UNSUPPORTED', unsupported(kind, sniff.detail), kind);
      default:
        if (truncated) return fail('SHEET_CORRUPT', '文件不完整或已损坏', kind); // a cut compound file
        return fail('SHEET_UNSUPPORTED', unsupported(kind, sniff.detail), kind);
    }
  } catch (err) {
    if (err instanceof TaizhangError) return fail(err.code, err.message, kind);
    return fail('INTERNAL', `unexpected error while parsing: ${(err as Error)?.stack ?? String(err)}`, kind);
  }
}
