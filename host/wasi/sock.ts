// The sock_* calls of WASI preview1 on real host sockets. Which descriptor is a socket is the
// kernel's to say: a file answers ENOTSOCK (`notsock`), as natively. Sends never raise
// SIGPIPE (MSG_NOSIGNAL): a peer that hung up is `pipe` or `connreset`, never a signal.
import * as libc from '../native/libc.js';
import { O } from '../native/platform.js';
import { check, errno, fail } from '../sandbox/errno.js';
import type { Context } from '../sandbox/context.js';
import { FILETYPE, R } from '../sandbox/rights.js';
import { FDFLAGS, RIFLAGS, ROFLAGS_RECV_DATA_TRUNCATED, SDFLAGS } from './abi.js';
import { AGAIN, hostIovecsAddress, retrying, toHostIovecs } from './io.js';

/** Linux's MSG_* flags (bits/socket.h) and shutdown(2)'s SHUT_*. */
const MSG = { PEEK: 0x2, TRUNC: 0x20, WAITALL: 0x100, NOSIGNAL: 0x4000 } as const;
const SHUT = { RD: 0, WR: 1, RDWR: 2 } as const;

/** struct msghdr on LP64 Linux: name @0, namelen @8, iov @16, iovlen @24, control @32, controllen @40, flags @48. */
const msg = Buffer.alloc(56);
/** The msghdr over the host iovec array (toHostIovecs), whose address never changes. */
function msghdr(count: number): Buffer {
  msg.fill(0);
  msg.writeBigUInt64LE(hostIovecsAddress(), 16);
  msg.writeUInt32LE(count, 24);
  return msg;
}

/** accept4(2), close-on-exec; the new descriptor joins the guest's table. Returns it, or AGAIN (io.ts). */
export function sock_accept(ctx: Context, fd: number, flags: number): number {
  const e = ctx.fds.getUnrevoked(fd, R.SOCK_ACCEPT);
  if (flags & ~FDFLAGS.NONBLOCK) fail(errno.inval);
  if (e.hostFd < 0) fail(errno.notsock);
  // SOCK_NONBLOCK and SOCK_CLOEXEC are O_NONBLOCK and O_CLOEXEC (accept(2)). accept only
  // yields connection-mode sockets: SOCK_STREAM or SOCK_SEQPACKET, both socket_stream.
  const sockFlags = O.CLOEXEC | (flags & FDFLAGS.NONBLOCK ? O.NONBLOCK : 0);
  const hostFd = retrying(e, false, () => libc.accept4(e.hostFd, null, null, sockFlags));
  if (hostFd === AGAIN) return AGAIN;
  const entry = ctx.fds.adopt(hostFd, null, FILETYPE.SOCKET_STREAM);
  entry.exclusive = true; // accept4 made the description; only this descriptor refers to it
  return ctx.fds.insert(entry);
}


/**
 * recvmsg(2): returns the bytes received, or AGAIN (io.ts); recvFlags() then tells the roflags.
 */
export function sock_recv(ctx: Context, fd: number, views: Uint8Array[], riflags: number): number {
  const e = ctx.fds.getUnrevoked(fd, R.FD_READ);
  if (riflags & ~(RIFLAGS.RECV_PEEK | RIFLAGS.RECV_WAITALL)) fail(errno.inval);
  if (e.hostFd < 0) fail(errno.notsock);
  const flags = (riflags & RIFLAGS.RECV_PEEK ? MSG.PEEK : 0) | (riflags & RIFLAGS.RECV_WAITALL ? MSG.WAITALL : 0);
  toHostIovecs(ctx.mem, views);
  const m = msghdr(views.length);
  return retrying(e, false, () => libc.recvmsg(e.hostFd, m, flags));
}

/** The roflags of the last sock_recv: RECV_DATA_TRUNCATED reports MSG_TRUNC (datagrams). */
export function recvFlags(): number {
  return msg.readInt32LE(48) & MSG.TRUNC ? ROFLAGS_RECV_DATA_TRUNCATED : 0;
}

/** sendmsg(2) with MSG_NOSIGNAL; returns the bytes sent, or AGAIN. WASI defines no siflags, so any bit is `inval`. */
export function sock_send(ctx: Context, fd: number, views: Uint8Array[], siflags: number): number {
  const e = ctx.fds.getUnrevoked(fd, R.FD_WRITE);
  if (siflags !== 0) fail(errno.inval);
  if (e.hostFd < 0) fail(errno.notsock);
  toHostIovecs(ctx.mem, views);
  const m = msghdr(views.length);
  return retrying(e, true, () => libc.sendmsg(e.hostFd, m, MSG.NOSIGNAL));
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
