/**
 * Progress typed in a mail's body instead of a form: which lines the sender wrote (not the mail
 * they quote, their signature or a disclaimer), which of those name a task (by 序号 — "1." "1、"
 * "第1项" "（一）" — or by its title), and what they wrote for it. Pure.
 *
 * The words are kept exactly as written, without the leading marker only; lines before the
 * first task (a greeting) are not progress, nor is anything from a closing, a signature, a
 * quote header or a disclaimer on.
 */
import { tasksOf, type Ledger, type Person, type ReportRow } from './ledger.js';
import { chineseNumber, ownLines } from './body-lines.js';

export { isSignatureLine, isStopLine, ownLines } from './body-lines.js';

/** What the body of a reply without a form says. */
export interface BodyReport {
  /** The sender's own words (quotes, signature and disclaimers left out), trimmed. */
  ownText: string;
  /** The person's own tasks named in the text, in 序号 order, with the words written for each. */
  rows: ReportRow[];
  /** 序号 named that are not the person's tasks: not recorded for anyone. */
  foreign: number[];
  /** The whole text is one of the no-progress words (本月无进展): it answers for every task. */
  noProgress: boolean;
  /** The text names tasks, but only in questions (请问第14项是否由我牵头？): for a person to answer. */
  question: boolean;
}

/**
 * The serial number a line starts with, and where its words begin. `heading`: written in Chinese
 * numerals without 第…项 (（一） 一、), which is also how people number their own headings and
 * sub-points: such lines name a task only in a text that names none otherwise (1. 第1项 第一项 序号1).
 */
interface Marker { no: number; rest: number; heading?: boolean }

const DIGITS = '[0-9０-９]{1,6}';
const HAN = '[一二三四五六七八九十百零〇两]{1,4}';
const MARKERS: RegExp[] = [
  new RegExp(`^(?:第\\s*(${DIGITS}|${HAN})\\s*(?:项|条))[\\s：:，,、.．。]*`, 'u'),
  new RegExp(`^序号\\s*(${DIGITS})[\\s：:，,、.．。]*`, 'u'),
  new RegExp(`^[（(]\\s*(${DIGITS}|${HAN})\\s*[)）][\\s：:，,、.．。]*`, 'u'),
  // "1." but not "1.5万元"; "1、" "1，" "1)" "1）".
  new RegExp(`^(${DIGITS})\\s*(?:[.．](?![0-9０-９])|[、，,)）：:])[\\s]*`, 'u'),
  new RegExp(`^(${HAN})\\s*、\\s*`, 'u'),
];

function toNumber(s: string): number {
  const ascii = s.replace(/[０-９]/g, (d) => String.fromCharCode(d.charCodeAt(0) - 0xfee0));
  return /^\d+$/.test(ascii) ? Number(ascii) : chineseNumber(s);
}

function numberMarker(line: string): Marker | null {
  for (const re of MARKERS) {
    const m = re.exec(line);
    if (!m) continue;
    const no = toNumber(m[1]);
    const heading = !/^[0-9０-９]/.test(m[1]) && !m[0].startsWith('第');
    if (Number.isInteger(no) && no > 0) return { no, rest: m[0].length, heading };
  }
  return null;
}

/** Letters and digits only, width folded: what a title is compared by. */
const SKIPPED = /[\s\p{P}\p{S}]/u;
const bare = (s: string) => [...s.normalize('NFKC')].filter((c) => !SKIPPED.test(c)).join('');

/** Titles as compared (see `bare`), by their first {@link KEY} characters: each line is checked against a few. */
interface TitleIndex { count: number; longest: number; byKey: Map<string, { no: number; bare: string }[]> }
const KEY = 4; // a title shorter than this is too short to name a task reliably
const titleIndexes = new WeakMap<Ledger['tasks'], TitleIndex>();

function titleIndex(ledger: Ledger): TitleIndex {
  let index = titleIndexes.get(ledger.tasks);
  if (index && index.count === ledger.tasks.length) return index;
  index = { count: ledger.tasks.length, longest: 0, byKey: new Map() };
  for (const t of ledger.tasks) {
    const chars = [...bare(t.task)];
    if (chars.length < KEY) continue;
    const key = chars.slice(0, KEY).join('');
    const list = index.byKey.get(key) ?? [];
    list.push({ no: t.no, bare: chars.join('') });
    index.byKey.set(key, list);
    index.longest = Math.max(index.longest, t.task.length);
  }
  titleIndexes.set(ledger.tasks, index);
  return index;
}

/** The start of a line as titles are compared, with the offset in the line after each character kept. */
function bareStart(line: string, max: number): { text: string[]; ends: number[] } {
  const text: string[] = [];
  const ends: number[] = [];
  let offset = 0;
  for (const ch of line.slice(0, max)) {
    offset += ch.length;
    for (const c of ch.normalize('NFKC')) {
      if (SKIPPED.test(c)) continue;
      text.push(c);
      ends.push(offset);
    }
  }
  return { text, ends };
}

/** The task a line starts by naming with its title (the longest title that fits), any task of the ledger. */
function titleMarker(line: string, ledger: Ledger): Marker | null {
  const index = titleIndex(ledger);
  const start = bareStart(line, index.longest * 2 + 40);
  const candidates = start.text.length >= KEY ? index.byKey.get(start.text.slice(0, KEY).join('')) : undefined;
  if (!candidates) return null;
  const head = start.text.join('');
  let best: { no: number; len: number } | null = null;
  for (const t of candidates) {
    if (head.startsWith(t.bare) && (!best || t.bare.length > best.len)) best = { no: t.no, len: t.bare.length };
  }
  if (!best) return null;
  const offset = start.ends[[...head.slice(0, best.len)].length - 1];
  // The separator after the title is part of the marker.
  const sep = /^[\s：:，,、.．。—-]*/u.exec(line.slice(offset));
  return { no: best.no, rest: offset + (sep ? sep[0].length : 0) };
}

const QUESTION = /[？?]\s*$|^请问|是否[^\n]{0,60}[吗呢]|能否|可否/u;
/** Punctuation and spaces ignored when a text is compared with the no-progress words. */
const plain = (s: string) => s.normalize('NFKC').replace(/[\s\p{P}]/gu, '');

/** The text is just one of the no-progress words (本月无进展。). */
export function isNoProgress(text: string, words: readonly string[]): boolean {
  const t = plain(text);
  return t !== '' && words.some((w) => plain(w) === t);
}

/**
 * Reads a body for `person`'s report. `words`: the configured no-progress words.
 * Lines naming a task collect the lines after them (up to the next task, or the end of the
 * sender's own words); a task named twice keeps both, one after the other.
 */
export function readBodyReport(body: string, ledger: Ledger, person: Person, words: readonly string[]): BodyReport {
  const lines = ownLines(body, person);
  const ownText = lines.join('\n').trim();
  const own = new Set(tasksOf(ledger, person.name).map((t) => t.no));
  const named = new Map<number, string[]>();
  const questions: boolean[] = [];
  let current: string[] | null = null;
  const markers = lines.map((raw) => numberMarker(raw.trimStart()) ?? titleMarker(raw.trimStart(), ledger));
  const explicit = markers.some((m) => m && !m.heading);
  for (const [i, raw] of lines.entries()) {
    const line = raw.trimStart();
    const found = markers[i];
    const marker = found && (!found.heading || !explicit) ? found : null;
    if (marker) {
      current = named.get(marker.no) ?? [];
      if (current.length) current.push('');
      named.set(marker.no, current);
      const said = line.slice(marker.rest).trimEnd();
      current.push(said);
      questions.push(QUESTION.test(said));
    } else if (current) {
      current.push(raw.trimEnd());
    }
  }
  const rows: ReportRow[] = [];
  const foreign: number[] = [];
  for (const [no, text] of [...named].sort((a, b) => a[0] - b[0])) {
    const progress = text.join('\n').trim();
    if (!own.has(no)) {
      if (progress !== '') foreign.push(no);
      continue;
    }
    if (progress !== '') rows.push({ no, progress, remark: '' });
  }
  const question = questions.length > 0 && questions.every(Boolean);
  return { ownText, rows: question ? [] : rows, foreign: question ? [] : foreign, noProgress: isNoProgress(ownText, words), question };
}

/** A text that asks something of the office (请问…？). */
export function looksLikeQuestion(text: string): boolean {
  return /[？?]|请问|能否|可否|是否|哪里|哪儿|哪个|怎么|如何|什么时候|为什么|吗[\s。！!]*$/mu.test(text);
}

/** The sender meant to attach the form and did not (已填好，请查收；见附件): today's 请补正. */
export function mentionsAttachment(text: string): boolean {
  return /附件|表格|附表|请查收|见附|已填|附上|补表|填好/u.test(text);
}
