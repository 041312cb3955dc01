/**
 * The control socket by itself: in the data folder when its path is short, 0600, recorded; a
 * command's output streamed back whole (long text, characters split between chunks) with its
 * exit code; no socket means no service; what is not a socket of ours is never connected to.
 */
import { lstatSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { listenControl, socketPath, SOCKET_FILE, SOCKET_RECORD, viaService, type ControlRequest } from '../../src/app/control.js';
import type { Io } from '../../src/app/io.js';

function capture(): Io & { stdout: string; stderr: string } {
  const io = { stdout: '', stderr: '', tty: false, out: (t: string) => { io.stdout += t; }, err: (t: string) => { io.stderr += t; } };
  return io;
}

describe('the control socket', () => {
  it('streams a command\'s output and exit code; no listener means no service', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'tz-ctl-'));
    const seen: ControlRequest[] = [];
    const long = '第1项按计划推进。'.repeat(20_000);
    const server = await listenControl(dataDir, async (req, io) => {
      seen.push(req);
      io.out(long);
      io.err('send: done\n');
      return 3;
    }, (err) => { throw err; });
    expect(server.path).toBe(path.join(dataDir, SOCKET_FILE));
    expect(socketPath(dataDir)).toBe(server.path);
    expect((lstatSync(server.path).mode & 0o777).toString(8)).toBe('600');
    expect(readFileSync(path.join(dataDir, SOCKET_RECORD), 'utf8').trim()).toBe(server.path);

    const io = capture();
    expect(await viaService(dataDir, { argv: ['send', '--now', '2020-06-20'], logLevel: 'warn', tty: false }, io)).toBe(3);
    expect(io.stdout).toBe(long);
    expect(io.stderr).toBe('send: done\n');
    expect(seen).toEqual([{ argv: ['send', '--now', '2020-06-20'], logLevel: 'warn', tty: false }]);

    server.close();
    server.drop();
    expect(await viaService(dataDir, { argv: ['status'], tty: false }, capture())).toBeNull();

    // A killed service's socket file, which nobody listens on: tests/app/control.test.ts.
    const file = path.join(dataDir, SOCKET_FILE);
    // Not a socket of ours (a plain file where the socket should be): never connected to.
    writeFileSync(file, 'not a socket');
    expect(await viaService(dataDir, { argv: ['status'], tty: false }, capture())).toBeNull();
  });

  it('falls back to a short path under the temporary folder for a long data folder', () => {
    const dataDir = path.join(os.tmpdir(), 'x'.repeat(120));
    const p = socketPath(dataDir);
    expect(Buffer.byteLength(p)).toBeLessThan(108);
    expect(p).toMatch(new RegExp(`^${os.tmpdir()}/taizhang-[0-9a-f]{16}/s\\.sock$`));
    expect(socketPath(dataDir)).toBe(p); // the same for service and client
  });
});
