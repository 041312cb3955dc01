/**
 * The imports of TypeScript sources, read with the compiler's parser (not a regular expression,
 * so that multi-line imports, comments and strings cannot fool it), and the cycles among them.
 * Used by tests/architecture.test.ts.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import ts from 'typescript';

/** One module reference in a source file. */
export interface ImportRef {
  /** The specifier as written: `./x.js`, `node:fs`, `exceljs`. */
  spec: string;
  line: number;
  /** `import type`, `export type … from`, or a type written `import('x').T`: gone from the emitted code. */
  typeOnly: boolean;
  /** `import()` or `require()`: loaded when the code runs, not when the module loads. */
  dynamic: boolean;
}

/** What a source file refers to that cannot be checked (an `import()` of a computed name). */
export interface Unchecked { line: number; text: string }

export function scanImports(fileName: string, text: string): { imports: ImportRef[]; unchecked: Unchecked[] } {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const imports: ImportRef[] = [];
  const unchecked: Unchecked[] = [];
  const lineOf = (n: ts.Node) => sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1;
  const add = (n: ts.Node, spec: ts.Node | undefined, typeOnly: boolean, dynamic: boolean) => {
    if (spec && ts.isStringLiteralLike(spec)) imports.push({ spec: spec.text, line: lineOf(n), typeOnly, dynamic });
    else unchecked.push({ line: lineOf(n), text: n.getText(sf).slice(0, 120) });
  };
  const visit = (n: ts.Node): void => {
    if (ts.isImportDeclaration(n)) {
      const clause = n.importClause;
      const allTypes = !!clause && (clause.isTypeOnly || (!clause.name && !!clause.namedBindings && ts.isNamedImports(clause.namedBindings)
        && clause.namedBindings.elements.length > 0 && clause.namedBindings.elements.every((e) => e.isTypeOnly)));
      add(n, n.moduleSpecifier, allTypes, false);
    } else if (ts.isExportDeclaration(n) && n.moduleSpecifier) {
      add(n, n.moduleSpecifier, n.isTypeOnly, false);
    } else if (ts.isImportEqualsDeclaration(n) && ts.isExternalModuleReference(n.moduleReference)) {
      add(n, n.moduleReference.expression, n.isTypeOnly, false);
    } else if (ts.isImportTypeNode(n)) {
      const arg = ts.isLiteralTypeNode(n.argument) ? n.argument.literal : undefined;
      add(n, arg, true, false);
    } else if (ts.isCallExpression(n) && isLoader(n.expression)) {
      add(n, n.arguments[0], false, true);
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return { imports, unchecked };
}

/** `import(…)`, `require(…)`, or the function `createRequire(…)` returns, called at once. */
function isLoader(callee: ts.Expression): boolean {
  if (callee.kind === ts.SyntaxKind.ImportKeyword) return true;
  if (ts.isIdentifier(callee)) return callee.text === 'require';
  return ts.isCallExpression(callee) && ts.isIdentifier(callee.expression) && callee.expression.text === 'createRequire';
}

/** Every `.ts` file under `dir`, as absolute paths, sorted. */
export function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(full));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(full);
  }
  return out.sort();
}

export type Target =
  | { kind: 'file'; file: string }
  | { kind: 'builtin'; name: string }
  | { kind: 'package'; name: string }
  | { kind: 'missing'; file: string };

/** What a specifier in `fromFile` refers to. Relative `.js` specifiers name the `.ts` source (NodeNext). */
export function resolveImport(fromFile: string, spec: string): Target {
  if (spec.startsWith('.') || spec.startsWith('/')) {
    const written = path.resolve(path.dirname(fromFile), spec);
    const candidates = [written.replace(/\.js$/, '.ts').replace(/\.mjs$/, '.mts'), written];
    const file = candidates.find((c) => existsSync(c));
    return file ? { kind: 'file', file } : { kind: 'missing', file: candidates[0] };
  }
  const bare = spec.replace(/^node:/, '');
  if (spec.startsWith('node:') || builtinModules.includes(bare.split('/')[0])) return { kind: 'builtin', name: bare };
  const parts = spec.split('/');
  return { kind: 'package', name: spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0] };
}

export interface Edge { from: string; to: string; line: number; spec: string }

/** The import graph among `files` (only edges between them). */
export function importGraph(files: readonly string[]): Map<string, Edge[]> {
  const known = new Set(files);
  const graph = new Map<string, Edge[]>();
  for (const from of files) {
    const edges: Edge[] = [];
    for (const ref of scanImports(from, readFileSync(from, 'utf8')).imports) {
      const t = resolveImport(from, ref.spec);
      if (t.kind === 'file' && known.has(t.file)) edges.push({ from, to: t.file, line: ref.line, spec: ref.spec });
    }
    graph.set(from, edges);
  }
  return graph;
}

/**
 * One cycle through each strongly connected component of more than one module (or a module that
 * imports itself), as the list of imports that make it up (Tarjan's algorithm, then a path back).
 */
export function findCycles(graph: ReadonlyMap<string, readonly Edge[]>): Edge[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const strongConnect = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const e of graph.get(v) ?? []) {
      if (!index.has(e.to)) {
        strongConnect(e.to);
        low.set(v, Math.min(low.get(v)!, low.get(e.to)!));
      } else if (onStack.has(e.to)) {
        low.set(v, Math.min(low.get(v)!, index.get(e.to)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      components.push(component);
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) strongConnect(v);
  const cycles: Edge[][] = [];
  for (const component of components) {
    const members = new Set(component);
    const start = [...component].sort()[0];
    const self = (graph.get(start) ?? []).find((e) => e.to === start);
    if (component.length === 1 && !self) continue;
    cycles.push(self ? [self] : pathBack(graph, members, start));
  }
  return cycles;
}

/** The shortest chain of imports from `start` back to itself, staying inside `members`. */
function pathBack(graph: ReadonlyMap<string, readonly Edge[]>, members: ReadonlySet<string>, start: string): Edge[] {
  const via = new Map<string, Edge>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const e of graph.get(v) ?? []) {
      if (!members.has(e.to)) continue;
      if (e.to === start) {
        const chain = [e];
        for (let at = v; at !== start; at = via.get(at)!.from) chain.unshift(via.get(at)!);
        return chain;
      }
      if (!via.has(e.to)) {
        via.set(e.to, e);
        queue.push(e.to);
      }
    }
  }
  throw new Error(`no cycle through ${start}`); // unreachable for a component of two or more
}
