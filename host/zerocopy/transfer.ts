// What the zerocopy calls mean, on decoded arguments. Each call is the Linux system call
// itself, on host descriptors standing for the guest's, with the offset pointers handed to the
// kernel as addresses in guest memory: the kernel reads *offset, advances it and leaves the
// file position alone exactly as sendfile(2), splice(2) and copy_file_range(2) say, because it
// is the kernel doing it.
//
// The kernel also decides the order of the checks. What only the sandbox knows is put to it
// as the kernel would meet it (docs/ABI.md, "Errors"):
// - a descriptor the guest does not hold is passed as -1, a number that is never open, so the
//   kernel answers EBADF (`badf`) where it looks that descriptor up, after whatever it checks
//   first (sendfile checks in_fd's mode and offset before it looks up out_fd, fs/read_write.c);
// - a descriptor held without a right the call needs is passed as -1 too, and that EBADF is
//   answered `notcapable`: the kernel never sees the real descriptor, so nothing can move;
// - an offset pointer outside guest memory is passed as an address the kernel refuses
//   (FAULT_ADDRESS), so EFAULT comes where the kernel copies the offset in.
// Where a descriptor is a virtual file or holds bytes left by an earlier copy, a private pipe
// stands in for it (copypath.ts), so the same kernel makes the same decisions there too.
import * as libc from '../native/libc.js';
import { F, O } from '../native/platform.js';
import { check, errno, fail, WasiError } from '../sandbox/errno.js';
import { FdEntry, type Reservation } from '../sandbox/fd_table.js';
import type { Context } from '../sandbox/context.js';
import type { GuestMemory } from '../sandbox/memory.js';
import { FILETYPE, R, STREAM_RIGHTS } from '../sandbox/rights.js';
import { viaPipes, type Call } from './copypath.js';
import { kernel, run, type OffsetAccess } from './kernel.js';

export { kernel, type OffsetAccess } from './kernel.js';

const EBADF = 9, ESPIPE = 29;
/** Linux's splice flags (splice(2)); SPLICE_F_NONBLOCK asks for EAGAIN instead of waiting. */
export const SPLICE_F = { MOVE: 1, NONBLOCK: 2, MORE: 4, GIFT: 8 } as const;
/** The one fdflag `pipe` accepts. */
export const PIPE_NONBLOCK = 4;
/**
 * An address no user pointer can hold: above the user address space on x86-64 and arm64, so
 * access_ok() refuses it and the kernel answers EFAULT before reading or writing anything.
 */
export const FAULT_ADDRESS = 0xffff_ffff_ffff_f000n;

/**
 * The host address the kernel is given for a guest offset pointer: null for 0 (NULL), a number
 * (no BigInt per call) for one inside guest memory, FAULT_ADDRESS for one outside.
 */
export function hostOffset(mem: GuestMemory, ptr: number): number | bigint | null {
  if (ptr === 0) return null;
  try {
    return mem.hostAddress(ptr, 8);
  } catch (e) {
    if (e instanceof WasiError) return FAULT_ADDRESS;
    throw e;
  }
}

/** The loff_t at a guest address (0: none), for the copying path. */
function guestOffset(mem: GuestMemory, ptr: number): OffsetAccess | null {
  return ptr === 0 ? null : { get: () => mem.i64(ptr), set: (v) => mem.setU64(ptr, v) };
}

/** The loff_t in a host buffer (null: none), for the copying path. */
export function hostBufferOffset(buf: Buffer | null): OffsetAccess | null {
  return buf === null ? null : { get: () => buf.readBigInt64LE(0), set: (v) => buf.writeBigInt64LE(BigInt.asIntN(64, v), 0) };
}

/**
 * What the guest's descriptor number stands for in this call: the entry, or the errno the
 * sandbox answers in place of the kernel's EBADF for it (`badf`, `notcapable`), or 0.
 */
interface Operand { entry: FdEntry | null; refusal: number }

/**
 * The rights a call needs of a descriptor: `rights`, and fd_seek where an offset is given on
 * a descriptor that can seek at all. On one that cannot (a pipe, a socket, a terminal, a
 * virtual file), an offset is the kernel's to refuse (ESPIPE, or EINVAL in splice), as natively.
 */
function operand(ctx: Context, fd: number, rights: number, offset: number | bigint | null): Operand {
  if (!ctx.fds.has(fd)) return { entry: null, refusal: errno.badf };
  const e = ctx.fds.get(fd);
  if ((e.rightsBase & rights) !== rights) return { entry: e, refusal: errno.notcapable };
  if (offset !== null && (e.rightsBase & R.FD_SEEK) === 0 && seekable(e)) return { entry: e, refusal: errno.notcapable };
  return { entry: e, refusal: 0 };
}

function seekable(e: FdEntry): boolean {
  return e.hostFd >= 0 && libc.lseek(e.hostFd, 0n, 1) !== -ESPIPE;
}

/** The entry when it may be used directly: held, with the rights, a kernel descriptor. */
function direct(ctx: Context, fd: number, rights: number): FdEntry | null {
  if (!ctx.fds.has(fd)) return null;
  const e = ctx.fds.get(fd);
  return (e.rightsBase & rights) === rights && kernel(e) ? e : null;
}

/**
 * Every call that is not the plain case: the kernel runs with -1 for each refused descriptor
 * (see the top of this file) and private pipes for virtual ones, and its EBADF for a refused
 * descriptor becomes the sandbox's answer for it. Lookups come in_fd first in all four calls.
 */
function general(ctx: Context, call: Call, inOp: Operand, outOp: Operand, nonblock: boolean, offIn: number,
  len: bigint, op: (inFd: number, outFd: number) => number): number {
  if (inOp.refusal === 0 && outOp.refusal === 0) {
    return onEntries(ctx.stop, call, inOp.entry!, outOp.entry!, nonblock, guestOffset(ctx.mem, offIn), len, op);
  }
  const r = withStandIns(inOp, outOp, op);
  if (r !== -EBADF) return check(r);
  if (inOp.refusal !== 0) fail(inOp.refusal);
  // sendfile checks in_fd's access mode before it looks up out_fd: that EBADF is the kernel's.
  if (call === 'sendfile' && !readable(inOp.entry!)) fail(errno.badf);
  fail(outOp.refusal);
}

/**
 * Runs `op` where a refused descriptor is -1 and any other that is not a kernel descriptor
 * is an empty private pipe end: the kernel stops at the refused descriptor's lookup at the
 * latest, so nothing is read or moved.
 */
function withStandIns(inOp: Operand, outOp: Operand, op: (inFd: number, outFd: number) => number): number {
  const fds = new Int32Array(2);
  check(libc.pipe2(new Uint8Array(fds.buffer), O.CLOEXEC | O.NONBLOCK));
  try {
    const stand = (o: Operand, end: number) => (o.refusal !== 0 ? -1 : kernel(o.entry!) ? o.entry!.hostFd : end);
    return op(stand(inOp, fds[0]), stand(outOp, fds[1]));
  } finally {
    libc.close(fds[0]);
    libc.close(fds[1]);
  }
}

function readable(e: FdEntry): boolean {
  if (!kernel(e)) return true; // a private pipe's read end stands in
  const mode = libc.fcntl(e.hostFd, F.GETFL, 0) & O.ACCMODE;
  return mode === O.RDONLY || mode === O.RDWR;
}

/** A count as the copy path takes it (counts below 2^32 come as numbers, for koffi: imports.ts). */
const big = (n: bigint | number): bigint => (typeof n === 'bigint' ? n : BigInt(n));

export function sendfile(ctx: Context, outFd: number, inFd: number, offset: number, count: bigint | number): number {
  const off = hostOffset(ctx.mem, offset);
  const seek = off === null ? 0 : R.FD_SEEK;
  const src = direct(ctx, inFd, R.FD_READ | seek), dst = direct(ctx, outFd, R.FD_WRITE);
  if (src !== null && dst !== null) {
    const at = off ?? 0;
    if (src.emulateNonblock || dst.emulateNonblock) {
      return run(ctx.stop, src, dst, false, () => libc.sendfileAt(dst.hostFd, src.hostFd, at, count));
    }
    // The hot path: one system call, no closure unless it must be retried.
    const r = libc.sendfileAt(dst.hostFd, src.hostFd, at, count);
    if (r >= 0) return r;
    return run(ctx.stop, src, dst, false, () => libc.sendfileAt(dst.hostFd, src.hostFd, at, count), r);
  }
  return general(ctx, 'sendfile', operand(ctx, inFd, R.FD_READ, off), operand(ctx, outFd, R.FD_WRITE, null),
    false, offset, big(count), (i, o) => libc.sendfile(o, i, off, count));
}

export function splice(ctx: Context, inFd: number, offIn: number, outFd: number, offOut: number,
  len: bigint | number, flags: number): number {
  const oi = hostOffset(ctx.mem, offIn), oo = hostOffset(ctx.mem, offOut);
  const nonblock = (flags & SPLICE_F.NONBLOCK) !== 0;
  const op = (i: number, o: number) => libc.splice(i, oi, o, oo, len, flags);
  const src = direct(ctx, inFd, R.FD_READ | (oi === null ? 0 : R.FD_SEEK));
  const dst = direct(ctx, outFd, R.FD_WRITE | (oo === null ? 0 : R.FD_SEEK));
  if (src !== null && dst !== null) return run(ctx.stop, src, dst, nonblock, () => op(src.hostFd, dst.hostFd));
  return general(ctx, 'splice', operand(ctx, inFd, R.FD_READ, oi), operand(ctx, outFd, R.FD_WRITE, oo),
    nonblock, offIn, big(len), op);
}

export function tee(ctx: Context, inFd: number, outFd: number, len: bigint | number, flags: number): number {
  const nonblock = (flags & SPLICE_F.NONBLOCK) !== 0;
  const op = (i: number, o: number) => libc.tee(i, o, len, flags);
  const src = direct(ctx, inFd, R.FD_READ), dst = direct(ctx, outFd, R.FD_WRITE);
  if (src !== null && dst !== null) return run(ctx.stop, src, dst, nonblock, () => op(src.hostFd, dst.hostFd));
  return general(ctx, 'tee', operand(ctx, inFd, R.FD_READ, null), operand(ctx, outFd, R.FD_WRITE, null),
    nonblock, 0, big(len), op);
}

export function copy_file_range(ctx: Context, inFd: number, offIn: number, outFd: number, offOut: number,
  len: bigint | number, flags: number): number {
  const oi = hostOffset(ctx.mem, offIn), oo = hostOffset(ctx.mem, offOut);
  const op = (i: number, o: number) => libc.copy_file_range(i, oi, o, oo, len, flags);
  const src = direct(ctx, inFd, R.FD_READ | (oi === null ? 0 : R.FD_SEEK));
  const dst = direct(ctx, outFd, R.FD_WRITE | (oo === null ? 0 : R.FD_SEEK));
  if (src !== null && dst !== null) return run(ctx.stop, src, dst, false, () => op(src.hostFd, dst.hostFd));
  return general(ctx, 'copy_file_range', operand(ctx, inFd, R.FD_READ, oi), operand(ctx, outFd, R.FD_WRITE, oo),
    false, offIn, big(len), op);
}

/**
 * pipe2(2), both ends close-on-exec on the host, both joining the guest's table: their numbers
 * are reserved first (`mfile` at the guest's limit), and both descriptors are the table's the
 * moment pipe2 returns, before anything else runs.
 */
export function pipe(ctx: Context, fdflags: number): [number, number] {
  if (fdflags & ~PIPE_NONBLOCK) fail(errno.inval);
  const nonblock = (fdflags & PIPE_NONBLOCK) !== 0;
  const fds = new Int32Array(2);
  const bytes = new Uint8Array(fds.buffer);
  const r0 = ctx.fds.reserve();
  let r1: Reservation;
  try {
    r1 = ctx.fds.reserve();
  } catch (e) {
    ctx.fds.cancel(r0);
    throw e;
  }
  const r = libc.pipe2(bytes, O.CLOEXEC | (nonblock ? O.NONBLOCK : 0));
  if (r === 0) {
    r0.entry.hostFd = fds[0];
    r1.entry.hostFd = fds[1];
    r0.entry.exclusive = r1.entry.exclusive = true; // pipe2 made both descriptions (poll_set.ts)
  } else {
    ctx.fds.cancel(r1);
    ctx.fds.cancel(r0);
    check(r);
  }
  return [ctx.fds.commit(r0, FILETYPE.UNKNOWN, STREAM_RIGHTS, 0), ctx.fds.commit(r1, FILETYPE.UNKNOWN, STREAM_RIGHTS, 0)];
}

// --- on table entries: what both ABIs reach ---------------------------------------------------
// A WASI 0.2 host (host/wasi2) holds its streams' and descriptors' table entries and keeps its
// offsets in host buffers; these run the same system calls, and the same copying path where
// an end is a virtual file, as the preview1 calls above.

/** The call on two entries the guest may use: the system call, or the copying path. */
function onEntries(stop: Int32Array | null, call: Call, src: FdEntry, dst: FdEntry, nonblock: boolean,
  offIn: OffsetAccess | null, len: bigint, op: (inFd: number, outFd: number) => number): number {
  if (kernel(src) && kernel(dst)) return run(stop, src, dst, nonblock, () => op(src.hostFd, dst.hostFd));
  return viaPipes(stop, call, src, dst, nonblock, offIn, len, op);
}

/** sendfile(2) from `src` at the i64 in `off` (a host buffer; null: the file position). */
export function sendfileEntries(stop: Int32Array | null, src: FdEntry, dst: FdEntry, off: Buffer | null,
  count: bigint): number {
  return onEntries(stop, 'sendfile', src, dst, false, hostBufferOffset(off), count, (i, o) => libc.sendfile(o, i, off, count));
}

/** splice(2) between entries, offsets as sendfileEntries'. */
export function spliceEntries(stop: Int32Array | null, src: FdEntry, offIn: Buffer | null, dst: FdEntry,
  offOut: Buffer | null, len: bigint, flags: number): number {
  return onEntries(stop, 'splice', src, dst, (flags & SPLICE_F.NONBLOCK) !== 0, hostBufferOffset(offIn), len,
    (i, o) => libc.splice(i, offIn, o, offOut, len, flags));
}

/** tee(2) between entries. */
export function teeEntries(stop: Int32Array | null, src: FdEntry, dst: FdEntry, len: bigint, flags: number): number {
  return onEntries(stop, 'tee', src, dst, (flags & SPLICE_F.NONBLOCK) !== 0, null, len, (i, o) => libc.tee(i, o, len, flags));
}

/** copy_file_range(2) between entries, offsets as sendfileEntries'. */
export function copyFileRangeEntries(stop: Int32Array | null, src: FdEntry, offIn: Buffer | null, dst: FdEntry,
  offOut: Buffer | null, len: bigint, flags: number): number {
  return onEntries(stop, 'copy_file_range', src, dst, false, hostBufferOffset(offIn), len,
    (i, o) => libc.copy_file_range(i, offIn, o, offOut, len, flags));
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
  corkEntry(e, enable === 1);
}

export function corkEntry(e: FdEntry, enable: boolean): void {
  if (e.hostFd < 0) fail(errno.notsock);
  const v = new Int32Array([enable ? 1 : 0]);
  check(libc.setsockopt(e.hostFd, 6 /* IPPROTO_TCP */, 3 /* TCP_CORK */, new Uint8Array(v.buffer), 4));
}

/**
 * getpeername(2), as text: "a.b.c.d:port" or "[v6]:port", for logs. WASI preview1 has no
 * way to learn a peer's address, and a server's log line wants one. The ASCII text is left in
 * `peerText`; returns its length. An IPv4 address, what a server meets on every connection, is
 * written digit by digit, without a string.
 */
export function sock_peername(ctx: Context, fd: number): number {
  const e = ctx.fds.getUnrevoked(fd, 0);
  if (e.hostFd < 0) fail(errno.notsock);
  const addr = peerAddr.buf;
  peerLen.view.setUint32(0, 28, true);
  check(libc.getpeernameAt(e.hostFd, peerAddr.at, peerLen.at));
  const family = addr.readUInt16LE(0), port = addr.readUInt16BE(2);
  if (family === 2) {
    let n = 0;
    for (let i = 4; i < 8; i++) {
      n = decimal(addr[i], n);
      peerText[n++] = i < 7 ? 0x2e /* . */ : 0x3a /* : */;
    }
    return decimal(port, n);
  }
  if (family === 10) {
    const groups = Array.from({ length: 8 }, (_, i) => addr.readUInt16BE(8 + i * 2).toString(16));
    const text = `[${groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::')}]:${port}`;
    return ascii.encodeInto(text, peerText).written;
  }
  fail(errno.afnosupport);
}

/** Writes `v` (0..65535) in decimal into peerText at `at`; returns the index after it. */
function decimal(v: number, at: number): number {
  const digits = v >= 10000 ? 5 : v >= 1000 ? 4 : v >= 100 ? 3 : v >= 10 ? 2 : 1;
  for (let i = digits - 1; i >= 0; i--, v = Math.floor(v / 10)) peerText[at + i] = 0x30 + (v % 10);
  return at + digits;
}

/** struct sockaddr_storage's first 28 bytes (sockaddr_in6) and its length, reused per call. */
const peerAddr = libc.keptBuffer(28), peerLen = libc.keptBuffer(4);
/** The text of the last sock_peername: "[" 39 characters of IPv6 "]:" 5 digits at most. */
export const peerText = new Uint8Array(64);
const ascii = new TextEncoder();
