/**
 * The parsing pipeline for one untrusted attachment: sniff → zip limits → exceljs `load()` →
 * table and token. A parse worker runs it for each spreadsheet of a message (worker.ts); it can
 * also be called directly on trusted files, but mail from outside goes through the pool, which
 * adds the memory limit and the timeout.
 */
import { TaizhangError } from '../errors.js';
import { readReplyWorkbook, type ReplyWorkbook } from '../sheet/read.js';
import { sniffSpreadsheet, type SheetKind } from '../sheet/sniff.js';
import { checkZipLimits, type ZipLimits } from '../sheet/zip.js';
import type { JobFailure } from './types.js';

/** What parsing one attachment gave. `kind` is the sniffed file kind, when sniffing got that far. */
export type ParseOutcome = { ok: true; workbook: ReplyWorkbook; kind?: SheetKind } | JobFailure;

/** Readable names of the sniffed kinds, for receipts. */
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
        return fail('SHEET_UNSUPPORTED', `不支持的文件类型:${KIND_NAMES[kind]}${sniff.detail ? `(${sniff.detail})` : ''}`, kind);
      default:
        return fail('SHEET_UNSUPPORTED', `不支持的文件类型:${KIND_NAMES[kind]}${sniff.detail ? `(${sniff.detail})` : ''}`, kind);
    }
    checkZipLimits(buf, limits);
    const workbook = await readReplyWorkbook(buf, { secret });
    return { ok: true, workbook, kind };
  } catch (err) {
    if (err instanceof TaizhangError) return fail(err.code, err.message, kind);
    return fail('INTERNAL', `unexpected error while parsing: ${(err as Error)?.stack ?? String(err)}`, kind);
  }
}

