// poll_oneoff: clock and fd_read / fd_write subscriptions, answered by one poll(2) call over
// every kernel descriptor subscribed, with the earliest clock as its timeout.
//
// Regular files and virtual files are always ready (poll(2): "Regular files shall always poll
// TRUE for reading and writing"); for reads on a file, nbytes is what remains to end of file,
// as the witx suggests. A subscription on a descriptor the guest does not hold is an event
// with error `badf`, not a failure of the whole call (as wasmtime answers).
import * as libc from '../native/libc.js';
import { errno, fail, WasiError } from '../sandbox/errno.js';
import type { Context } from '../sandbox/context.js';
import type { FdEntry } from '../sandbox/fd_table.js';
import { FILETYPE } from '../sandbox/rights.js';
import { CLOCK, EVENT, EVENT_FD_READWRITE_HANGUP, EVENTTYPE, SUBSCRIPTION, SUBSCRIPTION_CLOCK_ABSTIME } from './abi.js';
import { statFd } from './stat.js';

const POLLIN = 0x1, POLLOUT = 0x4, POLLERR = 0x8, POLLHUP = 0x10, POLLNVAL = 0x20;
const FIONREAD = 0x541b; // asm-generic ioctls, the same on x86-64 and arm64
const timespec = Buffer.alloc(16);
const count = Buffer.alloc(4);

interface Event { userdata: bigint; error: number; type: number; nbytes: bigint; flags: number }

function now(clock: number): bigint {
  if (libc.clock_gettime(clock, timespec) < 0) fail(errno.inval);
  return timespec.readBigInt64LE(0) * 1_000_000_000n + timespec.readBigInt64LE(8);
}

/** Bytes left to read from a regular file's position to its end. */
function fileRemaining(e: FdEntry): bigint {
  const pos = libc.lseek(e.hostFd, 0n, 1);
  const size = statFd(e.hostFd).size;
  return pos >= 0 && size > BigInt(pos) ? size - BigInt(pos) : 0n;
}

/** Writes the events for the subscriptions at `inPtr` into `outPtr`; returns how many. */
export function poll_oneoff(ctx: Context, inPtr: number, outPtr: number, n: number): number {
  const { mem } = ctx;
  if (n === 0) fail(errno.inval);
  mem.check(inPtr, n * SUBSCRIPTION.SIZE);
  mem.check(outPtr, n * EVENT.SIZE);

  const events: Event[] = [];
  const clocks: { userdata: bigint; deadline: bigint; clock: number }[] = [];
  const polled: { userdata: bigint; type: number; entry: FdEntry }[] = [];
  for (let i = 0; i < n; i++) {
    const s = inPtr + i * SUBSCRIPTION.SIZE;
    const userdata = mem.u64(s + SUBSCRIPTION.USERDATA);
    const type = mem.u8At(s + SUBSCRIPTION.TAG);
    if (type === EVENTTYPE.CLOCK) {
      const clock = mem.u32(s + SUBSCRIPTION.CLOCK_ID);
      const timeout = mem.u64(s + SUBSCRIPTION.CLOCK_TIMEOUT);
      const flags = mem.u16(s + SUBSCRIPTION.CLOCK_FLAGS);
      if (clock > CLOCK.THREAD_CPUTIME_ID) {
        events.push({ userdata, error: errno.inval, type, nbytes: 0n, flags: 0 });
        continue;
      }
      const deadline = flags & SUBSCRIPTION_CLOCK_ABSTIME ? timeout : now(clock) + timeout;
      clocks.push({ userdata, deadline, clock });
    } else if (type === EVENTTYPE.FD_READ || type === EVENTTYPE.FD_WRITE) {
      let entry: FdEntry;
      try {
        entry = ctx.fds.get(mem.u32(s + SUBSCRIPTION.FD));
      } catch (e) {
        if (!(e instanceof WasiError)) throw e;
        events.push({ userdata, error: e.errno, type, nbytes: 0n, flags: 0 });
        continue;
      }
      if (entry.hostFd < 0 || entry.pending !== null) {
        events.push({ userdata, error: 0, type, nbytes: BigInt(entry.pending?.length ?? 0), flags: 0 });
      } else if (entry.filetype === FILETYPE.REGULAR_FILE || entry.filetype === FILETYPE.DIRECTORY) {
        events.push({ userdata, error: 0, type, nbytes: type === EVENTTYPE.FD_READ ? fileRemaining(entry) : 0n, flags: 0 });
      } else {
        polled.push({ userdata, type, entry });
      }
    } else {
      events.push({ userdata, error: errno.inval, type, nbytes: 0n, flags: 0 });
    }
  }

  const fds = Buffer.alloc(polled.length * 8);
  polled.forEach((p, i) => {
    fds.writeInt32LE(p.entry.hostFd, i * 8);
    fds.writeInt16LE(p.type === EVENTTYPE.FD_READ ? POLLIN : POLLOUT, i * 8 + 4);
  });
  for (;;) {
    // Block only while nothing is ready; the earliest clock bounds the wait, rounded up to
    // poll's milliseconds so that a clock never fires early.
    let timeout = events.length > 0 ? 0 : -1;
    for (const c of clocks) {
      const left = c.deadline - now(c.clock);
      const ms = left <= 0n ? 0 : Number((left + 999_999n) / 1_000_000n);
      timeout = timeout < 0 ? ms : Math.min(timeout, ms);
    }
    const r = libc.poll(fds, polled.length, Math.min(timeout, 0x7fffffff));
    if (r < 0 && r !== -4 /* EINTR */) fail(errno.io);
    polled.forEach((p, i) => {
      const revents = fds.readInt16LE(i * 8 + 6);
      if (revents === 0) return;
      if (revents & POLLNVAL) {
        events.push({ userdata: p.userdata, error: errno.badf, type: p.type, nbytes: 0n, flags: 0 });
        return;
      }
      let nbytes = 0n;
      if (p.type === EVENTTYPE.FD_READ && libc.ioctlInt(p.entry.hostFd, FIONREAD, count) === 0) {
        nbytes = BigInt(count.readInt32LE(0));
      }
      const hangup = revents & (POLLHUP | POLLERR) ? EVENT_FD_READWRITE_HANGUP : 0;
      events.push({ userdata: p.userdata, error: 0, type: p.type, nbytes, flags: hangup });
    });
    for (const c of clocks) {
      if (now(c.clock) >= c.deadline) events.push({ userdata: c.userdata, error: 0, type: EVENTTYPE.CLOCK, nbytes: 0n, flags: 0 });
    }
    if (events.length > 0 || (clocks.length === 0 && polled.length === 0)) break;
  }

  events.forEach((ev, i) => {
    const o = outPtr + i * EVENT.SIZE;
    mem.bytes(o, EVENT.SIZE).fill(0);
    mem.setU64(o + EVENT.USERDATA, ev.userdata);
    mem.setU16(o + EVENT.ERROR, ev.error);
    mem.setU8(o + EVENT.TYPE, ev.type);
    mem.setU64(o + EVENT.NBYTES, ev.nbytes);
    mem.setU16(o + EVENT.FLAGS, ev.flags);
  });
  return events.length;
}

/**
 * proc_raise (deprecated in preview1): a signal whose default action ends the process ends the
 * guest, with the shell's status 128 + the Linux signal number; signals ignored by default
 * (and the stop signals) do nothing. WASI's signal numbers are its own enum.
 */
export const WASI_SIGNAL_TO_LINUX = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17, 18, 19, 20, 21, 22, 23,
  24, 25, 26, 27, 28, 29, 30, 31] as const;
// Ignored by default: SIGCHLD, SIGCONT, SIGURG, SIGWINCH; and the stop signals, since a guest
// cannot be stopped apart from its host: SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU.
const IGNORED = new Set([17, 18, 23, 28, 19, 20, 21, 22]);
export function proc_raise_status(sig: number): number | null {
  if (sig === 0 || sig >= WASI_SIGNAL_TO_LINUX.length) fail(errno.inval);
  const linux = WASI_SIGNAL_TO_LINUX[sig];
  return IGNORED.has(linux) ? null : 128 + linux;
}
