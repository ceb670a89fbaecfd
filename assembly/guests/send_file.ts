// The seed program, done right: a TCP server that sends one whole file to every client that
// connects, with sendfile(2) from a per-connection offset.
//
// Descriptors (granted by the host): the listeners at 3 .. 3+LISTEN_FDS-1 (systemd's
// convention), then the file. One poll_oneoff loop drives every connection: sockets are
// non-blocking, short counts and EAGAIN just wait for the next write readiness. After the last
// byte the server shuts its side down and drains what the client sent (an HTTP/0.9 request,
// say) until the client closes, so that closing never resets the connection under the data.
// One log line per client on stdout.
//
// Two guards a server on the open network needs: a client that takes no byte for --timeout-ms
// (default 60 s, nginx's send_timeout) is closed, so idle peers cannot pin descriptors forever;
// and when accept fails for another reason than EAGAIN (EMFILE: out of descriptors), the
// listener stays readable, so accepting pauses for 100 ms instead of spinning on poll.
//
// The subscription array is kept from one poll_oneoff call to the next, and a closed
// connection's place is taken by the last one, so that between two calls only the entries of
// connections that came, went or changed state differ: the host then decodes and registers
// only those (host/wasi/poll_set.ts), whatever the number of idle connections.
//
// usage: send_file [--max-clients N] [--timeout-ms MS] [--linger-ms MS] [--worker W]
//   N: exit after N clients, for tests; W: this instance's worker number, which prefixes its
//   log lines ("[worker 2] client #1 ...") so that client numbers stay unique across workers.
import {
  poll_oneoff, sock_recv, sock_shutdown, fd_close, fd_filestat_get, fd_fdstat_set_flags, fd_write,
  clock_time_get, filestat,
} from "bindings/wasi_snapshot_preview1";
import { sock_accept } from "../wasi/sock";
import { sendfile, peername, Offset, errno } from "../zerocopy";
import { decimalDigits, writeDecimal } from "../text/decimal";

const NONBLOCK: u16 = 4;
const SHUT_WR: u8 = 2;
const TYPE_CLOCK: u8 = 0, TYPE_READ: u8 = 1, TYPE_WRITE: u8 = 2;
const SUB = 48, EVENT = 32;
const TICK_NS: u64 = 200_000_000;       // poll wakes at least this often
let lingerNs: u64 = 5_000_000_000;      // how long a finished connection waits for the client to close
const ACCEPT_PAUSE_NS: u64 = 100_000_000; // how long accepting pauses after accept failed
const LISTENER_TAG: u64 = 0x1_0000_0000;
const CLOCK_TAG: u64 = 0x2_0000_0000;

class Conn {
  offset: Offset = new Offset(0);
  peer: string;
  start: u64 = now();
  progress: u64 = 0; // when the client last took a byte
  draining: bool = false;
  ready: bool = true; // in `ready`: to be served this wakeup (a new one is tried at once)
  slot: i32 = -1;     // its place in `conns` and in the subscriptions; -1 once closed
  constructor(public fd: u32, public id: u32) {
    const p = peername(fd);
    this.peer = p === null ? "?" : p;
    this.progress = this.start;
  }
}

const scratch = memory.data(4096);
const ret = memory.data(16);

function now(): u64 {
  clock_time_get(1, 0, ret);
  return load<u64>(ret);
}

// The log line is formatted into one static buffer and written with one fd_write, as C's
// dprintf does (bench/c/send_file.c): no string is built for it, so a connection allocates
// nothing for its log line and the guest's collector has nothing to trace for it.
const LINE_MAX = 512;
const line = memory.data(LINE_MAX + 16); // the text, then an iovec and the count written
let lineLen = 0;

function put(text: string): void {
  for (let i = 0; i < text.length && lineLen < LINE_MAX; i++) store<u8>(line + lineLen++, <u8>text.charCodeAt(i));
}

function putU64(v: u64): void {
  const digits = <i32>decimalDigits(v);
  if (lineLen + digits > LINE_MAX) return;
  writeDecimal(line + lineLen, v, digits);
  lineLen += digits;
}

/**
 * One line: "client #ID PEER: PREFIX<n>SUFFIX in MS ms", MS in tenths as "%.1f" prints them
 * (and as the shortest decimal of Math.round(ms * 10) / 10 reads, which the guest printed before).
 */
function log(c: Conn, prefix: string, n: i64, suffix: string): void {
  const tenths = <u64>Math.round(<f64>(now() - c.start) / 1e6 * 10);
  lineLen = 0;
  put(workerTag); put("client #"); putU64(c.id); put(" "); put(c.peer); put(": ");
  put(prefix); if (n < 0) { put("-"); putU64(<u64>-n); } else putU64(<u64>n); put(suffix);
  put(" in "); putU64(tenths / 10); put("."); putU64(tenths % 10); put(" ms\n");
  store<u32>(line + LINE_MAX, <u32>line);
  store<u32>(line + LINE_MAX, lineLen, 4);
  const e = fd_write(1, line + LINE_MAX, 1, line + LINE_MAX + 8);
  if (e != 0) throw new Error("send_file: writing the log: " + errno.name(e));
}

const env = process.env;
const listeners: i32 = env.has("LISTEN_FDS") ? I32.parseInt(env.get("LISTEN_FDS")) : 1;
const FILE: u32 = 3 + <u32>listeners;
let maxClients: i64 = -1;
let workerTag = "";
let timeoutNs: u64 = 60_000_000_000;
const argv = process.argv;
for (let i = 1; i + 1 < argv.length; i++) {
  if (argv[i] == "--max-clients") maxClients = I64.parseInt(argv[i + 1]);
  else if (argv[i] == "--timeout-ms") timeoutNs = U64.parseInt(argv[i + 1]) * 1_000_000;
  else if (argv[i] == "--worker") workerTag = "[worker " + argv[i + 1] + "] ";
  else if (argv[i] == "--linger-ms") lingerNs = U64.parseInt(argv[i + 1]) * 1_000_000;
}

// filestat: dev u64, ino u64, filetype u8 (witx), ...; 4 is regular_file. sendfile(2) reads
// its input at an offset, so a directory or a socket here would fail every client: say so once.
if (fd_filestat_get(FILE, changetype<filestat>(scratch)) != 0 || load<u8>(scratch, 16) != 4) {
  process.stderr.write("send_file: descriptor " + FILE.toString() + " (after LISTEN_FDS=" + listeners.toString() +
    " listeners) is not a regular file to send\n");
  process.exit(2);
}
const size = load<u64>(scratch, 32);
for (let i: u32 = 0; i < <u32>listeners; i++) {
  const e = fd_fdstat_set_flags(3 + i, NONBLOCK);
  if (e != 0) { process.stderr.write("send_file: listener " + (3 + i).toString() + ": errno " + e.toString() + "\n"); process.exit(2); }
}

const conns = new Array<Conn>();
/** Connections to serve this wakeup, and those whose subscription entry must be written again. */
const ready = new Array<Conn>();
const dirty = new Array<Conn>();
let nextSweep: u64 = 0;
let nextId: u32 = 1;
let finished: i64 = 0;
let capacity = 0;
let subs: usize = 0, events: usize = 0;

/** Sends what the socket takes now (`t`: the time now); true while the connection stays open. */
function pump(c: Conn, t: u64): bool {
  while (c.offset.value < <i64>size) {
    const n = sendfile(c.fd, FILE, c.offset, size - <u64>c.offset.value);
    if (n == -(<i64>errno.AGAIN)) return true;
    if (n < 0) { log(c, "aborted (errno " + (-n).toString() + ") after ", c.offset.value, " bytes"); return false; }
    if (n == 0) break; // the file shrank under us: it is done
    c.progress = t;
  }
  log(c, "", c.offset.value, " bytes");
  sock_shutdown(c.fd, SHUT_WR);
  c.draining = true;
  // The linger starts at the loop's `t`, not now(): `t - c.start` is unsigned, and a start
  // later than t would wrap to a huge age and close the socket with the request unread,
  // which makes Linux send RST and the client lose what it has not read yet (tcp(7)).
  c.start = t;
  return true;
}

/** Reads and drops what the client sent; true while the client keeps the connection open. */
function drain(c: Conn): bool {
  store<u32>(ret, <u32>scratch);
  store<u32>(ret, 4096, 4);
  const e = sock_recv(c.fd, ret, 1, 0, ret + 8, ret + 12);
  if (e == errno.AGAIN) return true;
  return e == 0 && load<u32>(ret, 8) != 0;
}

let acceptPausedUntil: u64 = 0;
let acceptFailing = false;

/** Accepts what is pending, but never more clients than --max-clients allows. */
function acceptAll(listener: u32): void {
  while (maxClients < 0 || <i64>(nextId - 1) < maxClients) {
    const e = sock_accept(listener, NONBLOCK, ret);
    if (e == errno.AGAIN) return; // no more for now
    if (e != 0) {
      // The pending connection stays queued; say so once per run of failures.
      if (!acceptFailing) process.stderr.write("send_file: accept: " + errno.name(e) + "; pausing accepts for 100 ms at a time\n");
      acceptFailing = true;
      acceptPausedUntil = now() + ACCEPT_PAUSE_NS;
      return;
    }
    if (acceptFailing) process.stderr.write("send_file: accepting again\n");
    acceptFailing = false;
    const c = new Conn(load<u32>(ret), nextId++);
    c.slot = conns.length;
    conns.push(c);
    dirty.push(c);
    ready.push(c);
  }
}

/** Closes a connection; the last one takes its place (and its subscription entry). */
function close(c: Conn): void {
  fd_close(c.fd);
  finished++;
  const last = conns.pop();
  if (last !== c) {
    conns[c.slot] = last;
    last.slot = c.slot;
    dirty.push(last);
  }
  c.slot = -1;
}

/** Subscription s: a descriptor, every field written so that equal states give equal bytes. */
function subscribeFd(s: usize, userdata: u64, type: u8, fd: u32): void {
  store<u64>(s, userdata);
  store<u8>(s, type, 8);
  store<u32>(s, fd, 16);
  store<u64>(s, 0, 24);
  store<u16>(s, 0, 40);
}

/** Subscription s: the monotonic clock, `ns` from now. */
function subscribeClock(s: usize, ns: u64): void {
  store<u64>(s, CLOCK_TAG);
  store<u8>(s, TYPE_CLOCK, 8);
  store<u32>(s, 1, 16);
  store<u64>(s, ns, 24);
  store<u16>(s, 0, 40);
}

// One wakeup per call: V8 compiles a wasm function again, optimized, only between two calls of
// it, so a loop running in the start function would stay in its first, baseline code forever.
while (maxClients < 0 || finished < maxClients || conns.length > 0) step();

function step(): void {
  const n = listeners + conns.length + 1;
  if (n > capacity) {
    capacity = n * 2;
    if (subs != 0) { heap.free(subs); heap.free(events); }
    subs = heap.alloc(capacity * SUB);
    events = heap.alloc(capacity * EVENT);
    memory.fill(subs, 0, capacity * SUB); // padding and precision stay zero from here on
    for (let i = 0; i < conns.length; i++) dirty.push(conns[i]);
  }
  if (acceptPausedUntil != 0 && now() >= acceptPausedUntil) acceptPausedUntil = 0;
  const accepting = (maxClients < 0 || <i64>(nextId - 1) < maxClients) && acceptPausedUntil == 0;
  let s = subs;
  for (let i = 0; i < listeners; i++, s += SUB) {
    if (accepting) subscribeFd(s, LISTENER_TAG | <u64>(3 + i), TYPE_READ, 3 + i);
    else subscribeClock(s, acceptPausedUntil != 0 ? ACCEPT_PAUSE_NS : TICK_NS);
  }
  // Only the entries of connections that came, moved or changed state are written: the others
  // are as the last call left them, and the host skips what did not change.
  for (let k = 0; k < dirty.length; k++) {
    const c = dirty[k];
    if (c.slot >= 0) subscribeFd(subs + <usize>(listeners + c.slot) * SUB, <u64>c.slot, c.draining ? TYPE_READ : TYPE_WRITE, c.fd);
  }
  dirty.length = 0;
  subscribeClock(subs + <usize>(listeners + conns.length) * SUB, TICK_NS);

  const e = poll_oneoff(subs, events, n, ret);
  if (e != 0) { process.stderr.write("send_file: poll_oneoff: errno " + e.toString() + "\n"); process.exit(1); }
  const got = load<u32>(ret);
  for (let i: u32 = 0; i < got; i++) {
    const tag = load<u64>(events + i * EVENT);
    if (tag & LISTENER_TAG) acceptAll(<u32>(tag & 0xffffffff));
    else if (!(tag & CLOCK_TAG)) {
      const c = conns[<i32>tag];
      if (!c.ready) { c.ready = true; ready.push(c); }
    }
  }

  // A connection is served when poll says it is ready (a new one is tried at once); it
  // leaves, closed, when it aborted or its client closed. Timeouts and lingers are swept once
  // per tick, as a C server with epoll does, so a wakeup costs what is ready, not every
  // connection held open.
  const t = now();
  for (let k = 0; k < ready.length; k++) {
    const c = ready[k];
    c.ready = false;
    if (c.slot < 0) continue;
    const wasDraining = c.draining;
    if (!(c.draining ? drain(c) : pump(c, t))) close(c);
    else if (c.draining != wasDraining) dirty.push(c);
  }
  ready.length = 0;
  if (t >= nextSweep) {
    nextSweep = t + TICK_NS;
    sweep(t);
  }
}

/** Closes the connections whose client took nothing for --timeout-ms, or lingered too long. */
function sweep(t: u64): void {
  let i = 0;
  while (i < conns.length) {
    const c = conns[i];
    let open = true;
    if (!c.draining && t - c.progress > timeoutNs) {
      log(c, "timed out after ", c.offset.value, " bytes");
      open = false;
    } else if (c.draining && t - c.start > lingerNs) {
      open = false;
    }
    if (open) i++;
    else close(c); // the last one takes place i: it is looked at next
  }
}
