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
import type { Descriptor } from './filesystem.js';
import { checkStop } from './host.js';
import { poll, Pollable, POLLIN, POLLOUT } from './poll.js';
import { InputStream, OutputStream } from './streams.js';
import type { TcpSocket } from './sockets.js';

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

export function zerocopyInterface(ctx: Context) {
  return {
    sendfile: (inp: Descriptor, offset: bigint, out: OutputStream, count: bigint): bigint => {
      // The hot path: both ends kernel descriptors, nothing buffered, the call succeeds.
      const fast = inp.dropped ? null : ctx.fds.entryOrNull(inp.fd);
      const to = out.fastEntry();
      if (fast !== null && to !== null && zc.kernel(fast) && zc.kernel(to) && (ctx.stop === null || ctx.stop[0] === 0)) {
        offIn64[0] = offset;
        const r = libc.sendfile(to.hostFd, fast.hostFd, offInAddress, count);
        if (r >= 0) return BigInt(r);
      }
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
      const src = live(() => inp.live());
      const dst = flushed(out);
      return moving(ctx, src, dst, () => zc.teeEntries(ctx.stop, src, dst, len, SPLICE_F_NONBLOCK));
    },

    copyFileRange: (inp: Descriptor, inOffset: bigint, out: Descriptor, outOffset: bigint, len: bigint): bigint => {
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
      const e = live(() => socket.entry());
      live(() => zc.corkEntry(e, enable));
    },
  };
}

