// The `zerocopy` import module, ABI v2 (docs/ABI.md): decoding only. Every function returns
// a WASI errno; results go through pointers into guest memory, where 0 means NULL: an offset
// of NULL means the file position, a result pointer of NULL is `fault`. Every pointer is
// checked to lie wholly inside guest memory before the system call runs, so a bad pointer is
// `fault` and never a transfer whose count the guest cannot learn.
import type { Context } from '../sandbox/context.js';
import { guard, type Imports } from '../wasi/guard.js';
import * as zc from './transfer.js';
import { sock_connect, sock_error } from './connect.js';
import { pipe_set_size } from './pipe_size.js';
import { errno, fail } from '../sandbox/errno.js';

/** The version of the zerocopy ABI this host implements (docs/ABI.md). */
export const ZEROCOPY_ABI_VERSION = 2;

export function zerocopy(ctx: Context): Imports {
  const { mem } = ctx;
  /**
   * The byte counts are i64 in the ABI and size_t to the kernel: the same 64 bits. Counts that
   * fit in 32 bits go as numbers: koffi converts a BigInt to size_t at ~290 more instructions.
   */
  const size = (n: bigint): bigint | number => {
    const x = Number(n); // exact below 2^53, and rounding keeps larger counts out of the range
    return x >= 0 && x <= 0xffffffff ? x : BigInt.asUintN(64, n);
  };
  /**
   * Stores a byte count (a u64 below 2^53) at `at` in the view `out` (from result(), which
   * checked the range): two u32 stores, where setU64 would check the range a second time.
   */
  const setCount = (out: DataView, at: number, n: number): void => {
    out.setUint32(at >>> 0, n % 0x100000000, true);
    out.setUint32((at >>> 0) + 4, Math.floor(n / 0x100000000), true);
  };
  /**
   * A result pointer: checked first, before any descriptor is looked up, so that no byte ever
   * moves without its count reaching the guest. It is not optional: 0 (NULL) is `fault`, as
   * pipe2(2) answers EFAULT for a NULL array.
   */
  const result = (ptr: number, len: number): DataView => {
    if (ptr === 0) fail(errno.fault);
    return mem.view(ptr, len);
  };

  return guard('zerocopy', {
    sendfile: (outFd: number, inFd: number, off: number, count: bigint, ret: number) => {
      const out = result(ret, 8);
      setCount(out, ret, zc.sendfile(ctx, outFd, inFd, off, size(count)));
    },
    splice: (inFd: number, offIn: number, outFd: number, offOut: number, len: bigint, flags: number, ret: number) => {
      const out = result(ret, 8);
      setCount(out, ret, zc.splice(ctx, inFd, offIn, outFd, offOut, size(len), flags >>> 0));
    },
    tee: (inFd: number, outFd: number, len: bigint, flags: number, ret: number) => {
      const out = result(ret, 8);
      setCount(out, ret, zc.tee(ctx, inFd, outFd, size(len), flags >>> 0));
    },
    pipe: (fdflags: number, ret: number) => {
      result(ret, 8);
      const [r, w] = zc.pipe(ctx, fdflags >>> 0);
      mem.setU32(ret, r);
      mem.setU32(ret + 4, w);
    },
    copy_file_range: (inFd: number, offIn: number, outFd: number, offOut: number, len: bigint, flags: number,
      ret: number) => {
      const out = result(ret, 8);
      setCount(out, ret, zc.copy_file_range(ctx, inFd, offIn, outFd, offOut, size(len), flags >>> 0));
    },
    sock_cork: (fd: number, enable: number) => zc.sock_cork(ctx, fd, enable),
    sock_peername: (fd: number, buf: number, bufLen: number, ret: number) => {
      result(ret, 4);
      // ASCII, one byte per character: checked to fit before anything is written.
      const len = zc.sock_peername(ctx, fd);
      if (len > (bufLen >>> 0)) fail(errno.nametoolong);
      if (buf === 0) fail(errno.fault);
      const out = mem.view(buf, len), at = buf >>> 0;
      for (let i = 0; i < len; i++) out.setUint8(at + i, zc.peerText[i]);
      mem.setU32(ret, len);
    },
    // ABI v2: outbound connections to granted addresses (connect.ts).
    sock_connect: (addr: number, addrLen: number, fdflags: number, ret: number) => {
      result(ret, 4);
      if (addr === 0) fail(errno.fault); // the address is text the guest wrote: NULL is no text
      mem.setU32(ret, sock_connect(ctx, addr, addrLen, fdflags));
    },
    sock_error: (fd: number, ret: number) => {
      result(ret, 2);
      mem.setU16(ret, sock_error(ctx, fd));
    },
    // ABI v2: a pipe's capacity (pipe_size.ts).
    pipe_set_size: (fd: number, size: number, ret: number) => {
      result(ret, 4);
      mem.setU32(ret, pipe_set_size(ctx, fd, size));
    },
  }, ctx);
}
