/**
 * Tells what kind of spreadsheet an attachment really is, from its bytes (the name only breaks
 * ties: `.et` vs `.xls`, and `.csv` for text), and checks a zip's declared sizes before anybody
 * inflates it. No dependencies: a minimal zip central-directory reader and a minimal CFB
 * (OLE2 compound file) directory reader live here.
 *
 * Everything here is pure and synchronous (node:zlib's sync inflate is used, always with an
 * output cap).
 */
import { inflateRawSync } from 'node:zlib';
import { TaizhangError } from './errors.js';

/** What {@link sniffSpreadsheet} can tell apart. Only `xlsx` and `xlsm` are read. */
export type SheetKind = 'xlsx' | 'xlsm' | 'xls' | 'et' | 'encrypted' | 'ods' | 'xlsb' | 'csv' | 'zip-other' | 'unknown';

/** Result of {@link sniffSpreadsheet}. `detail` is a short English hint for logs and receipts. */
export interface SniffResult {
  kind: SheetKind;
  detail?: string;
}

const ZIP_LOCAL = 0x04034b50;
const ZIP_CENTRAL = 0x02014b50;
const ZIP_EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CFB_MAGIC = Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);

// ───────────────────────────── zip ─────────────────────────────

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

function corrupt(msg: string): TaizhangError {
  return new TaizhangError('SHEET_CORRUPT', msg);
}

function isZip(buf: Buffer): boolean {
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
        if (localHeaderOffset === 0xffffffff && q + 8 <= qEnd) { localHeaderOffset = u64(buf, q); q += 8; }
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
 * @returns the number of entries and the total uncompressed size (as measured when
 *   `verifyInflate`, else as declared)
 * @throws TaizhangError SHEET_TOO_LARGE when a limit is exceeded; SHEET_CORRUPT when the archive
 *   is truncated (no end of central directory) or inconsistent; SHEET_ENCRYPTED for zip encryption.
 */
export function checkZipLimits(buf: Buffer, limits: Partial<ZipLimits> = {}): { entries: number; totalBytes: number } {
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
  for (const e of entries) {
    if (e.name.endsWith('/') && e.compressedSize === 0) continue;
    const cap = Math.min(L.maxEntryBytes, L.maxTotalBytes - actual);
    const n = readZipEntry(buf, e, cap).length;
    if (n !== e.uncompressedSize) {
      throw corrupt(`zip entry ${e.name} inflates to ${n} bytes but declares ${e.uncompressedSize}`);
    }
    actual += n;
  }
  return { entries: entries.length, totalBytes: actual };
}

/** Names (and, where cheap, the entry records) of a zip whose central directory is missing. */
function walkLocalHeaders(buf: Buffer, maxEntries: number): ZipEntryInfo[] {
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

function entryText(buf: Buffer, e: ZipEntryInfo | undefined, max: number): string | null {
  if (!e) return null;
  try {
    return readZipEntry(buf, e, max).toString('utf8');
  } catch {
    return null;
  }
}

function sniffZip(buf: Buffer): SniffResult {
  let entries: ZipEntryInfo[];
  let truncated = false;
  try {
    entries = readZipDirectory(buf, 10_000);
  } catch {
    entries = walkLocalHeaders(buf, 10_000);
    truncated = true;
  }
  const byName = new Map(entries.map((e) => [e.name.replace(/^\//, '').toLowerCase(), e]));
  const note = truncated ? 'zip archive is truncated or damaged' : undefined;
  const withNote = (kind: SheetKind, detail?: string): SniffResult => {
    const d = [detail, note].filter(Boolean).join('; ');
    return d ? { kind, detail: d } : { kind };
  };
  const mimetype = entryText(buf, byName.get('mimetype'), 256)?.trim();
  if (mimetype !== undefined && mimetype !== null) {
    if (/^application\/vnd\.oasis\.opendocument\.spreadsheet(-template)?$/.test(mimetype)) return withNote('ods');
    if (mimetype.startsWith('application/vnd.oasis.opendocument.')) return withNote('zip-other', mimetype);
  }
  const ct = entryText(buf, byName.get('[content_types].xml'), 1024 * 1024);
  if (ct) {
    const types = [...ct.matchAll(/ContentType\s*=\s*"([^"]*)"/gi)].map((m) => m[1].toLowerCase());
    const has = (s: string) => types.some((t) => t.includes(s));
    if (has('spreadsheetml.sheet.main+xml') || has('spreadsheetml.template.main+xml')) return withNote('xlsx');
    if (has('sheet.macroenabled.main+xml') || has('template.macroenabled.main+xml') || has('addin.macroenabled.main+xml')) return withNote('xlsm');
    if (has('sheet.binary.macroenabled.main')) return withNote('xlsb');
    if (has('wordprocessingml')) return withNote('zip-other', 'word document');
    if (has('presentationml')) return withNote('zip-other', 'presentation');
  }
  if (byName.has('xl/workbook.bin')) return withNote('xlsb');
  if (byName.has('xl/workbook.xml')) return withNote(byName.has('xl/vbaproject.bin') ? 'xlsm' : 'xlsx');
  if (byName.has('content.xml') && byName.has('meta-inf/manifest.xml')) return withNote('zip-other', 'OpenDocument without a spreadsheet mimetype');
  return withNote('zip-other');
}

// ───────────────────────────── CFB (OLE2) ─────────────────────────────

const ENDOFCHAIN = 0xfffffffe;
const NOSTREAM = 0xffffffff;

/**
 * Lists the storage and stream names of a CFB (OLE2 compound file), tolerating truncation:
 * whatever can be read is returned. Never throws for malformed input; returns [] instead.
 */
export function listCfbNames(buf: Buffer): string[] {
  try {
    if (buf.length < 512 || !buf.subarray(0, 8).equals(CFB_MAGIC)) return [];
    const shift = buf.readUInt16LE(30);
    if (shift !== 9 && shift !== 12) return [];
    const size = 1 << shift;
    const maxSector = Math.floor(buf.length / size); // sectors actually present (+ header)
    const sectorOffset = (n: number) => (n + 1) * size;
    const inFile = (n: number) => n < 0xfffffffa && sectorOffset(n) + size <= buf.length;
    // FAT sector numbers: 109 in the header, then the DIFAT chain.
    const fatSectors: number[] = [];
    for (let i = 0; i < 109; i++) {
      const s = buf.readUInt32LE(76 + i * 4);
      if (s >= 0xfffffffa) break;
      fatSectors.push(s);
    }
    let difat = buf.readUInt32LE(68);
    for (let guard = 0; inFile(difat) && guard <= maxSector; guard++) {
      const off = sectorOffset(difat);
      const per = size / 4 - 1;
      for (let i = 0; i < per; i++) {
        const s = buf.readUInt32LE(off + i * 4);
        if (s < 0xfffffffa) fatSectors.push(s);
      }
      difat = buf.readUInt32LE(off + per * 4);
    }
    const fat: number[] = [];
    for (const s of fatSectors) {
      if (!inFile(s)) break;
      const off = sectorOffset(s);
      for (let i = 0; i < size / 4; i++) fat.push(buf.readUInt32LE(off + i * 4));
      if (fat.length > maxSector * 2 + size) break;
    }
    const names: string[] = [];
    const seen = new Set<number>();
    let dir = buf.readUInt32LE(48);
    while (dir !== ENDOFCHAIN && dir !== NOSTREAM && inFile(dir) && !seen.has(dir) && seen.size <= maxSector) {
      seen.add(dir);
      const off = sectorOffset(dir);
      for (let i = 0; i < size / 128; i++) {
        const e = off + i * 128;
        const type = buf[e + 66];
        const nameLen = buf.readUInt16LE(e + 64);
        if ((type === 1 || type === 2) && nameLen >= 2 && nameLen <= 64) {
          names.push(buf.toString('utf16le', e, e + nameLen - 2));
        }
      }
      dir = dir < fat.length ? fat[dir] : ENDOFCHAIN;
    }
    return names;
  } catch {
    return [];
  }
}

function sniffCfb(buf: Buffer, ext: string): SniffResult {
  const names = listCfbNames(buf);
  const lower = new Set(names.map((n) => n.toLowerCase()));
  if (lower.has('encryptedpackage') || lower.has('encryptioninfo')) return { kind: 'encrypted', detail: 'password-protected Office file' };
  if (lower.has('workbook') || lower.has('book')) {
    const kind: SheetKind = ext === 'et' || ext === 'ett' ? 'et' : 'xls';
    return { kind, detail: lower.has('book') && !lower.has('workbook') ? 'BIFF5 workbook' : 'BIFF8 workbook' };
  }
  if (lower.has('worddocument')) return { kind: 'unknown', detail: 'Word 97-2003 document' };
  if (names.length === 0) return { kind: 'unknown', detail: 'unreadable compound file (truncated?)' };
  return { kind: 'unknown', detail: 'compound file without a workbook stream' };
}

// ───────────────────────────── text ─────────────────────────────

function decodeText(buf: Buffer): string | null {
  const head = buf.subarray(0, 64 * 1024);
  if (head[0] === 0xff && head[1] === 0xfe) return new TextDecoder('utf-16le').decode(head.subarray(2));
  if (head[0] === 0xfe && head[1] === 0xff) return new TextDecoder('utf-16be').decode(head.subarray(2));
  if (head.includes(0)) return null;
  for (const enc of ['utf-8', 'gb18030']) {
    try {
      // A multibyte sequence cut at the 64 KB boundary must not disqualify UTF-8.
      return new TextDecoder(enc, { fatal: true }).decode(head, { stream: head.length < buf.length });
    } catch {
      /* try the next encoding */
    }
  }
  return null;
}

function looksLikeCsv(text: string): boolean {
  const lines = text.split(/\r\n|\n|\r/).filter((l) => l.trim() !== '').slice(0, 20);
  if (lines.length < 2) return false;
  for (const sep of [',', '\t', ';']) {
    const counts = lines.map((l) => l.split(sep).length - 1);
    if (counts[0] >= 1 && counts.filter((c) => c >= 1).length >= Math.ceil(lines.length * 0.8)) return true;
  }
  return false;
}

function sniffText(buf: Buffer, ext: string): SniffResult {
  const text = decodeText(buf);
  if (text === null) return { kind: 'unknown' };
  const controls = (text.match(/[\u0000-\u0008\u000e-\u001f]/g) ?? []).length;
  if (controls > 8) return { kind: 'unknown' };
  const start = text.replace(/^\uFEFF/, '').trimStart().slice(0, 512).toLowerCase();
  if (start.startsWith('<')) {
    if (start.includes('urn:schemas-microsoft-com:office:spreadsheet') || /<\?mso-application[^>]*excel/.test(start)) {
      return { kind: 'unknown', detail: 'XML Spreadsheet 2003' };
    }
    if (/<(!doctype html|html|table|meta)\b/.test(start) || start.includes('<html')) return { kind: 'unknown', detail: 'HTML page (an export saved as .xls?)' };
    return { kind: 'unknown', detail: 'XML document' };
  }
  if (ext === 'csv' || ext === 'tsv' || looksLikeCsv(text)) return { kind: 'csv' };
  return { kind: 'unknown', detail: 'plain text' };
}

// ───────────────────────────── entry point ─────────────────────────────

function extensionOf(filename: string): string {
  const m = /\.([A-Za-z0-9]{1,8})\s*$/.exec(filename ?? '');
  return m ? m[1].toLowerCase() : '';
}

/**
 * Tells what kind of file `buf` is. Looks at magic bytes first; the file name only decides
 * `.et` (WPS) versus `.xls` for BIFF workbooks, and helps recognise CSV text.
 * Never throws.
 */
export function sniffSpreadsheet(buf: Buffer, filename: string): SniffResult {
  const ext = extensionOf(filename);
  if (!buf || buf.length === 0) return { kind: 'unknown', detail: 'empty file' };
  if (isZip(buf) || (buf.length >= 4 && buf.readUInt32LE(0) === ZIP_EOCD)) return sniffZip(buf);
  if (buf.length >= 8 && buf.subarray(0, 8).equals(CFB_MAGIC)) return sniffCfb(buf, ext);
  if (buf.subarray(0, 5).toString('latin1') === '%PDF-') return { kind: 'unknown', detail: 'PDF document' };
  if (buf[0] === 0x09 && (buf[1] === 0x08 || buf[1] === 0x04 || buf[1] === 0x02) ) return { kind: 'xls', detail: 'bare BIFF stream' };
  if (buf.subarray(0, 4).toString('latin1') === 'Rar!' || (buf[0] === 0x37 && buf[1] === 0x7a && buf[2] === 0xbc)) {
    return { kind: 'unknown', detail: 'RAR/7z archive' };
  }
  if (buf[0] === 0xff && buf[1] === 0xd8) return { kind: 'unknown', detail: 'JPEG image' };
  if (buf.subarray(0, 8).toString('latin1') === '\x89PNG\r\n\x1a\n') return { kind: 'unknown', detail: 'PNG image' };
  return sniffText(buf, ext);
}
