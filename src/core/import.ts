/**
 * Turning the cells of an office's own ledger table into tasks (for `taizhang import`), filling
 * their 任务要求 from the 方案's sections, and telling what changes against the config. Pure:
 * src/sheet/import-table.ts reads the file, src/app/import.ts writes the config.
 *
 * Nothing is guessed: a name is taken as written (only the padding of two-character names is
 * removed: 王　群 → 王群), a 任务要求 only where the titles match, and a person without an
 * address is told, never invented.
 */
import type { Task } from './ledger.js';

/** One task of the table, its cells as written (sub-rows joined with a newline). */
export interface RawTask {
  no: number;
  task: string;
  due: string;
  departments: string;
  owners: string;
  remark: string;
  requirements: string;
  /** 进展情况, when the table has the column (a unit's own ledger; `import` does not use it). */
  progress?: string;
  /** Where it was read: `表格2 row 3`, `台账 row 14`. */
  at: string;
}

/** A cell's lines as one line: nothing between Chinese text, a space between two words. */
export function joinLines(text: string): string {
  const lines = text.split(/\r\n|\r|\n/).map((l) => l.trim()).filter(Boolean);
  return lines.reduce((acc, l) => (acc && /[\x21-\x7e]$/.test(acc) && /^[\x21-\x7e]/.test(l) ? `${acc} ${l}` : acc + l), '');
}

/** Lines kept, each trimmed, blank ones dropped (for 任务要求 and 备注, where lines mean items). */
const keptLines = (text: string) => text.split(/\r\n|\r|\n/).map((l) => l.trim()).filter(Boolean).join('\n');

const NAME_SEPARATORS = /[、，,;；/／\r\n]+/;

/** 王 群 → 王群: single characters side by side are a two-character name padded to three. */
function pairSingles(words: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if ([...w].length === 1 && i + 1 < words.length && [...words[i + 1]].length === 1) {
      out.push(w + words[i + 1]);
      i++;
    } else {
      out.push(w);
    }
  }
  return out;
}

/**
 * The names in a 责任人 cell: separated by 、, commas, semicolons, line breaks or spaces. A part
 * that is a known name once its spaces are gone is that name (王　群); else spaces separate names.
 */
export function splitNames(cell: string, known: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const part of cell.split(NAME_SEPARATORS)) {
    const whole = part.replace(/\s+/g, '');
    if (!whole) continue;
    if (known.has(whole)) out.push(whole);
    else out.push(...pairSingles(part.trim().split(/\s+/)));
  }
  return [...new Set(out)];
}

/** The departments of a 责任科室 cell (办公室、机关总支). */
export function splitDepartments(cell: string): string[] {
  return [...new Set(cell.split(/[、，,;；/／\s]+/).filter(Boolean))];
}

/** 完成时间 as written, without the spaces and line breaks a narrow cell put in it. */
export const normalizeDue = (cell: string) => cell.replace(/\s+/g, '');

export interface ImportedTasks {
  tasks: Task[];
  /** Plain English, one line each: what could not be taken as it stands. */
  problems: string[];
}

/** The raw rows as tasks, by 序号. A row without 主要任务 is left out (and told). */
export function importTasks(raw: readonly RawTask[], known: ReadonlySet<string>): ImportedTasks {
  const tasks: Task[] = [];
  const problems: string[] = [];
  for (const r of [...raw].sort((a, b) => a.no - b.no)) {
    const task = joinLines(r.task);
    if (!task) { problems.push(`序号 ${r.no} (${r.at}) has no 主要任务: not imported`); continue; }
    const t: Task = {
      no: r.no, task, due: normalizeDue(r.due), departments: splitDepartments(r.departments), owners: splitNames(r.owners, known),
    };
    const requirements = keptLines(r.requirements);
    if (requirements) t.requirements = requirements;
    const note = keptLines(r.remark);
    if (note) t.note = note;
    if (t.owners.length === 0) problems.push(`序号 ${r.no} (${r.at}) names no 责任人: add one in the config`);
    if (!t.due) problems.push(`序号 ${r.no} (${r.at}) has no 完成时间`);
    tasks.push(t);
  }
  return { tasks, problems };
}

// ───────────────────────────── 任务要求 from the 方案 ─────────────────────────────

/** One numbered item of a 方案: `(六)完善政府立法程序。任务要求:…`. */
export interface PlanSection { label: string; title: string; requirements: string }

const SECTION = /^[（(]\s*([一二三四五六七八九十百零〇两]+)\s*[）)]\s*([\s\S]*)$/;
const REQUIREMENTS = /任务要求\s*[:：]\s*/;
const SECTION_END = /^(责任单位|牵头单位|责任部门|配合单位|完成时限|完成时间|时间节点)\s*[:：]|^[一二三四五六七八九十]+、/;

/**
 * The items of a 方案 that state 任务要求, from its paragraphs in order. An item's 任务要求 runs
 * from `任务要求:` (in the title's paragraph or a later one) to 责任单位/完成时限, the next item or
 * the next chapter (`四、`); its paragraphs are kept as lines.
 */
export function planSections(paragraphs: readonly string[]): PlanSection[] {
  const out: PlanSection[] = [];
  let current: { label: string; title: string; lines: string[] | null } | null = null;
  const flush = () => {
    if (current?.lines) out.push({ label: current.label, title: current.title, requirements: current.lines.filter(Boolean).join('\n') });
    current = null;
  };
  for (const p of paragraphs) {
    const text = p.trim();
    const m = SECTION.exec(text);
    if (m) {
      flush();
      const at = m[2].search(REQUIREMENTS);
      current = at < 0
        ? { label: m[1], title: m[2].trim(), lines: null }
        : { label: m[1], title: m[2].slice(0, at).trim(), lines: [m[2].slice(at).replace(REQUIREMENTS, '').trim()] };
      continue;
    }
    if (!current) continue;
    if (SECTION_END.test(text)) { flush(); continue; }
    if (current.lines) current.lines.push(text);
    else if (text.search(REQUIREMENTS) === 0) current.lines = [text.replace(REQUIREMENTS, '').trim()];
  }
  flush();
  return out;
}

/** A title reduced for matching: full-width forms, spaces and the final 。 do not count. */
export const titleKey = (s: string) => s.normalize('NFKC').replace(/\s+/g, '').replace(/[。.；;，,、]+$/, '');

export interface Filled {
  tasks: Task[];
  /** 序号 → the section whose 任务要求 it got. */
  matched: Map<number, PlanSection>;
  /** Tasks with no section of that title. */
  missing: number[];
  /** Tasks whose title several sections share (none is taken). */
  ambiguous: number[];
}

/** Each task's 任务要求 from the one section with the same title; the rest keep theirs. */
export function fillRequirements(tasks: readonly Task[], sections: readonly PlanSection[]): Filled {
  const byKey = new Map<string, PlanSection[]>();
  for (const s of sections) byKey.set(titleKey(s.title), [...(byKey.get(titleKey(s.title)) ?? []), s]);
  const matched = new Map<number, PlanSection>();
  const missing: number[] = [];
  const ambiguous: number[] = [];
  const out = tasks.map((t) => {
    const found = byKey.get(titleKey(t.task)) ?? [];
    if (found.length !== 1) {
      (found.length ? ambiguous : missing).push(t.no);
      return t;
    }
    matched.set(t.no, found[0]);
    return found[0].requirements ? { ...t, requirements: found[0].requirements } : t;
  });
  return { tasks: out, matched, missing, ambiguous };
}

// ───────────────────────────── against the config ─────────────────────────────

const FIELDS = ['task', 'due', 'departments', 'owners', 'requirements', 'note'] as const;
const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

export interface TaskDiff {
  added: number[];
  removed: number[];
  changed: { no: number; fields: string[] }[];
  unchanged: number;
}

/** What importing `next` over `old` changes, by 序号. */
export function diffTasks(old: readonly Task[], next: readonly Task[]): TaskDiff {
  const before = new Map(old.map((t) => [t.no, t]));
  const after = new Set(next.map((t) => t.no));
  const diff: TaskDiff = { added: [], removed: old.filter((t) => !after.has(t.no)).map((t) => t.no), changed: [], unchanged: 0 };
  for (const t of next) {
    const o = before.get(t.no);
    if (!o) { diff.added.push(t.no); continue; }
    const fields = FIELDS.filter((f) => !same(o[f], t[f]));
    if (fields.length) diff.changed.push({ no: t.no, fields });
    else diff.unchanged++;
  }
  return diff;
}

/**
 * Keeps the config's 任务要求 and 备注 of a task the table gives none for, when its 主要任务 is
 * the same: a table without those columns does not erase them. Returns the 序号 kept.
 */
export function keepRequirements(next: Task[], old: readonly Task[]): number[] {
  const byTitle = new Map(old.map((t) => [titleKey(t.task), t]));
  const kept: number[] = [];
  next.forEach((t, i) => {
    const o = byTitle.get(titleKey(t.task));
    if (!o) return;
    const merged = { ...t };
    if (!t.requirements && o.requirements) merged.requirements = o.requirements;
    if (!t.note && o.note) merged.note = o.note;
    if (merged.requirements !== t.requirements || merged.note !== t.note) { next[i] = merged; kept.push(t.no); }
  });
  return kept;
}

/** A person the ledger names who is not in `people`, with the department the table shows for them. */
export interface NewPerson { name: string; department: string; tasks: number[] }

/**
 * Owners not among `known`. Their department is the task's when they own it alone with one
 * department, else the one in the same place in the list (办公室、发财科 / 王群才 李世想), and ''
 * when the tasks disagree.
 */
export function newPeople(tasks: readonly Task[], known: ReadonlySet<string>): NewPerson[] {
  const found = new Map<string, { tasks: number[]; departments: Set<string> }>();
  for (const t of tasks) {
    t.owners.forEach((name, i) => {
      if (known.has(name)) return;
      const p = found.get(name) ?? { tasks: [], departments: new Set<string>() };
      found.set(name, p);
      p.tasks.push(t.no);
      if (t.departments.length === t.owners.length) p.departments.add(t.departments[i]);
    });
  }
  return [...found].map(([name, p]) => ({ name, tasks: p.tasks, department: p.departments.size === 1 ? [...p.departments][0] : '' }));
}
