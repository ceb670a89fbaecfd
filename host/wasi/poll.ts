// poll_oneoff: clock and fd_read / fd_write subscriptions, answered by one ppoll(2) call over
// every kernel descriptor subscribed, with the earliest clock as its timeout.
//
// - Regular files, directories and virtual files are always ready (poll(2): "Regular files
//   shall always poll TRUE for reading and writing"); for reads on a file, nbytes is what
//   remains to end of file, as the witx suggests ("the number of bytes available").
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
// - ppoll's timeout has nanoseconds, so a clock alone sleeps precisely; the loop re-reads the
//   clocks after each wake, so a clock never fires early, even when realtime is stepped.
import * as libc from '../native/libc.js';
import { check, errno, fail, WasiError } from '../sandbox/errno.js';
import { ProcExit, type Context } from '../sandbox/context.js';
import type { FdEntry } from '../sandbox/fd_table.js';
import { FILETYPE, R } from '../sandbox/rights.js';
import { CLOCK, EVENT, EVENT_FD_READWRITE_HANGUP, EVENTTYPE, SUBSCRIPTION, SUBSCRIPTION_CLOCK_ABSTIME } from './abi.js';
import { statFd } from './stat.js';

/** struct pollfd's event bits (asm-generic/poll.h). */
const POLLIN = 0x1, POLLOUT = 0x4, POLLERR = 0x8, POLLHUP = 0x10, POLLNVAL = 0x20;
const FIONREAD = 0x541b; // asm-generic ioctls, the same on x86-64 and arm64
const EINTR = 4;
/**
 * A guest blocked here must still see Sandbox.stop (which guard.ts checks only between
 * calls): long waits are cut into slices of this length, with the stop flag read after each.
 */
const STOP_SLICE_NS = 100_000_000n;

const clockNow = Buffer.alloc(16);
const timeout = Buffer.alloc(16);
const count = Buffer.alloc(4);
/** The pollfd array and its views, reused across calls and grown on demand (a slot per fd subscription). */
let pollfds = new Int32Array(2 * 64);
let pollfds16 = new Int16Array(pollfds.buffer);
let pollfdBytes = new Uint8Array(pollfds.buffer);

// Userdata travels as two u32 halves: a guest with thousands of subscriptions per call pays
// for every BigInt made per subscription, and the host never interprets the value.
interface Event { lo: number; hi: number; error: number; type: number; nbytes: bigint; flags: number }
interface Clock { lo: number; hi: number; deadline: bigint; clock: number }
interface Polled { lo: number; hi: number; type: number; entry: FdEntry }

function now(clock: number): bigint {
  if (libc.clock_gettime(clock, clockNow) < 0) fail(errno.inval);
  return clockNow.readBigInt64LE(0) * 1_000_000_000n + clockNow.readBigInt64LE(8);
}

/** Bytes left to read from a regular file's position to its end. */
function fileRemaining(e: FdEntry): bigint {
  const pos = libc.lseek(e.hostFd, 0n, 1);
  const size = statFd(e.hostFd).size;
  return pos >= 0 && size > BigInt(pos) ? size - BigInt(pos) : 0n;
}

/** struct pollfd { int fd; short events, revents; }: 2 int32 slots each. */
function growPollfds(n: number): void {
  if (pollfds.length >= 2 * n) return;
  pollfds = new Int32Array(2 * Math.max(n, pollfds.length));
  pollfds16 = new Int16Array(pollfds.buffer);
  pollfdBytes = new Uint8Array(pollfds.buffer);
}

/** Writes the events for the subscriptions at `inPtr` into `outPtr`; returns how many. */
export function poll_oneoff(ctx: Context, inPtr: number, outPtr: number, n: number): number {
  if (n === 0) fail(errno.inval);
  // Both ranges are checked before anything is read; nothing below can grow memory, so the
  // view stays valid for the whole call. Offsets into it are absolute guest addresses.
  ctx.mem.check(outPtr, n * EVENT.SIZE);
  const subs = ctx.mem.view(inPtr, n * SUBSCRIPTION.SIZE);
  inPtr >>>= 0;

  const events: Event[] = [];
  const clocks: Clock[] = [];
  const polled: Polled[] = [];
  for (let i = 0; i < n; i++) {
    const s = inPtr + i * SUBSCRIPTION.SIZE;
    const lo = subs.getUint32(s + SUBSCRIPTION.USERDATA, true), hi = subs.getUint32(s + SUBSCRIPTION.USERDATA + 4, true);
    const type = subs.getUint8(s + SUBSCRIPTION.TAG);
    let error = 0, nbytes = 0n;
    if (type === EVENTTYPE.CLOCK) {
      const clock = subs.getUint32(s + SUBSCRIPTION.CLOCK_ID, true);
      const ns = subs.getBigUint64(s + SUBSCRIPTION.CLOCK_TIMEOUT, true);
      const flags = subs.getUint16(s + SUBSCRIPTION.CLOCK_FLAGS, true);
      if (clock === CLOCK.REALTIME || clock === CLOCK.MONOTONIC) {
        clocks.push({ lo, hi, clock, deadline: flags & SUBSCRIPTION_CLOCK_ABSTIME ? ns : now(clock) + ns });
        continue;
      }
      error = errno.inval;
    } else if (type === EVENTTYPE.FD_READ || type === EVENTTYPE.FD_WRITE) {
      let entry: FdEntry | null = null;
      try {
        const direction = type === EVENTTYPE.FD_READ ? R.FD_READ : R.FD_WRITE;
        entry = ctx.fds.getUnrevoked(subs.getUint32(s + SUBSCRIPTION.FD, true), R.POLL_FD_READWRITE | direction);
      } catch (e) {
        if (!(e instanceof WasiError)) throw e;
        error = e.errno;
      }
      if (entry !== null) {
        if (entry.pending !== null) nbytes = BigInt(entry.pending.length);
        else if (entry.hostFd < 0 || entry.filetype === FILETYPE.DIRECTORY) nbytes = 0n;
        else if (entry.filetype === FILETYPE.REGULAR_FILE) nbytes = type === EVENTTYPE.FD_READ ? fileRemaining(entry) : 0n;
        else {
          polled.push({ lo, hi, type, entry });
          continue;
        }
      }
    } else {
      error = errno.inval;
    }
    events.push({ lo, hi, error, type, nbytes, flags: 0 }); // an immediate event
  }

  growPollfds(polled.length);
  const fds = pollfds, fds16 = pollfds16;
  for (let i = 0; i < polled.length; i++) {
    fds[2 * i] = polled[i].entry.hostFd;
    fds16[4 * i + 2] = polled[i].type === EVENTTYPE.FD_READ ? POLLIN : POLLOUT;
    fds16[4 * i + 3] = 0;
  }
  const stop = ctx.stop;
  // One pass at least, so that descriptors ready now are reported with the immediate events;
  // more only while nothing is ready.
  for (let pass = 0; (pass === 0 || events.length === 0) && (clocks.length > 0 || polled.length > 0); pass++) {
    // Wait no longer than the earliest clock; without clocks, until a descriptor is ready.
    let wait: bigint | null = events.length > 0 ? 0n : null;
    for (const c of clocks) {
      const left = c.deadline - now(c.clock);
      const l = left > 0n ? left : 0n;
      if (wait === null || l < wait) wait = l;
    }
    if (stop !== null && (wait === null || wait > STOP_SLICE_NS)) wait = STOP_SLICE_NS;
    if (wait !== null) {
      timeout.writeBigInt64LE(wait / 1_000_000_000n, 0);
      timeout.writeBigInt64LE(wait % 1_000_000_000n, 8);
    }
    const r = libc.ppoll(polled.length > 0 ? pollfdBytes : null, polled.length, wait === null ? null : timeout, null);
    if (r !== -EINTR) check(r);
    if (stop !== null && stop[0] !== 0) throw new ProcExit(128 + stop[0]);
    for (let i = 0, found = 0; found < r && i < polled.length; i++) {
      const revents = fds16[4 * i + 3];
      if (revents === 0) continue;
      found++;
      const p = polled[i];
      if (revents & POLLNVAL) {
        events.push({ lo: p.lo, hi: p.hi, error: errno.badf, type: p.type, nbytes: 0n, flags: 0 });
        continue;
      }
      let nbytes = 0n;
      if (p.type === EVENTTYPE.FD_READ && libc.ioctlInt(p.entry.hostFd, FIONREAD, count) === 0) {
        nbytes = BigInt(count.readInt32LE(0));
      }
      const flags = revents & (POLLHUP | POLLERR) ? EVENT_FD_READWRITE_HANGUP : 0;
      events.push({ lo: p.lo, hi: p.hi, error: 0, type: p.type, nbytes, flags });
    }
    for (const c of clocks) {
      if (now(c.clock) >= c.deadline) events.push({ lo: c.lo, hi: c.hi, error: 0, type: EVENTTYPE.CLOCK, nbytes: 0n, flags: 0 });
    }
  }

  if (events.length === 0) return 0;
  ctx.mem.bytes(outPtr, events.length * EVENT.SIZE).fill(0);
  const out = ctx.mem.view(outPtr, events.length * EVENT.SIZE);
  outPtr >>>= 0;
  for (let i = 0; i < events.length; i++) {
    const ev = events[i];
    const o = outPtr + i * EVENT.SIZE;
    out.setUint32(o + EVENT.USERDATA, ev.lo, true);
    out.setUint32(o + EVENT.USERDATA + 4, ev.hi, true);
    out.setUint16(o + EVENT.ERROR, ev.error, true);
    out.setUint8(o + EVENT.TYPE, ev.type);
    out.setBigUint64(o + EVENT.NBYTES, ev.nbytes, true);
    out.setUint16(o + EVENT.FLAGS, ev.flags, true);
  }
  return events.length;
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
