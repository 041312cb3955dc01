// Needs the compiled code: run `npx tsc -p tsconfig.json` (npm test does it) first.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const eml = fileURLToPath(new URL('./fixtures/eml/foxmail-reply-gbk.eml', import.meta.url));

/** V8's deoptimizations of mailsplit's line loop for a wrong closure, reading the same reply 300 times in a fresh process. */
function wrongClosureDeopts(warm: boolean): number {
  const code = `
    import { readFileSync } from 'node:fs';
    import { simpleParser } from 'mailparser';
    import { warmMimeParser } from './dist/mail-read.js';
    if (${warm}) await warmMimeParser();
    const raw = readFileSync(${JSON.stringify(eml)});
    for (let i = 0; i < 300; i++) await simpleParser(raw, { skipHtmlToText: true, skipTextToHtml: true, skipTextLinks: true });
    console.log('read');`;
  const r = spawnSync(process.execPath, ['--trace-deopt', '--input-type=module', '-e', code], { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  expect(r.stdout).toContain('read');
  return r.stdout.split('\n').filter((l) => l.includes('wrong call target') && l.includes('JSFunction iterateData')).length;
}

it('warmMimeParser spares mailsplit’s line loop a deoptimization per message', () => {
  expect(wrongClosureDeopts(false)).toBeGreaterThan(50); // what it works around, in this Node and mailsplit
  expect(wrongClosureDeopts(true)).toBe(0);
});
