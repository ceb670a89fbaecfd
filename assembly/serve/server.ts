// The one place that talks to sockets: a poll_oneoff loop over the listeners, the stop
// descriptor and every connection, all non-blocking, as the seed server (guests/send_file.ts).
//
// A connection is in one of three states:
//   READ    waiting for a request head (idle between requests, or part of a head read);
//   SEND    a response is going out: the head, then its segments (sendfile for file bytes);
//   LINGER  the server is done and has shut its side down; what the client still sends is
//           read and dropped until it closes, so that closing never resets the connection
//           under a response it has not read yet (tcp(7); nginx's lingering_close).
// Pipelined requests are answered in order: a request is parsed only once the response
// before it is sent. Buffers (a head buffer and a response) are taken from pools while a
// connection needs them, so an idle keep-alive connection holds none and a busy server
// allocates nothing per request.
import {
  poll_oneoff, sock_recv, sock_send, sock_shutdown, fd_close, fd_fdstat_set_flags,
} from "bindings/wasi_snapshot_preview1";
import { sock_accept } from "../wasi/sock";
import { sendfile, sock_cork, errno, Offset } from "../zerocopy";
import * as raw from "../zerocopy/bindings";
import { Request, MAX_HEAD, Method, emptyLines, headEnd, rescanFrom, parse, H } from "./parser";
import { Response, respond, CORK_NONE, CORK_START } from "./response";
import { newTurn } from "./files";
import { tick, monoNow } from "./clock";
import * as log from "./log";
import * as opt from "./options";

const NONBLOCK: u16 = 4;
const SHUT_WR: u8 = 2;
const TYPE_CLOCK: u8 = 0, TYPE_READ: u8 = 1, TYPE_WRITE: u8 = 2;
const SUB = 48, EVENT = 32;
const LISTENER_TAG: u64 = 0x1_0000_0000;
const STOP_TAG: u64 = 0x2_0000_0000;
const CLOCK_TAG: u64 = 0x4_0000_0000;
/** How long a closing connection waits for its client to close (nginx's lingering_timeout). */
const LINGER_NS: u64 = 5_000_000_000;
/** The same once a graceful stop began: the host's grace period is short. */
const STOP_LINGER_NS: u64 = 1_000_000_000;
const ACCEPT_PAUSE_NS: u64 = 100_000_000;
/** At most this many accepts per wakeup, so that a flood of connections cannot starve the others. */
const ACCEPT_BATCH = 64;

const enum State { READ = 0, SEND = 1, LINGER = 2 }

/** A connection's head buffer and its parsed request, held while it has unprocessed bytes. */
@final class Input {
  readonly buf: usize = heap.alloc(MAX_HEAD);
  len: u32 = 0;
  /** Where headEnd looks next. */
  scanned: u32 = 0;
  /** The length of the request being answered (its head), dropped once answered. */
  headLen: u32 = 0;
  readonly req: Request = new Request();
}

@final class Conn {
  fd: u32 = 0;
  state: State = State.READ;
  input: Input | null = null;
  res: Response | null = null;
  /** When the current wait began: accept, the end of the last response, the first byte of a head, the last byte sent, the shutdown. */
  since: u64 = 0;
  served: u32 = 0;
  /** poll_oneoff reported it; for a READ connection, after the turn's reads: it has bytes to answer. */
  ready: bool = false;
  /** The client closed or failed while being read: closed without an answer. */
  gone: bool = false;
  corked: bool = false;
  /** The client's address as the log shows it ("127.0.0.1", "::1"). */
  readonly peer: StaticArray<u8> = new StaticArray<u8>(64);
  peerLen: u32 = 0;
}

const conns = new Array<Conn>();
const freeConns = new Array<Conn>();
const freeInputs = new Array<Input>();
const freeResponses = new Array<Response>();
const ret = memory.data(16);
const iov = memory.data(16);
const offset = new Offset(0);
let stopping = false;
let listening = true;
let acceptPausedUntil: u64 = 0;
let acceptFailing = false;

function takeInput(): Input {
  return freeInputs.length > 0 ? freeInputs.pop() : new Input();
}

function releaseInput(c: Conn): void {
  const i = c.input;
  if (i === null) return;
  i.len = 0; i.scanned = 0; i.headLen = 0;
  freeInputs.push(i);
  c.input = null;
}

function releaseResponse(c: Conn): void {
  const r = c.res;
  if (r === null) return;
  r.release();
  freeResponses.push(r);
  c.res = null;
}

/** "a.b.c.d:port" or "[v6]:port" from sock_peername, kept without the port and brackets. */
function readPeer(c: Conn): void {
  const p = changetype<usize>(c.peer);
  c.peerLen = 0;
  if (opt.quiet || raw.sock_peername(c.fd, p, 64, ret) != 0) return;
  let n = load<u32>(ret);
  while (n > 0 && load<u8>(p + n - 1) != 0x3a) n--; // the last ":" precedes the port
  if (n > 0) n--;
  if (n >= 2 && load<u8>(p) == 0x5b && load<u8>(p + n - 1) == 0x5d) { memory.copy(p, p + 1, n - 2); n -= 2; }
  c.peerLen = n;
}

function acceptAll(listener: u32): void {
  for (let k = 0; k < ACCEPT_BATCH; k++) {
    const e = sock_accept(listener, NONBLOCK, ret);
    if (e == errno.AGAIN) return;
    if (e != 0) {
      // EMFILE and kin: the connection stays queued and the listener readable; pause rather
      // than spin on it (as the seed server).
      if (!acceptFailing) log.error("accept: " + errno.name(e) + "; pausing accepts for 100 ms at a time");
      acceptFailing = true;
      acceptPausedUntil = monoNow + ACCEPT_PAUSE_NS;
      return;
    }
    if (acceptFailing) log.error("accepting again");
    acceptFailing = false;
    const c = freeConns.length > 0 ? freeConns.pop() : new Conn();
    c.fd = load<u32>(ret);
    c.state = State.READ;
    c.since = monoNow;
    c.served = 0;
    c.ready = true; // try to read at once: the request often arrives with the connection
    c.gone = false;
    c.corked = false;
    readPeer(c);
    conns.push(c);
  }
}

/** Closes the connection and returns what it held to the pools. */
function closeConn(c: Conn): void {
  releaseResponse(c);
  releaseInput(c);
  fd_close(c.fd);
  freeConns.push(c);
}

/** The request line of the current request, for the log: [start, end of its first line). */
function logLine(c: Conn, res: Response): void {
  const inp = c.input;
  if (!log.enabled || inp === null) return;
  const r = inp.req, base = inp.buf;
  let le = r.start;
  const stop = r.end > 0 ? r.end : inp.len;
  while (le < stop && load<u8>(base + le) != 0x0d && load<u8>(base + le) != 0x0a) le++;
  let refS: u32 = 0, refE: u32 = 0, uaS: u32 = 0, uaE: u32 = 0;
  let k = r.find(H.REFERER);
  if (k >= 0) { refS = r.valueStart(k); refE = r.valueEnd(k); }
  k = r.find(H.USER_AGENT);
  if (k >= 0) { uaS = r.valueStart(k); uaE = r.valueEnd(k); }
  log.access(changetype<usize>(c.peer), c.peerLen, base, r.start, le, res.status, res.bodySent, refS, refE, uaS, uaE);
}

/** At most this many memory segments go in one send (a head and a body, or multipart parts). */
const IOV_MAX = 8;
const iovs = memory.data(8 * IOV_MAX);

/**
 * Sends what the socket takes of the response. 1: all sent; 0: wait for POLLOUT, because the
 * socket is full or because a file range sent opt.sendfileChunk bytes and yields to the other
 * connections (a socket with room is reported at once); -1: the connection failed.
 * Consecutive memory segments leave in one send (a head and a small body: one host call). A
 * short count means the socket buffer is full, so the next call would only say EAGAIN: it
 * waits instead.
 */
function pump(c: Conn): i32 {
  const res = c.res!;
  if (res.cork != CORK_NONE && !c.corked) { sock_cork(c.fd, true); c.corked = true; }
  while (res.cur < res.nseg) {
    const i = res.cur;
    let n: i64, ask: u64;
    if (unchecked(res.kind[i]) == 0) {
      let k = 0;
      ask = 0;
      for (let j = i; j < res.nseg && k < IOV_MAX && unchecked(res.kind[j]) == 0; j++, k++) {
        const left = unchecked(res.left[j]);
        store<u32>(iovs + 8 * k, <u32>unchecked(res.pos[j]));
        store<u32>(iovs + 8 * k, <u32>left, 4);
        ask += left;
      }
      const e = sock_send(c.fd, iovs, k, 0, ret);
      n = e == 0 ? <i64>load<u32>(ret) : -(<i64>e);
    } else {
      const left = unchecked(res.left[i]);
      ask = left < opt.sendfileChunk ? left : opt.sendfileChunk;
      offset.value = <i64>unchecked(res.pos[i]);
      n = sendfile(c.fd, <u32>res.file!.fd, offset, ask);
      if (n == 0) return -1; // the file ended early: it shrank under us
      // File bytes are queued behind the head: the cork has done its work (response.ts, CORK_ABOVE).
      if (n > 0 && res.cork == CORK_START) { sock_cork(c.fd, false); c.corked = false; res.cork = CORK_NONE; }
    }
    if (n == -(<i64>errno.AGAIN)) return 0;
    if (n <= 0) return -1;
    c.since = monoNow;
    res.sent += <u64>n;
    // Advance over the segments the count covers.
    let moved = <u64>n;
    while (moved > 0) {
      const j = res.cur;
      const left = unchecked(res.left[j]);
      const step = moved < left ? moved : left;
      unchecked(res.pos[j] += step);
      unchecked(res.left[j] = left - step);
      moved -= step;
      if (step == left) res.cur++;
    }
    if (<u64>n < ask || res.cur == i) return 0; // short, or a chunk of a longer file range
  }
  if (c.corked) { sock_cork(c.fd, false); c.corked = false; }
  return 1;
}

/** Shuts our side down and waits for the client to close (LINGER); false if that failed. */
function linger(c: Conn): bool {
  releaseResponse(c);
  releaseInput(c);
  if (sock_shutdown(c.fd, SHUT_WR) != 0) return false;
  c.state = State.LINGER;
  c.since = monoNow;
  return true;
}

/**
 * After the last byte of a response: logs it and drops its request from the buffer. False
 * when the connection is not to be kept (the response said close, or a stop began).
 */
function done(c: Conn): bool {
  const res = c.res!;
  logLine(c, res);
  const keep = res.keepAlive && !stopping;
  releaseResponse(c);
  if (!keep) return false;
  const inp = c.input!;
  const rest = inp.len - inp.headLen;
  if (rest > 0) memory.copy(inp.buf, inp.buf + inp.headLen, rest);
  inp.len = rest;
  inp.scanned = 0;
  inp.headLen = 0;
  c.served++;
  c.state = State.READ;
  c.since = monoNow;
  return true;
}

/** A response that waited for the socket is out: on to the next request, or close. */
function completed(c: Conn): bool {
  return done(c) ? answer(c) : linger(c);
}

/**
 * Answers the requests the connection's buffer holds, in order, as far as the socket takes
 * them; false when the connection is to be closed now.
 */
function answer(c: Conn): bool {
  while (true) {
    const inp = c.input;
    if (inp === null) return true;
    const skip = emptyLines(inp.buf, inp.len);
    if (skip > 0) {
      memory.copy(inp.buf, inp.buf + skip, inp.len - skip);
      inp.len -= skip;
      inp.scanned = 0;
    }
    if (inp.len == 0) { releaseInput(c); return true; }
    const r = inp.req;
    const end = headEnd(inp.buf, inp.scanned, inp.len);
    if (end < 0) {
      if (inp.len < MAX_HEAD) { inp.scanned = rescanFrom(inp.len); return true; }
      // No end within 8 KiB: 414 if even the request line did not end, else 431.
      let lf = false;
      for (let i: u32 = 0; i < inp.len && !lf; i++) lf = load<u8>(inp.buf + i) == 0x0a;
      tooLarge(r, inp.len, lf ? 431 : 414);
      inp.headLen = inp.len;
    } else {
      parse(r, inp.buf, <u32>end);
      inp.headLen = <u32>end;
    }
    if (stopping) r.keepAlive = false;
    const res = freeResponses.length > 0 ? freeResponses.pop() : new Response();
    c.res = res;
    respond(res, r, inp.buf);
    if (res.abort) return false;
    c.state = State.SEND;
    const p = pump(c);
    if (p < 0) { logLine(c, res); return false; }
    if (p == 0) return true;
    if (!done(c)) return linger(c);
  }
}

/**
 * Marks `r` as a head that was never parsed (too large, or not finished in time): every field
 * is set, since the Request is reused and one left from an earlier request (a HEAD method)
 * would change the answer.
 */
function tooLarge(r: Request, len: u32, status: u16): void {
  r.error = status;
  r.method = Method.OTHER;
  r.keepAlive = false;
  r.count = 0;
  r.start = 0;
  r.end = len;
  r.minor = 1;
}

/**
 * Reads what arrived on a connection waiting for a request: 1 when it has bytes to answer,
 * 0 when nothing came, -1 when the client closed or failed (nothing to answer then).
 */
function receive(c: Conn): i32 {
  if (c.input === null) c.input = takeInput();
  const inp = c.input!;
  const room = MAX_HEAD - inp.len;
  if (room == 0) return 1;
  store<u32>(iov, <u32>(inp.buf + inp.len));
  store<u32>(iov, room, 4);
  const e = sock_recv(c.fd, iov, 1, 0, ret, ret + 4);
  if (e == errno.AGAIN) {
    if (inp.len == 0) releaseInput(c);
    return 0;
  }
  const n = load<u32>(ret);
  if (e != 0 || n == 0) return -1;
  if (inp.len == 0) c.since = monoNow; // the head timeout runs from its first byte
  inp.len += n;
  return 1;
}

/** Reads and drops what a lingering client sends; false once it closed. */
function drain(c: Conn): bool {
  const scratch = memory.data(4096);
  store<u32>(iov, <u32>scratch);
  store<u32>(iov, 4096, 4);
  const e = sock_recv(c.fd, iov, 1, 0, ret, ret + 4);
  if (e == errno.AGAIN) return true;
  return e == 0 && load<u32>(ret) != 0;
}

/**
 * Runs one step of a connection that poll reported ready (a READ one: that receive() read
 * bytes for); false when it is to be closed.
 */
function step(c: Conn): bool {
  if (c.state == State.READ) return answer(c);
  if (c.state == State.LINGER) return drain(c);
  const p = pump(c);
  if (p < 0) { logLine(c, c.res!); return false; }
  if (p == 0) return true;
  return completed(c);
}

/** The deadline of a connection's current wait. */
function deadline(c: Conn): u64 {
  if (c.state == State.SEND) return c.since + opt.sendTimeoutNs;
  if (c.state == State.LINGER) return c.since + (stopping ? STOP_LINGER_NS : LINGER_NS);
  const partial = c.input !== null && c.input!.len > 0;
  return c.since + (partial || c.served == 0 ? opt.headerTimeoutNs : opt.keepaliveTimeoutNs);
}

/** A connection whose wait ran out: an unfinished head gets 408, the rest just close. */
function expire(c: Conn): void {
  if (c.state == State.READ && c.input !== null && c.input!.len > 0) {
    const inp = c.input!;
    tooLarge(inp.req, inp.len, 408);
    inp.headLen = inp.len;
    const res = freeResponses.length > 0 ? freeResponses.pop() : new Response();
    c.res = res;
    respond(res, inp.req, inp.buf);
    // One try: a client that sends no head in time is not waited for again.
    if (!res.abort && pump(c) == 1) logLine(c, res);
  } else if (c.state == State.SEND) {
    logLine(c, c.res!);
  }
}

function beginStop(): void {
  stopping = true;
  // Stop accepting: the listeners are closed here (the host keeps its own until the end).
  for (let i: u32 = 0; i < opt.listeners; i++) fd_close(3 + i);
  listening = false;
  // Idle connections go at once; the others once their response is out.
  let kept = 0;
  for (let i = 0; i < conns.length; i++) {
    const c = conns[i];
    if (c.state == State.READ && (c.input === null || c.input!.len == 0)) closeConn(c);
    else conns[kept++] = c;
  }
  conns.length = kept;
}

let capacity = 0;
let subs: usize = 0, events: usize = 0;

/** Makes the listeners non-blocking, so that accepting stops at EAGAIN; false with a message if that fails. */
export function prepareListeners(): bool {
  for (let i: u32 = 0; i < opt.listeners; i++) {
    const e = fd_fdstat_set_flags(3 + i, NONBLOCK);
    if (e != 0) { log.error("listener " + (3 + i).toString() + ": " + errno.name(e)); return false; }
  }
  return true;
}

let stopWatched = false;

export function serve(): void {
  stopWatched = opt.stopFd >= 0;
  tick();
  // The loop's body is a function of its own: V8 optimizes a wasm function on its calls, never
  // a loop already running, so a loop in this function would run unoptimized for ever.
  while (!stopping || conns.length > 0) turn();
  log.flush();
}

/** One turn: wait for readiness, accept, read every connection ready to be read, then answer. */
function turn(): void {
  log.flush();
  const accepting = listening && acceptPausedUntil == 0;
  const n = (accepting ? <i32>opt.listeners : 0) + (stopWatched ? 1 : 0) + conns.length + 1;
  if (n > capacity) {
    capacity = n * 2;
    if (subs != 0) { heap.free(subs); heap.free(events); }
    subs = heap.alloc(capacity * SUB);
    events = heap.alloc(capacity * EVENT);
  }
  let s = subs;
  if (accepting) {
    for (let i: u32 = 0; i < opt.listeners; i++, s += SUB) {
      store<u64>(s, LISTENER_TAG | <u64>(3 + i));
      store<u8>(s, TYPE_READ, 8);
      store<u32>(s, 3 + i, 16);
    }
  }
  if (stopWatched) {
    store<u64>(s, STOP_TAG);
    store<u8>(s, TYPE_READ, 8);
    store<u32>(s, <u32>opt.stopFd, 16);
    s += SUB;
  }
  // Every connection waits for one direction; the clock for the earliest deadline.
  let wake: u64 = acceptPausedUntil != 0 ? acceptPausedUntil : monoNow + 3_600_000_000_000;
  for (let i = 0; i < conns.length; i++, s += SUB) {
    const c = unchecked(conns[i]);
    store<u64>(s, <u64>i);
    store<u8>(s, c.state == State.SEND ? TYPE_WRITE : TYPE_READ, 8);
    store<u32>(s, c.fd, 16);
    const d = deadline(c);
    if (d < wake) wake = d;
  }
  store<u64>(s, CLOCK_TAG);
  store<u8>(s, TYPE_CLOCK, 8);
  store<u32>(s, 1, 16); // monotonic
  store<u64>(s, wake > monoNow ? wake - monoNow : 0, 24);
  store<u64>(s, 0, 32); // precision
  store<u16>(s, 0, 40); // relative

  const e = poll_oneoff(subs, events, n, ret);
  if (e != 0) { log.error("poll_oneoff: " + errno.name(e)); process.exit(1); }
  tick();
  const got = load<u32>(ret);
  for (let i: u32 = 0; i < got; i++) {
    const tag = load<u64>(events + i * EVENT);
    if (tag & LISTENER_TAG) { if (listening) acceptAll(<u32>(tag & 0xffffffff)); }
    else if (tag & STOP_TAG) { stopWatched = false; beginStop(); }
    else if (!(tag & CLOCK_TAG) && <i32>tag < conns.length) unchecked(conns[<i32>tag]).ready = true;
  }
  if (acceptPausedUntil != 0 && monoNow >= acceptPausedUntil) acceptPausedUntil = 0;

  // First read every connection that has a request coming, then answer them all: a file is
  // then checked once for all the requests of the turn that name it (files.ts).
  for (let i = 0; i < conns.length; i++) {
    const c = unchecked(conns[i]);
    if (!c.ready || c.state != State.READ) continue;
    const r = receive(c);
    c.ready = r > 0;
    c.gone = r < 0;
  }
  newTurn();

  // Answer what is ready and expire what waited too long. A closed connection's place takes
  // the last one (not yet looked at in this pass), so that the others keep theirs and their
  // subscriptions stay the same from one poll_oneoff to the next (a host may then skip them).
  for (let i = 0; i < conns.length;) {
    const c = unchecked(conns[i]);
    let open = !c.gone;
    if (open && c.ready) {
      c.ready = false;
      open = step(c);
    }
    if (open && monoNow >= deadline(c)) {
      expire(c);
      open = false;
    }
    if (open) { i++; continue; }
    closeConn(c);
    const last = conns.pop();
    if (i < conns.length) unchecked(conns[i] = last);
  }
}
