/**
 * The data folder is private to the account taizhang runs as: raw mail, forms, ledgers and the
 * database hold people's words and addresses. Folders are 0700 and files 0600 whatever the umask
 * (`taizhang` sets its own umask to 077 at start; these helpers hold for any caller).
 */
import { chmodSync, closeSync, lstatSync, mkdirSync, openSync, readdirSync } from 'node:fs';
import path from 'node:path';

export const DIR_MODE = 0o700;
export const FILE_MODE = 0o600;

/** Makes a folder (and its missing parents) 0700; an existing one is tightened to 0700. */
export function privateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: DIR_MODE });
  tighten(dir, DIR_MODE);
}

/**
 * Creates `file` empty with mode 0600 when it does not exist (`exclusive`: fails with EEXIST when
 * it does), and tightens an existing one. SQLite gives a database's -wal, -shm and journal files
 * the mode of the database file, so creating the database this way makes them 0600 as well.
 */
export function privateFile(file: string, opts: { exclusive?: boolean } = {}): void {
  closeSync(openSync(file, opts.exclusive ? 'wx' : 'a', FILE_MODE));
  tighten(file, FILE_MODE);
}

/** Takes group and other permissions away (never adds any). */
export function tighten(file: string, mode: number): void {
  try {
    const st = lstatSync(file);
    if (st.isSymbolicLink()) return; // chmod would change the target, which may be anywhere
    if ((st.mode & 0o077) !== 0) chmodSync(file, st.mode & mode & 0o777);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** Tightens every folder and file under `dir` (once, for data folders written by earlier versions). */
export function tightenTree(dir: string): void {
  tighten(dir, DIR_MODE);
  let entries;
  try { entries = readdirSync(dir, { withFileTypes: true }); } catch { return; }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) tightenTree(p);
    else if (e.isFile()) tighten(p, FILE_MODE);
  }
}
