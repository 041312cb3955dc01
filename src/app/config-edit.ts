/**
 * Writing an imported ledger into the config file while keeping everything else of it byte for
 * byte: its comments, its alignment, its quoting. The `yaml` package's Document API tells where
 * each node stands in the text (its ranges); only the ledger's title and task list are replaced
 * there, and the people still without an address are added as commented-out lines. The config
 * is still loaded by js-yaml (config.ts); the result is read back with it and checked.
 */
import YAML, { isMap, isScalar, isSeq, type Document, type Node, type Pair, type YAMLMap } from 'yaml';
import type { Task } from '../core/ledger.js';
import type { NewPerson } from '../core/import.js';
import { TaizhangError } from '../errors.js';

/** Which ledger of the config the import writes. */
export type Target =
  | { kind: 'single' }
  | { kind: 'entry'; id: string; index: number }
  | { kind: 'new-entry'; id: string; convert: boolean };

export interface LedgerWrite {
  target: Target;
  title: string | null;
  tasks: Task[];
  /** 序号 → the comment above the task (`附件 (六) 完善政府立法程序。`). */
  comments: Map<number, string>;
  newPeople: NewPerson[];
}

const STRINGIFY = { lineWidth: 0, flowCollectionPadding: false, indent: 2 } as const;

/** The document with node ranges: every scalar text (as the config loader reads it). */
export function parseConfigDocument(text: string): Document.Parsed {
  const doc = YAML.parseDocument(text, { schema: 'failsafe', uniqueKeys: false });
  if (doc.errors.length) throw new TaizhangError('CONFIG_INVALID', `not valid YAML: ${doc.errors[0].message.split('\n')[0]}`);
  return doc;
}

function pairOf(map: YAMLMap, key: string): Pair<Node, Node | null> | undefined {
  return map.items.find((p) => isScalar(p.key) && p.key.value === key) as Pair<Node, Node | null> | undefined;
}

const columnAt = (text: string, at: number) => at - (text.lastIndexOf('\n', at - 1) + 1);
const lineEnd = (text: string, at: number) => { const i = text.indexOf('\n', at); return i < 0 ? text.length : i; };
function trimBack(text: string, end: number): number {
  while (end > 0 && /\s/.test(text[end - 1])) end--;
  return end;
}
const indentLines = (block: string, by: number) => block.split('\n').map((l) => (l ? ' '.repeat(by) + l : l)).join('\n');

/** A scalar as YAML text (quoted where YAML needs it). */
export const scalarText = (value: string) => YAML.stringify(value, { ...STRINGIFY, schema: 'failsafe' }).trimEnd();

/** The task list as a block sequence at column 0, each task in the example config's layout. */
export function renderTasks(tasks: readonly Task[], comments: ReadonlyMap<number, string>): string {
  const doc = new YAML.Document(null, { schema: 'failsafe' });
  const items = tasks.map((t) => {
    const m = doc.createNode({ no: String(t.no), task: t.task, due: t.due }) as YAMLMap;
    (m.get('due', true) as YAML.Scalar).type = 'QUOTE_DOUBLE';
    for (const key of ['departments', 'owners'] as const) {
      const seq = doc.createNode([...t[key]]);
      seq.flow = true;
      m.set(key, seq);
    }
    for (const key of ['requirements', 'note'] as const) {
      const v = t[key];
      if (v === undefined) continue;
      const s = doc.createNode(v);
      s.type = 'BLOCK_LITERAL';
      m.set(key, s);
    }
    const comment = comments.get(t.no);
    if (comment) m.commentBefore = ` ${comment}`;
    return m;
  });
  doc.contents = doc.createNode(items);
  return doc.toString(STRINGIFY).trimEnd();
}

/** Commented-out people entries for the clerk to complete, at column 0. */
export function renderNewPeople(people: readonly NewPerson[]): string {
  if (!people.length) return '';
  const lines = [
    '# 以下责任人见于导入的台账，尚无邮箱：请填写 email 后删去行首的“# ”。',
    '# Named in the imported ledger, no address yet: fill in email, then uncomment.',
    ...people.map((p) => `# - { name: ${scalarText(p.name)}, department: ${p.department ? scalarText(p.department) : '""'}, email: "" }  # 序号 ${p.tasks.join(', ')}`),
  ];
  return lines.join('\n');
}

interface Edit { from: number; to: number; text: string }

/** Title and tasks of a block mapping (`ledger:` or an entry of `ledgers:`), replaced in place. */
function ledgerEdits(text: string, map: YAMLMap, w: LedgerWrite): Edit[] {
  if (map.flow || !map.range || !map.items.length) throw new TaizhangError('CONFIG_INVALID', 'the ledger is written as a one-line {…} mapping: write it as a block (one key per line) before importing');
  const indent = columnAt(text, map.range[0]);
  const edits: Edit[] = [];
  const tasks = indentLines(renderTasks(w.tasks, w.comments), indent + 2);
  const tasksPair = pairOf(map, 'tasks');
  if (tasksPair?.value?.range && tasksPair.key.range) {
    edits.push({ from: tasksPair.key.range[1], to: trimBack(text, tasksPair.value.range[1]), text: `:\n${tasks}` });
  } else {
    const end = trimBack(text, map.range[1]);
    edits.push({ from: end, to: end, text: `\n${' '.repeat(indent)}tasks:\n${tasks}` });
  }
  if (w.title !== null) {
    const titlePair = pairOf(map, 'title');
    if (titlePair?.value?.range) edits.push({ from: titlePair.value.range[0], to: titlePair.value.range[1], text: scalarText(w.title) });
    else edits.push({ from: map.range[0], to: map.range[0], text: `title: ${scalarText(w.title)}\n${' '.repeat(indent)}` });
  }
  return edits;
}

/** A new `ledgers:` entry's lines, at column 0. */
function entryText(id: string, w: LedgerWrite): string {
  return [`- id: ${scalarText(id)}`, `  title: ${scalarText(w.title ?? id)}`, '  tasks:', indentLines(renderTasks(w.tasks, w.comments), 4)].join('\n');
}

/** `ledger:` becomes the first entry of `ledgers:`, id main (what the single form means). */
function convertEdits(text: string, root: YAMLMap): Edit[] {
  const pair = pairOf(root, 'ledger');
  const value = pair?.value;
  if (!pair?.key.range || !isMap(value) || value.flow || !value.range) {
    throw new TaizhangError('CONFIG_INVALID', 'ledger: must be a block mapping to be moved under ledgers:');
  }
  const keyEnd = pair.key.range[1];
  const lineStart = lineEnd(text, keyEnd) + 1;
  const end = trimBack(text, value.range[1]);
  const indent = columnAt(text, value.range[0]);
  return [
    { from: pair.key.range[0], to: keyEnd, text: 'ledgers' },
    { from: lineStart - 1, to: end, text: `\n${' '.repeat(indent)}- id: main\n${indentLines(text.slice(lineStart, end), 2)}` },
  ];
}

/** Where the commented people go: under the entry's own `people:`, else the top-level one. */
function peopleEdit(text: string, root: YAMLMap, entry: YAMLMap | null, w: LedgerWrite): Edit | null {
  // Listed once: a second import of the same file adds no second commented line.
  const block = renderNewPeople(w.newPeople.filter((p) => !text.includes(`# - { name: ${scalarText(p.name)},`)));
  if (!block) return null;
  const own = entry ? pairOf(entry, 'people')?.value : undefined;
  const seq = isSeq(own) ? own : pairOf(root, 'people')?.value;
  if (!isSeq(seq) || !seq.range) return { from: text.length, to: text.length, text: `${text.endsWith('\n') ? '' : '\n'}${block}\n` };
  const at = lineEnd(text, trimBack(text, seq.range[1]));
  return { from: at, to: at, text: `\n${indentLines(block, seq.flow ? 0 : columnAt(text, seq.range[0]))}` };
}

/** The config text with the ledger written as `w` says; everything else left as it was. */
export function writeLedger(text: string, w: LedgerWrite): string {
  const doc = parseConfigDocument(text);
  const root = doc.contents;
  if (root !== null && !isMap(root)) throw new TaizhangError('CONFIG_INVALID', 'the top level of the config must be a mapping');
  const rootMap = root ?? new YAML.YAMLMap();
  const edits: Edit[] = [];
  let entry: YAMLMap | null = null;
  const t = w.target;
  const ledgers = pairOf(rootMap, 'ledgers')?.value;
  if (t.kind === 'single') {
    const ledger = pairOf(rootMap, 'ledger')?.value;
    if (isMap(ledger)) edits.push(...ledgerEdits(text, ledger, w));
    else edits.push(appendTop(text, `ledger:\n  title: ${scalarText(w.title ?? '工作台账')}\n  tasks:\n${indentLines(renderTasks(w.tasks, w.comments), 4)}`));
  } else if (t.kind === 'entry') {
    entry = (ledgers as YAML.YAMLSeq).items[t.index] as YAMLMap;
    edits.push(...ledgerEdits(text, entry, w));
  } else if (isSeq(ledgers) && ledgers.range && !ledgers.flow && ledgers.items.length) {
    const at = lineEnd(text, trimBack(text, ledgers.range[1]));
    edits.push({ from: at, to: at, text: `\n${indentLines(entryText(t.id, w), columnAt(text, ledgers.range[0]))}` });
  } else if (t.convert) {
    edits.push(...convertEdits(text, rootMap));
    const end = trimBack(text, pairOf(rootMap, 'ledger')!.value!.range![1]);
    const indent = columnAt(text, pairOf(rootMap, 'ledger')!.value!.range![0]);
    edits.push({ from: end, to: end, text: `\n${indentLines(entryText(t.id, w), indent)}` });
  } else {
    edits.push(appendTop(text, `ledgers:\n${indentLines(entryText(t.id, w), 2)}`));
  }
  const people = peopleEdit(text, rootMap, entry, w);
  if (people) edits.push(people);
  return apply(text, edits);
}

function appendTop(text: string, block: string): Edit {
  return { from: text.length, to: text.length, text: `${text.endsWith('\n') || !text ? '' : '\n'}${text ? '\n' : ''}${block}\n` };
}

/** Applies edits from the last to the first; two edits at one place keep their order. */
function apply(text: string, edits: Edit[]): string {
  const sorted = edits.map((e, i) => ({ ...e, i })).sort((a, b) => b.from - a.from || b.i - a.i);
  let out = text;
  for (const e of sorted) out = out.slice(0, e.from) + e.text + out.slice(e.to);
  return out;
}
