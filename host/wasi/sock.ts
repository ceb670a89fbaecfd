// The sock_* calls of WASI preview1 on real host sockets. Which descriptor is a socket is the
// kernel's to say: a file answers ENOTSOCK (`notsock`), as natively. Sends never raise
// SIGPIPE (MSG_NOSIGNAL): a peer that hung up is `pipe` or `connreset`, never a signal.
import * as libc from '../native/libc.js';
import { O } from '../native/platform.js';
import { check, errno, fail } from '../sandbox/errno.js';
import type { Context } from '../sandbox/context.js';
import { FILETYPE, R, maxRights } from '../sandbox/rights.js';
import { FDFLAGS, RIFLAGS, ROFLAGS_RECV_DATA_TRUNCATED, SDFLAGS } from './abi.js';
import { AGAIN, MSG, hostIovecs, msgFlags, msghdr, readyNow, retrying } from './io.js';

/** The rights of an accepted connection: a socket_stream's (accept only yields those, below). */
const ACCEPTED_RIGHTS = maxRights(FILETYPE.SOCKET_STREAM);
/** shutdown(2)'s SHUT_*. */
const SHUT = { RD: 0, WR: 1, RDWR: 2 } as const;

/**
 * accept4(2), close-on-exec; the new descriptor joins the guest's table. Its number is
 * reserved first (`mfile` at the guest's limit, before a connection is taken), and the
 * descriptor is the table's the moment accept4 returns it. Returns it, or AGAIN (io.ts).
 */
export function sock_accept(ctx: Context, fd: number, flags: number): number {
  const e = ctx.fds.getUnrevoked(fd, R.SOCK_ACCEPT);
  if (flags & ~FDFLAGS.NONBLOCK) fail(errno.inval);
  if (e.hostFd < 0) fail(errno.notsock);
  // SOCK_NONBLOCK and SOCK_CLOEXEC are O_NONBLOCK and O_CLOEXEC (accept(2)). accept only
  // yields connection-mode sockets: SOCK_STREAM or SOCK_SEQPACKET, both socket_stream.
  const nonblock = (flags & FDFLAGS.NONBLOCK) !== 0;
  const sockFlags = O.CLOEXEC | (nonblock ? O.NONBLOCK : 0);
  // NONBLOCK the guest asked for on a shared listener that stays blocking: nothing pending is
  // EAGAIN, as natively (another owner may still take what was pending first: a stop
  // interrupts that wait, sandbox/interrupt.ts).
  if (e.emulateNonblock && !readyNow(e.hostFd, false)) return AGAIN;
  const slot = ctx.fds.reserve();
  let r: number;
  try {
    r = libc.accept4(e.hostFd, null, null, sockFlags);
    if (r >= 0) slot.entry.hostFd = r;
    // Retried only where it must be: the common case makes no closure.
    else r = retrying(e, false, ctx.stop, () => {
      const r = libc.accept4(e.hostFd, null, null, sockFlags);
      if (r >= 0) slot.entry.hostFd = r;
      return r;
    }, r);
  } catch (err) {
    ctx.fds.cancel(slot);
    throw err;
  }
  if (r === AGAIN) {
    ctx.fds.cancel(slot);
    return AGAIN;
  }
  slot.entry.exclusive = true; // accept4 made the description; only this descriptor refers to it
  return ctx.fds.commit(slot, FILETYPE.SOCKET_STREAM, ACCEPTED_RIGHTS[0], ACCEPTED_RIGHTS[1]);
}

/**
 * recvmsg(2) into the `count` buffers decodeIovecs decoded last: returns the bytes received,
 * or AGAIN (io.ts); recvFlags() then tells the roflags.
 */
export function sock_recv(ctx: Context, fd: number, count: number, riflags: number): number {
  const e = ctx.fds.getUnrevoked(fd, R.FD_READ);
  if (riflags & ~(RIFLAGS.RECV_PEEK | RIFLAGS.RECV_WAITALL)) fail(errno.inval);
  if (e.hostFd < 0) fail(errno.notsock);
  const flags = (riflags & RIFLAGS.RECV_PEEK ? MSG.PEEK : 0) | (riflags & RIFLAGS.RECV_WAITALL ? MSG.WAITALL : 0) |
    (e.emulateNonblock ? MSG.DONTWAIT : 0);
  hostIovecs(ctx.mem, count);
  const m = msghdr(count);
  const r = libc.recvmsg(e.hostFd, m, flags);
  return r >= 0 ? r : retrying(e, false, ctx.stop, () => libc.recvmsg(e.hostFd, m, flags), r);
}

/** The roflags of the last sock_recv: RECV_DATA_TRUNCATED reports MSG_TRUNC (datagrams). */
export function recvFlags(): number {
  return msgFlags() & MSG.TRUNC ? ROFLAGS_RECV_DATA_TRUNCATED : 0;
}

/** sendmsg(2) with MSG_NOSIGNAL from the buffers decodeIovecs decoded last; returns the bytes sent, or AGAIN. WASI defines no siflags, so any bit is `inval`. */
export function sock_send(ctx: Context, fd: number, count: number, siflags: number): number {
  const e = ctx.fds.getUnrevoked(fd, R.FD_WRITE);
  if (siflags !== 0) fail(errno.inval);
  if (e.hostFd < 0) fail(errno.notsock);
  const flags = MSG.NOSIGNAL | (e.emulateNonblock ? MSG.DONTWAIT : 0);
  hostIovecs(ctx.mem, count);
  const m = msghdr(count);
  // The common case makes no closure: one is made only where the call must be retried.
  const r = libc.sendmsg(e.hostFd, m, flags);
  return r >= 0 ? r : retrying(e, true, ctx.stop, () => libc.sendmsg(e.hostFd, m, flags), r);
}

/** shutdown(2): WASI's sdflags RD=1, WR=2 and both; anything else is `inval`. */
export function sock_shutdown(ctx: Context, fd: number, how: number): void {
  const e = ctx.fds.getUnrevoked(fd, R.SOCK_SHUTDOWN);
  const shut = how === SDFLAGS.RD ? SHUT.RD : how === SDFLAGS.WR ? SHUT.WR
    : how === (SDFLAGS.RD | SDFLAGS.WR) ? SHUT.RDWR : -1;
  if (shut < 0) fail(errno.inval);
  if (e.hostFd < 0) fail(errno.notsock);
  check(libc.shutdown(e.hostFd, shut));
}
