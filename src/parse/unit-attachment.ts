/**
 * A subordinate unit's file, read in the parse worker as its own ledger (sheet/unit-table.ts),
 * with the same limits as a person's form. Never throws: a failure is an outcome with its code.
 */
import { TaizhangError } from '../errors.js';
import type { UnitLedgerRead } from '../core/units.js';
import { readUnitLedger } from '../sheet/unit-table.js';
import { sniffSpreadsheet } from '../sheet/sniff.js';
import type { ZipLimits } from '../sheet/zip.js';

export type UnitParseOutcome = { ok: true; ledger: UnitLedgerRead; kind?: string } | { ok: false; code: TaizhangError['code']; message: string; kind?: string };

export async function parseUnitAttachment(buf: Buffer, filename: string, limits?: Partial<ZipLimits>): Promise<UnitParseOutcome> {
  let kind: string | undefined;
  try {
    kind = sniffSpreadsheet(buf, filename).kind;
    return { ok: true, ledger: await readUnitLedger(buf, filename, limits), kind };
  } catch (err) {
    if (err instanceof TaizhangError) return { ok: false, code: err.code, message: err.message, kind };
    return { ok: false, code: 'INTERNAL', message: `unexpected error while parsing: ${(err as Error)?.stack ?? String(err)}`, kind };
  }
}
