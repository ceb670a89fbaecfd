// The seed server run by the host directly, for the server bench (bench/servers.ts): the same
// loop as the guest assembly/guests/send_file.ts and bench/c/send_file.c, in TypeScript, making
// the same system calls through the runtime's own koffi bindings (host/native/libc.ts) with
// no sandbox in between. What the guest costs over this is the price of WebAssembly and WASI.
//
// usage: node build/bench/server_host.js PORT FILE [LINGER_MS]
import { fstatSync, openSync, writeSync } from 'node:fs';
import * as libc from '../host/native/libc.js';
import { listenOn } from '../host/listen.js';

const TICK_MS = 200;              // poll wakes at least this often
const TIMEOUT_NS = 60_000_000_000n; // a client that takes nothing this long is closed
const ACCEPT_PAUSE_NS = 100_000_000n; // how long accepting pauses after accept failed
const F_SETFL = 4, O_NONBLOCK = 0o4000, SOCK_NONBLOCK = 0o4000, SOCK_CLOEXEC = 0o2000000;
const POLLIN = 1, POLLOUT = 4, SHUT_WR = 1, EAGAIN = 11;

class Conn {
  /** off_t for sendfile(2)'s offset pointer: the kernel reads and advances it. */
  readonly offset = new BigInt64Array(1);
  /** Its address, taken once: the runtime passes sendfile an address too (libc.ts). */
  readonly offsetPtr = libc.addressOf(this.offset);
  draining = false;
  ready = true;
  start = process.hrtime.bigint();
  progress = this.start; // when the client last took a byte
  readonly peer: string;
  constructor(readonly fd: number, readonly id: number) {
    const addr = Buffer.alloc(16), len = Buffer.alloc(4);
    len.writeUInt32LE(16);
    this.peer = libc.getpeername(fd, addr, len) < 0 ? '?' : `${[...addr.subarray(4, 8)].join('.')}:${addr.readUInt16BE(2)}`;
  }
}

const [port, path, lingerMs] = process.argv.slice(2);
/** How long a finished connection waits for the client. */
const LINGER_NS = BigInt(lingerMs ?? 5000) * 1_000_000n;
if (!port || !path) {
  process.stderr.write('usage: server_host PORT FILE [LINGER_MS]\n');
  process.exit(2);
}
const file = openSync(path, 'r');
const size = BigInt(fstatSync(file).size);
const listener = listenOn(`127.0.0.1:${port}`);
libc.fcntl(listener, F_SETFL, O_NONBLOCK);

function log(c: Conn, what: string): void {
  const ms = Number(process.hrtime.bigint() - c.start) / 1e6;
  writeSync(1, `client #${c.id} ${c.peer}: ${what} in ${Math.round(ms * 10) / 10} ms\n`);
}

/** Sends what the socket takes now (`t`: the time now); true while the connection stays open. */
function pump(c: Conn, t: bigint): boolean {
  while (c.offset[0] < size) {
    const n = libc.sendfile(c.fd, file, c.offsetPtr, Number(size - c.offset[0]));
    if (n === -EAGAIN) return true;
    if (n < 0) { log(c, `aborted (errno ${-n}) after ${c.offset[0]} bytes`); return false; }
    if (n === 0) break; // the file shrank under us: it is done
    c.progress = t;
  }
  log(c, `${c.offset[0]} bytes`);
  libc.shutdown(c.fd, SHUT_WR);
  c.draining = true;
  c.start = t;
  return true;
}

const scratch = Buffer.alloc(4096);
/** Reads and drops what the client sent; true while the client keeps the connection open. */
function drain(c: Conn): boolean {
  const n = libc.read(c.fd, scratch, scratch.length);
  return n === -EAGAIN || n > 0;
}

let conns: Conn[] = [];
let nextId = 1;
let fds = new Int32Array(64); // struct pollfd { int fd; short events, revents; }, 8 bytes each
let acceptPausedUntil = 0n, acceptFailing = false;
for (;;) {
  if (acceptPausedUntil && process.hrtime.bigint() >= acceptPausedUntil) acceptPausedUntil = 0n;
  if (fds.length < 2 * (conns.length + 1)) fds = new Int32Array(4 * (conns.length + 1));
  const fds16 = new Int16Array(fds.buffer);
  fds[0] = acceptPausedUntil ? -1 : listener; // poll(2) ignores a negative fd
  fds16[2] = POLLIN; fds16[3] = 0;
  conns.forEach((c, i) => {
    fds[2 * (i + 1)] = c.fd;
    fds16[4 * (i + 1) + 2] = c.draining ? POLLIN : POLLOUT;
    fds16[4 * (i + 1) + 3] = 0;
  });
  if (libc.poll(new Uint8Array(fds.buffer), conns.length + 1, acceptPausedUntil ? Number(ACCEPT_PAUSE_NS / 1_000_000n) : TICK_MS) < 0) continue;
  conns.forEach((c, i) => { if (fds16[4 * (i + 1) + 3] !== 0) c.ready = true; });
  if (fds16[3] !== 0) {
    for (;;) {
      const fd = libc.accept4(listener, null, null, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd === -EAGAIN) break;
      if (fd < 0) {
        if (!acceptFailing) writeSync(2, `send_file: accept: errno ${-fd}; pausing accepts for 100 ms at a time\n`);
        acceptFailing = true;
        acceptPausedUntil = process.hrtime.bigint() + ACCEPT_PAUSE_NS;
        break;
      }
      if (acceptFailing) writeSync(2, 'send_file: accepting again\n');
      acceptFailing = false;
      conns.push(new Conn(fd, nextId++));
    }
  }
  const t = process.hrtime.bigint();
  const kept: Conn[] = [];
  for (const c of conns) {
    let open = true;
    if (c.ready) {
      c.ready = false;
      open = c.draining ? drain(c) : pump(c, t);
    }
    if (open && !c.draining && t - c.progress > TIMEOUT_NS) {
      log(c, `timed out after ${c.offset[0]} bytes`);
      open = false;
    }
    if (open && c.draining && t - c.start > LINGER_NS) open = false;
    if (open) kept.push(c);
    else libc.close(c.fd);
  }
  conns = kept;
}
