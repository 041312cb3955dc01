/**
 * Picks the attachments of a reply that are (or may be) forms, spreadsheets or Word documents
 * (a table filled in Word is read too), and repairs their names.
 * Pure: no I/O. Works on mailparser's `simpleParser` attachments (content buffered).
 *
 * "May be": a file is kept when its extension says spreadsheet, or, when the extension says
 * nothing useful, when its content type says spreadsheet or its bytes start like a zip (xlsx,
 * xlsm, ods, xlsb) or a CFB container (xls, et, encrypted xlsx). Telling these formats apart,
 * and refusing the ones we cannot read, is the sheet reader's job.
 */
import iconv from 'iconv-lite';

export interface SpreadsheetAttachment {
  /** File name, repaired when mailparser gave Latin-1 mojibake for raw GBK bytes, without any path. */
  filename: string;
  content: Buffer;
  contentType: string;
}

/** The subset of mailparser's Attachment this module reads. */
export interface AttachmentLike {
  filename?: string;
  contentType: string;
  content: Buffer;
  contentDisposition?: string;
  related?: boolean;
}

export const SPREADSHEET_EXTENSIONS = ['xlsx', 'xlsm', 'xls', 'et', 'ods', 'xlsb', 'csv', 'ett', 'xltx'] as const;

/**
 * Word documents: a .docx may hold the form's table; a .doc cannot be read, and is kept so that
 * the person is told to save it as .docx rather than that no form was found.
 */
export const WORD_EXTENSIONS = ['docx', 'docm', 'doc'] as const;

const SPREADSHEET_EXT_SET = new Set<string>([...SPREADSHEET_EXTENSIONS, ...WORD_EXTENSIONS]);

/** Extensions that clearly name something else: a zip or CFB with these names is not a sheet. */
const OTHER_KNOWN_EXTENSIONS = new Set([
  'dot', 'dotx', 'wps', 'wpt', 'rtf', 'odt', 'pdf', 'ofd',
  'ppt', 'pptx', 'pps', 'ppsx', 'dps', 'odp', 'txt', 'htm', 'html', 'xml', 'json',
  'jpg', 'jpeg', 'png', 'gif', 'bmp', 'tif', 'tiff', 'webp', 'heic', 'svg', 'ico',
  'zip', 'rar', '7z', 'gz', 'tar', 'jar', 'apk', 'exe', 'msi', 'dll',
  'mp3', 'mp4', 'wav', 'amr', 'mov', 'avi', 'eml', 'msg', 'ics', 'vcf', 'p7s',
]);

const SPREADSHEET_CONTENT_TYPES = new Set([
  'application/vnd.ms-excel',
  'application/msexcel',
  'application/x-msexcel',
  'application/x-ms-excel',
  'application/x-excel',
  'application/excel',
  'application/x-dos_ms_excel',
  'application/xls',
  'application/x-xls',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.template',
  'application/vnd.ms-excel.sheet.macroenabled.12',
  'application/vnd.ms-excel.sheet.binary.macroenabled.12',
  'application/vnd.ms-excel.template.macroenabled.12',
  'application/vnd.oasis.opendocument.spreadsheet',
  'application/vnd.oasis.opendocument.spreadsheet-template',
  'application/kset', // WPS 表格 (.et)
  'application/wps-office.et',
  'application/wps-office.ett',
  'application/wps-office.xlsx',
  'application/wps-office.xls',
  'text/csv',
  'text/comma-separated-values',
  'application/csv',
  'text/x-csv',
  'application/x-csv',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  'application/msword',
]);

/** Content types that say nothing about the format. */
const GENERIC_CONTENT_TYPES = new Set([
  'application/octet-stream',
  'application/x-download',
  'application/download',
  'application/force-download',
  'application/unknown',
  'application/zip',
  'application/x-zip-compressed',
  'application/x-cfb',
  'binary/octet-stream',
]);

const ZIP_MAGIC = Buffer.from([0x50, 0x4b, 0x03, 0x04]);
const CFB_MAGIC = Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);

const CJK_RE = /[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]/;

/**
 * Repairs a file name mailparser decoded from raw 8-bit GBK header bytes as Latin-1
 * (`½øÕ¹Çé¿ö.xlsx` → `进展情况.xlsx`). Names that are not such mojibake come back unchanged.
 */
export function repairFilename(name: string): string {
  if (!name) return name;
  let high = 0;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c > 0xff) return name; // real Unicode already: mailparser decoded it properly
    if (c >= 0x80) high++;
  }
  if (high === 0) return name;

  const bytes = Buffer.from(name, 'latin1');
  // GB18030 is a superset of GBK/GB2312 and decodes everything they do.
  const decoded = iconv.decode(bytes, 'gb18030');
  if (decoded.includes('\ufffd') || !CJK_RE.test(decoded)) return name;
  if (iconv.encode(decoded, 'gb18030').compare(bytes) !== 0) return name;

  // Guard against real Latin-1 names ("Übersicht.xlsx"): GBK lead bytes followed by an ASCII
  // trail byte decode "successfully" too. Common Chinese (GB2312) has both bytes ≥ 0xA1, so accept
  // such pairs only when the Latin-1 reading is implausible anyway (C1 controls 0x80–0x9F).
  let asciiTrails = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b < 0x80) continue;
    if (b === 0x80 || b === 0xff) continue;
    const t = bytes[i + 1];
    // four-byte GB18030 sequences: lead, 0x30–0x39, lead, 0x30–0x39
    if (t !== undefined && t >= 0x30 && t <= 0x39) {
      i += 3;
      continue;
    }
    if (t !== undefined && t < 0x80) asciiTrails++;
    i += 1;
  }
  const hasC1 = [...bytes].some((b) => b >= 0x80 && b <= 0x9f);
  if (asciiTrails > 0 && !hasC1) return name;
  return decoded;
}

function extensionOf(name: string): string {
  const m = name.match(/\.([A-Za-z0-9]{1,8})\s*$/);
  return m ? m[1].toLowerCase() : '';
}

/** Strips any directory part a client left in the name, and control characters. */
function baseName(name: string): string {
  // eslint-disable-next-line no-control-regex
  const cleaned = name.replace(/[\u0000-\u001f\u007f]/g, '').trim();
  const parts = cleaned.split(/[\\/]/);
  return (parts[parts.length - 1] ?? '').trim();
}

/** A cheap first look for choosing candidate attachments (sheet-sniff.ts decides for real): `xlsx`/`ods`/`xls`… guessed from the bytes, `zip`/`cfb` when only the container is known, '' otherwise. */
export function guessSpreadsheetContainer(content: Buffer): 'xlsx' | 'ods' | 'xls' | 'encrypted' | 'docx' | 'pptx' | 'doc' | 'ppt' | 'odt' | 'zip' | 'cfb' | '' {
  if (!Buffer.isBuffer(content) || content.length < 8) return '';
  if (content.subarray(0, 4).equals(ZIP_MAGIC)) {
    // Local file headers store entry names in plain text; look at the first part of the file.
    const head = content.subarray(0, Math.min(content.length, 1 << 20)).toString('latin1');
    if (head.includes('mimetypeapplication/vnd.oasis.opendocument.spreadsheet')) return 'ods';
    if (head.includes('mimetypeapplication/vnd.oasis.opendocument.text')) return 'odt';
    if (/xl\/(workbook|worksheets|styles|sharedStrings|_rels)/.test(head)) return 'xlsx';
    if (/word\/(document|styles|_rels)/.test(head)) return 'docx';
    if (/ppt\/(presentation|slides|_rels)/.test(head)) return 'pptx';
    return 'zip';
  }
  if (content.subarray(0, 8).equals(CFB_MAGIC)) {
    const utf16 = (s: string) => Buffer.from(s, 'utf16le');
    if (content.includes(utf16('EncryptedPackage'))) return 'encrypted';
    if (content.includes(utf16('Workbook')) || content.includes(utf16('Book\u0000'))) return 'xls';
    if (content.includes(utf16('WordDocument'))) return 'doc';
    if (content.includes(utf16('PowerPoint Document'))) return 'ppt';
    return 'cfb';
  }
  return '';
}

/** Whether the bytes start like a mail message: a header field (`Name: value`). */
function looksLikeMessage(content: Buffer): boolean {
  return /^[A-Za-z][A-Za-z0-9-]*[ \t]*:/.test(content.subarray(0, 200).toString('latin1'));
}

/**
 * An attached message (a report forwarded as an attachment): a `message/rfc822` part, or an
 * `.eml` file sent with a generic content type (as some clients attach a saved mail).
 */
export function isAttachedMessage(a: AttachmentLike): boolean {
  if (!a || !Buffer.isBuffer(a.content)) return false;
  const contentType = (a.contentType || '').toLowerCase().split(';')[0].trim();
  if (contentType === 'message/rfc822' || contentType === 'message/global') return true;
  const ext = extensionOf(baseName(repairFilename(a.filename ?? '')));
  const generic = !contentType || GENERIC_CONTENT_TYPES.has(contentType) || contentType === 'text/plain';
  return ext === 'eml' && generic && looksLikeMessage(a.content);
}

const SNIFFED_EXT: Record<string, string> = { xlsx: 'xlsx', ods: 'ods', xls: 'xls', encrypted: 'xlsx', zip: 'xlsx', cfb: 'xls', docx: 'docx', doc: 'doc' };

/** Real attachments: ones a person attached, not images embedded in an HTML signature. */
function isRealAttachment(a: AttachmentLike): boolean {
  if (a.related) return false;
  if (/^message\/(delivery-status|global-delivery-status|disposition-notification)$/i.test(a.contentType)) return false;
  return true;
}

/**
 * The attachments that are, or could be, spreadsheets, with repaired names. Unnamed ones are
 * called `attachment-N.<ext>` (N counting all attachments from 1, ext guessed from the bytes).
 */
export function spreadsheetAttachments(attachments: ReadonlyArray<AttachmentLike>): SpreadsheetAttachment[] {
  const out: SpreadsheetAttachment[] = [];
  attachments.forEach((a, index) => {
    if (!a || !Buffer.isBuffer(a.content) || !isRealAttachment(a)) return;
    const contentType = (a.contentType || 'application/octet-stream').toLowerCase().split(';')[0].trim();
    const name = baseName(repairFilename(a.filename ?? ''));
    const ext = extensionOf(name);

    let keep: boolean;
    if (SPREADSHEET_EXT_SET.has(ext)) keep = true;
    else if (OTHER_KNOWN_EXTENSIONS.has(ext)) keep = false;
    else if (SPREADSHEET_CONTENT_TYPES.has(contentType)) keep = true;
    else if (GENERIC_CONTENT_TYPES.has(contentType) || !ext) {
      const kind = guessSpreadsheetContainer(a.content);
      keep = kind === 'xlsx' || kind === 'ods' || kind === 'xls' || kind === 'encrypted' || kind === 'zip' || kind === 'cfb' || kind === 'docx' || kind === 'doc';
    } else keep = false;
    if (!keep) return;

    let filename = name;
    if (!filename) {
      const guessed = SNIFFED_EXT[guessSpreadsheetContainer(a.content)] ?? (contentType.includes('csv') ? 'csv' : 'xlsx');
      filename = `attachment-${index + 1}.${guessed}`;
    }
    out.push({ filename, content: a.content, contentType: a.contentType });
  });
  return out;
}
