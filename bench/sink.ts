// The receiving side of the throughput bench: a separate process, because a guest runs
// synchronously and blocks this event loop. It accepts connections one after another and
// prints "<bytes> <nanoseconds from accept to EOF>" for each (after its port, first).
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as libc from '../host/native/libc.js';

/** The fallback when there is no C compiler: Node reading with a large highWaterMark. */
const NODE_SINK = `
const net = require('net');
const srv = net.createServer({ highWaterMark: 1 << 20 }, (c) => {
  const t0 = process.hrtime.bigint(); let n = 0;
  c.on('data', (d) => { n += d.length; });
  c.on('end', () => { console.log(n + ' ' + (process.hrtime.bigint() - t0)); });
});
srv.listen(0, '127.0.0.1', () => console.log(srv.address().port));`;

const AF_INET = 2, SOCK_STREAM = 1, SOCK_CLOEXEC = 0o2000000;

export class Sink {
  private readonly lines: string[] = [];
  private readonly waiters: { resolve: (line: string) => void; reject: (e: Error) => void }[] = [];
  private exited: Error | null = null;
  private readonly proc: ChildProcessWithoutNullStreams;
  private port = 0;

  /** `exe` is the compiled bench/c/sink.c (run in splice mode), or null for the Node sink. */
  private constructor(exe: string | null) {
    this.proc = exe ? spawn(exe, ['splice']) : spawn(process.execPath, ['-e', NODE_SINK]);
    let buf = '';
    this.proc.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let nl; (nl = buf.indexOf('\n')) >= 0;) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const w = this.waiters.shift();
        if (w) w.resolve(line); else this.lines.push(line);
      }
    });
    this.proc.on('exit', (code, signal) => {
      this.exited = new Error(`the sink exited (${signal ?? code})`);
      for (const w of this.waiters.splice(0)) w.reject(this.exited);
    });
  }

  static async start(exe: string | null): Promise<Sink> {
    const sink = new Sink(exe);
    sink.port = Number(await sink.next());
    if (!(sink.port > 0)) throw new Error('the sink did not report a port');
    return sink;
  }

  get tcpPort(): number {
    return this.port;
  }

  private next(): Promise<string> {
    const l = this.lines.shift();
    if (l !== undefined) return Promise.resolve(l);
    if (this.exited) return Promise.reject(this.exited);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** What the sink saw for the connection that just closed. */
  async result(): Promise<{ bytes: number; ns: number }> {
    const [bytes, ns] = (await this.next()).split(' ').map(Number);
    return { bytes, ns };
  }

  /** A blocking TCP connection to the sink as a raw host descriptor (socket(2), connect(2)). */
  connectRaw(): number {
    const fd = libc.socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw new Error(`socket: errno ${-fd}`);
    const addr = Buffer.alloc(16); // struct sockaddr_in
    addr.writeUInt16LE(AF_INET, 0);
    addr.writeUInt16BE(this.port, 2);
    addr.writeUInt32BE(0x7f000001, 4);
    const r = libc.connect(fd, addr, 16);
    if (r < 0) {
      libc.close(fd);
      throw new Error(`connect: errno ${-r}`);
    }
    return fd;
  }

  stop(): void {
    this.proc.kill();
  }
}
