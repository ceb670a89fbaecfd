// poll_oneoff: clock and fd_read / fd_write subscriptions. Descriptors are waited on through
// a persistent epoll set kept in step with the guest's subscriptions between calls
// (poll_set.ts), so a call costs what changed and what is ready, not every subscription.
//
// - Regular files, directories and virtual files are always ready (poll(2): "Regular files
//   shall always poll TRUE for reading and writing"); for reads on a file, nbytes is what
//   remains to end of file, as the witx suggests ("the number of bytes available"). So are
//   descriptors epoll refuses for want of poll support (EPERM), which poll(2) reports ready.
// - Pipes, sockets, terminals: nbytes is FIONREAD's count for reads; POLLHUP and POLLERR set
//   the `fd_readwrite_hangup` flag.
// - A subscription on a descriptor the guest does not hold is an event with error `badf`, not
//   a failure of the whole call (the witx: event.error is "an error that occurred while
//   processing the subscription request"; uvwasi answers the same; wasmtime fails the whole
//   call instead). Rights are checked leniently: only a right the guest itself dropped with
//   fd_fdstat_set_rights (poll_fd_readwrite, or fd_read / fd_write for the direction asked)
//   is `notcapable`, since path_open callers rarely ask for poll_fd_readwrite.
// - Clocks: realtime and monotonic, relative or absolute (subclockflags ABSTIME). The CPU-time
//   clocks cannot be waited on by a host that sleeps (they barely advance while it does; the
//   thread's never): their subscriptions are an event with error `inval`, as is an unknown id.
// - epoll_pwait2's timeout has nanoseconds, so a clock alone sleeps precisely (before Linux
//   5.11, epoll_wait's milliseconds, rounded up); the loop re-reads the clocks after each wake,
//   so a clock never fires early, even when realtime is stepped.
// - Events come in a fixed order: those answered at once, then ready descriptors, then clocks,
//   each in subscription order.
// - More subscriptions than the process may open descriptors (RLIMIT_NOFILE, but at least
//   1024 and at most 2^20) is `inval`, as poll(2) answers for nfds, checked before anything is
//   read: a guest must not make the host allocate in proportion to a count it chose (the
//   per-subscription state here is bounded by it, and no object is made per subscription).
import * as libc from '../native/libc.js';
import { openFilesLimit } from '../limits.js';
import { check, errno, fail, WasiError } from '../sandbox/errno.js';
import { ProcExit, type Context } from '../sandbox/context.js';
import type { FdEntry, FdTable } from '../sandbox/fd_table.js';
import { FILETYPE, R } from '../sandbox/rights.js';
import { CLOCK, EVENT, EVENT_FD_READWRITE_HANGUP, EVENTTYPE, SUBSCRIPTION, SUBSCRIPTION_CLOCK_ABSTIME } from './abi.js';
import { EPOLLERR, EPOLLHUP, EPOLLIN, EPOLLOUT, Kind, PollSet } from './poll_set.js';
import { statFd } from './stat.js';

const FIONREAD = 0x541b; // asm-generic ioctls, the same on x86-64 and arm64
const EINTR = 4, ENOSYS = 38;
/**
 * The count below which RLIMIT_NOFILE is not read (getrlimit costs ~1 us through koffi; 1024
 * is the usual soft limit): a process with a lower limit still lets a guest poll 1024, which
 * bounds the memory just as well. Above it the bound is openFilesLimit(), at most 2^20.
 */
const MIN_LIMIT = 1024;
const SIZE = SUBSCRIPTION.SIZE;
const NS = 1_000_000_000;
/**
 * A guest blocked here must still see Sandbox.stop (which guard.ts checks only between
 * calls): long waits are cut into slices of this length, with the stop flag read after each.
 */
const STOP_SLICE_NS = 100_000_000;
/** A u64 below 2^53 is exact as a number: its high half is below 2^21. */
const EXACT_HIGH = 0x200000;

const clockNow = libc.keptBuffer(16);
const timeout = Buffer.alloc(16);
const timeoutView = new DataView(timeout.buffer, timeout.byteOffset, timeout.length);
const count = libc.keptBuffer(4);
/** False once epoll_pwait2 answered ENOSYS (Linux before 5.11). */
let pwait2 = true;

// Per-call scratch, shared by every guest of this thread (calls never overlap), grown to the
// largest call seen: events answered at once in order; ready subscriptions, with their nbytes
// and flags by subscription index; clock subscriptions with their clock and deadline. Times
// are whole seconds and nanoseconds, two numbers: exact for any u64 of nanoseconds, where one
// number is exact only below 2^53 ns (104 days; realtime is past 2^60), and no BigInt is made
// per call.
let work = new Int32Array(64);
let nowIdx = new Int32Array(64), nowErr = new Uint16Array(64), nowBytes = new Float64Array(64);
let readyIdx = new Int32Array(64), readyBytes = new Float64Array(64), readyFlags = new Uint16Array(64);
let clockIdx = new Int32Array(64), clockId = new Uint8Array(64), fired = new Int32Array(64);
let deadlineSec = new Float64Array(64), deadlineNsec = new Float64Array(64);
let epollEvents = Buffer.alloc(64 * libc.EPOLL_EVENT_SIZE);
let epollView = new DataView(epollEvents.buffer, epollEvents.byteOffset, epollEvents.length);
/** The time on realtime (0) and monotonic (1), read at most once per pass (readClock). */
const nowSec = new Float64Array(2), nowNsec = new Float64Array(2), nowRead = new Uint8Array(2);
const sets = new WeakMap<FdTable, PollSet>();

function grow(n: number): void {
  if (work.length < n) work = new Int32Array(Math.max(n, 2 * work.length));
  if (nowIdx.length >= n) return;
  const cap = Math.max(n, 2 * nowIdx.length);
  nowIdx = new Int32Array(cap); nowErr = new Uint16Array(cap); nowBytes = new Float64Array(cap);
  readyIdx = new Int32Array(cap); readyBytes = new Float64Array(cap); readyFlags = new Uint16Array(cap);
  clockIdx = new Int32Array(cap); clockId = new Uint8Array(cap); fired = new Int32Array(cap);
  deadlineSec = new Float64Array(cap); deadlineNsec = new Float64Array(cap);
}

/** floor(ns / 1e9) for a whole number of ns: the quotient corrected where division rounded across a second. */
function secondsOf(ns: number): number {
  const sec = Math.floor(ns / NS), rest = ns - sec * NS;
  return rest < 0 ? sec - 1 : rest >= NS ? sec + 1 : sec;
}

/** Waits for the registered descriptors, at most `wait` ns (-1: without limit); returns epoll's count. */
function epollWait(set: PollSet, wait: number): number {
  const max = Math.max(set.live, 1);
  if (epollEvents.length < max * libc.EPOLL_EVENT_SIZE) {
    epollEvents = Buffer.alloc(2 * max * libc.EPOLL_EVENT_SIZE);
    epollView = new DataView(epollEvents.buffer, epollEvents.byteOffset, epollEvents.length);
  }
  if (wait >= 0) {
    // A wait past 2^53 ns (104 days) is not exact, and need not be: the clocks are read again
    // after it, so it ends no earlier than they are due.
    const sec = secondsOf(wait), nsec = Math.min(Math.max(wait - sec * NS, 0), NS - 1);
    timeoutView.setUint32(0, sec % 0x100000000, true);
    timeoutView.setUint32(4, Math.floor(sec / 0x100000000), true);
    timeoutView.setUint32(8, nsec, true);
    timeoutView.setUint32(12, 0, true);
  }
  if (pwait2) {
    const r = libc.epoll_pwait2(set.epfd, epollEvents, max, wait < 0 ? null : timeout);
    if (r !== -ENOSYS) return r;
    pwait2 = false;
  }
  // epoll_wait(2) has milliseconds: round up, so that a clock is never reported early.
  const ms = wait < 0 ? -1 : Math.min(Math.ceil(wait / 1_000_000), 0x7fffffff);
  return libc.epoll_wait(set.epfd, epollEvents, max, ms);
}

/** Reads `clock` (realtime or monotonic) into nowSec and nowNsec, unless this pass already did. */
function readClock(clock: number): void {
  if (nowRead[clock] !== 0) return;
  if (libc.clockGettimeAt(clock, clockNow.at) < 0) fail(errno.inval);
  const v = clockNow.view;
  nowSec[clock] = v.getInt32(4, true) * 0x100000000 + v.getUint32(0, true);
  nowNsec[clock] = v.getUint32(8, true);
  nowRead[clock] = 1;
}

/** Clock c's deadline from the subscription's timeout (u64 ns, at `at` in `dv`), absolute or from now. */
function setDeadline(c: number, dv: DataView, at: number, clock: number, abs: boolean): void {
  const lo = dv.getUint32(at, true), hi = dv.getUint32(at + 4, true);
  let sec: number, nsec: number;
  if (hi < EXACT_HIGH) {
    const ns = hi * 0x100000000 + lo;
    sec = secondsOf(ns);
    nsec = ns - sec * NS;
  } else {
    const ns = (BigInt(hi) << 32n) | BigInt(lo); // rare: realtime deadlines, waits past 104 days
    sec = Number(ns / 1_000_000_000n);
    nsec = Number(ns % 1_000_000_000n);
  }
  if (!abs) {
    readClock(clock);
    sec += nowSec[clock];
    nsec += nowNsec[clock];
    if (nsec >= NS) { sec += 1; nsec -= NS; }
  }
  deadlineSec[c] = sec;
  deadlineNsec[c] = nsec;
}

/** Bytes left to read from a regular file's position to its end. */
function fileRemaining(e: FdEntry): number {
  const pos = libc.lseek(e.hostFd, 0n, 1);
  const size = statFd(e.hostFd).size;
  return pos >= 0 && size > BigInt(pos) ? Number(size - BigInt(pos)) : 0;
}

function pollSet(fds: FdTable): PollSet {
  let set = sets.get(fds);
  if (set === undefined || fds.observer !== set) {
    set = new PollSet(fds);
    sets.set(fds, set);
  }
  return set;
}

/** Writes the event for subscription i (its userdata and type from the cache) at `o` in `out`. */
function putEvent(out: DataView, o: number, cache: DataView, i: number, error: number, nbytes: number, flags: number): void {
  const s = i * SIZE;
  out.setUint32(o + EVENT.USERDATA, cache.getUint32(s, true), true);
  out.setUint32(o + EVENT.USERDATA + 4, cache.getUint32(s + 4, true), true);
  out.setUint16(o + EVENT.ERROR, error, true);
  out.setUint8(o + EVENT.TYPE, cache.getUint8(s + SUBSCRIPTION.TAG));
  out.setUint32(o + EVENT.NBYTES, nbytes >>> 0, true);
  out.setUint32(o + EVENT.NBYTES + 4, Math.floor(nbytes / 0x100000000), true);
  out.setUint16(o + EVENT.FLAGS, flags, true);
}

/** Writes the events for the subscriptions at `inPtr` into `outPtr`; returns how many. */
export function poll_oneoff(ctx: Context, inPtr: number, outPtr: number, n: number): number {
  if (n === 0) fail(errno.inval);
  if (n > MIN_LIMIT && n > openFilesLimit()) fail(errno.inval);
  // Both ranges are checked before anything is read; nothing below can grow memory, so the
  // views stay valid for the whole call.
  ctx.mem.check(outPtr, n * EVENT.SIZE);
  const subs = ctx.mem.wholeBuffer(inPtr, n * SIZE);
  const dv = ctx.mem.view(inPtr, n * SIZE);
  const base = inPtr >>> 0;
  const set = pollSet(ctx.fds);
  set.reserve(n);
  grow(n + set.pendingCount);

  // What to decode: the entries that differ from the previous call's, those the table
  // invalidated, and last call's clocks and answered-at-once ones; entries past n are gone.
  let w = set.diff(subs, base, n, work, 0);
  w = set.pending(n, work, w);
  for (let i = n; i < set.count; i++) set.release(i);
  set.count = n;
  const todo = work.subarray(0, w).sort();

  let nNow = 0, nClockSubs = 0;
  nowRead[0] = nowRead[1] = 0;
  for (let k = 0; k < todo.length; k++) {
    const i = todo[k];
    if (k > 0 && i === todo[k - 1]) continue;
    set.release(i);
    subs.copy(set.cache, i * SIZE, base + i * SIZE, base + (i + 1) * SIZE);
    const s = base + i * SIZE;
    const type = dv.getUint8(s + SUBSCRIPTION.TAG);
    let error = 0, nbytes = 0;
    if (type === EVENTTYPE.CLOCK) {
      const clock = dv.getUint32(s + SUBSCRIPTION.CLOCK_ID, true);
      if (clock === CLOCK.REALTIME || clock === CLOCK.MONOTONIC) {
        const abs = (dv.getUint16(s + SUBSCRIPTION.CLOCK_FLAGS, true) & SUBSCRIPTION_CLOCK_ABSTIME) !== 0;
        setDeadline(nClockSubs, dv, s + SUBSCRIPTION.CLOCK_TIMEOUT, clock, abs);
        clockIdx[nClockSubs] = i;
        clockId[nClockSubs] = clock;
        nClockSubs++;
        set.kind[i] = Kind.Clock;
        set.keepAgain(i);
        continue;
      }
      error = errno.inval;
    } else if (type === EVENTTYPE.FD_READ || type === EVENTTYPE.FD_WRITE) {
      try {
        const direction = type === EVENTTYPE.FD_READ ? R.FD_READ : R.FD_WRITE;
        const entry = ctx.fds.getUnrevoked(dv.getUint32(s + SUBSCRIPTION.FD, true), R.POLL_FD_READWRITE | direction);
        if (entry.pending !== null) nbytes = entry.pending.length;
        else if (entry.hostFd < 0 || entry.filetype === FILETYPE.DIRECTORY) nbytes = 0;
        else if (entry.filetype === FILETYPE.REGULAR_FILE) nbytes = type === EVENTTYPE.FD_READ ? fileRemaining(entry) : 0;
        else if (set.watch(i, entry, type)) continue;
      } catch (e) {
        if (!(e instanceof WasiError)) throw e;
        error = e.errno;
      }
    } else {
      error = errno.inval;
    }
    set.kind[i] = Kind.Now; // answered at once, and decoded again next call
    set.keepAgain(i);
    nowIdx[nNow] = i;
    nowErr[nNow] = error;
    nowBytes[nNow] = nbytes;
    nNow++;
  }
  set.decoded();

  const stop = ctx.stop;
  let nReady = 0, nClocks = 0;
  // One pass at least, so that descriptors ready now are reported with the immediate events;
  // more only while nothing is ready.
  for (let pass = 0; (pass === 0 || nNow + nReady + nClocks === 0) && (nClockSubs > 0 || set.live > 0); pass++) {
    // Wait no longer than the earliest clock; without clocks, until a descriptor is ready.
    let wait = nNow > 0 ? 0 : -1;
    nowRead[0] = nowRead[1] = 0;
    for (let c = 0; c < nClockSubs; c++) {
      const id = clockId[c];
      readClock(id);
      // Exact while the deadline is within 104 days; past that, a wait a few ns off.
      const left = (deadlineSec[c] - nowSec[id]) * NS + (deadlineNsec[c] - nowNsec[id]);
      const l = left > 0 ? left : 0;
      if (wait < 0 || l < wait) wait = l;
    }
    if (stop !== null && (wait < 0 || wait > STOP_SLICE_NS)) wait = STOP_SLICE_NS;
    const r = epollWait(set, wait);
    if (r !== -EINTR) check(r);
    if (stop !== null && stop[0] !== 0) throw new ProcExit(128 + stop[0]);
    const ev = epollView;
    for (let k = 0; k < r; k++) {
      const bits = ev.getUint32(k * libc.EPOLL_EVENT_SIZE, true);
      const at = k * libc.EPOLL_EVENT_SIZE + libc.EPOLL_DATA_OFFSET;
      const slot = set.slotOfEvent(ev.getUint32(at, true), ev.getUint32(at + 4, true));
      if (slot < 0) continue;
      const hangup = (bits & (EPOLLHUP | EPOLLERR)) !== 0;
      for (let i = set.first[slot]; i >= 0; i = set.next[i]) {
        const read = set.cache[i * SIZE + SUBSCRIPTION.TAG] === EVENTTYPE.FD_READ;
        if (!hangup && (bits & (read ? EPOLLIN : EPOLLOUT)) === 0) continue;
        let nbytes = 0;
        if (read && set.regFionread[slot] !== 0) {
          if (libc.ioctlAt(set.regEntry[slot]!.hostFd, FIONREAD, count.at) === 0) nbytes = count.view.getInt32(0, true);
          else set.regFionread[slot] = 0; // a listening socket: EINVAL, every time
        }
        readyIdx[nReady++] = i;
        readyBytes[i] = nbytes;
        readyFlags[i] = hangup ? EVENT_FD_READWRITE_HANGUP : 0;
      }
    }
    nowRead[0] = nowRead[1] = 0;
    for (let c = 0; c < nClockSubs; c++) {
      const id = clockId[c];
      readClock(id);
      const sec = nowSec[id];
      if (sec > deadlineSec[c] || (sec === deadlineSec[c] && nowNsec[id] >= deadlineNsec[c])) fired[nClocks++] = clockIdx[c];
    }
  }

  const total = nNow + nReady + nClocks;
  if (total === 0) return 0;
  readyIdx.subarray(0, nReady).sort(); // ready descriptors in subscription order
  const o0 = outPtr >>> 0;
  ctx.mem.wholeBuffer(outPtr, total * EVENT.SIZE).fill(0, o0, o0 + total * EVENT.SIZE);
  const out = ctx.mem.view(outPtr, total * EVENT.SIZE), cache = set.cacheView;
  let o = o0;
  for (let k = 0; k < nNow; k++, o += EVENT.SIZE) putEvent(out, o, cache, nowIdx[k], nowErr[k], nowBytes[k], 0);
  for (let k = 0; k < nReady; k++, o += EVENT.SIZE) putEvent(out, o, cache, readyIdx[k], 0, readyBytes[readyIdx[k]], readyFlags[readyIdx[k]]);
  for (let k = 0; k < nClocks; k++, o += EVENT.SIZE) putEvent(out, o, cache, fired[k], 0, 0, 0);
  return total;
}
/**
 * proc_raise (deprecated in preview1). WASI's signal numbers are its own enum (witx `signal`:
 * none, hup, int, quit, ill, trap, abrt, bus, fpe, kill, usr1, segv, usr2, pipe, alrm, term,
 * chld, cont, stop, tstp, ttin, ttou, urg, xcpu, xfsz, vtalrm, prof, winch, poll, pwr, sys);
 * this table maps them onto Linux's numbers.
 *
 * What a raise means here: a signal whose default action ends a process ends the guest, with
 * the shell's status 128 + the Linux number: raise(abrt) exits 134, the status the CLI gives
 * a trap, and the status wasi-libc's own emulated raise(SIGABRT) leads to (it traps, never
 * calling proc_raise). The signals ignored by default, and the stop signals (a guest cannot
 * be stopped apart from its host), return success and do nothing. Signal 0 and numbers past
 * the enum are `inval`. (wasmtime traps, or answers `notsup` in its newest preview1.)
 */
export const WASI_SIGNAL_TO_LINUX = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17, 18, 19, 20, 21, 22, 23,
  24, 25, 26, 27, 28, 29, 30, 31] as const;
// Ignored by default: SIGCHLD, SIGCONT, SIGURG, SIGWINCH; stop signals: SIGSTOP, SIGTSTP,
// SIGTTIN, SIGTTOU (signal(7), "Standard signals").
const IGNORED = new Set([17, 18, 23, 28, 19, 20, 21, 22]);
/** The exit status a raise ends the guest with, or null when the signal does nothing. */
export function proc_raise_status(sig: number): number | null {
  if (sig === 0 || sig >= WASI_SIGNAL_TO_LINUX.length) fail(errno.inval);
  const linux = WASI_SIGNAL_TO_LINUX[sig];
  return IGNORED.has(linux) ? null : 128 + linux;
}
