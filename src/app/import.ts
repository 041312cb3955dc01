/**
 * `taizhang import FILE.docx|FILE.xlsx [--ledger ID] [--requirements FILE.docx] [--print]`: the
 * office's own ledger table into the config (or printed as YAML), saying in plain words what it
 * adds or changes. Reads the config file as text, not through loadConfig: a config whose ledger
 * names people without an address yet is exactly what an import may leave behind.
 */
import { copyFileSync, existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Args } from './args.js';
import { renderNewPeople, renderTasks, scalarText, writeLedger, type LedgerWrite, type Target } from './config-edit.js';
import { parseYamlText } from './yaml.js';
import {
  diffTasks, fillRequirements, importTasks, keepRequirements, newPeople, planSections, type Filled,
} from '../core/import.js';
import type { Task } from '../core/ledger.js';
import { errorMessage, TaizhangError } from '../errors.js';
import { docxParagraphs, readLedgerFile, type LedgerTable } from '../sheet/import-table.js';
import { sniffSpreadsheet } from '../sheet/sniff.js';

type Plain = Record<string, unknown>;
const ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$/;

const isMapping = (v: unknown): v is Plain => typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const names = (v: unknown): string[] => (typeof v === 'string' ? v.split(/[、,，\s]+/).filter(Boolean) : list(v).map(String));

/**
 * Which ledger the import writes. The single `ledger:` when there is one and no --ledger (or
 * --ledger main); in `ledgers:`, the entry with that id (a new id adds one; without --ledger the
 * only entry); --ledger ID on a single `ledger:` moves that one under `ledgers:` as id main.
 */
export function resolveTarget(config: Plain, id: string | undefined): Target {
  if (id !== undefined && !ID.test(id)) throw new TaizhangError('USAGE', `--ledger must be letters, digits, - or _ (at most 40), got "${id}"`);
  const single = config.ledger !== undefined && config.ledger !== null;
  const several = Array.isArray(config.ledgers);
  if (single && several) throw new TaizhangError('CONFIG_INVALID', 'the config has both ledger: and ledgers:; keep one');
  if (several) {
    const entries = list(config.ledgers);
    const ids = entries.map((e) => (isMapping(e) ? String(e.id ?? '') : ''));
    if (id === undefined) {
      if (entries.length === 1) return { kind: 'entry', id: ids[0], index: 0 };
      throw new TaizhangError('USAGE', `the config has ${entries.length} ledgers (${ids.join(', ')}): say which with --ledger ID (a new id adds a ledger)`);
    }
    const index = ids.indexOf(id);
    return index >= 0 ? { kind: 'entry', id, index } : { kind: 'new-entry', id, convert: false };
  }
  if (id === undefined || id === 'main') return { kind: 'single' };
  return { kind: 'new-entry', id, convert: single };
}

function targetLedger(config: Plain, t: Target): Plain | null {
  if (t.kind === 'single') return isMapping(config.ledger) ? config.ledger : null;
  if (t.kind === 'entry') { const e = list(config.ledgers)[t.index]; return isMapping(e) ? e : null; }
  return null;
}

/** The target's tasks as the config has them now (for the list of changes). */
function currentTasks(ledger: Plain | null): Task[] {
  return list(ledger?.tasks).filter(isMapping).map((t) => {
    const task: Task = {
      no: Number(t.no), task: String(t.task ?? ''), due: String(t.due ?? ''), departments: names(t.departments), owners: names(t.owners),
    };
    if (typeof t.requirements === 'string' && t.requirements) task.requirements = t.requirements;
    if (typeof t.note === 'string' && t.note) task.note = t.note;
    return task;
  });
}

function peopleNames(v: unknown): string[] {
  return list(v).filter(isMapping).map((p) => String(p.name ?? '')).filter(Boolean);
}

function readInput(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new TaizhangError('USAGE', `cannot read ${what} ${file}: ${errorMessage(err)}`);
  }
}

/** The 方案's paragraphs: a .docx, or plain text (one paragraph a line). */
function planParagraphs(file: string): string[] {
  const buf = readInput(file, 'the requirements file');
  const kind = sniffSpreadsheet(buf, path.basename(file)).kind;
  if (kind === 'docx') return docxParagraphs(buf);
  if (kind === 'csv' || kind === 'unknown') {
    const text = buf.toString('utf8');
    if (!text.includes('\uFFFD')) return text.split(/\r?\n/);
  }
  throw new TaizhangError('SHEET_UNSUPPORTED', `${file}: --requirements takes a Word .docx (or UTF-8 text) holding the 方案`);
}

const nos = (xs: number[]) => (xs.length ? xs.join(', ') : 'none');

interface Outcome { table: LedgerTable; file: string; write: LedgerWrite; lines: string[] }

/** What the import finds and would change, in plain English lines for the IT person. */
async function prepare(args: Args, config: Plain, configName: string): Promise<Outcome> {
  const file = args.file!;
  const table = await readLedgerFile(readInput(file, 'the ledger file'), path.basename(file));
  const target = resolveTarget(config, args.ledger);
  const ledger = targetLedger(config, target);
  const known = new Set([...peopleNames(config.people), ...peopleNames(ledger?.people)]);
  const old = currentTasks(ledger);
  const { tasks: read, problems } = importTasks(table.tasks, known);
  let tasks = read;
  const comments = new Map<number, string>();
  const lines = [`Read ${read.length} tasks from ${path.basename(file)} (${table.format})${table.title ? `: ${table.title}` : ''}.`];
  if (args.requirements) {
    const filled: Filled = fillRequirements(tasks, planSections(planParagraphs(args.requirements)));
    tasks = filled.tasks;
    for (const [no, s] of filled.matched) comments.set(no, `附件 (${s.label}) ${s.title}`);
    lines.push(`任务要求 taken from ${path.basename(args.requirements)} for ${filled.matched.size} task(s), matched by title.`);
    if (filled.missing.length) lines.push(`No item of that title in ${path.basename(args.requirements)} for 序号 ${nos(filled.missing)}: their 任务要求 are left as the table has them.`);
    if (filled.ambiguous.length) lines.push(`Several items share the title of 序号 ${nos(filled.ambiguous)}: none was taken; fill in their 任务要求 by hand.`);
  } else {
    const kept = keepRequirements(tasks, old);
    if (kept.length) lines.push(`Kept the config's 任务要求/备注 of 序号 ${nos(kept)} (same 主要任务; the table has none).`);
  }
  const people = newPeople(tasks, known);
  const diff = diffTasks(old, tasks);
  lines.push(`${ledgerName(target)} in ${configName}:`);
  lines.push(`  tasks added: ${nos(diff.added)}`);
  lines.push(`  tasks changed: ${diff.changed.length ? diff.changed.map((c) => `${c.no} (${c.fields.join(', ')})`).join('; ') : 'none'}`);
  lines.push(`  tasks removed: ${nos(diff.removed)}`);
  lines.push(`  tasks unchanged: ${diff.unchanged}`);
  if (table.title && table.title !== ledger?.title) lines.push(`  title: ${table.title}`);
  if (people.length) {
    lines.push('People named in the ledger who are not in people (no address yet; nothing is guessed): added to people commented out, fill in each email and uncomment:');
    for (const p of people) lines.push(`  ${p.name}${p.department ? ` (${p.department})` : ''}: 序号 ${p.tasks.join(', ')}`);
  }
  if (target.kind === 'single') {
    const owners = new Set(tasks.flatMap((t) => t.owners));
    const idle = peopleNames(config.people).filter((n) => !owners.has(n));
    if (idle.length) lines.push(`In people but owning no task now (remove them, or give them a task): ${idle.join(', ')}`);
  }
  for (const p of problems) lines.push(`Problem: ${p}`);
  for (const s of table.skipped) lines.push(`Not imported: ${s}`);
  if (table.notes.length) lines.push(`Notes under the table (not imported; check the schedule agrees): ${table.notes.join(' ')}`);
  return { table, file, lines, write: { target, title: table.title, tasks, comments, newPeople: people } };
}

function ledgerName(t: Target): string {
  if (t.kind === 'single') return 'Ledger main (ledger:)';
  if (t.kind === 'entry') return `Ledger ${t.id} (ledgers:)`;
  return `New ledger ${t.id} (ledgers:${t.convert ? '; the single ledger: moves under ledgers: as id main, its reports keep that id' : ''})`;
}

/** The ledger alone as YAML, as --print shows it. */
function printed(w: LedgerWrite, title: string | null): string {
  const indent = (s: string, by: number) => s.split('\n').map((l) => (l ? ' '.repeat(by) + l : l)).join('\n');
  const tasks = renderTasks(w.tasks, w.comments);
  const t = title ?? '工作台账';
  const body = w.target.kind === 'single'
    ? `ledger:\n  title: ${scalarText(t)}\n  tasks:\n${indent(tasks, 4)}`
    : `ledgers:\n  - id: ${w.target.id}\n    title: ${scalarText(t)}\n    tasks:\n${indent(tasks, 6)}`;
  const people = renderNewPeople(w.newPeople);
  return people ? `${body}\n\n${people}` : body;
}

/** Checks the written text reads back, with js-yaml as the config loader reads it, as the tasks meant. */
function verify(text: string, w: LedgerWrite): void {
  const config = parseYamlText(text) as Plain;
  const t = w.target.kind === 'new-entry' ? { kind: 'entry' as const, id: w.target.id, index: list(config.ledgers).findIndex((e) => isMapping(e) && e.id === (w.target as { id: string }).id) } : w.target;
  const back = currentTasks(targetLedger(config, t));
  const canonical = (ts: Task[]) => JSON.stringify(ts.map((x) => [x.no, x.task, x.due, x.departments, x.owners, x.requirements ?? null, x.note ?? null]));
  if (canonical(back) !== canonical(w.tasks)) throw new TaizhangError('INTERNAL', 'the edited config did not read back as the imported tasks; nothing was written');
}

/** Runs `taizhang import`; returns the exit code. */
export async function runImport(args: Args, out: (s: string) => void = (s) => process.stdout.write(`${s}\n`)): Promise<number> {
  if (!args.file) throw new TaizhangError('USAGE', 'import needs the ledger file: taizhang import FILE.docx|FILE.xlsx');
  const exists = existsSync(args.config);
  if (!exists && !args.print) throw new TaizhangError('CONFIG_INVALID', `config file ${args.config} not found (copy config/taizhang.example.yaml to start, or use --print)`);
  const text = exists ? readFileSync(args.config, 'utf8') : '';
  let config: unknown;
  try {
    config = parseYamlText(text) ?? {};
  } catch (err) {
    throw new TaizhangError('CONFIG_INVALID', `${args.config}: not valid YAML: ${errorMessage(err)}`);
  }
  if (!isMapping(config)) throw new TaizhangError('CONFIG_INVALID', `${args.config}: the top level must be a mapping`);
  const o = await prepare(args, config, exists ? args.config : '(no config file)');
  if (args.print) {
    out(`${o.lines.map((l) => `# ${l}`).join('\n')}\n# --print: nothing was written.\n${printed(o.write, o.table.title)}`);
    return 0;
  }
  const next = writeLedger(text, o.write);
  verify(next, o.write);
  const backup = `${args.config}.bak`;
  copyFileSync(args.config, backup);
  const tmp = `${args.config}.import-${process.pid}.tmp`;
  writeFileSync(tmp, next, { mode: statSync(args.config).mode & 0o777 });
  renameSync(tmp, args.config);
  out([...o.lines, `Wrote ${args.config} (the previous version is kept as ${backup}). Run \`taizhang check\` next.`].join('\n'));
  return 0;
}
