/**
 * A TCP proxy in front of an IMAP server that counts the commands clients send (for the
 * benchmark: a tick with nothing new must cost a constant, small number of IMAP commands).
 * Client lines are parsed just enough to skip literals ({n} / {n+}), so message bytes of an
 * APPEND are never mistaken for commands.
 */
import net from 'node:net';

export interface ImapCount {
  connections: number;
  /** Command names in the order sent, across connections (e.g. CAPABILITY, LOGIN, SELECT, UID FETCH). */
  commands: string[];
  bytesUp: number;
  bytesDown: number;
}

export interface ImapCountProxy {
  host: string;
  port: number;
  /** What was counted since the last reset, and starts counting afresh. */
  take(): ImapCount;
  close(): Promise<void>;
}

/** Parses a client's byte stream into command names, skipping literals. */
class CommandScanner {
  private buf: Buffer = Buffer.alloc(0);
  private skip = 0;

  constructor(private readonly onCommand: (name: string) => void) {}

  push(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    for (;;) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, this.buf.length);
        this.buf = this.buf.subarray(n);
        this.skip -= n;
        if (this.skip > 0) return;
      }
      const eol = this.buf.indexOf('\r\n');
      if (eol < 0) return;
      const line = this.buf.subarray(0, eol).toString('latin1');
      this.buf = this.buf.subarray(eol + 2);
      const lit = /\{(\d+)\+?\}$/.exec(line);
      if (lit) this.skip = Number(lit[1]);
      this.line(line);
    }
  }

  private continued = false;

  private line(line: string): void {
    // A line after a literal continues the same command.
    if (this.continued) {
      this.continued = /\{\d+\+?\}$/.test(line);
      return;
    }
    this.continued = /\{\d+\+?\}$/.test(line);
    const m = /^[^\s]+ (UID [A-Za-z]+|[A-Za-z]+)/.exec(line);
    if (m) this.onCommand(m[1].toUpperCase());
  }
}

export async function startImapCountProxy(target: { host: string; port: number }): Promise<ImapCountProxy> {
  let count: ImapCount = { connections: 0, commands: [], bytesUp: 0, bytesDown: 0 };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const c = count;
    c.connections++;
    const upstream = net.connect(target.port, target.host);
    sockets.add(client);
    sockets.add(upstream);
    const scanner = new CommandScanner((name) => c.commands.push(name));
    client.on('data', (d: Buffer) => { c.bytesUp += d.length; scanner.push(d); });
    upstream.on('data', (d: Buffer) => { c.bytesDown += d.length; });
    client.pipe(upstream);
    upstream.pipe(client);
    const end = () => { client.destroy(); upstream.destroy(); sockets.delete(client); sockets.delete(upstream); };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    host: '127.0.0.1',
    port,
    take() {
      const out = count;
      count = { connections: 0, commands: [], bytesUp: 0, bytesDown: 0 };
      return out;
    },
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
