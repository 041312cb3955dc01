import { execFileSync } from 'node:child_process';
import path from 'node:path';

/**
 * Builds `dist/` from the sources once before any test runs: the CLI and the parse worker are
 * run as compiled JavaScript in separate processes and threads, so what they run is always what
 * `src/` says now, never an earlier build.
 */
export default function setup(): void {
  const root = path.resolve(import.meta.dirname, '..');
  execFileSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
}
