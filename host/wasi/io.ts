// Reading and writing through a guest descriptor: vectored I/O straight between the kernel
// and guest memory (the kernel reads the iovec array of host addresses we build), or, for
// virtual files, between the embedder's object and views of guest memory.
import * as libc from '../native/libc.js';
import { errno, fail, check } from '../sandbox/errno.js';
import type { FdEntry, VirtualFile } from '../sandbox/fd_table.js';
import type { GuestMemory } from '../sandbox/memory.js';
import { ProcExit, type Context } from '../sandbox/context.js';
import { IOVEC_SIZE } from './abi.js';

/** readv(2) and writev(2) answer EINVAL past UIO_MAXIOV iovecs; so do we, before decoding. */
const IOV_MAX = 1024;
const hostIov = Buffer.alloc(IOV_MAX * 16);
/**
 * Written through a DataView: TurboFan inlines its accessors, where a Buffer method is a
 * property looked up on the prototype at each call (a LoadIC per field on the hot path).
 */
const hostIovView = new DataView(hostIov.buffer, hostIov.byteOffset, hostIov.length);
const POLLIN = 1, POLLOUT = 4;
const EAGAIN = 11;
const pollfd = Buffer.alloc(8);

/**
 * The guest (c)iovec array of the current call, decoded and checked by decodeIovecs: buffer
 * addresses and lengths in guest memory. Shared scratch, as hostIov: calls never overlap, and
 * each import decodes its array before anything else can run.
 */
const iovPtr = new Uint32Array(IOV_MAX), iovLen = new Uint32Array(IOV_MAX);

/**
 * Checks a guest (c)iovec array and every buffer it names (`inval` past IOV_MAX, `fault` for
 * anything outside memory), keeping them for iovecViews and hostIovecs; returns the count.
 * Nothing is allocated: a kernel descriptor's call needs no view of the buffers at all.
 */
export function decodeIovecs(mem: GuestMemory, iovs: number, count: number): number {
  count >>>= 0;
  if (count > IOV_MAX) fail(errno.inval);
  const dv = mem.view(iovs, count * IOVEC_SIZE);
  const at = iovs >>> 0;
  for (let i = 0; i < count; i++) {
    const ptr = dv.getUint32(at + i * IOVEC_SIZE, true), len = dv.getUint32(at + i * IOVEC_SIZE + 4, true);
    mem.check(ptr, len);
    iovPtr[i] = ptr;
    iovLen[i] = len;
  }
  return count;
}

/** The first `count` decoded buffers as views of guest memory, for virtual files and pending bytes. */
export function iovecViews(mem: GuestMemory, count: number): Uint8Array[] {
  const views: Uint8Array[] = [];
  for (let i = 0; i < count; i++) views.push(mem.bytes(iovPtr[i], iovLen[i]));
  return views;
}

/** Decodes a guest (c)iovec array into views of guest memory, checking every buffer. */
export function guestIovecs(mem: GuestMemory, iovs: number, count: number): Uint8Array[] {
  return iovecViews(mem, decodeIovecs(mem, iovs, count));
}

/** The host address of hostIov's first byte: its backing store never moves. */
let hostIovAddress = 0n;
export function hostIovecsAddress(): bigint {
  if (hostIovAddress === 0n) hostIovAddress = libc.addressOf(hostIov);
  return hostIovAddress;
}

/**
 * Fills the host iovec array with the host addresses of the first `count` decoded buffers.
 * Addresses and lengths are written as u32 halves of plain numbers: a BigInt per field costs
 * more than the rest of the call.
 */
export function hostIovecs(mem: GuestMemory, count: number): Buffer {
  const base = count === 0 ? 0 : mem.hostAddress(0, 0);
  for (let i = 0; i < count; i++) {
    const len = iovLen[i];
    const addr = len === 0 ? 0 : base + iovPtr[i];
    hostIovView.setUint32(i * 16, addr % 0x100000000, true);
    hostIovView.setUint32(i * 16 + 4, Math.floor(addr / 0x100000000), true);
    hostIovView.setUint32(i * 16 + 8, len, true);
    hostIovView.setUint32(i * 16 + 12, 0, true);
  }
  return hostIov;
}

/**
 * How long one wait lasts before the stop flag is read again: a stop reaches a guest blocked
 * in a call within this (poll_oneoff cuts its waits the same way).
 */
export const STOP_SLICE_MS = 100;
const EINTR = 4;

/**
 * Ends the guest if the host asked it to stop (Sandbox.stop, a signal to the CLI). The guard
 * checks between calls; anything that waits inside a call checks here after each slice.
 */
export function stopPoint(stop: Int32Array | null): void {
  if (stop !== null && stop[0] !== 0) throw new ProcExit(128 + stop[0]);
}

/**
 * Waits until a descriptor is ready for reading (or writing), or has hung up or failed, which
 * the call that follows reports. In slices, so that a stop is seen while nothing happens: a
 * guest blocked on a pipe that never gets data, a listener nobody connects to or a FIFO
 * nobody reads still ends when it is told to.
 */
export function waitReady(hostFd: number, write: boolean, stop: Int32Array | null): void {
  pollfd.writeInt32LE(hostFd, 0);
  pollfd.writeInt16LE(write ? POLLOUT : POLLIN, 4);
  for (;;) {
    pollfd.writeInt16LE(0, 6);
    const r = libc.poll(pollfd, 1, stop === null ? -1 : STOP_SLICE_MS);
    if (r > 0 || (r < 0 && r !== -EINTR)) return;
    stopPoint(stop);
  }
}

/** Whether a descriptor is ready for reading (or writing) now, or has hung up or failed. */
export function readyNow(hostFd: number, write: boolean): boolean {
  pollfd.writeInt32LE(hostFd, 0);
  pollfd.writeInt16LE(write ? POLLOUT : POLLIN, 4);
  pollfd.writeInt16LE(0, 6);
  return libc.poll(pollfd, 1, 0) !== 0;
}

/**
 * What `retrying`, readInto and writeFrom return for EAGAIN: the negated WASI errno, which the
 * import returns as is. EAGAIN is a non-blocking server's steady state, and a thrown WasiError
 * costs ~7,000 instructions (bench/profile.sh), several times the call it ends.
 */
export const AGAIN = -errno.again;

/**
 * Runs a raw syscall, retrying after a wait where the entry must appear blocking. Returns the
 * result, or AGAIN; other errors are thrown. A call interrupted for a stop
 * (sandbox/interrupt.ts) ends the guest; one interrupted by any other signal is restarted, as
 * with SA_RESTART. `first`: the result of a first call the caller already made.
 */
export function retrying(e: FdEntry, write: boolean, stop: Int32Array | null, op: () => number, first?: number): number {
  for (let again = first !== undefined; ; again = false) {
    const r = again ? first! : op();
    if (r === -EAGAIN) {
      if (!e.emulateBlocking) return AGAIN;
      waitReady(e.hostFd, write, stop);
      continue;
    }
    if (r === -EINTR) { stopPoint(stop); continue; }
    return check(r);
  }
}

/** struct msghdr on LP64 Linux: name @0, namelen @8, iov @16, iovlen @24, control @32, controllen @40, flags @48. */
const msg = Buffer.alloc(56);
const msgView = new DataView(msg.buffer, msg.byteOffset, msg.length); // as hostIovView
/**
 * The msghdr over the host iovec array (hostIovecs), whose address never changes: only the
 * count, and the flags recvmsg(2) wrote last time, change between calls (the kernel never
 * writes the other fields without a name or control buffer).
 */
export function msghdr(count: number): Buffer {
  if (msgView.getUint32(16, true) === 0) msg.writeBigUInt64LE(hostIovecsAddress(), 16);
  msgView.setUint32(24, count, true);
  msgView.setInt32(48, 0, true);
  return msg;
}

/** The msg_flags recvmsg(2) left in the msghdr of the last call (MSG_TRUNC: a datagram cut short). */
export function msgFlags(): number {
  return msg.readInt32LE(48);
}

/** A non-blocking call's result: its count, or AGAIN (returned, not thrown); other errors thrown. */
function nonblocking(r: number): number {
  return r === -EAGAIN ? AGAIN : check(r);
}

/** Linux's MSG_* flags (bits/socket.h). */
export const MSG = { PEEK: 0x2, TRUNC: 0x20, DONTWAIT: 0x40, WAITALL: 0x100, NOSIGNAL: 0x4000 } as const;

/** Reads into the `count` buffers decodeIovecs decoded last. */
export function readInto(ctx: Context, e: FdEntry, count: number, offset: bigint | null): number {
  if (e.pending !== null && offset === null) return readPending(e, iovecViews(ctx.mem, count));
  if (e.virtual !== null) return perView(e.virtual, 'read', iovecViews(ctx.mem, count), offset);
  if (count === 0) return 0;
  const iov = hostIovecs(ctx.mem, count);
  // NONBLOCK the guest asked for on a shared socket that stays blocking: a non-blocking call.
  if (e.emulateNonblock && offset === null) return nonblocking(libc.recvmsg(e.hostFd, msghdr(count), MSG.DONTWAIT));
  if (offset === null) {
    // The common case makes no closure: one is made only where the call must be retried.
    const r = libc.readv(e.hostFd, iov, count);
    return r >= 0 ? r : retrying(e, false, ctx.stop, () => libc.readv(e.hostFd, iov, count), r);
  }
  return retrying(e, false, ctx.stop, () => libc.preadv(e.hostFd, iov, count, BigInt.asIntN(64, offset)));
}

/**
 * Vectored I/O on a virtual file: one call per view until one comes back short, as readv(2)
 * and writev(2) behave. A virtual file behaves as a pipe: it has no offsets (`spipe`), and a
 * direction it does not implement is `badf`, as a pipe end opened the other way.
 */
function perView(file: VirtualFile, op: 'read' | 'write', views: Uint8Array[], offset: bigint | null): number {
  const step = file[op];
  if (step === undefined) fail(errno.badf);
  if (offset !== null) fail(errno.spipe);
  let total = 0;
  for (const v of views) {
    const n = step.call(file, v);
    total += n;
    if (n < v.length) break;
  }
  return total;
}

/** Delivers bytes a copying transfer left behind (FdEntry.pending) before anything new. */
function readPending(e: FdEntry, views: Uint8Array[]): number {
  let total = 0;
  for (const v of views) {
    const p = e.pending!;
    const n = Math.min(v.length, p.length);
    v.set(p.subarray(0, n));
    total += n;
    e.pending = n === p.length ? null : p.subarray(n);
    if (e.pending === null) break;
  }
  return total;
}

/** Writes from the `count` buffers decodeIovecs decoded last. */
export function writeFrom(ctx: Context, e: FdEntry, count: number, offset: bigint | null): number {
  if (e.virtual !== null) return perView(e.virtual, 'write', iovecViews(ctx.mem, count), offset);
  if (count === 0) return 0;
  const iov = hostIovecs(ctx.mem, count);
  if (e.emulateNonblock && offset === null) {
    return nonblocking(libc.sendmsg(e.hostFd, msghdr(count), MSG.DONTWAIT | MSG.NOSIGNAL));
  }
  if (offset === null) {
    // The common case makes no closure: one is made only where the call must be retried.
    const r = libc.writev(e.hostFd, iov, count);
    return r >= 0 ? r : retrying(e, true, ctx.stop, () => libc.writev(e.hostFd, iov, count), r);
  }
  return retrying(e, true, ctx.stop, () => libc.pwritev(e.hostFd, iov, count, BigInt.asIntN(64, offset)));
}
