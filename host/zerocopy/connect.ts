// Outbound TCP connections as a capability (docs/ABI.md, sock_connect and sock_error, ABI v2).
//
// WASI preview1 can accept connections but never open one. The host grants addresses the way
// it grants directories: `--connect HOST:PORT` (the embedding API's `connect` list), and a
// guest may connect to exactly those and nothing else. The guest names the address as text,
// byte for byte as it was granted: no resolution, no canonical form to argue about, so the
// check is one comparison and an address the host never wrote down cannot be reached. The
// grant's sockaddr is built once, from the host's text, never from the guest's.
import * as libc from '../native/libc.js';
import { F, O } from '../native/platform.js';
import { ProcExit, type ConnectGrant, type Context } from '../sandbox/context.js';
import { check, errno, fail, fromLinux } from '../sandbox/errno.js';
import { FILETYPE } from '../sandbox/rights.js';
import { parseListen, sockaddr } from '../listen.js';

const AF_INET = 2, AF_INET6 = 10, SOCK_STREAM = 1;
const SOL_SOCKET = 1, SO_ERROR = 4;
const EINPROGRESS = 115, EINTR = 4;
const POLLOUT = 0x4;
/** The one fdflag sock_connect accepts (fdflags.nonblock). */
export const CONNECT_NONBLOCK = 4;
/** A blocking connect waits in slices of this length, reading the stop flag after each (as poll_oneoff). */
const STOP_SLICE_NS = 100_000_000n;

export type { ConnectGrant } from '../sandbox/context.js';

/**
 * Parses the granted addresses (IPv4:PORT or [IPv6]:PORT, as listeners'); throws an Error with
 * a one-line message naming the first that is not one. Port 0 cannot be connected to, so
 * granting it is a mistake said at once rather than a refusal later.
 */
export function connectGrants(specs: readonly string[]): ConnectGrant[] {
  return specs.map((text) => {
    const a = parseListen(text);
    if (a.port === 0) throw new Error(`${text}: port 0 cannot be connected to`);
    return { text, bytes: new TextEncoder().encode(text), family: a.family, addr: sockaddr(a) };
  });
}

/** The grant whose text is the guest's `len` bytes at `ptr`, compared in place (no copy). */
function granted(ctx: Context, ptr: number, len: number): ConnectGrant | null {
  const grants = ctx.connect ?? [];
  let text: Uint8Array | null = null;
  for (const g of grants) {
    if (g.bytes.length !== len) continue;
    text ??= ctx.mem.bytes(ptr, len);
    let same = true;
    for (let i = 0; i < len && same; i++) same = text[i] === g.bytes[i];
    if (same) return g;
  }
  return null;
}

/**
 * socket(2) + connect(2) to a granted address; returns the new guest descriptor. The socket
 * is close-on-exec on the host and joins the table as a stream socket. With NONBLOCK a
 * connection still under way (EINPROGRESS, connect(2)) is a success: completion is write
 * readiness in poll_oneoff, and its outcome sock_error. Without it the call waits for the
 * outcome and answers it as connect(2) would (connrefused, hostunreach, timedout, ...).
 */
export function sock_connect(ctx: Context, addrPtr: number, addrLen: number, fdflags: number): number {
  addrLen >>>= 0;
  ctx.mem.check(addrPtr, addrLen);
  if (fdflags & ~CONNECT_NONBLOCK) fail(errno.inval);
  const g = granted(ctx, addrPtr, addrLen);
  if (g === null) fail(errno.notcapable);
  // Always non-blocking underneath, so that a blocking connect can still be stopped.
  const fd = check(libc.socket(g.family === 4 ? AF_INET : AF_INET6, SOCK_STREAM | O.CLOEXEC | O.NONBLOCK, 0));
  try {
    const r = libc.connect(fd, g.addr, g.addr.length);
    if (r < 0 && r !== -EINPROGRESS) fail(fromLinux(-r));
    if (!(fdflags & CONNECT_NONBLOCK)) {
      if (r === -EINPROGRESS) {
        waitWritable(ctx, fd);
        const e = soError(fd);
        if (e !== 0) fail(fromLinux(e));
      }
      check(libc.fcntl(fd, F.SETFL, check(libc.fcntl(fd, F.GETFL, 0)) & ~O.NONBLOCK));
    }
  } catch (e) {
    libc.close(fd);
    throw e;
  }
  return ctx.fds.insert(ctx.fds.adopt(fd, null, FILETYPE.SOCKET_STREAM));
}

/**
 * getsockopt(SO_ERROR), socket(7): the socket's pending error, cleared by reading it; after a
 * non-blocking connect, its outcome. Returns the WASI errno (success for none).
 */
export function sock_error(ctx: Context, fd: number): number {
  const e = ctx.fds.getUnrevoked(fd, 0);
  if (e.hostFd < 0) fail(errno.notsock);
  const err = soError(e.hostFd);
  return err === 0 ? errno.success : fromLinux(err);
}

const optval = Buffer.alloc(4), optlen = Buffer.alloc(4);
function soError(hostFd: number): number {
  optlen.writeUInt32LE(4);
  check(libc.getsockopt(hostFd, SOL_SOCKET, SO_ERROR, optval, optlen));
  return optval.readInt32LE(0);
}

const pollfd = Buffer.alloc(8), slice = Buffer.alloc(16);
slice.writeBigInt64LE(STOP_SLICE_NS, 8);
/** Waits for a connecting socket to become writable (connected or failed), stop-aware. */
function waitWritable(ctx: Context, hostFd: number): void {
  pollfd.writeInt32LE(hostFd, 0);
  pollfd.writeInt16LE(POLLOUT, 4);
  for (;;) {
    pollfd.writeInt16LE(0, 6);
    const r = libc.ppoll(pollfd, 1, slice, null);
    if (r > 0) return;
    if (r < 0 && r !== -EINTR) fail(fromLinux(-r));
    const stop = ctx.stop;
    if (stop !== null && stop[0] !== 0) throw new ProcExit(128 + stop[0]);
  }
}
