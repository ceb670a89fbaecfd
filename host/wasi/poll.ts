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
/**
 * A guest blocked here must still see Sandbox.stop (which guard.ts checks only between
 * calls): long waits are cut into slices of this length, with the stop flag read after each.
 */
const STOP_SLICE_NS = 100_000_000n;

const clockNow = libc.keptBuffer(16);
const timeout = Buffer.alloc(16);
const count = libc.keptBuffer(4);
/** False once epoll_pwait2 answered ENOSYS (Linux before 5.11). */
let pwait2 = true;

// Per-call scratch, shared by every guest of this thread (calls never overlap), grown to the
// largest call seen: events answered at once in order; ready subscriptions, with their nbytes
// and flags by subscription index.
let work = new Int32Array(64);
let nowIdx = new Int32Array(64), nowErr = new Uint16Array(64), nowBytes = new Float64Array(64);
let readyIdx = new Int32Array(64), readyBytes = new Float64Array(64), readyFlags = new Uint16Array(64);
let epollEvents = Buffer.alloc(64 * libc.EPOLL_EVENT_SIZE);
const clockIdx: number[] = [], clockId: number[] = [], clockDeadline: bigint[] = [], fired: number[] = [];
const sets = new WeakMap<FdTable, PollSet>();

function grow(n: number): void {
  if (work.length < n) work = new Int32Array(Math.max(n, 2 * work.length));
  if (nowIdx.length >= n) return;
  const cap = Math.max(n, 2 * nowIdx.length);
  nowIdx = new Int32Array(cap); nowErr = new Uint16Array(cap); nowBytes = new Float64Array(cap);
  readyIdx = new Int32Array(cap); readyBytes = new Float64Array(cap); readyFlags = new Uint16Array(cap);
}

/** Waits for the registered descriptors, at most `wait` ns (null: without limit); returns epoll's count. */
function epollWait(set: PollSet, wait: bigint | null): number {
  const max = Math.max(set.live, 1);
  if (epollEvents.length < max * libc.EPOLL_EVENT_SIZE) epollEvents = Buffer.alloc(2 * max * libc.EPOLL_EVENT_SIZE);
  if (wait !== null) {
    timeout.writeBigInt64LE(wait / 1_000_000_000n, 0);
    timeout.writeBigInt64LE(wait % 1_000_000_000n, 8);
  }
  if (pwait2) {
    const r = libc.epoll_pwait2(set.epfd, epollEvents, max, wait === null ? null : timeout);
    if (r !== -ENOSYS) return r;
    pwait2 = false;
  }
  // epoll_wait(2) has milliseconds: round up, so that a clock is never reported early.
  const ms = wait === null ? -1 : Number((wait + 999_999n) / 1_000_000n);
  return libc.epoll_wait(set.epfd, epollEvents, max, Math.min(ms, 0x7fffffff));
}

function now(clock: number): bigint {
  if (libc.clockGettimeAt(clock, clockNow.at) < 0) fail(errno.inval);
  return clockNow.buf.readBigInt64LE(0) * 1_000_000_000n + clockNow.buf.readBigInt64LE(8);
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

/** Writes the events for the subscriptions at `inPtr` into `outPtr`; returns how many. */
export function poll_oneoff(ctx: Context, inPtr: number, outPtr: number, n: number): number {
  if (n === 0) fail(errno.inval);
  if (n > MIN_LIMIT && n > openFilesLimit()) fail(errno.inval);
  // Both ranges are checked before anything is read; nothing below can grow memory, so the
  // view stays valid for the whole call.
  ctx.mem.check(outPtr, n * EVENT.SIZE);
  const view = ctx.mem.bytes(inPtr, n * SIZE);
  const subs = Buffer.from(view.buffer, view.byteOffset, view.length);
  const set = pollSet(ctx.fds);
  set.reserve(n);
  grow(n + set.dirty.length + set.again.length);

  // What to decode: the entries that differ from the previous call's, those the table
  // invalidated, and last call's clocks and answered-at-once ones; entries past n are gone.
  let w = set.diff(subs, n, work, 0);
  for (const i of set.again) if (i < n) work[w++] = i;
  for (const i of set.dirty) if (i < n) work[w++] = i;
  for (let i = n; i < set.count; i++) set.release(i);
  set.dirty = [];
  set.count = n;
  const todo = work.subarray(0, w).sort();

  const again: number[] = [];
  let nNow = 0;
  clockIdx.length = clockId.length = clockDeadline.length = 0;
  const nowOf: (bigint | null)[] = [null, null];
  for (let k = 0; k < todo.length; k++) {
    const i = todo[k];
    if (k > 0 && i === todo[k - 1]) continue;
    set.release(i);
    subs.copy(set.cache, i * SIZE, i * SIZE, (i + 1) * SIZE);
    const s = i * SIZE;
    const type = subs[s + SUBSCRIPTION.TAG];
    let error = 0, nbytes = 0;
    if (type === EVENTTYPE.CLOCK) {
      const clock = subs.readUInt32LE(s + SUBSCRIPTION.CLOCK_ID);
      if (clock === CLOCK.REALTIME || clock === CLOCK.MONOTONIC) {
        const ns = subs.readBigUInt64LE(s + SUBSCRIPTION.CLOCK_TIMEOUT);
        const abs = (subs.readUInt16LE(s + SUBSCRIPTION.CLOCK_FLAGS) & SUBSCRIPTION_CLOCK_ABSTIME) !== 0;
        clockIdx.push(i);
        clockId.push(clock);
        clockDeadline.push(abs ? ns : (nowOf[clock] ??= now(clock)) + ns);
        set.kind[i] = Kind.Clock;
        again.push(i);
        continue;
      }
      error = errno.inval;
    } else if (type === EVENTTYPE.FD_READ || type === EVENTTYPE.FD_WRITE) {
      try {
        const direction = type === EVENTTYPE.FD_READ ? R.FD_READ : R.FD_WRITE;
        const entry = ctx.fds.getUnrevoked(subs.readUInt32LE(s + SUBSCRIPTION.FD), R.POLL_FD_READWRITE | direction);
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
    again.push(i);
    nowIdx[nNow] = i;
    nowErr[nNow] = error;
    nowBytes[nNow] = nbytes;
    nNow++;
  }
  set.again = again;
  set.settle();

  const stop = ctx.stop;
  let nReady = 0, nClocks = 0;
  // One pass at least, so that descriptors ready now are reported with the immediate events;
  // more only while nothing is ready.
  for (let pass = 0; (pass === 0 || nNow + nReady + nClocks === 0) && (clockIdx.length > 0 || set.live > 0); pass++) {
    // Wait no longer than the earliest clock; without clocks, until a descriptor is ready.
    let wait: bigint | null = nNow > 0 ? 0n : null;
    nowOf[0] = nowOf[1] = null;
    for (let c = 0; c < clockIdx.length; c++) {
      const left = clockDeadline[c] - (nowOf[clockId[c]] ??= now(clockId[c]));
      const l = left > 0n ? left : 0n;
      if (wait === null || l < wait) wait = l;
    }
    if (stop !== null && (wait === null || wait > STOP_SLICE_NS)) wait = STOP_SLICE_NS;
    const r = epollWait(set, wait);
    if (r !== -EINTR) check(r);
    if (stop !== null && stop[0] !== 0) throw new ProcExit(128 + stop[0]);
    for (let k = 0; k < r; k++) {
      const bits = epollEvents.readUInt32LE(k * libc.EPOLL_EVENT_SIZE);
      const at = k * libc.EPOLL_EVENT_SIZE + libc.EPOLL_DATA_OFFSET;
      const reg = set.regs.get(epollEvents.readUInt32LE(at) + epollEvents.readUInt32LE(at + 4) * 0x100000000);
      if (reg === undefined) continue;
      const hangup = (bits & (EPOLLHUP | EPOLLERR)) !== 0;
      for (const i of reg.subs) {
        const read = set.cache[i * SIZE + SUBSCRIPTION.TAG] === EVENTTYPE.FD_READ;
        if (!hangup && (bits & (read ? EPOLLIN : EPOLLOUT)) === 0) continue;
        let nbytes = 0;
        if (read && reg.fionread) {
          if (libc.ioctlAt(reg.entry.hostFd, FIONREAD, count.at) === 0) nbytes = count.view.getInt32(0, true);
          else reg.fionread = false; // a listening socket: EINVAL, every time
        }
        readyIdx[nReady++] = i;
        readyBytes[i] = nbytes;
        readyFlags[i] = hangup ? EVENT_FD_READWRITE_HANGUP : 0;
      }
    }
    nowOf[0] = nowOf[1] = null;
    for (let c = 0; c < clockIdx.length; c++) {
      if ((nowOf[clockId[c]] ??= now(clockId[c])) >= clockDeadline[c]) fired[nClocks++] = clockIdx[c];
    }
  }

  const total = nNow + nReady + nClocks;
  if (total === 0) return 0;
  readyIdx.subarray(0, nReady).sort(); // ready descriptors in subscription order
  ctx.mem.bytes(outPtr, total * EVENT.SIZE).fill(0);
  const out = ctx.mem.view(outPtr, total * EVENT.SIZE);
  let o = outPtr >>> 0;
  const put = (i: number, error: number, nbytes: number, flags: number): void => {
    const s = i * SIZE;
    out.setUint32(o + EVENT.USERDATA, set.cache.readUInt32LE(s), true);
    out.setUint32(o + EVENT.USERDATA + 4, set.cache.readUInt32LE(s + 4), true);
    out.setUint16(o + EVENT.ERROR, error, true);
    out.setUint8(o + EVENT.TYPE, set.cache[s + SUBSCRIPTION.TAG]);
    out.setUint32(o + EVENT.NBYTES, nbytes >>> 0, true);
    out.setUint32(o + EVENT.NBYTES + 4, Math.floor(nbytes / 0x100000000), true);
    out.setUint16(o + EVENT.FLAGS, flags, true);
    o += EVENT.SIZE;
  };
  for (let k = 0; k < nNow; k++) put(nowIdx[k], nowErr[k], nowBytes[k], 0);
  for (let k = 0; k < nReady; k++) put(readyIdx[k], 0, readyBytes[readyIdx[k]], readyFlags[readyIdx[k]]);
  for (let k = 0; k < nClocks; k++) put(fired[k], 0, 0, 0);
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
