// A zero-copy TCP proxy: for every client, a connection to the one upstream the host granted
// (zerocopy.sock_connect, --connect), and the bytes moved both ways with splice(2) through a
// kernel pipe per direction, socket -> pipe -> socket, never through guest memory (the way
// HAProxy's `option splice-auto` and nginx's stream proxy do it).
//
// Descriptors: the listeners at 3 .. 3+LISTEN_FDS-1 (systemd's convention). One poll_oneoff
// loop drives every connection; every socket and pipe is non-blocking. The connection to the
// upstream is non-blocking too: its completion is write readiness, its outcome sock_error
// (asked only when that event has an error or hangup: see connected()).
// - Half-close passes through: a FIN from one side, once every byte before it is delivered,
//   becomes shutdown(SHUT_WR) of the other side's socket; the connection ends when both
//   directions have done so.
// - A reset (or any failure) on one side closes both, but first what the pipe toward the
//   other side still holds is delivered: bytes read are never dropped while their receiver
//   lives.
// - Guards: an upstream that does not answer within --connect-timeout-ms (default 10 s) and a
//   connection on which nothing moves for --idle-timeout-ms (default 300 s) are closed; when
//   accept fails for want of descriptors (EMFILE), accepting pauses 100 ms at a time.
// One log line per connection on stdout: what ended it, the bytes each way, its duration
// (assembly/proxy/log.ts writes a wakeup's lines together).
//
// usage: proxy --to HOST:PORT [--connect-timeout-ms MS] [--idle-timeout-ms MS] [--max-clients N]
import { poll_oneoff, fd_close, fd_fdstat_set_flags, clock_time_get } from "bindings/wasi_snapshot_preview1";
import { sock_accept } from "../wasi/sock";
import { connect, sock_error, peername, errno } from "../zerocopy";
import { Direction, Step } from "../proxy/relay";
import { givePipe, releasePipes, takePipe } from "../proxy/pipes";
import * as line from "../proxy/log";

const NONBLOCK: u16 = 4;
const TYPE_CLOCK: u8 = 0, TYPE_READ: u8 = 1, TYPE_WRITE: u8 = 2;
const SUB = 48, EVENT = 32;
/** event.fd_readwrite.flags (at 24): fd_readwrite_hangup, the kernel's POLLHUP or POLLERR. */
const HANGUP: u16 = 1;
const TICK_NS: u64 = 200_000_000;          // poll wakes at least this often, for the timeouts
const ACCEPT_PAUSE_NS: u64 = 100_000_000;  // how long accepting pauses after accept failed
const LISTENER_TAG: u64 = 0x1_0000_0000;
const CLOCK_TAG: u64 = 0x2_0000_0000;
// A connection's subscriptions: userdata = index << 2 | which.
const UP_READ: u64 = 0, UP_WRITE: u64 = 1, DOWN_READ: u64 = 2, DOWN_WRITE: u64 = 3;

const ret = memory.data(16);
function now(): u64 {
  clock_time_get(1, 0, ret);
  return load<u64>(ret);
}
/** The monotonic clock, read once per wakeup of the loop: every connection's times use it. */
let t: u64 = now();

// --- arguments ----------------------------------------------------------------------------
const env = process.env;
const listeners: i32 = env.has("LISTEN_FDS") ? I32.parseInt(env.get("LISTEN_FDS")) : 1;
let to = "";
let maxClients: i64 = -1;
let connectTimeoutNs: u64 = 10_000_000_000;
let idleTimeoutNs: u64 = 300_000_000_000;
const argv = process.argv;
for (let i = 1; i + 1 < argv.length; i += 2) {
  const flag = argv[i], value = argv[i + 1];
  if (flag == "--to") to = value;
  else if (flag == "--max-clients") maxClients = I64.parseInt(value);
  else if (flag == "--connect-timeout-ms") connectTimeoutNs = U64.parseInt(value) * 1_000_000;
  else if (flag == "--idle-timeout-ms") idleTimeoutNs = U64.parseInt(value) * 1_000_000;
  else { process.stderr.write("proxy: unknown argument " + flag + "\n"); process.exit(2); }
}
if (to.length == 0) { process.stderr.write("proxy: --to HOST:PORT is required\n"); process.exit(2); }
for (let i: u32 = 0; i < <u32>listeners; i++) {
  const e = fd_fdstat_set_flags(3 + i, NONBLOCK);
  if (e != 0) { process.stderr.write("proxy: listener " + (3 + i).toString() + ": " + errno.name(e) + "\n"); process.exit(2); }
}

// --- connections --------------------------------------------------------------------------
class Conn {
  peer: string;
  start: u64 = t;
  /** When a byte last moved (or the connection began): for the idle timeout. */
  active: u64 = 0;
  upstream: i64 = -1;
  connecting: bool = false;
  /** client -> upstream, and upstream -> client; null until the upstream answers. */
  up: Direction | null = null;
  down: Direction | null = null;
  /** Why the connection ends, once it does: the log line says it. */
  ending: string | null = null;
  constructor(public client: u32, public id: u32) {
    const p = peername(client);
    this.peer = p === null ? "?" : p;
    this.active = this.start;
  }
}

function log(c: Conn, what: string): void {
  const up = c.up === null ? 0 : c.up!.moved, down = c.down === null ? 0 : c.down!.moved;
  line.text("client #"); line.decimal(c.id); line.text(" "); line.text(c.peer); line.text(" -> "); line.text(to);
  line.text(": "); line.text(what); line.text(", "); line.decimal(up); line.text(" bytes up, "); line.decimal(down);
  line.text(" bytes down in "); line.millis(t - c.start); line.text(" ms\n");
}

/** Starts the connection to the upstream; false (with `ending` set) when it failed at once. */
function dial(c: Conn): bool {
  const fd = connect(to, true);
  if (fd < 0) { c.ending = "upstream " + errno.name(<u16>-fd); return false; }
  c.upstream = fd;
  c.connecting = true;
  return true;
}

/**
 * The upstream is writable: connected, or failed. On success, the pipes and both directions.
 * `clean` is an event without error or hangup: the kernel reports a connecting socket
 * writable only once it is established (tcp_poll), and a failed attempt with POLLERR and
 * POLLHUP, which poll_oneoff passes on as `fd_readwrite_hangup`; so only an event that is
 * not clean needs sock_error to learn the outcome (a system call per connection saved).
 */
function connected(c: Conn, clean: bool): bool {
  if (!clean) {
    const e = sock_error(<u32>c.upstream);
    if (e != 0) { c.ending = "upstream " + errno.name(<u16>(e < 0 ? -e : e)); return false; }
  }
  c.connecting = false;
  const up = new Direction(c.client, <u32>c.upstream), down = new Direction(<u32>c.upstream, c.client);
  let pe = takePipe(up.pipe);
  if (pe == 0) {
    pe = takePipe(down.pipe);
    if (pe != 0) givePipe(up.pipe, true);
  }
  if (pe != 0) { c.ending = "no pipe (" + errno.name(pe) + ")"; return false; }
  up.partner = down;
  down.partner = up;
  c.up = up;
  c.down = down;
  return true;
}

/**
 * A side failed: that socket is gone. The direction toward it is dead (what its pipe holds
 * has nowhere to go). The direction from it still delivers what its pipe holds, and what the
 * kernel still has queued from that side (sent before the reset: a read returns it before the
 * error, tcp(7)), then passes the end on.
 */
function failed(c: Conn, d: Direction, other: Direction, step: Step): void {
  const clientSide = (step == Step.SOURCE_FAILED) == (d.src == c.client);
  if (c.ending === null) c.ending = "reset by " + (clientSide ? "client" : "upstream") + " (" + errno.name(d.error) + ")";
  if (step == Step.SOURCE_FAILED) { d.eof = true; other.dead = true; }
  else d.dead = true;
}

/**
 * After a failure, pumps both directions until no new failure: the failed side's half-close
 * is passed on, and the pipe toward the surviving side is delivered as far as it takes now.
 * Each failure marks a direction dead or at its end, so a few passes settle it.
 */
function settle(c: Conn, up: Direction, down: Direction): void {
  for (let pass = 0; pass < 4; pass++) {
    const a = up.pump();
    if (a != Step.WAIT) failed(c, up, down, a);
    const b = down.pump();
    if (b != Step.WAIT) failed(c, down, up, b);
    if (a == Step.WAIT && b == Step.WAIT) return;
  }
}

/** Serves a connection after a wakeup; false once it is over (then `ending` says why). */
function serve(c: Conn, t: u64): bool {
  if (c.connecting) {
    if (t - c.start > connectTimeoutNs) { c.ending = "upstream connect timed out"; return false; }
    return true;
  }
  const up = c.up!, down = c.down!;
  let step = Step.WAIT;
  if (up.ready) { up.ready = false; step = up.pump(); if (step != Step.WAIT) failed(c, up, down, step); }
  if (down.ready && step == Step.WAIT) { down.ready = false; step = down.pump(); if (step != Step.WAIT) failed(c, down, up, step); }
  if (step != Step.WAIT) settle(c, up, down);
  if (up.lastProgress || down.lastProgress) { c.active = t; up.lastProgress = false; down.lastProgress = false; }
  if (up.done && down.done) {
    if (c.ending === null) c.ending = "closed";
    return false;
  }
  if (t - c.active > idleTimeoutNs) { if (c.ending === null) c.ending = "idle timeout"; return false; }
  return true;
}

// --- ending -------------------------------------------------------------------------------
// A stop (SIGTERM at the CLI, stop() in the API) ends the guest at its next call, whichever it
// is, with a trap after which no guest code runs (host/wasi/guard.ts): lines gathered and not
// yet written then are lost. The host cannot write them for the guest (it does not know where
// they are), and the guest cannot be given a last word (it could put the stop off for ever).
// So a wakeup ends its connections in an order where no call comes between gathering a line
// and writing it: while the loop serves, an ended connection is only put in `ended`; then
// every line is gathered, with no call, and written with one fd_write; only then are the
// descriptors closed. A connection the guest closes has had its line written; a stop before
// that write finds connections the guest has not closed, which end as every connection open
// at a stop does (the host closes what the guest held), without a line. No call is added:
// this write is the one that used to come just before the next poll.
const ended = new Array<Conn>();

/** Ends the connections in `ended`: their lines out first, in one write, then their descriptors. */
function finish(): void {
  if (ended.length == 0) return;
  for (let i = 0; i < ended.length; i++) log(ended[i], ended[i].ending!);
  line.flush();
  for (let i = 0; i < ended.length; i++) {
    const c = ended[i];
    fd_close(c.client);
    if (c.upstream >= 0) fd_close(<u32>c.upstream);
    if (c.up !== null) givePipe(c.up!.pipe, c.up!.inPipe == 0);
    if (c.down !== null) givePipe(c.down!.pipe, c.down!.inPipe == 0);
  }
  finished += ended.length;
  ended.length = 0;
}

// --- accepting ----------------------------------------------------------------------------
const conns = new Array<Conn>();
let nextId: u32 = 1;
let finished: i64 = 0;
let acceptPausedUntil: u64 = 0;
let acceptFailing = false;

function acceptAll(listener: u32): void {
  while (maxClients < 0 || <i64>(nextId - 1) < maxClients) {
    const e = sock_accept(listener, NONBLOCK, ret);
    if (e == errno.AGAIN) return;
    if (e != 0) {
      // Out of descriptors while connections that failed at once hold theirs in `ended`: they
      // are let go, and accepting tried again (`ended` is empty the next time round).
      if ((e == errno.MFILE || e == errno.NFILE) && ended.length > 0) { finish(); continue; }
      if (!acceptFailing) process.stderr.write("proxy: accept: " + errno.name(e) + "; pausing accepts for 100 ms at a time\n");
      acceptFailing = true;
      acceptPausedUntil = t + ACCEPT_PAUSE_NS;
      return;
    }
    if (acceptFailing) process.stderr.write("proxy: accepting again\n");
    acceptFailing = false;
    const c = new Conn(load<u32>(ret), nextId++);
    if (!dial(c)) ended.push(c);
    else conns.push(c);
  }
}

// --- the loop -----------------------------------------------------------------------------
let capacity = 0;
let subs: usize = 0, events: usize = 0;

@inline function subscribe(s: usize, tag: u64, type: u8, fd: u32): usize {
  store<u64>(s, tag);
  store<u8>(s, type, 8);
  store<u32>(s, fd, 16);
  return s + SUB;
}

while (maxClients < 0 || finished < maxClients || conns.length > 0) {
  const most = listeners + conns.length * 4 + 1;
  if (most > capacity) {
    capacity = most * 2;
    if (subs != 0) { heap.free(subs); heap.free(events); }
    subs = heap.alloc(capacity * SUB);
    events = heap.alloc(capacity * EVENT);
  }
  memory.fill(subs, 0, most * SUB);
  let s = subs;
  if (acceptPausedUntil != 0 && t >= acceptPausedUntil) acceptPausedUntil = 0;
  const accepting = (maxClients < 0 || <i64>(nextId - 1) < maxClients) && acceptPausedUntil == 0;
  if (accepting) for (let i = 0; i < listeners; i++) s = subscribe(s, LISTENER_TAG | <u64>(3 + i), TYPE_READ, 3 + i);
  for (let i = 0; i < conns.length; i++) {
    const c = conns[i], tag = <u64>i << 2;
    if (c.connecting) { s = subscribe(s, tag | UP_WRITE, TYPE_WRITE, <u32>c.upstream); continue; }
    const up = c.up!, down = c.down!;
    if (up.wantsRead) s = subscribe(s, tag | UP_READ, TYPE_READ, up.src);
    if (up.wantsWrite) s = subscribe(s, tag | UP_WRITE, TYPE_WRITE, up.dst);
    if (down.wantsRead) s = subscribe(s, tag | DOWN_READ, TYPE_READ, down.src);
    if (down.wantsWrite) s = subscribe(s, tag | DOWN_WRITE, TYPE_WRITE, down.dst);
  }
  store<u64>(s, CLOCK_TAG);
  store<u8>(s, TYPE_CLOCK, 8);
  store<u32>(s, 1, 16);
  store<u64>(s, acceptPausedUntil != 0 ? ACCEPT_PAUSE_NS : TICK_NS, 24);
  s += SUB;
  const n = <u32>((s - subs) / SUB);

  const e = poll_oneoff(subs, events, n, ret);
  if (e != 0) { process.stderr.write("proxy: poll_oneoff: " + errno.name(e) + "\n"); process.exit(1); }
  const got = load<u32>(ret);
  t = now();
  if (conns.length == 0 && got == 1 && (load<u64>(events) & CLOCK_TAG) != 0) releasePipes(); // idle for a tick
  for (let i: u32 = 0; i < got; i++) {
    const tag = load<u64>(events + i * EVENT);
    if (tag & LISTENER_TAG) { acceptAll(<u32>(tag & 0xffffffff)); continue; }
    if (tag & CLOCK_TAG) continue;
    const c = conns[<i32>(tag >> 2)];
    const which = tag & 3;
    if (c.connecting) {
      const ev = events + i * EVENT;
      const clean = load<u16>(ev, 8) == 0 && (load<u16>(ev, 24) & HANGUP) == 0;
      if (!connected(c, clean)) continue; // ending is set: closed below
    } else if (which == UP_READ || which == UP_WRITE) c.up!.ready = true;
    else c.down!.ready = true;
  }

  // Kept connections are compacted in place (as send_file.ts): no garbage per wakeup.
  let kept = 0;
  for (let i = 0; i < conns.length; i++) {
    const c = conns[i];
    if (c.ending === null && serve(c, t)) conns[kept++] = c;
    else ended.push(c);
  }
  conns.length = kept;
  finish();
}
