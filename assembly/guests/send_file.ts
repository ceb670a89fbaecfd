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
// usage: send_file [--max-clients N] [--timeout-ms MS] [--worker W]
//   N: exit after N clients, for tests; W: this instance's worker number, which prefixes its
//   log lines ("[worker 2] client #1 ...") so that client numbers stay unique across workers.
import {
  poll_oneoff, sock_recv, sock_shutdown, fd_close, fd_filestat_get, fd_fdstat_set_flags,
  clock_time_get, filestat,
} from "bindings/wasi_snapshot_preview1";
import { sock_accept } from "../wasi/sock";
import { sendfile, peername, Offset, errno } from "../zerocopy";

const NONBLOCK: u16 = 4;
const SHUT_WR: u8 = 2;
const TYPE_CLOCK: u8 = 0, TYPE_READ: u8 = 1, TYPE_WRITE: u8 = 2;
const SUB = 48, EVENT = 32;
const TICK_NS: u64 = 200_000_000;       // poll wakes at least this often
const LINGER_NS: u64 = 5_000_000_000;   // how long a finished connection waits for the client to close
const ACCEPT_PAUSE_NS: u64 = 100_000_000; // how long accepting pauses after accept failed
const LISTENER_TAG: u64 = 0x1_0000_0000;
const CLOCK_TAG: u64 = 0x2_0000_0000;

class Conn {
  offset: Offset = new Offset(0);
  peer: string;
  start: u64 = now();
  progress: u64 = 0; // when the client last took a byte
  draining: bool = false;
  ready: bool = true;
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

function log(c: Conn, what: string): void {
  const ms = <f64>(now() - c.start) / 1e6;
  process.stdout.write(workerTag + "client #" + c.id.toString() + " " + c.peer + ": " + what + " in " + (Math.round(ms * 10) / 10).toString() + " ms\n");
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
let nextId: u32 = 1;
let finished: i64 = 0;
let capacity = 0;
let subs: usize = 0, events: usize = 0;

/** Sends what the socket takes now (`t`: the time now); true while the connection stays open. */
function pump(c: Conn, t: u64): bool {
  while (c.offset.value < <i64>size) {
    const n = sendfile(c.fd, FILE, c.offset, size - <u64>c.offset.value);
    if (n == -(<i64>errno.AGAIN)) return true;
    if (n < 0) { log(c, "aborted (errno " + (-n).toString() + ") after " + c.offset.value.toString() + " bytes"); return false; }
    if (n == 0) break; // the file shrank under us: it is done
    c.progress = t;
  }
  log(c, c.offset.value.toString() + " bytes");
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
    conns.push(new Conn(load<u32>(ret), nextId++));
  }
}

while (maxClients < 0 || finished < maxClients || conns.length > 0) {
  const n = listeners + conns.length + 1;
  if (n > capacity) {
    capacity = n * 2;
    if (subs != 0) { heap.free(subs); heap.free(events); }
    subs = heap.alloc(capacity * SUB);
    events = heap.alloc(capacity * EVENT);
  }
  memory.fill(subs, 0, n * SUB);
  let s = subs;
  if (acceptPausedUntil != 0 && now() >= acceptPausedUntil) acceptPausedUntil = 0;
  const accepting = (maxClients < 0 || <i64>(nextId - 1) < maxClients) && acceptPausedUntil == 0;
  for (let i = 0; i < listeners; i++, s += SUB) {
    store<u64>(s, accepting ? LISTENER_TAG | <u64>(3 + i) : CLOCK_TAG);
    store<u8>(s, accepting ? TYPE_READ : TYPE_CLOCK, 8);
    if (accepting) store<u32>(s, 3 + i, 16);
    else { store<u32>(s, 1, 16); store<u64>(s, acceptPausedUntil != 0 ? ACCEPT_PAUSE_NS : TICK_NS, 24); }
  }
  for (let i = 0; i < conns.length; i++, s += SUB) {
    store<u64>(s, <u64>i);
    store<u8>(s, conns[i].draining ? TYPE_READ : TYPE_WRITE, 8);
    store<u32>(s, conns[i].fd, 16);
  }
  store<u64>(s, CLOCK_TAG);
  store<u8>(s, TYPE_CLOCK, 8);
  store<u32>(s, 1, 16);
  store<u64>(s, TICK_NS, 24);

  const e = poll_oneoff(subs, events, n, ret);
  if (e != 0) { process.stderr.write("send_file: poll_oneoff: errno " + e.toString() + "\n"); process.exit(1); }
  const got = load<u32>(ret);
  for (let i: u32 = 0; i < got; i++) {
    const tag = load<u64>(events + i * EVENT);
    if (tag & LISTENER_TAG) acceptAll(<u32>(tag & 0xffffffff));
    else if (!(tag & CLOCK_TAG)) conns[<i32>tag].ready = true;
  }

  // A connection is served when poll says it is ready (a new one is tried at once); it
  // leaves the list, closed, when it aborted, when its client took nothing for --timeout-ms,
  // or when its client closed or lingered too long.
  // Kept connections are compacted in place, as C would: a new array per wakeup is garbage
  // in proportion to the open connections, which idle clients make many.
  const t = now();
  let kept = 0;
  for (let i = 0; i < conns.length; i++) {
    const c = conns[i];
    let open = true;
    if (c.ready) {
      c.ready = false;
      open = c.draining ? drain(c) : pump(c, t);
    }
    if (open && !c.draining && t - c.progress > timeoutNs) {
      log(c, "timed out after " + c.offset.value.toString() + " bytes");
      open = false;
    }
    if (open && c.draining && t - c.start > LINGER_NS) open = false;
    if (open) conns[kept++] = c;
    else { fd_close(c.fd); finished++; }
  }
  conns.length = kept;
}
