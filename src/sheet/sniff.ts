/**
 * Tells what kind of spreadsheet an attachment really is, from its bytes (the name only breaks
 * ties: `.et` vs `.xls`, and `.csv` for text). No dependencies: the zip reader is zip.ts, and a
 * minimal CFB (OLE2 compound file) directory reader lives here. Pure and synchronous.
 */
import { isZip, readZipDirectory, readZipEntry, walkLocalHeaders, ZIP_EOCD, type ZipEntryInfo } from './zip.js';

/**
 * What {@link sniffSpreadsheet} can tell apart. Read: `xlsx`/`xlsm` (exceljs), `xls`/`et`/`ods`/`xlsb`
 * (legacy.ts) and `docx` (docx.ts); the others are answered as unreadable.
 */
export type SheetKind = 'xlsx' | 'xlsm' | 'xls' | 'et' | 'encrypted' | 'ods' | 'xlsb' | 'docx' | 'doc' | 'csv' | 'zip-other' | 'unknown';

/** Result of {@link sniffSpreadsheet}. `detail` is a short English hint for logs and receipts. */
export interface SniffResult {
  kind: SheetKind;
  detail?: string;
}

const CFB_MAGIC = Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);

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
    if (has('wordprocessingml.document.main') || has('wordprocessingml.template.main') || has('ms-word.document.macroenabled') || has('ms-word.template.macroenabled')) return withNote('docx');
    if (has('wordprocessingml')) return withNote('zip-other', 'word document');
    if (has('presentationml')) return withNote('zip-other', 'presentation');
  }
  if (byName.has('xl/workbook.bin')) return withNote('xlsb');
  if (byName.has('xl/workbook.xml')) return withNote(byName.has('xl/vbaproject.bin') ? 'xlsm' : 'xlsx');
  if (byName.has('word/document.xml')) return withNote('docx');
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
  if (lower.has('worddocument')) return { kind: 'doc', detail: 'Word 97-2003 document' };
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
  // eslint-disable-next-line no-control-regex -- counting control characters is the point
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
