// `npm ci` in a checkout (and `npm pack`) builds dist/ afresh when the compiler is installed, so no
// file of an earlier build is left to ship; `npm ci --omit=dev` has no compiler and installs only
// what runs (build first, or use the Docker image, which is built).
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';

let tsc;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  process.stderr.write('taizhang: TypeScript is not installed (--omit=dev): dist/ was not built\n');
  process.exit(0);
}
rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
