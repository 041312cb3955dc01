/**
 * The control socket: while `taizhang run` holds the data folder, the command line hands its
 * commands to it over a Unix socket instead of being refused. The client sends its arguments as
 * one JSON line; the service runs the same command in-process and streams back what it writes to
 * stdout and stderr, then its exit code (one JSON object a line: {"o"}, {"e"}, {"exit"}).
 *
 * Where: `taizhang.sock` in the data folder, mode 0600, so only the account that runs taizhang can
 * open it. A Unix socket's path is limited to 107 bytes; a longer one is replaced by
 * `taizhang-<hash of the data folder>/s.sock` under the system's temporary folder, in a folder of
 * mode 0700 of our own. The service records the path it listens on in `taizhang.sock.path` next
 * to the lock, where the client looks first.
 */
import { createHash } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, readFileSync, realpathSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { FILE_MODE } from '../store/files.js';
import type { Io } from './io.js';

export const SOCKET_FILE = 'taizhang.sock';
export const SOCKET_RECORD = 'taizhang.sock.path';
/** sun_path holds 108 bytes with the terminating NUL. */
const SUN_PATH_MAX = 107;
const REQUEST_TIMEOUT_MS = 10_000;

export interface ControlRequest {
  argv: string[];
  /** The client's TAIZHANG_LOG_LEVEL, so its stderr carries the log lines it would have. */
  logLevel?: string;
  tty: boolean;
}

export type ControlHandler = (request: ControlRequest, io: Io) => Promise<number>;

function fallbackDir(dataDir: string): string {
  let real = path.resolve(dataDir);
  try { real = realpathSync(real); } catch { /* not there yet: the resolved path */ }
  const hash = createHash('sha256').update(real).digest('hex').slice(0, 16);
  return path.join(os.tmpdir(), `taizhang-${hash}`);
}

/** Where the service listens for this data folder (the same in service and client). */
export function socketPath(dataDir: string): string {
  const inside = path.resolve(dataDir, SOCKET_FILE);
  return Buffer.byteLength(inside) <= SUN_PATH_MAX ? inside : path.join(fallbackDir(dataDir), 's.sock');
}

/** The fallback folder is ours alone: not a link, owned by this account, 0700. */
function ownPrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  if (!st.isDirectory() || (process.getuid && st.uid !== process.getuid())) throw new Error(`${dir} is not a folder of this account`);
  chmodSync(dir, 0o700);
}

export interface ControlServer {
  path: string;
  /** Stops taking commands (the socket and its record go); those in hand go on. */
  close(): void;
  /** Cuts off the commands still in hand (at the end of the grace period). */
  drop(): void;
}

/**
 * Listens on the data folder's control socket. Called with the worker lock held: a socket file
 * left there is a dead service's, and is replaced.
 */
export async function listenControl(dataDir: string, handler: ControlHandler, onError: (err: unknown) => void): Promise<ControlServer> {
  const file = socketPath(dataDir);
  if (path.dirname(file) !== path.resolve(dataDir)) ownPrivateDir(path.dirname(file));
  rmSync(file, { force: true });
  const open = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    serve(socket, handler).catch((err) => { onError(err); socket.destroy(); });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(file, () => { server.off('error', reject); resolve(); });
  });
  chmodSync(file, FILE_MODE);
  const record = path.join(dataDir, SOCKET_RECORD);
  writeFileSync(record, `${file}\n`, { mode: FILE_MODE });
  server.on('error', onError);
  return {
    path: file,
    close() {
      server.close();
      rmSync(file, { force: true });
      try { unlinkSync(record); } catch { /* gone */ }
    },
    drop() { for (const s of open) s.destroy(); },
  };
}

/** Reads one request line, runs it, streams its output back, ends with its exit code. */
async function serve(socket: net.Socket, handler: ControlHandler): Promise<void> {
  const request = await readRequest(socket);
  const send = (o: object) => { if (!socket.destroyed) socket.write(`${JSON.stringify(o)}\n`); };
  const io: Io = { out: (t) => send({ o: t }), err: (t) => send({ e: t }), tty: request.tty };
  const code = await handler(request, io);
  send({ exit: code });
  socket.end();
}

function readRequest(socket: net.Socket): Promise<ControlRequest> {
  return new Promise((resolve, reject) => {
    let text = '';
    socket.setEncoding('utf8'); // a character split between chunks stays whole
    const onData = (chunk: string) => {
      text += chunk;
      if (text.length > 1_000_000) return fail(new Error('control request too long'));
      const nl = text.indexOf('\n');
      if (nl < 0) return;
      socket.off('data', onData);
      socket.setTimeout(0);
      try {
        const r = JSON.parse(text.slice(0, nl)) as ControlRequest;
        if (!Array.isArray(r.argv) || !r.argv.every((a) => typeof a === 'string')) throw new Error('control request without argv');
        resolve({ argv: r.argv, logLevel: typeof r.logLevel === 'string' ? r.logLevel : undefined, tty: r.tty === true });
      } catch (err) { fail(err); }
    };
    const fail = (err: unknown) => { socket.off('data', onData); socket.setTimeout(0); reject(err); };
    // A client that connects and says nothing is dropped.
    socket.setTimeout(REQUEST_TIMEOUT_MS, () => fail(new Error('no control request in time')));
    socket.on('data', onData);
    socket.once('end', () => fail(new Error('control request ended early')));
    socket.once('error', fail);
  });
}

/** The socket the service records, else where it would be; undefined when none is there. */
function recordedSocket(dataDir: string): string {
  try {
    const recorded = readFileSync(path.join(dataDir, SOCKET_RECORD), 'utf8').trim();
    if (recorded) return recorded;
  } catch { /* no service recorded one */ }
  return socketPath(dataDir);
}

/** A socket only this account's service could have made: ours, not a link. */
function trusted(file: string): boolean {
  try {
    const st = lstatSync(file);
    return st.isSocket() && (!process.getuid || st.uid === process.getuid());
  } catch {
    return false;
  }
}

/**
 * Runs the command through the running service: resolves its exit code, or null when no service
 * listens (no socket, or a dead service's: the caller runs the command itself, as without one).
 */
export function viaService(dataDir: string, request: ControlRequest, io: Io): Promise<number | null> {
  const file = recordedSocket(dataDir);
  if (!trusted(file)) return Promise.resolve(null);
  return new Promise((resolve) => {
    const socket = net.connect(file);
    let connected = false;
    let rest = '';
    let code: number | undefined;
    socket.once('connect', () => { connected = true; socket.write(`${JSON.stringify(request)}\n`); });
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      rest += chunk;
      let nl: number;
      while ((nl = rest.indexOf('\n')) >= 0) {
        let m: { o?: string; e?: string; exit?: number } = {};
        try { m = JSON.parse(rest.slice(0, nl)) as typeof m; } catch { /* not ours: skipped */ }
        rest = rest.slice(nl + 1);
        if (typeof m.o === 'string') io.out(m.o);
        if (typeof m.e === 'string') io.err(m.e);
        if (typeof m.exit === 'number') code = m.exit;
      }
    });
    socket.on('error', () => { /* settled on close */ });
    socket.once('close', () => {
      if (!connected) return resolve(null);
      if (code === undefined) {
        io.err('taizhang: the running service stopped before the command finished; see its log\n');
        return resolve(1);
      }
      resolve(code);
    });
  });
}
