// HTTP/1.1 from raw sockets, for tests that need bytes exactly as sent: pipelined requests,
// malformed heads, slow clients. A small response parser reads what comes back: the status
// line, the fields (names lowercased, repeated ones joined with ", "), and a body framed by
// Content-Length (none for HEAD, 1xx, 204 and 304, RFC 9112 6.3).
import { connect, type Socket } from 'node:net';

export interface Reply {
  status: number;
  version: string;
  headers: Record<string, string>;
  body: Buffer;
  /** The head as received, for checks on exact bytes. */
  head: string;
}

/** A connection that collects what arrives, and whether the server closed it. */
export class Conn {
  readonly socket: Socket;
  // What arrived, as chunks: joining them on every arrival would be quadratic for big bodies.
  private chunks: Buffer[] = [];
  private size = 0;
  closed = false;
  error: Error | null = null;
  private waiters: (() => void)[] = [];

  constructor(port: number, host = '127.0.0.1') {
    this.socket = connect(port, host);
    this.socket.on('data', (d) => { this.chunks.push(d); this.size += d.length; this.wake(); });
    this.socket.on('close', () => { this.closed = true; this.wake(); });
    this.socket.on('error', (e) => { this.error = e; });
  }

  /** Everything received and not yet read, joined. */
  private get buf(): Buffer {
    if (this.chunks.length !== 1) this.chunks = [Buffer.concat(this.chunks, this.size)];
    return this.chunks[0];
  }

  private set buf(b: Buffer) {
    this.chunks = [b];
    this.size = b.length;
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  connected(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (!this.socket.connecting) { resolve(); return; }
      this.socket.once('connect', () => resolve());
      this.socket.once('error', reject);
    });
  }

  write(data: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(data, (e) => (e ? reject(e) : resolve())));
  }

  /** Waits until `ready()` holds for the bytes received, or the connection closed, or `ms` passed. */
  private async until(ready: () => boolean, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (!ready() && !this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no complete response within ${ms} ms; got ${JSON.stringify(this.buf.toString('latin1').slice(0, 300))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  /** Reads one response; `noBody` for a response to HEAD. */
  async reply(noBody = false, ms = 10_000): Promise<Reply> {
    let parsed: { reply: Reply; length: number } | null = null;
    // First the head, then (without joining chunks meanwhile) until the whole body is there.
    let need = 0;
    await this.until(() => (need = needed(this.buf, noBody)) > 0, ms);
    await this.until(() => this.size >= need, ms);
    parsed = parseReply(this.buf, noBody);
    if (parsed === null) throw new Error(`the connection closed before a complete response; got ${JSON.stringify(this.buf.toString('latin1').slice(0, 300))}`);
    const { reply, length } = parsed;
    this.buf = this.buf.subarray(length);
    return reply;
  }

  /** Waits for the server to close the connection; returns what arrived unread before that. */
  async closedByServer(ms = 10_000): Promise<Buffer> {
    await this.until(() => false, ms).catch((e) => { if (!this.closed) throw new Error(`the server did not close the connection within ${ms} ms`); return e; });
    const rest = this.buf;
    this.buf = Buffer.alloc(0);
    return rest;
  }

  /** What arrived and was not read as a response. */
  get pending(): Buffer { return this.buf; }

  close(): void { this.socket.destroy(); }
}

/** The bytes the response at the start of `b` takes, head and body, once its head is there; else 0. */
function needed(b: Buffer, noBody: boolean): number {
  const end = b.indexOf('\r\n\r\n');
  if (end < 0) return 0;
  const status = Number(b.subarray(9, 12).toString('latin1'));
  const m = /\r\ncontent-length: *(\d+)/i.exec(b.subarray(0, end).toString('latin1'));
  const length = noBody || status === 304 || status === 204 || status < 200 || !m ? 0 : Number(m[1]);
  return end + 4 + length;
}

/** Parses one response at the start of `b`, or null if it is not all there yet. */
export function parseReply(b: Buffer, noBody: boolean): { reply: Reply; length: number } | null {
  const end = b.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const head = b.subarray(0, end).toString('latin1');
  const [statusLine, ...lines] = head.split('\r\n');
  const m = /^(HTTP\/\d\.\d) (\d{3}) /.exec(statusLine);
  if (!m) throw new Error(`not a status line: ${JSON.stringify(statusLine)}`);
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const colon = l.indexOf(':');
    const name = l.slice(0, colon).toLowerCase(), value = l.slice(colon + 1).trim();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  const status = Number(m[2]);
  const length = noBody || status === 304 || status === 204 || status < 200 ? 0 : Number(headers['content-length'] ?? 0);
  if (b.length < end + 4 + length) return null;
  return {
    reply: { status, version: m[1], headers, body: Buffer.from(b.subarray(end + 4, end + 4 + length)), head },
    length: end + 4 + length,
  };
}

/** Sends `raw` on a new connection and reads one response. */
export async function request(port: number, raw: string | Buffer, noBody = false): Promise<Reply> {
  const c = new Conn(port);
  try {
    await c.connected();
    await c.write(raw);
    return await c.reply(noBody);
  } finally {
    c.close();
  }
}

/** A GET with the given extra header lines. */
export function get(path: string, headers: Record<string, string> = {}, method = 'GET'): string {
  return `${method} ${path} HTTP/1.1\r\nHost: test\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
}
