/**
 * The ledgers of a config: the single `ledger:` (the ledger `main`) or `ledgers:`, each with its
 * own people, office and schedule or the top level's. Checks that tell every problem with its
 * path, and the frozen per-ledger shape (LedgerScope) the rest of the code reads.
 */
import { MAIN_LEDGER, type Ledger, type Person } from '../core/ledger.js';
import { cleanIn, problem, type Ctx } from './config-fields.js';

/** `ledgers[1].people` */
function pathText(at: PropertyKey[]): string {
  return at.map((k, i) => (typeof k === 'number' ? `[${k}]` : `${i === 0 ? '' : '.'}${String(k)}`)).join('');
}

/** Reports the second and later items whose `key` repeats an earlier clean one. */
function dupes<T>(ctx: Ctx, items: T[], at: PropertyKey[], key: keyof T & string): void {
  const clean = cleanIn(ctx);
  const seen = new Set<unknown>();
  items.forEach((item, i) => {
    if (!clean(...at, i, key)) return;
    if (seen.has(item[key])) problem(ctx, [...at, i, key], 'appears twice');
    seen.add(item[key]);
  });
}

interface PersonFile { id?: string; name: string; department: string; email: string }
interface TaskFile { no: number; task: string; due: string; departments: string[]; owners: string[]; requirements?: string; note?: string }
interface OfficeFile { name: string; email: string }
interface UnitFile { name: string; email: string }
interface LedgerFile { title: string; office_name?: string; tasks: TaskFile[]; units?: UnitFile[] }
interface LedgerEntryFile<S> extends LedgerFile { id: string; people?: PersonFile[]; office?: OfficeFile[]; schedule?: S }
interface RootFile<S> {
  people?: PersonFile[]; office?: OfficeFile[]; schedule?: S; ledger?: LedgerFile; ledgers?: LedgerEntryFile<S>[];
  mailbox?: { address?: unknown };
}

/** Ids are unique, an absent one being the name (whose repeats `dupes` reports already). */
function dupeIds(ctx: Ctx, people: PersonFile[], at: PropertyKey[]): void {
  const clean = cleanIn(ctx);
  const seen = new Map<string, boolean>(); // id → given explicitly
  people.forEach((p, i) => {
    if (!clean(...at, i, 'id') || !clean(...at, i, 'name')) return;
    const explicit = p.id !== undefined;
    const id = (p.id ?? p.name).trim();
    if (explicit && id === '') problem(ctx, [...at, i, 'id'], 'must not be blank');
    else if (seen.has(id) && (explicit || seen.get(id))) problem(ctx, [...at, i, explicit ? 'id' : 'name'], `id "${id}" appears twice (an id defaults to the name)`);
    if (!seen.has(id)) seen.set(id, explicit);
  });
}

function checkPeople(ctx: Ctx, people: PersonFile[], at: PropertyKey[]): void {
  dupes(ctx, people, at, 'name');
  dupes(ctx, people, at, 'email');
  dupeIds(ctx, people, at);
}

/**
 * A ledger's tasks (at `at`) and its people (at `peopleAt`) name each other: every owner is one
 * of the people; with `everyOwns`, every person owns a task.
 */
function checkTasks(ctx: Ctx, tasks: TaskFile[], people: PersonFile[], at: PropertyKey[], peopleAt: PropertyKey[], everyOwns: boolean): void {
  const clean = cleanIn(ctx);
  dupes(ctx, tasks, [...at, 'tasks'], 'no');
  if (people.length > 0 && people.every((_, i) => clean(...peopleAt, i, 'name'))) {
    const known = new Set(people.map((p) => p.name));
    tasks.forEach((t, i) => {
      if (!clean(...at, 'tasks', i, 'owners')) return;
      t.owners.forEach((n, j) => { if (!known.has(n)) problem(ctx, [...at, 'tasks', i, 'owners', j], `"${n}" is not one of ${pathText(peopleAt)}[].name`); });
    });
  }
  if (everyOwns && tasks.length > 0 && tasks.every((_, i) => clean(...at, 'tasks', i, 'owners'))) {
    const owners = new Set(tasks.flatMap((t) => t.owners)); // not a search per person: a province has thousands
    people.forEach((p, i) => { if (clean(...peopleAt, i, 'name') && !owners.has(p.name)) problem(ctx, peopleAt, `${p.name} owns no task`); });
  }
}

/**
 * Units are told apart by name and by address within their ledger; an address is a unit's or a
 * person's, never both, and a unit's of one ledger only (its ledger's mail is recognised by it).
 */
function checkUnits<S>(c: RootFile<S>, ctx: Ctx): void {
  const entries: { units: UnitFile[]; at: PropertyKey[] }[] = [];
  if (c.ledger && typeof c.ledger === 'object' && Array.isArray(c.ledger.units)) entries.push({ units: c.ledger.units, at: ['ledger', 'units'] });
  if (Array.isArray(c.ledgers)) {
    c.ledgers.forEach((l, i) => { if (l && typeof l === 'object' && Array.isArray(l.units)) entries.push({ units: l.units, at: ['ledgers', i, 'units'] }); });
  }
  if (entries.every((e) => e.units.length === 0)) return;
  const clean = cleanIn(ctx);
  const people = new Set<unknown>();
  for (const list of [c.people, ...(Array.isArray(c.ledgers) ? c.ledgers.map((l) => l?.people) : [])]) {
    if (Array.isArray(list)) for (const p of list) people.add(p?.email);
  }
  const own = typeof c.mailbox?.address === 'string' ? c.mailbox.address.toLowerCase() : '';
  const ledgerOf = new Map<string, number>();
  entries.forEach(({ units, at }, n) => {
    dupes(ctx, units, at, 'name');
    dupes(ctx, units, at, 'email');
    units.forEach((u, i) => {
      if (!clean(...at, i, 'email')) return;
      if (people.has(u.email)) problem(ctx, [...at, i, 'email'], 'is also a person\'s address (people[].email)');
      if (u.email === own) problem(ctx, [...at, i, 'email'], 'is the collection mailbox itself');
      const first = ledgerOf.get(u.email);
      if (first !== undefined && first !== n) problem(ctx, [...at, i, 'email'], 'is a unit of another ledger too: a unit\'s address may be in one ledger only');
      if (first === undefined) ledgerOf.set(u.email, n);
    });
  });
}

const INHERITED = ['people', 'office', 'schedule'] as const;

/** People, offices and the ledgers name each other; `ledger` or `ledgers`, not both. */
export function checkRoot<S>(c: RootFile<S>, ctx: Ctx): void {
  if (!c || typeof c !== 'object') return;
  checkUnits(c, ctx);
  const top = Array.isArray(c.people) ? c.people : [];
  if (Array.isArray(c.people)) checkPeople(ctx, top, ['people']);
  if (c.ledgers === undefined) {
    if (c.ledger === undefined) problem(ctx, ['ledger'], 'is required (or ledgers, for several)');
    for (const key of INHERITED) if (c[key] === undefined) problem(ctx, [key], 'is required');
    if (c.ledger && typeof c.ledger === 'object' && Array.isArray(c.ledger.tasks)) checkTasks(ctx, c.ledger.tasks, top, ['ledger'], ['people'], true);
    return;
  }
  // Told last: a problem at `ledgers` would hide those inside it.
  const both = () => { if (c.ledger !== undefined) problem(ctx, ['ledgers'], 'cannot be used together with ledger: write the ledger under ledgers as well (with id: main, to keep its records)'); };
  if (!Array.isArray(c.ledgers)) return both();
  dupes(ctx, c.ledgers, ['ledgers'], 'id');
  const inheritedOwners = new Set<string>();
  let inheriting = false;
  c.ledgers.forEach((l, i) => {
    if (!l || typeof l !== 'object') return;
    for (const key of INHERITED) if (l[key] === undefined && c[key] === undefined) problem(ctx, ['ledgers', i, key], `is required: there is no top-level ${key} to inherit`);
    const own = Array.isArray(l.people);
    if (own) checkPeople(ctx, l.people!, ['ledgers', i, 'people']);
    const tasks = Array.isArray(l.tasks) ? l.tasks : [];
    checkTasks(ctx, tasks, own ? l.people! : top, ['ledgers', i], own ? ['ledgers', i, 'people'] : ['people'], own);
    if (own || l.people !== undefined) return;
    inheriting = true;
    for (const t of tasks) for (const o of Array.isArray(t.owners) ? t.owners : []) inheritedOwners.add(o);
  });
  // The top level's people are there for the ledgers that inherit them: each owns a task in one.
  const clean = cleanIn(ctx);
  if (inheriting && c.ledgers.every((l, i) => clean('ledgers', i, 'tasks'))) {
    top.forEach((p, i) => { if (clean('people', i, 'name') && !inheritedOwners.has(p.name)) problem(ctx, ['people'], `${p.name} owns no task in a ledger without people of its own`); });
  }
  both();
}

/**
 * One ledger as the code reads it: its tasks, and the people (those who own one of its tasks),
 * office and schedule it has, its own or the top level's.
 */
export interface LedgerScope<S> {
  id: string;
  title: string;
  /** The ledger itself (id, title, tasks in 序号 order): what forms, merging and deciding read. */
  ledger: Ledger;
  people: Person[];
  office: OfficeFile[];
  schedule: S;
  /** Display name on its outgoing mail and their signature. */
  senderName: string;
  /** The 制表单位 of its office workbook: its `office_name`, else the mailbox's sender name. */
  maker: string;
}

const toPerson = (p: PersonFile): Person => ({ id: (p.id ?? p.name).trim(), name: p.name, department: p.department, email: p.email });

function toLedger(id: string, l: LedgerFile): Ledger {
  return {
    id, title: l.title,
    tasks: l.tasks.map((t) => ({ no: t.no, task: t.task, due: t.due, departments: t.departments, owners: t.owners, requirements: t.requirements, note: t.note }))
      .sort((a, b) => a.no - b.no),
    ...(l.units?.length ? { units: l.units.map((u) => ({ name: u.name, email: u.email })) } : {}),
  };
}

/** The ledgers of a checked config; `toSchedule` converts a schedule (the top level's or a ledger's own). */
export function ledgerScopes<S, T>(c: RootFile<S>, toSchedule: (s: S) => T, senderName: string | undefined): LedgerScope<T>[] {
  const top = (c.people ?? []).map(toPerson);
  const topSchedule = c.schedule === undefined ? undefined : toSchedule(c.schedule);
  const several = c.ledgers !== undefined;
  const entries: LedgerEntryFile<S>[] = c.ledgers ?? [{ id: MAIN_LEDGER, ...c.ledger! }];
  return entries.map((l) => {
    const ledger = toLedger(l.id, l);
    const owners = new Set(ledger.tasks.flatMap((t) => t.owners));
    return {
      id: l.id, title: l.title, ledger,
      // Inherited people are those of the ledger's tasks: nobody is asked about a ledger they have no task in.
      people: l.people ? l.people.map(toPerson) : top.filter((p) => owners.has(p.name)),
      office: l.office ?? c.office!,
      schedule: l.schedule === undefined ? topSchedule! : toSchedule(l.schedule),
      // A ledger of `ledgers` signs with its own office_name; the single `ledger:` as it always did.
      senderName: (several ? l.office_name ?? senderName : senderName ?? l.office_name) ?? '台账汇总',
      maker: l.office_name ?? senderName ?? '台账汇总',
    };
  });
}

/** Everyone of every ledger, once (by id, the first ledger's entry first): the mailbox's roster. */
export function everyone(scopes: LedgerScope<unknown>[]): Person[] {
  const seen = new Map<string, Person>();
  for (const s of scopes) for (const p of s.people) if (!seen.has(p.id)) seen.set(p.id, p);
  return [...seen.values()];
}
