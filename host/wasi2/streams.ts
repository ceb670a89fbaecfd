// wasi:io/streams and wasi:io/error over the sandbox's table entries.
//
// A stream reads or writes one FdEntry: a file at an offset the stream owns (pread/pwrite, as
// read-via-stream and write-via-stream say; the file position is never used), the end of a
// file (append-via-stream: pwritev2 with RWF_APPEND), or a descriptor without offsets (stdio,
// pipes, sockets) with read(2) and write(2). An entry may be a virtual file (an embedder's
// stdio object); the bytes then go through it.
//
// Non-blocking as the spec asks: `read` answers at once (an empty list when nothing is
// there), `write` never waits: what a non-blocking descriptor does not take now is kept in the
// stream's buffer, `check-write` is 0 while anything is buffered, and `flush` and
// `blocking-flush` drain it. Descriptors that must look blocking (stdio shared with the host)
// wait, as their preview1 calls do. Every wait is a ppoll that honours the stop flag.
//
// `splice` and `blocking-splice` are zero-copy when both ends are kernel descriptors
// (sendfile(2) from a file, splice(2) through a pipe, copy_file_range(2) between files), the
// same calls as the zerocopy module's (zerocopy/transfer.ts); buffered output is flushed first,
// so bytes keep their order.
import * as libc from '../native/libc.js';
import { errno, errnoName, fromLinux, WasiError } from '../sandbox/errno.js';
import type { Context } from '../sandbox/context.js';
import type { FdEntry } from '../sandbox/fd_table.js';
import { FILETYPE } from '../sandbox/rights.js';
import * as zc from '../zerocopy/transfer.js';
import { checkStop } from './host.js';
import { Pollable, POLLIN, POLLOUT, poll } from './poll.js';
import { held, Resource } from './resources.js';

const EAGAIN = 11, EINVAL = 22;
const RWF_APPEND = 0x10;
/** The most one read returns, and what check-write permits: large enough for full-speed copies. */
export const READ_MAX = 1 << 20;
export const WRITE_BUDGET = 1 << 20;

let scratch: Uint8Array | null = null;
function scratchBuffer(): Uint8Array {
  return scratch ??= new Uint8Array(READ_MAX);
}
const zeroes = new Uint8Array(64 * 1024);

/** wasi:io/error: an errno, which filesystem-error-code and network-error-code read. */
export class IoError extends Resource {
  constructor(ctx: Context, readonly errno: number) {
    super(ctx);
  }
  toDebugString(): string {
    return errnoName[this.errno] ?? `errno ${this.errno}`;
  }
}

/** stream-error::last-operation-failed, thrown as jco's glue expects an `err`. */
export function failed(ctx: Context, e: number): never {
  throw { tag: 'last-operation-failed', val: new IoError(ctx, e) };
}
export function closed(): never {
  throw { tag: 'closed' };
}

/** Runs op, turning a WasiError into last-operation-failed. */
function streamOp<T>(ctx: Context, op: () => T): T {
  try {
    return op();
  } catch (e) {
    if (e instanceof WasiError) failed(ctx, e.errno);
    throw e;
  }
}

/** What a stream is a child of: a descriptor or a socket. Once it is dropped, the stream fails. */
export interface Parent { readonly dropped: boolean }
const NO_PARENT: Parent = { dropped: false };

/** The state both directions share. */
abstract class Stream extends Resource {
  constructor(
    ctx: Context,
    readonly entry: FdEntry,
    /** The stream's own file offset, or null for descriptors without one. */
    public offset: bigint | null,
    readonly parent: Parent = NO_PARENT,
    /** Runs when the guest drops the stream (a stream that owns its descriptor closes it). */
    private readonly onDrop: (() => void) | null = null,
  ) {
    super(ctx);
  }

  live(): FdEntry {
    if (this.parent.dropped) failed(this.ctx, errno.badf);
    return this.entry;
  }

  /** Files and virtual files are always ready; other descriptors are asked with ppoll. */
  get alwaysReady(): boolean {
    const e = this.entry;
    return e.hostFd < 0 || this.offset !== null || e.filetype === FILETYPE.REGULAR_FILE ||
      e.filetype === FILETYPE.DIRECTORY;
  }

  readyNow(events: number): boolean {
    return this.alwaysReady || new Pollable(this.ctx, this.entry.hostFd, events).ready();
  }

  /** Waits until the descriptor is ready for `events` (a stop ends the guest meanwhile). */
  waitFor(events: number): void {
    if (this.alwaysReady) return;
    poll(this.ctx, [new Pollable(this.ctx, this.entry.hostFd, events)]);
  }

  protected override released(): void {
    this.onDrop?.();
  }
}

export class InputStream extends Stream {
  /** read: what is there now, at most `len` bytes; an empty list if nothing is; `closed` at the end. */
  read(len: bigint): Uint8Array {
    const e = this.live();
    const n = len > BigInt(READ_MAX) ? READ_MAX : Number(len);
    if (n === 0) return new Uint8Array(0);
    if (e.pending !== null) return this.takePending(n);
    if (!this.readyNow(POLLIN)) return new Uint8Array(0);
    return this.readSome(e, n);
  }

  blockingRead(len: bigint): Uint8Array {
    for (;;) {
      checkStop(this.ctx);
      const bytes = this.read(len);
      if (bytes.length > 0 || len === 0n) return bytes;
      this.waitFor(POLLIN);
    }
  }

  skip(len: bigint): bigint {
    return BigInt(this.read(len).length);
  }

  blockingSkip(len: bigint): bigint {
    return BigInt(this.blockingRead(len).length);
  }

  subscribe(): Pollable {
    const e = this.entry;
    return new Pollable(this.ctx, this.alwaysReady ? -1 : e.hostFd, POLLIN, null,
      { immediate: () => e.pending !== null || this.parent.dropped });
  }

  private takePending(n: number): Uint8Array {
    const p = this.entry.pending!;
    const out = p.slice(0, n);
    this.entry.pending = p.length > n ? p.subarray(n) : null;
    return out;
  }

  private readSome(e: FdEntry, n: number): Uint8Array {
    const buf = scratchBuffer().subarray(0, n);
    let r: number;
    if (e.virtual !== null) {
      if (e.virtual.read === undefined) failed(this.ctx, errno.badf);
      r = e.virtual.read(buf);
    } else if (this.offset !== null) {
      r = libc.pread(e.hostFd, buf, n, this.offset);
    } else {
      r = libc.read(e.hostFd, buf, n);
      if (r === -EAGAIN) return new Uint8Array(0);
    }
    if (r < 0) failed(this.ctx, fromLinux(-r));
    if (r === 0) closed();
    if (this.offset !== null) this.offset += BigInt(r);
    // A view of the scratch buffer: the glue copies it into guest memory before the next call.
    return buf.subarray(0, r);
  }
}

export class OutputStream extends Stream {
  /** Bytes accepted by `write` that the descriptor has not taken yet. */
  private buffered: Uint8Array | null = null;
  /** Writes go to the end of the file (append-via-stream). */
  append = false;

  /** The entry when nothing is buffered and the parent is live and it has no offset (zerocopy's hot path). */
  fastEntry(): FdEntry | null {
    return this.buffered === null && !this.parent.dropped && this.offset === null && !this.append ? this.entry : null;
  }

  checkWrite(): bigint {
    this.live();
    if (this.buffered !== null && !this.drain(false)) return 0n;
    return this.readyNow(POLLOUT) ? BigInt(WRITE_BUDGET) : 0n;
  }

  write(contents: Uint8Array): void {
    const e = this.live();
    if (contents.length === 0) return;
    if (this.buffered !== null) {
      // check-write said 0: a guest that writes anyway gets an error, and nothing is lost.
      if (!this.drain(false)) failed(this.ctx, errno.again);
    }
    const n = this.writeSome(e, contents);
    if (n < contents.length) this.buffered = contents.slice(n);
  }

  blockingWriteAndFlush(contents: Uint8Array): void {
    const e = this.live();
    this.drain(true);
    let done = 0;
    while (done < contents.length) {
      checkStop(this.ctx);
      const n = this.writeSome(e, contents.subarray(done));
      done += n;
      if (done < contents.length) this.waitFor(POLLOUT);
    }
  }

  flush(): void {
    this.live();
    this.drain(false);
  }

  blockingFlush(): void {
    this.live();
    this.drain(true);
  }

  writeZeroes(len: bigint): void {
    let left = Number(len > BigInt(WRITE_BUDGET) ? BigInt(WRITE_BUDGET) : len);
    while (left > 0) {
      const n = Math.min(left, zeroes.length);
      this.write(zeroes.subarray(0, n));
      left -= n;
    }
  }

  blockingWriteZeroesAndFlush(len: bigint): void {
    let left = len;
    while (left > 0n) {
      const n = left > BigInt(zeroes.length) ? zeroes.length : Number(left);
      this.blockingWriteAndFlush(zeroes.subarray(0, n));
      left -= BigInt(n);
    }
  }

  subscribe(): Pollable {
    return new Pollable(this.ctx, this.alwaysReady ? -1 : this.entry.hostFd, POLLOUT, null, {
      immediate: () => this.parent.dropped || (this.alwaysReady && (this.buffered === null || this.drain(false))),
      confirm: () => this.buffered === null || this.drain(false),
    });
  }

  splice(src: InputStream, len: bigint): bigint {
    return spliceStreams(this, held(src, InputStream, 'input-stream'), len, false);
  }

  blockingSplice(src: InputStream, len: bigint): bigint {
    return spliceStreams(this, held(src, InputStream, 'input-stream'), len, true);
  }

  /**
   * Drains the buffer; returns whether it is empty. Waits for the descriptor when `block`.
   * A descriptor that fails drops what is buffered and reports the error.
   */
  drain(block: boolean): boolean {
    while (this.buffered !== null) {
      const b = this.buffered;
      let n: number;
      try {
        n = this.writeSome(this.entry, b);
      } catch (e) {
        this.buffered = null;
        throw e;
      }
      this.buffered = n === b.length ? null : b.subarray(n);
      if (this.buffered === null) return true;
      if (!block) return false;
      checkStop(this.ctx);
      this.waitFor(POLLOUT);
    }
    return true;
  }

  /** One write of as much as the descriptor takes now (a blocking one waits, as preview1's). */
  private writeSome(e: FdEntry, bytes: Uint8Array): number {
    if (e.virtual !== null) {
      if (e.virtual.write === undefined) failed(this.ctx, errno.badf);
      let done = 0;
      while (done < bytes.length) {
        const n = e.virtual.write(bytes.subarray(done));
        if (n <= 0) break;
        done += n;
      }
      return done;
    }
    {
      let r: number;
      if (this.append) r = appendWrite(e.hostFd, bytes);
      else if (this.offset !== null) r = libc.pwrite(e.hostFd, bytes, bytes.length, this.offset);
      else r = libc.write(e.hostFd, bytes, bytes.length);
      // Not taken now: the caller buffers the rest, or waits (blocking-write-and-flush).
      if (r === -EAGAIN) return 0;
      if (r < 0) failed(this.ctx, fromLinux(-r));
      if (this.offset !== null && !this.append) this.offset += BigInt(r);
      return r;
    }
  }
}

const iov = Buffer.alloc(16);
/** pwritev2(RWF_APPEND): to the end of the file whatever its status flags (pwritev2(2)). */
function appendWrite(hostFd: number, bytes: Uint8Array): number {
  iov.writeBigUInt64LE(bytes.length === 0 ? 0n : libc.addressOf(bytes), 0);
  iov.writeBigUInt64LE(BigInt(bytes.length), 8);
  const r = libc.pwritev2(hostFd, iov, 1, -1n, RWF_APPEND);
  // Kernels before 4.16 know no RWF_APPEND: a descriptor opened with O_APPEND appends anyway.
  return r === -EINVAL ? libc.write(hostFd, bytes, bytes.length) : r;
}

/**
 * The loff_t values the kernel reads and advances, as 64-bit views and as Buffers for
 * transfer.ts. A stream's offset is a u64; stored here it wraps to the kernel's signed loff_t,
 * so that one past 2^63 - 1 is the kernel's EINVAL, as natively (Buffer.writeBigInt64LE would
 * throw), and it is read back as the u64 it stands for.
 */
const offIn64 = new BigInt64Array(1), offOut64 = new BigInt64Array(1);
const offIn = Buffer.from(offIn64.buffer), offOut = Buffer.from(offOut64.buffer);
const u64 = (v: bigint): bigint => BigInt.asUintN(64, v);
const SPLICE_F_NONBLOCK = 2;

/**
 * output-stream.splice and blocking-splice: moves up to `len` bytes from `src` to `dst`.
 * Between kernel descriptors the kernel moves them: sendfile(2) from a file (into anything
 * but a file), copy_file_range(2) from a file into a file, splice(2) when either end is a
 * pipe. Otherwise (virtual files, socket to socket) one read and one write through the host.
 */
export function spliceStreams(dst: OutputStream, src: InputStream, len: bigint, block: boolean): bigint {
  const out = dst.live();
  const inp = src.live();
  if (len === 0n) return 0n;
  if (!dst.drain(block)) return 0n; // order: what was written before goes first
  if (!zc.kernel(inp) || !zc.kernel(out) || dst.append) return copySplice(dst, src, len, block);
  for (;;) {
    checkStop(dst.ctx);
    const n = streamOp(dst.ctx, () => kernelSplice(out, dst, inp, src, len, block));
    if (n === -1) return copySplice(dst, src, len, block);
    if (n > 0) return BigInt(n);
    if (n === 0) closed();
    // -2: nothing could move now
    if (!block) return 0n;
    src.waitFor(POLLIN);
    dst.waitFor(POLLOUT);
  }
}

/** One kernel transfer: bytes moved, 0 at the end of input, -2 for "not now", -1 for "cannot". */
function kernelSplice(out: FdEntry, dst: OutputStream, inp: FdEntry, src: InputStream, len: bigint, block: boolean): number {
  const count = len > 0x7ffff000n ? 0x7ffff000n : len; // MAX_RW_COUNT: what one call moves at most
  const srcPipe = inp.filetype === FILETYPE.UNKNOWN && src.offset === null;
  const dstPipe = out.filetype === FILETYPE.UNKNOWN && dst.offset === null;
  if (src.offset !== null && dst.offset === null) {
    // A file into a socket, pipe or terminal: sendfile(2) from the stream's own offset.
    offIn64[0] = src.offset;
    const r = retryable(() => zc.sendfileEntries(dst.ctx.stop, inp, out, offIn, count));
    if (r > 0) src.offset = u64(offIn64[0]);
    return r;
  }
  if (src.offset !== null && dst.offset !== null) {
    offIn64[0] = src.offset;
    offOut64[0] = dst.offset;
    const r = zc.copyFileRangeEntries(dst.ctx.stop, inp, offIn, out, offOut, count, 0);
    src.offset = u64(offIn64[0]);
    dst.offset = u64(offOut64[0]);
    return r;
  }
  if (srcPipe || dstPipe) {
    if (!block && !srcPipe && !src.readyNow(POLLIN)) return -2;
    if (dst.offset !== null) offOut64[0] = dst.offset;
    const r = retryable(() => zc.spliceEntries(dst.ctx.stop, inp, null, out, dst.offset === null ? null : offOut, count,
      block ? 0 : SPLICE_F_NONBLOCK));
    if (r > 0 && dst.offset !== null) dst.offset = u64(offOut64[0]);
    return r;
  }
  return -1;
}

/** EAGAIN (a non-blocking end not ready) as -2; other errors propagate. */
function retryable(op: () => number): number {
  try {
    return op();
  } catch (e) {
    if (e instanceof WasiError && e.errno === errno.again) return -2;
    throw e;
  }
}

/** The copying path: one read from `src` (what is there), written to `dst` (the rest buffered). */
function copySplice(dst: OutputStream, src: InputStream, len: bigint, block: boolean): bigint {
  const room = len > BigInt(WRITE_BUDGET) ? BigInt(WRITE_BUDGET) : len;
  const bytes = block ? src.blockingRead(room) : src.read(room);
  if (bytes.length === 0) return 0n;
  if (block) dst.blockingWriteAndFlush(bytes);
  else dst.write(bytes.slice());
  return BigInt(bytes.length);
}

export function ioInterfaces() {
  return {
    'wasi:io/error': { Error: IoError },
    'wasi:io/streams': { InputStream, OutputStream },
  };
}

