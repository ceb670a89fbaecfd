// What the zerocopy calls mean, on decoded arguments. Between two kernel descriptors each call
// is the Linux system call itself, on the host descriptors, with the offset pointers handed to
// the kernel as addresses in guest memory: the kernel reads *offset, advances it and leaves
// the file position alone exactly as sendfile(2), splice(2) and copy_file_range(2) say,
// because it is the kernel doing it. Only where a descriptor is a virtual file (an embedder's
// stream) does the host copy, keeping the same rules (copyTransfer below).
import * as libc from '../native/libc.js';
import { O } from '../native/platform.js';
import { check, errno, fail, WasiError } from '../sandbox/errno.js';
import { FdEntry } from '../sandbox/fd_table.js';
import type { Context } from '../sandbox/context.js';
import { FILETYPE, R, STREAM_RIGHTS } from '../sandbox/rights.js';
import { waitReady } from '../wasi/io.js';

const EAGAIN = 11, ESPIPE = 29;
/** Linux's splice flags (splice(2)); SPLICE_F_NONBLOCK asks for EAGAIN instead of waiting. */
export const SPLICE_F = { MOVE: 1, NONBLOCK: 2, MORE: 4, GIFT: 8 } as const;
/** The one fdflag `pipe` accepts. */
export const PIPE_NONBLOCK = 4;
/** The most one copying step moves; like the kernel, the copy path returns short counts. */
const CHUNK = 64 * 1024;
const scratch = new Uint8Array(CHUNK);

/** An offset argument: the guest address of an i64, or null for the file position. */
export type OffsetPtr = bigint | null;

/**
 * Runs a raw transfer syscall. Descriptors that must look blocking to the guest (inherited
 * stdio that the host made non-blocking) wait and retry, unless the guest asked for
 * SPLICE_F_NONBLOCK.
 */
function run(src: FdEntry, dst: FdEntry, nonblock: boolean, op: () => number, first?: number): number {
  for (let r = first ?? op(); ; r = op()) {
    if (r === -EAGAIN && !nonblock && (dst.emulateBlocking || src.emulateBlocking)) {
      if (dst.emulateBlocking) waitReady(dst.hostFd, true);
      else waitReady(src.hostFd, false);
      continue;
    }
    return check(r);
  }
}

const kernel = (e: FdEntry): boolean => e.hostFd >= 0 && e.pending === null;

export function sendfile(ctx: Context, outFd: number, inFd: number, offset: OffsetPtr, offsetGuest: number,
  count: bigint | number): number {
  // Linux looks up in_fd before out_fd (do_sendfile in fs/read_write.c).
  const src = ctx.fds.getUnrevoked(inFd, R.FD_READ | (offset === null ? 0 : R.FD_SEEK));
  const dst = ctx.fds.getUnrevoked(outFd, R.FD_WRITE);
  if (kernel(src) && kernel(dst)) {
    // The hot path: no closure unless the call must be retried.
    const at = offset ?? 0;
    const r = libc.sendfileAt(dst.hostFd, src.hostFd, at, count);
    if (r >= 0) return r;
    return run(src, dst, false, () => libc.sendfileAt(dst.hostFd, src.hostFd, at, count), r);
  }
  return copyTransfer(ctx, src, dst, offset === null ? null : offsetGuest, count);
}

export function splice(ctx: Context, inFd: number, offIn: OffsetPtr, offInGuest: number, outFd: number,
  offOut: OffsetPtr, offOutGuest: number, len: bigint | number, flags: number): number {
  const src = ctx.fds.getUnrevoked(inFd, R.FD_READ | (offIn === null ? 0 : R.FD_SEEK));
  const dst = ctx.fds.getUnrevoked(outFd, R.FD_WRITE | (offOut === null ? 0 : R.FD_SEEK));
  if (kernel(src) && kernel(dst)) {
    return run(src, dst, (flags & SPLICE_F.NONBLOCK) !== 0,
      () => libc.splice(src.hostFd, offIn, dst.hostFd, offOut, len, flags));
  }
  // splice(2) on a virtual file: the virtual side behaves as a pipe, so it takes no offset.
  if (flags & ~(SPLICE_F.MOVE | SPLICE_F.NONBLOCK | SPLICE_F.MORE | SPLICE_F.GIFT)) fail(errno.inval);
  if ((dst.hostFd < 0 && offOut !== null) || (src.hostFd < 0 && offIn !== null)) fail(errno.spipe);
  if (offOut !== null) fail(errno.inval); // a virtual source into a file at an offset: unsupported
  return copyTransfer(ctx, src, dst, offIn === null ? null : offInGuest, len);
}

export function tee(ctx: Context, inFd: number, outFd: number, len: bigint | number, flags: number): number {
  const src = ctx.fds.getUnrevoked(inFd, R.FD_READ);
  const dst = ctx.fds.getUnrevoked(outFd, R.FD_WRITE);
  if (kernel(src) && kernel(dst)) {
    return run(src, dst, (flags & SPLICE_F.NONBLOCK) !== 0, () => libc.tee(src.hostFd, dst.hostFd, len, flags));
  }
  // tee(2) needs two kernel pipes; a virtual source is not one (EINVAL, as for any non-pipe).
  if (!kernel(src)) fail(errno.inval);
  return teeToVirtual(ctx, src, dst, len, flags);
}

export function copy_file_range(ctx: Context, inFd: number, offIn: OffsetPtr, outFd: number, offOut: OffsetPtr,
  len: bigint | number, flags: number): number {
  const src = ctx.fds.getUnrevoked(inFd, R.FD_READ | (offIn === null ? 0 : R.FD_SEEK));
  const dst = ctx.fds.getUnrevoked(outFd, R.FD_WRITE | (offOut === null ? 0 : R.FD_SEEK));
  // copy_file_range(2) works between regular files only: a virtual file is never one (EINVAL).
  if (!kernel(src) || !kernel(dst)) fail(errno.inval);
  return run(src, dst, false, () => libc.copy_file_range(src.hostFd, offIn, dst.hostFd, offOut, len, flags));
}

/** pipe2(2), both ends close-on-exec on the host, both joining the guest's table. */
export function pipe(ctx: Context, fdflags: number): [number, number] {
  if (fdflags & ~PIPE_NONBLOCK) fail(errno.inval);
  const fds = new Int32Array(2);
  check(libc.pipe2(new Uint8Array(fds.buffer), O.CLOEXEC | (fdflags & PIPE_NONBLOCK ? O.NONBLOCK : 0)));
  const entry = (hostFd: number) => {
    const e = new FdEntry(hostFd, FILETYPE.UNKNOWN, STREAM_RIGHTS, 0);
    e.exclusive = true; // pipe2 made both descriptions
    return e;
  };
  return [ctx.fds.insert(entry(fds[0])), ctx.fds.insert(entry(fds[1]))];
}

// --- the copying path, for virtual files ---------------------------------------------------

/**
 * One step of a transfer through host memory, with sendfile's rules: from *offset (advanced
 * by what was written) when offsetGuest is given, else from the file position (advanced
 * likewise); a short write is a short count. Bytes read from a stream that cannot be read
 * again and not accepted by the destination are kept in the source's `pending`, never lost.
 */
function copyTransfer(ctx: Context, src: FdEntry, dst: FdEntry, offsetGuest: number | null,
  count: bigint | number): number {
  const want = count > CHUNK ? CHUNK : Number(count);
  if (want === 0) return 0;
  const { mem } = ctx;
  let data: Uint8Array;
  let position: bigint | null = null; // for a seekable source: where `data` was read from
  let stream = false;                 // data was consumed from a source that cannot rewind

  if (src.pending !== null || src.virtual !== null || offsetGuest === null && !seekable(src)) {
    if (offsetGuest !== null) fail(errno.spipe);
    stream = true;
    if (src.pending !== null) {
      data = src.pending.subarray(0, want);
      src.pending = src.pending.length > want ? src.pending.subarray(want) : null;
    } else if (src.virtual !== null) {
      if (src.virtual.read === undefined) fail(errno.badf);
      data = scratch.subarray(0, src.virtual.read(scratch.subarray(0, want)));
    } else {
      data = scratch.subarray(0, check(libc.read(src.hostFd, scratch, want)));
    }
  } else {
    position = offsetGuest !== null ? mem.i64(offsetGuest) : BigInt(check(libc.lseek(src.hostFd, 0n, 1)));
    if (position < 0n) fail(errno.inval);
    data = scratch.subarray(0, check(libc.pread(src.hostFd, scratch, want, position)));
  }
  if (data.length === 0) return 0;

  let written = 0;
  let error: WasiError | null = null;
  try {
    written = writeAll(dst, data);
  } catch (e) {
    if (!(e instanceof WasiError)) throw e;
    error = e;
  }
  if (stream) {
    if (written < data.length) {
      const rest = data.slice(written);
      src.pending = src.pending === null ? rest : concat(rest, src.pending);
      ctx.fds.touch(src); // poll_oneoff reports pending bytes as readable at once
    }
  } else if (offsetGuest !== null) {
    mem.setU64(offsetGuest, position! + BigInt(written));
  } else if (written > 0) {
    check(libc.lseek(src.hostFd, position! + BigInt(written), 0));
  }
  if (written === 0 && error !== null) throw error;
  return written;
}

function seekable(e: FdEntry): boolean {
  const r = libc.lseek(e.hostFd, 0n, 1);
  if (r === -ESPIPE) return false;
  check(r);
  return true;
}

/** Writes as much of `data` as the destination takes now; throws only if it took nothing. */
function writeAll(dst: FdEntry, data: Uint8Array): number {
  if (dst.virtual !== null) {
    if (dst.virtual.write === undefined) fail(errno.badf);
    let done = 0;
    while (done < data.length) {
      const n = dst.virtual.write(data.subarray(done));
      if (n <= 0) break;
      done += n;
    }
    if (done === 0) fail(errno.again);
    return done;
  }
  for (;;) {
    const r = libc.write(dst.hostFd, data, data.length);
    if (r === -EAGAIN && dst.emulateBlocking) { waitReady(dst.hostFd, true); continue; }
    return check(r);
  }
}

/**
 * tee(2) into a virtual file: the kernel duplicates the pipe's contents into a temporary
 * pipe, which is drained into the destination. The source pipe is never consumed, as tee's.
 */
function teeToVirtual(ctx: Context, src: FdEntry, dst: FdEntry, len: bigint | number, flags: number): number {
  const fds = new Int32Array(2);
  check(libc.pipe2(new Uint8Array(fds.buffer), O.CLOEXEC));
  try {
    const n = check(libc.tee(src.hostFd, fds[1], len > BigInt(CHUNK) ? BigInt(CHUNK) : len, flags));
    if (n === 0) return 0;
    const got = check(libc.read(fds[0], scratch, n));
    return writeAll(dst, scratch.subarray(0, got));
  } finally {
    libc.close(fds[0]);
    libc.close(fds[1]);
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/**
 * TCP_CORK (tcp(7)): while set, partial frames are held back, so that a header written with
 * fd_write and the file sent after it with sendfile leave in full packets, as sendfile(2)'s
 * NOTES advise. The kernel answers for anything that is not a TCP socket (ENOTSOCK, or
 * EOPNOTSUPP for other sockets); `enable` other than 0 or 1 is `inval`.
 */
export function sock_cork(ctx: Context, fd: number, enable: number): void {
  const e = ctx.fds.getUnrevoked(fd, 0);
  if (enable !== 0 && enable !== 1) fail(errno.inval);
  if (e.hostFd < 0) fail(errno.notsock);
  const v = new Int32Array([enable]);
  check(libc.setsockopt(e.hostFd, 6 /* IPPROTO_TCP */, 3 /* TCP_CORK */, new Uint8Array(v.buffer), 4));
}

/**
 * getpeername(2), as text: "a.b.c.d:port" or "[v6]:port", for logs. WASI preview1 has no
 * way to learn a peer's address, and a server's log line wants one.
 */
export function sock_peername(ctx: Context, fd: number): string {
  const e = ctx.fds.getUnrevoked(fd, 0);
  if (e.hostFd < 0) fail(errno.notsock);
  const addr = peerAddr;
  peerLen.writeUInt32LE(28, 0);
  check(libc.getpeername(e.hostFd, addr, peerLen));
  const family = addr.readUInt16LE(0), port = addr.readUInt16BE(2);
  if (family === 2) return `${addr[4]}.${addr[5]}.${addr[6]}.${addr[7]}:${port}`;
  if (family === 10) {
    const groups = Array.from({ length: 8 }, (_, i) => addr.readUInt16BE(8 + i * 2).toString(16));
    return `[${groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::')}]:${port}`;
  }
  fail(errno.afnosupport);
}
/** struct sockaddr_storage's first 28 bytes (sockaddr_in6) and its length, reused per call. */
const peerAddr = Buffer.alloc(28), peerLen = Buffer.alloc(4);
