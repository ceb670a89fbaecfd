// The `zerocopy` import module, ABI v1 (docs/ABI.md): decoding only. Every function returns
// a WASI errno; results go through pointers into guest memory, where 0 means NULL. Every
// pointer is checked to lie wholly inside guest memory before the system call runs, so a bad
// pointer is `fault` and never a transfer whose count the guest cannot learn.
import type { Context } from '../sandbox/context.js';
import { guard, type Imports } from '../wasi/guard.js';
import * as zc from './transfer.js';
import { errno, fail } from '../sandbox/errno.js';

const ascii = new TextEncoder();

/** The version of the zerocopy ABI this host implements (docs/ABI.md). */
export const ZEROCOPY_ABI_VERSION = 1;

export function zerocopy(ctx: Context): Imports {
  const { mem } = ctx;
  /** An optional loff_t pointer: null, or the host address the kernel will read and write. */
  const offset = (ptr: number): zc.OffsetPtr => (ptr === 0 ? null : mem.address(ptr, 8));
  /**
   * The byte counts are i64 in the ABI and size_t to the kernel: the same 64 bits. Counts that
   * fit in 32 bits go as numbers: koffi converts a BigInt to size_t at ~290 more instructions.
   */
  const size = (n: bigint): bigint | number => {
    const x = Number(n); // exact below 2^53, and rounding keeps larger counts out of the range
    return x >= 0 && x <= 0xffffffff ? x : BigInt.asUintN(64, n);
  };

  /**
   * Stores a byte count (a u64 below 2^53) at `at` in the view `out` (from mem.view, which
   * checked the range): two u32 stores, where setU64 would check the range a second time.
   */
  const setCount = (out: DataView, at: number, n: number): void => {
    out.setUint32(at >>> 0, n % 0x100000000, true);
    out.setUint32((at >>> 0) + 4, Math.floor(n / 0x100000000), true);
  };

  return guard('zerocopy', {
    sendfile: (outFd: number, inFd: number, off: number, count: bigint, ret: number) => {
      const out = mem.view(ret, 8);
      setCount(out, ret, zc.sendfile(ctx, outFd, inFd, offset(off), off, size(count)));
    },
    splice: (inFd: number, offIn: number, outFd: number, offOut: number, len: bigint, flags: number, ret: number) => {
      const out = mem.view(ret, 8);
      const oi = offset(offIn), oo = offset(offOut);
      setCount(out, ret, zc.splice(ctx, inFd, oi, offIn, outFd, oo, offOut, size(len), flags >>> 0));
    },
    tee: (inFd: number, outFd: number, len: bigint, flags: number, ret: number) => {
      const out = mem.view(ret, 8);
      setCount(out, ret, zc.tee(ctx, inFd, outFd, size(len), flags >>> 0));
    },
    pipe: (fdflags: number, ret: number) => {
      mem.check(ret, 8);
      const [r, w] = zc.pipe(ctx, fdflags >>> 0);
      mem.setU32(ret, r);
      mem.setU32(ret + 4, w);
    },
    copy_file_range: (inFd: number, offIn: number, outFd: number, offOut: number, len: bigint, flags: number,
      ret: number) => {
      const out = mem.view(ret, 8);
      const oi = offset(offIn), oo = offset(offOut);
      setCount(out, ret, zc.copy_file_range(ctx, inFd, oi, outFd, oo, size(len), flags >>> 0));
    },
    sock_cork: (fd: number, enable: number) => zc.sock_cork(ctx, fd, enable),
    sock_peername: (fd: number, buf: number, bufLen: number, ret: number) => {
      mem.check(ret, 4);
      // ASCII, one byte per character: checked to fit before anything is written.
      const text = zc.sock_peername(ctx, fd);
      if (text.length > (bufLen >>> 0)) fail(errno.nametoolong);
      ascii.encodeInto(text, mem.bytes(buf, text.length));
      mem.setU32(ret, text.length);
    },
  }, ctx.stop);
}
