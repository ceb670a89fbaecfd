// wasm-zerocopy:zerocopy/zerocopy@0.1.0 (wit/zerocopy.wit): the zerocopy module's calls for
// components, on the same table entries, through the same entry-level functions of
// zerocopy/transfer.ts as preview1 guests reach. Offsets are values in WASI 0.2 style (a
// descriptor has no position), held in host memory for the kernel to read and advance.
import * as libc from '../native/libc.js';
import { errno, errnoName, WasiError } from '../sandbox/errno.js';
import type { Context } from '../sandbox/context.js';
import { closeEntry, type FdEntry } from '../sandbox/fd_table.js';
import { FILETYPE } from '../sandbox/rights.js';
import * as zc from '../zerocopy/transfer.js';
import { Descriptor } from './filesystem.js';
import { checkStop } from './host.js';
import { Borrows, type LowerContext, MemoryView } from './lower.js';
import { poll, Pollable, POLLIN, POLLOUT } from './poll.js';
import { CABI_LOWER, held, repsOf } from './resources.js';
import { InputStream, OutputStream } from './streams.js';
import { TcpSocket } from './sockets.js';

/** preview1 errno name -> the interface's error-code; the rest are `io`. */
const CODES: Record<string, string> = {
  acces: 'access', badf: 'bad-descriptor', inval: 'invalid', io: 'io', isdir: 'is-directory', pipe: 'pipe',
  spipe: 'invalid-seek', perm: 'not-permitted', notcapable: 'not-permitted', notsup: 'unsupported',
  nomem: 'insufficient-memory', nospc: 'insufficient-space', fbig: 'file-too-large', overflow: 'overflow',
  connreset: 'connection-reset', notsock: 'not-socket', xdev: 'cross-device',
  mfile: 'descriptor-limit', nfile: 'descriptor-limit',
};
export const zerocopyError = (e: number): string => CODES[errnoName[e]] ?? 'io';

/**
 * The loff_t values the kernel reads and advances, as 64-bit views (a store wraps a u64 from
 * the guest to the kernel's signed loff_t, where one past 2^63 - 1 is negative and EINVAL, as
 * natively; Buffer.writeBigInt64LE would throw) and as Buffers for transfer.ts.
 */
const offIn64 = new BigInt64Array(1), offOut64 = new BigInt64Array(1);
const offIn = Buffer.from(offIn64.buffer), offOut = Buffer.from(offOut64.buffer);
const SPLICE_F_NONBLOCK = 2;

/** A kernel end the host waits on (files never need waiting). */
function waitable(e: FdEntry): boolean {
  return e.hostFd >= 0 && e.filetype !== FILETYPE.REGULAR_FILE && e.filetype !== FILETYPE.DIRECTORY;
}

/**
 * Runs a transfer until it moves something or reaches the end: EAGAIN from a non-blocking end
 * waits for that end (the source if it has nothing to read, else the destination), stop-aware.
 */
function moving(ctx: Context, src: FdEntry, dst: FdEntry, op: () => number): bigint {
  try {
    for (;;) {
      checkStop(ctx);
      try {
        return BigInt(op());
      } catch (e) {
        if (!(e instanceof WasiError) || e.errno !== errno.again) throw e;
      }
      const srcWaits = waitable(src) && !new Pollable(ctx, src.hostFd, POLLIN).ready();
      if (srcWaits) poll(ctx, [new Pollable(ctx, src.hostFd, POLLIN)]);
      else if (waitable(dst)) poll(ctx, [new Pollable(ctx, dst.hostFd, POLLOUT)]);
    }
  } catch (e) {
    if (e instanceof WasiError) throw zerocopyError(e.errno);
    throw e;
  }
}

/** The output stream's entry, with what it buffered written first (order is kept). */
function flushed(out: OutputStream): FdEntry {
  const e = live(() => out.live());
  try {
    out.drain(true);
  } catch (err) {
    if (typeof err === 'object' && err !== null && 'tag' in err) throw 'io';
    throw err;
  }
  return e;
}

/** A handle's entry; a dropped parent is `bad-descriptor`. */
function live<T>(get: () => T): T {
  try {
    return get();
  } catch (e) {
    if (e instanceof WasiError) throw zerocopyError(e.errno);
    // A stream-error (a dropped parent) or a sockets error-code (a dropped socket).
    if (typeof e === 'string' || (typeof e === 'object' && e !== null && 'tag' in e)) throw 'bad-descriptor';
    throw e;
  }
}

/** offIn's host address, once: koffi converts a bigint address faster than a Buffer. */
const offInAddress = libc.addressOf(offIn);

/**
 * The hot path of sendfile: both ends kernel descriptors, nothing buffered, no stop asked.
 * Returns the bytes sent, or -1 (or -errno) where the general path must run (and report).
 */
function sendfileNow(ctx: Context, inp: Descriptor, offset: bigint, out: OutputStream, count: bigint): number {
  const from = inp.dropped ? null : ctx.fds.entryOrNull(inp.fd);
  const to = out.fastEntry();
  if (from === null || to === null || !zc.kernel(from) || !zc.kernel(to) || (ctx.stop !== null && ctx.stop[0] !== 0)) return -1;
  offIn64[0] = offset;
  return libc.sendfile(to.hostFd, from.hostFd, offInAddress, count);
}

/** error-code's cases in wit/zerocopy.wit's order: their canonical-ABI discriminants. */
export const ERROR_CODES = [
  'access', 'bad-descriptor', 'invalid', 'io', 'is-directory', 'pipe', 'invalid-seek', 'not-permitted', 'unsupported',
  'insufficient-memory', 'insufficient-space', 'file-too-large', 'overflow', 'connection-reset', 'not-socket',
  'cross-device', 'descriptor-limit',
] as const;
const ERROR_INDEX = new Map<unknown, number>(ERROR_CODES.map((c, i) => [c, i]));

/**
 * sendfile as a core function for jco's hybrid glue (lower.ts): `(in, offset, out, count,
 * ret)` with the handles looked up in the glue's tables, and result<u64, error-code> stored at
 * `ret` (the discriminant at 0, the payload at 8: CanonicalABI.md, store of a variant). The
 * hot path stores the count without making a bigint; anything else runs `sendfile` itself, so
 * the semantics are the JavaScript function's. A thrown error-code becomes the `err`; anything
 * else (an exit, a trap) propagates, as the glue's getErrorPayload lets Errors through.
 */
function lowerSendfile(ctx: Context, sendfile: (inp: Descriptor, offset: bigint, out: OutputStream, count: bigint) => bigint) {
  return ({ memory, resourceTables = [] }: LowerContext) => {
    const reps = repsOf(ctx), view = new MemoryView(memory);
    const descriptors = new Borrows(resourceTables, reps, Descriptor, 'descriptor');
    const streams = new Borrows(resourceTables, reps, OutputStream, 'output-stream');
    return (inHandle: number, offset: bigint, outHandle: number, count: bigint, ret: number): void => {
      const inp = descriptors.get(inHandle);
      const out = streams.get(outHandle);
      // i64s arrive signed; the WIT's u64s are their unsigned readings.
      const n = count < 0n ? BigInt.asUintN(64, count) : count;
      const r = sendfileNow(ctx, inp, offset, out, n);
      if (r >= 0) {
        const dv = view.get();
        dv.setUint8(ret, 0);
        dv.setUint32(ret + 8, r % 0x1_0000_0000, true);
        dv.setUint32(ret + 12, Math.floor(r / 0x1_0000_0000), true);
        return;
      }
      let sent: bigint;
      try {
        sent = sendfile(inp, BigInt.asUintN(64, offset), out, n);
      } catch (e) {
        const code = ERROR_INDEX.get(e);
        if (code === undefined) throw e;
        const dv = view.get();
        dv.setUint8(ret, 1);
        dv.setUint8(ret + 8, code);
        return;
      }
      const dv = view.get();
      dv.setUint8(ret, 0);
      dv.setBigUint64(ret + 8, sent, true);
    };
  };
}

export function zerocopyInterface(ctx: Context) {
  const fns = {
    // Each first checks that its resources are the host's: a handle the glue could not find
    // comes as a stand-in (resources.ts), which must not reach sendfileNow's fields (a missing
    // `fd` would read as descriptor 0).
    sendfile: (inp: Descriptor, offset: bigint, out: OutputStream, count: bigint): bigint => {
      held(inp, Descriptor, 'descriptor');
      held(out, OutputStream, 'output-stream');
      const r = sendfileNow(ctx, inp, offset, out, count);
      if (r >= 0) return BigInt(r);
      const src = live(() => ctx.fds.get(inp.live()));
      const dst = flushed(out);
      let at = offset;
      const n = moving(ctx, src, dst, () => {
        // The kernel advances the offset in offIn; where the destination is a virtual file,
        // the copying path moves it back by what the file did not take.
        offIn64[0] = at;
        const r = zc.sendfileEntries(ctx.stop, src, dst, offIn, count);
        at = offIn64[0];
        return r;
      });
      return n;
    },

    splice: (inp: InputStream, out: OutputStream, len: bigint): bigint => {
      held(inp, InputStream, 'input-stream');
      held(out, OutputStream, 'output-stream');
      const src = live(() => inp.live());
      const dst = flushed(out);
      return moving(ctx, src, dst, () => {
        if (inp.offset !== null) offIn64[0] = inp.offset;
        if (out.offset !== null) offOut64[0] = out.offset;
        const r = zc.spliceEntries(ctx.stop, src, inp.offset === null ? null : offIn, dst, out.offset === null ? null : offOut, len,
          SPLICE_F_NONBLOCK);
        if (inp.offset !== null) inp.offset = BigInt.asUintN(64, offIn64[0]);
        if (out.offset !== null) out.offset = BigInt.asUintN(64, offOut64[0]);
        return r;
      });
    },

    tee: (inp: InputStream, out: OutputStream, len: bigint): bigint => {
      held(inp, InputStream, 'input-stream');
      held(out, OutputStream, 'output-stream');
      const src = live(() => inp.live());
      const dst = flushed(out);
      return moving(ctx, src, dst, () => zc.teeEntries(ctx.stop, src, dst, len, SPLICE_F_NONBLOCK));
    },

    copyFileRange: (inp: Descriptor, inOffset: bigint, out: Descriptor, outOffset: bigint, len: bigint): bigint => {
      held(inp, Descriptor, 'descriptor');
      held(out, Descriptor, 'descriptor');
      const src = live(() => ctx.fds.get(inp.live()));
      const dst = live(() => ctx.fds.get(out.live()));
      offIn64[0] = inOffset;
      offOut64[0] = outOffset;
      return moving(ctx, src, dst, () => zc.copyFileRangeEntries(ctx.stop, src, offIn, dst, offOut, len, 0));
    },

    pipe: (): [InputStream, OutputStream] => {
      // preview1's pipe: both numbers reserved first (descriptor-limit at the guest's limit),
      // both ends the table's the moment pipe2 returns them.
      const [rn, wn] = live(() => zc.pipe(ctx, zc.PIPE_NONBLOCK));
      const r = ctx.fds.get(rn), w = ctx.fds.get(wn);
      // Each stream owns its end: dropping it closes the descriptor.
      const close = (n: number) => () => { if (ctx.fds.has(n)) closeEntry(ctx.fds.remove(n)); };
      return [new InputStream(ctx, r, null, undefined, close(rn)), new OutputStream(ctx, w, null, undefined, close(wn))];
    },

    cork: (socket: TcpSocket, enable: boolean): void => {
      held(socket, TcpSocket, 'tcp-socket');
      const e = live(() => socket.entry());
      live(() => zc.corkEntry(e, enable));
    },
  };
  Object.defineProperty(fns.sendfile, CABI_LOWER, { value: lowerSendfile(ctx, fns.sendfile) });
  return fns;
}

