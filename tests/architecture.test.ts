/**
 * The dependency rules of src/, checked on every import (static, `import type`, `export … from`,
 * `import()`, `require()`, `import('x').T` in a type):
 *
 * - src/core/ is pure logic: it imports only src/core/ itself, src/errors.ts and node:crypto.
 * - no import cycles anywhere under src/, type-only imports included;
 * - src/ imports nothing outside src/ (tools/ and tests/ are not shipped);
 * - src/ imports only packages listed in `dependencies` (smtp-server and the other
 *   devDependencies are not installed where taizhang runs), and Node's built-ins.
 *
 * A failure names the importing file, the line and the import.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findCycles, importGraph, resolveImport, scanImports, sourceFiles, type Edge, type ImportRef } from './helpers/imports.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const SRC = path.join(ROOT, 'src');
const CORE = path.join(SRC, 'core');
const ERRORS = path.join(SRC, 'errors.ts');
/** Node built-ins core may use: hashing and HMAC, no I/O. */
const CORE_BUILTINS = new Set(['crypto']);

const rel = (file: string) => path.relative(ROOT, file).split(path.sep).join('/');
const files = sourceFiles(SRC);
const scanned = files.map((file) => ({ file, ...scanImports(file, readFileSync(file, 'utf8')) }));

function describeImport(file: string, ref: ImportRef): string {
  const how = ref.dynamic ? 'import()' : ref.typeOnly ? 'import type' : 'import';
  return `${rel(file)}:${ref.line} ${how} '${ref.spec}'`;
}

/** Every import in src/ that `bad` objects to, as `file:line import 'spec' (why)`. */
function violations(bad: (file: string, ref: ImportRef) => string | undefined, only: (file: string) => boolean = () => true): string[] {
  const out: string[] = [];
  for (const { file, imports } of scanned.filter((s) => only(s.file))) {
    for (const ref of imports) {
      const why = bad(file, ref);
      if (why) out.push(`${describeImport(file, ref)}: ${why}`);
    }
  }
  return out;
}

const cycleText = (cycle: Edge[]) => [rel(cycle[0].from), ...cycle.map((e) => `${rel(e.to)} (line ${e.line} of ${path.basename(e.from)}: '${e.spec}')`)].join(' → ');

describe('the import checker itself', () => {
  it('sees every form of import, over several lines and with type-only ones marked', () => {
    const src = [
      "import a from 'a';",
      'import {',
      '  b,',
      "} from './b.js';",
      "import type { C } from './c.js';",
      "import { type D } from './d.js';",
      "export { e } from './e.js';",
      "export type { F } from './f.js';",
      "const g = await import('./g.js');",
      "type H = import('./h.js').H;",
      "const i = require('i');",
      "const j = createRequire(import.meta.url)('j');",
      "// import k from 'k';",
      "const s = \"import l from 'l'\";",
      'const m = await import(name);',
    ].join('\n');
    const { imports, unchecked } = scanImports('x.ts', src);
    expect(imports.map((r) => [r.spec, r.line, r.typeOnly, r.dynamic])).toEqual([
      ['a', 1, false, false], ['./b.js', 2, false, false], ['./c.js', 5, true, false], ['./d.js', 6, true, false],
      ['./e.js', 7, false, false], ['./f.js', 8, true, false], ['./g.js', 9, false, true], ['./h.js', 10, true, false],
      ['i', 11, false, true], ['j', 12, false, true],
    ]);
    expect(unchecked.map((u) => u.line)).toEqual([15]);
  });

  it('finds a cycle through type-only imports and names its imports', () => {
    const e = (from: string, to: string, line = 1): Edge => ({ from, to, line, spec: `./${to}.js` });
    const graph = new Map([['a', [e('a', 'b')]], ['b', [e('b', 'c', 2)]], ['c', [e('c', 'a', 3), e('c', 'd')]], ['d', []], ['s', [e('s', 's')]]]);
    expect(findCycles(graph).map((c) => c.map((x) => `${x.from}:${x.line}>${x.to}`))).toEqual([['a:1>b', 'b:2>c', 'c:3>a'], ['s:1>s']]);
    expect(findCycles(new Map([['a', [e('a', 'b')]], ['b', []]]))).toEqual([]);
  });

  it('reads the sources of src/, and their imports resolve', () => {
    expect(files.map(rel)).toEqual(expect.arrayContaining(['src/core/ledger.ts', 'src/errors.ts', 'src/parse/worker.ts']));
    expect(scanned.flatMap((s) => s.unchecked.map((u) => `${rel(s.file)}:${u.line} ${u.text}`))).toEqual([]);
    expect(violations((file, ref) => {
      const t = resolveImport(file, ref.spec);
      return t.kind === 'missing' ? `no such file ${rel(t.file)}` : undefined;
    })).toEqual([]);
  });
});

describe('dependency rules of src/', () => {
  it('core imports only core, src/errors.ts and node:crypto', () => {
    expect(violations((file, ref) => {
      const t = resolveImport(file, ref.spec);
      if (t.kind === 'file') return t.file === ERRORS || t.file.startsWith(CORE + path.sep) ? undefined : `${rel(t.file)} is outside src/core/`;
      if (t.kind === 'builtin') return CORE_BUILTINS.has(t.name) ? undefined : `node:${t.name} in pure logic`;
      if (t.kind === 'package') return `package ${t.name} in pure logic`;
      return undefined;
    }, (file) => file.startsWith(CORE + path.sep))).toEqual([]);
  });

  it('has no import cycles, type-only imports included', () => {
    expect(findCycles(importGraph(files)).map(cycleText)).toEqual([]);
  });

  it('imports nothing from tools/, tests/ or anywhere else outside src/', () => {
    expect(violations((file, ref) => {
      const t = resolveImport(file, ref.spec);
      return (t.kind === 'file' || t.kind === 'missing') && !t.file.startsWith(SRC + path.sep) ? `${rel(t.file)} is outside src/` : undefined;
    })).toEqual([]);
  });

  it('imports only runtime dependencies and Node built-ins', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
    const runtime = new Set(Object.keys(pkg.dependencies ?? {}));
    const dev = new Set(Object.keys(pkg.devDependencies ?? {}));
    expect(runtime.size).toBeGreaterThan(0);
    expect(violations((file, ref) => {
      const t = resolveImport(file, ref.spec);
      if (t.kind !== 'package' || runtime.has(t.name)) return undefined;
      return dev.has(t.name) ? `${t.name} is a devDependency, not installed in production` : `${t.name} is not in package.json dependencies`;
    })).toEqual([]);
  });
});
