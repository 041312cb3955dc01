/**
 * What a receipt tells besides what was recorded: which file and format were read, rows for
 * tasks that are not the person's (named by 序号, not recorded), and rows whose 主要任务 text the
 * person changed (their words recorded, the office's wording kept). Pure.
 */
import { tasksOf, type Ledger, type Person, type ReportRow } from './ledger.js';

/** The formats, as receipts name them (keys: sniff.ts's kinds). */
const FORMAT_NAMES: Record<string, string> = {
  xlsx: 'Excel 工作簿（.xlsx）',
  xlsm: 'Excel 启用宏的工作簿（.xlsm）',
  xls: 'Excel 97-2003 工作簿（.xls）',
  et: 'WPS 表格（.et）',
  ods: 'OpenDocument 电子表格（.ods）',
  xlsb: 'Excel 二进制工作簿（.xlsb）',
  docx: 'Word 文档（.docx）',
  doc: 'Word 97-2003 文档（.doc）',
  encrypted: '加密的 Office 文件',
  csv: 'CSV 文本',
  'zip-other': '非表格的压缩文件',
  unknown: '无法识别的文件',
};

/** The readable name of a file kind; unknown kinds as 无法识别的文件. */
export function formatName(kind: string | undefined): string {
  return (kind && FORMAT_NAMES[kind]) || FORMAT_NAMES.unknown;
}

/** A file as read, as far as the notes need it. */
export interface NotedFile {
  filename?: string;
  /** The kind it was read as (sniff.ts), `et` for a WPS file whatever is inside. */
  format?: string;
  rows: ReportRow[];
  /** The 主要任务 text of each row, as written. */
  taskTexts?: { no: number; text: string }[];
}

export interface FileNotes {
  filename: string | null;
  /** The format read, by name, e.g. Excel 97-2003 工作簿（.xls）. */
  format: string | null;
  /** 序号 of rows with words for tasks that are not the person's: not recorded. */
  foreign: number[];
  /** 序号 of the person's tasks whose 主要任务 text differs from the ledger's. */
  renamed: number[];
}

const blank = (s: string) => s.trim() === '';
/** Task texts compared loosely: width, spaces and line breaks do not make a change. */
const comparable = (s: string) => s.normalize('NFKC').replace(/\s+/gu, '');

/** What the receipt should say about the file read for `person`. */
export function fileNotes(ledger: Ledger, person: Person, file: NotedFile): FileNotes {
  const own = new Map(tasksOf(ledger, person.name).map((t) => [t.no, t]));
  const foreign = new Set<number>();
  for (const r of file.rows) if (!own.has(r.no) && (!blank(r.progress) || !blank(r.remark))) foreign.add(r.no);
  const renamed = new Set<number>();
  for (const { no, text } of file.taskTexts ?? []) {
    const task = own.get(no);
    if (task && !blank(text) && comparable(text) !== comparable(task.task)) renamed.add(no);
  }
  const byNo = (a: number, b: number) => a - b;
  return {
    filename: file.filename ?? null,
    format: file.format ? formatName(file.format) : null,
    foreign: [...foreign].sort(byNo),
    renamed: [...renamed].sort(byNo),
  };
}

/** 序号 as a receipt lists them: 第1、2、5项. */
export function serialList(nos: readonly number[]): string {
  return nos.length ? `第${nos.join('、')}项` : '';
}
