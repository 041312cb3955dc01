/**
 * A minimal zip reader for untrusted archives: the central directory (zip64 too), one entry
 * inflated with an output cap, and the size checks made before anybody inflates everything.
 * No dependencies; pure and synchronous.
 */
import { inflateRawSync } from 'node:zlib';
import { TaizhangError } from '../errors.js';

export const ZIP_LOCAL = 0x04034b50;
export const ZIP_CENTRAL = 0x02014b50;
export const ZIP_EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;

/** One entry of a zip's central directory. Sizes are as declared (they can lie). */
export interface ZipEntryInfo {
  name: string;
  method: number;
  flags: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
}

/** Limits for {@link checkZipLimits}. */
export interface ZipLimits {
  /** Sum of the entries' uncompressed sizes. Default 50 MB. */
  maxTotalBytes: number;
  /** Any one entry's uncompressed size. Default 20 MB. */
  maxEntryBytes: number;
  /** Number of entries. Default 200. */
  maxEntries: number;
  /** Largest uncompressed/compressed ratio for an entry bigger than `ratioMinBytes`. Default 400. */
  maxRatio: number;
  /** Entries smaller than this skip the ratio check (tiny XML compresses very well). Default 1 MB. */
  ratioMinBytes: number;
  /**
   * Also inflate every entry (capped at the limits, output discarded) to catch sizes that lie.
   * Costs about a millisecond per 100 KB of compressed data. Default true.
   */
  verifyInflate: boolean;
}

/** The defaults of {@link ZipLimits}. */
export const DEFAULT_ZIP_LIMITS: Readonly<ZipLimits> = Object.freeze({
  maxTotalBytes: 50 * 1024 * 1024,
  maxEntryBytes: 20 * 1024 * 1024,
  maxEntries: 200,
  maxRatio: 400,
  ratioMinBytes: 1024 * 1024,
  verifyInflate: true,
});

export function corrupt(msg: string): TaizhangError {
  return new TaizhangError('SHEET_CORRUPT', msg);
}

export function isZip(buf: Buffer): boolean {
  return buf.length >= 4 && buf.readUInt32LE(0) === ZIP_LOCAL;
}

function findEocd(buf: Buffer): number {
  const stop = Math.max(0, buf.length - 22 - 0xffff);
  for (let i = buf.length - 22; i >= stop; i--) {
    if (buf.readUInt32LE(i) === ZIP_EOCD && i + 22 + buf.readUInt16LE(i + 20) <= buf.length) return i;
  }
  return -1;
}

function u64(buf: Buffer, off: number): number {
  const v = buf.readBigUInt64LE(off);
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
}

/**
 * Reads a zip's central directory (zip64 aware).
 * @throws TaizhangError SHEET_CORRUPT when there is no end-of-central-directory record (truncated
 *   file) or the directory points outside the file; SHEET_TOO_LARGE when it declares more than
 *   `maxEntries` entries.
 */
export function readZipDirectory(buf: Buffer, maxEntries = DEFAULT_ZIP_LIMITS.maxEntries): ZipEntryInfo[] {
  if (buf.length < 22) throw corrupt('not a complete zip archive (too short)');
  const eocd = findEocd(buf);
  if (eocd < 0) throw corrupt('zip archive is truncated: no end of central directory');
  let total = buf.readUInt16LE(eocd + 10);
  let cdSize = buf.readUInt32LE(eocd + 12);
  let cdOffset = buf.readUInt32LE(eocd + 16);
  if (buf.readUInt16LE(eocd + 4) !== 0 || buf.readUInt16LE(eocd + 6) !== 0) throw corrupt('multi-volume zip archives are not supported');
  if ((total === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) && eocd >= 20 && buf.readUInt32LE(eocd - 20) === ZIP64_LOCATOR) {
    const z = u64(buf, eocd - 12);
    if (z + 56 > buf.length || buf.readUInt32LE(z) !== ZIP64_EOCD) throw corrupt('zip64 end of central directory is missing');
    total = u64(buf, z + 32);
    cdSize = u64(buf, z + 40);
    cdOffset = u64(buf, z + 48);
  }
  if (total > maxEntries) throw new TaizhangError('SHEET_TOO_LARGE', `zip archive declares ${total} entries (limit ${maxEntries})`);
  if (cdOffset + cdSize > buf.length) throw corrupt('zip central directory lies outside the file (truncated?)');
  const out: ZipEntryInfo[] = [];
  let p = cdOffset;
  const end = cdOffset + cdSize;
  while (p + 46 <= end && buf.readUInt32LE(p) === ZIP_CENTRAL) {
    if (out.length >= maxEntries) throw new TaizhangError('SHEET_TOO_LARGE', `zip archive has more than ${maxEntries} entries`);
    const flags = buf.readUInt16LE(p + 8);
    const method = buf.readUInt16LE(p + 10);
    let compressedSize = buf.readUInt32LE(p + 20);
    let uncompressedSize = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    let localHeaderOffset = buf.readUInt32LE(p + 42);
    if (p + 46 + nameLen + extraLen + commentLen > end) throw corrupt('zip central directory entry runs past the directory');
    const name = buf.toString(flags & 0x800 ? 'utf8' : 'latin1', p + 46, p + 46 + nameLen);
    // zip64 extended information: present fields are those whose 32-bit value is all ones.
    let x = p + 46 + nameLen;
    const xEnd = x + extraLen;
    while (x + 4 <= xEnd) {
      const id = buf.readUInt16LE(x);
      const len = buf.readUInt16LE(x + 2);
      if (id === 0x0001) {
        let q = x + 4;
        const qEnd = Math.min(q + len, xEnd);
        if (uncompressedSize === 0xffffffff && q + 8 <= qEnd) { uncompressedSize = u64(buf, q); q += 8; }
        if (compressedSize === 0xffffffff && q + 8 <= qEnd) { compressedSize = u64(buf, q); q += 8; }
        if (localHeaderOffset === 0xffffffff && q + 8 <= qEnd) localHeaderOffset = u64(buf, q);
      }
      x += 4 + len;
    }
    out.push({ name, method, flags, compressedSize, uncompressedSize, localHeaderOffset });
    p += 46 + nameLen + extraLen + commentLen;
  }
  if (out.length !== total) throw corrupt(`zip central directory lists ${out.length} entries, end record says ${total}`);
  return out;
}

/** Offset of an entry's data, from its local header. @throws SHEET_CORRUPT */
function dataOffset(buf: Buffer, e: ZipEntryInfo): number {
  const h = e.localHeaderOffset;
  if (h + 30 > buf.length || buf.readUInt32LE(h) !== ZIP_LOCAL) throw corrupt(`zip entry ${e.name}: local header missing`);
  const start = h + 30 + buf.readUInt16LE(h + 26) + buf.readUInt16LE(h + 28);
  if (start + e.compressedSize > buf.length) throw corrupt(`zip entry ${e.name}: data runs past the end of the file`);
  return start;
}

/**
 * Inflates one entry, refusing to produce more than `maxBytes`.
 * @throws SHEET_TOO_LARGE past `maxBytes`; SHEET_ENCRYPTED for zip-encrypted entries;
 *   SHEET_UNSUPPORTED for compression methods other than stored/deflate; SHEET_CORRUPT otherwise.
 */
export function readZipEntry(buf: Buffer, e: ZipEntryInfo, maxBytes: number): Buffer {
  if (e.flags & 0x1 || e.method === 99) throw new TaizhangError('SHEET_ENCRYPTED', `zip entry ${e.name} is encrypted`);
  const start = dataOffset(buf, e);
  const data = buf.subarray(start, start + e.compressedSize);
  if (e.method === 0) {
    if (data.length > maxBytes) throw new TaizhangError('SHEET_TOO_LARGE', `zip entry ${e.name} is larger than ${maxBytes} bytes`);
    return data;
  }
  if (e.method !== 8) throw new TaizhangError('SHEET_UNSUPPORTED', `zip entry ${e.name} uses compression method ${e.method}`);
  try {
    return inflateRawSync(data, { maxOutputLength: Math.max(1, maxBytes) });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
      throw new TaizhangError('SHEET_TOO_LARGE', `zip entry ${e.name} inflates to more than ${maxBytes} bytes`, { cause: err });
    }
    throw corrupt(`zip entry ${e.name} does not inflate: ${(err as Error).message}`);
  }
}

/**
 * Checks a zip archive against {@link ZipLimits} before it is handed to a parser that inflates
 * everything (exceljs does). Reads the central directory itself.
 * With `verifyInflate`, only the entries `wanted` (all by default) are inflated and measured:
 * the others are never parsed by anyone, so only their declared sizes count.
 * @returns the number of entries and the total uncompressed size (as measured when
 *   `verifyInflate`, else as declared), and the wanted entries inflated
 * @throws TaizhangError SHEET_TOO_LARGE when a limit is exceeded; SHEET_CORRUPT when the archive
 *   is truncated (no end of central directory) or inconsistent; SHEET_ENCRYPTED for zip encryption.
 */
export function checkZipLimits(buf: Buffer, limits: Partial<ZipLimits> = {}, wanted: (name: string) => boolean = () => true): { entries: number; totalBytes: number; inflated?: ZipFile[] } {
  const L: ZipLimits = { ...DEFAULT_ZIP_LIMITS, ...limits };
  const entries = readZipDirectory(buf, L.maxEntries);
  let declared = 0;
  for (const e of entries) {
    if (e.uncompressedSize > L.maxEntryBytes) {
      throw new TaizhangError('SHEET_TOO_LARGE', `zip entry ${e.name} declares ${e.uncompressedSize} bytes (limit ${L.maxEntryBytes})`);
    }
    declared += e.uncompressedSize;
    if (declared > L.maxTotalBytes) throw new TaizhangError('SHEET_TOO_LARGE', `zip archive declares more than ${L.maxTotalBytes} bytes in total`);
    if (e.uncompressedSize >= L.ratioMinBytes && e.uncompressedSize > L.maxRatio * Math.max(1, e.compressedSize)) {
      throw new TaizhangError('SHEET_TOO_LARGE', `zip entry ${e.name} has a compression ratio above ${L.maxRatio} (zip bomb?)`);
    }
  }
  if (!L.verifyInflate) return { entries: entries.length, totalBytes: declared };
  let actual = 0;
  const inflated: ZipFile[] = [];
  for (const e of entries) {
    if ((e.name.endsWith('/') && e.compressedSize === 0) || !wanted(e.name)) continue;
    const cap = Math.min(L.maxEntryBytes, L.maxTotalBytes - actual);
    const data = readZipEntry(buf, e, cap);
    if (data.length !== e.uncompressedSize) {
      throw corrupt(`zip entry ${e.name} inflates to ${data.length} bytes but declares ${e.uncompressedSize}`);
    }
    actual += data.length;
    inflated.push({ name: e.name, data });
  }
  return { entries: entries.length, totalBytes: actual, inflated };
}

/** A file of a zip archive: its name and its bytes. */
export interface ZipFile { name: string; data: Buffer }

/** Names (and, where cheap, the entry records) of a zip whose central directory is missing. */
export function walkLocalHeaders(buf: Buffer, maxEntries: number): ZipEntryInfo[] {
  const out: ZipEntryInfo[] = [];
  let p = 0;
  while (p + 30 <= buf.length && buf.readUInt32LE(p) === ZIP_LOCAL && out.length < maxEntries) {
    const flags = buf.readUInt16LE(p + 6);
    const method = buf.readUInt16LE(p + 8);
    const compressedSize = buf.readUInt32LE(p + 18);
    const uncompressedSize = buf.readUInt32LE(p + 22);
    const nameLen = buf.readUInt16LE(p + 26);
    const extraLen = buf.readUInt16LE(p + 28);
    if (p + 30 + nameLen > buf.length) break;
    const name = buf.toString(flags & 0x800 ? 'utf8' : 'latin1', p + 30, p + 30 + nameLen);
    out.push({ name, method, flags, compressedSize, uncompressedSize, localHeaderOffset: p });
    if (flags & 0x8) break; // sizes live in a data descriptor after the data: cannot skip reliably
    p += 30 + nameLen + extraLen + compressedSize;
  }
  return out;
}

