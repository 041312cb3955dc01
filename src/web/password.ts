/**
 * The desk's passwords, kept only as scrypt hashes in a self-describing form
 * (`scrypt$N$r$p$salt$hash`, salt and hash in base64), and `taizhang passwd`, which reads a
 * password (without echo on a terminal) and prints its hash.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { TaizhangError } from '../errors.js';

const N = 16384;
const R = 8;
const P = 1;
const KEY_BYTES = 32;
/** A hash naming costs beyond these is refused: a hostile config must not make a login take minutes. */
const MAX_N = 1 << 20;

export const HASH_PATTERN = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/;

function derive(password: string, salt: Buffer, opts: ScryptOptions & { N: number; r: number; p: number }, bytes: number): Promise<Buffer> {
  const maxmem = 256 * opts.N * opts.r + 1024 * 1024;
  return new Promise((resolve, reject) => scrypt(password.normalize('NFC'), salt, bytes, { ...opts, maxmem }, (err, key) => (err ? reject(err) : resolve(key))));
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, { N, r: R, p: P }, KEY_BYTES);
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** Whether a stored hash is one this code can check (for the config's validation). */
export function isPasswordHash(text: string): boolean {
  const m = HASH_PATTERN.exec(text);
  if (!m) return false;
  const [n, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return n >= 1024 && n <= MAX_N && (n & (n - 1)) === 0 && r >= 1 && r <= 32 && p >= 1 && p <= 16;
}

/** A hash no password matches, checked for unknown names so that they take as long as known ones. */
const DUMMY = `scrypt$${N}$${R}$${P}$${Buffer.alloc(16).toString('base64')}$${Buffer.alloc(KEY_BYTES).toString('base64')}`;

/** Checks a password against a stored hash, comparing in constant time; undefined `stored` never matches. */
export async function verifyPassword(password: string, stored: string | undefined): Promise<boolean> {
  const encoded = stored && isPasswordHash(stored) ? stored : DUMMY;
  const m = HASH_PATTERN.exec(encoded)!;
  const expected = Buffer.from(m[5], 'base64');
  const key = await derive(password, Buffer.from(m[4], 'base64'), { N: Number(m[1]), r: Number(m[2]), p: Number(m[3]) }, expected.length);
  return timingSafeEqual(key, expected) && encoded === stored;
}

/** Reads one line from a terminal without echoing it (backspace works; Ctrl-C cancels). */
function readHidden(input: NodeJS.ReadStream, prompt: string): Promise<string> {
  process.stderr.write(prompt);
  input.setRawMode(true);
  input.resume();
  input.setEncoding('utf8');
  return new Promise((resolve, reject) => {
    let text = '';
    const done = (err?: Error) => {
      input.setRawMode(false);
      input.pause();
      input.removeListener('data', onData);
      process.stderr.write('\n');
      if (err) reject(err); else resolve(text);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return done();
        if (ch === '\u0003') return done(new TaizhangError('USAGE', 'cancelled'));
        if (ch === '\u007f' || ch === '\b') text = [...text].slice(0, -1).join('');
        else text += ch;
      }
    };
    input.on('data', onData);
  });
}

/** Reads the first line of a pipe (its line end removed). */
async function readFirstLine(input: NodeJS.ReadStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of input) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0];
}

/** `taizhang passwd`: prints the hash of the password read from standard input. */
export async function passwdCommand(input: NodeJS.ReadStream = process.stdin, out: (s: string) => void = (s) => process.stdout.write(`${s}\n`)): Promise<number> {
  let password: string;
  if (input.isTTY) {
    password = await readHidden(input, '密码 (password): ');
    const again = await readHidden(input, '再次输入 (again): ');
    if (again !== password) throw new TaizhangError('USAGE', 'the two passwords differ (两次输入的密码不一致)');
  } else {
    password = await readFirstLine(input);
  }
  if (password.length < 8) throw new TaizhangError('USAGE', 'the password must have at least 8 characters (密码至少8位)');
  out(await hashPassword(password));
  return 0;
}
