// The `zerocopy` import module, ABI v2 (docs/ABI.md): decoding only. Every function returns
// a WASI errno; results go through pointers into guest memory, where 0 means NULL. Every
// pointer is checked to lie wholly inside guest memory before the system call runs, so a bad
// pointer is `fault` and never a transfer whose count the guest cannot learn.
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
  /** An optional loff_t pointer: null, or the host address the kernel will read and write. */
  const offset = (ptr: number): zc.OffsetPtr => (ptr === 0 ? null : mem.address(ptr, 8));
  /** The byte counts are i64 in the ABI and size_t to the kernel: the same 64 bits. */
  const size = (n: bigint): bigint => (n < 0n ? BigInt.asUintN(64, n) : n);

  return guard('zerocopy', {
    sendfile: (outFd: number, inFd: number, off: number, count: bigint, ret: number) => {
      mem.check(ret, 8);
      const o = offset(off);
      mem.setU64(ret, zc.sendfile(ctx, outFd, inFd, o, off, size(count)));
    },
    splice: (inFd: number, offIn: number, outFd: number, offOut: number, len: bigint, flags: number, ret: number) => {
      mem.check(ret, 8);
      const oi = offset(offIn), oo = offset(offOut);
      mem.setU64(ret, zc.splice(ctx, inFd, oi, offIn, outFd, oo, offOut, size(len), flags >>> 0));
    },
    tee: (inFd: number, outFd: number, len: bigint, flags: number, ret: number) => {
      mem.check(ret, 8);
      mem.setU64(ret, zc.tee(ctx, inFd, outFd, size(len), flags >>> 0));
    },
    pipe: (fdflags: number, ret: number) => {
      mem.check(ret, 8);
      const [r, w] = zc.pipe(ctx, fdflags >>> 0);
      mem.setU32(ret, r);
      mem.setU32(ret + 4, w);
    },
    copy_file_range: (inFd: number, offIn: number, outFd: number, offOut: number, len: bigint, flags: number,
      ret: number) => {
      mem.check(ret, 8);
      const oi = offset(offIn), oo = offset(offOut);
      mem.setU64(ret, zc.copy_file_range(ctx, inFd, oi, outFd, oo, size(len), flags >>> 0));
    },
    sock_cork: (fd: number, enable: number) => zc.sock_cork(ctx, fd, enable),
    sock_peername: (fd: number, buf: number, bufLen: number, ret: number) => {
      mem.check(ret, 4);
      const text = new TextEncoder().encode(zc.sock_peername(ctx, fd));
      if (text.length > (bufLen >>> 0)) fail(errno.nametoolong);
      mem.write(buf, text);
      mem.setU32(ret, text.length);
    },
    // ABI v2: outbound connections to granted addresses (connect.ts).
    sock_connect: (addr: number, addrLen: number, fdflags: number, ret: number) => {
      mem.check(ret, 4);
      mem.setU32(ret, sock_connect(ctx, addr, addrLen, fdflags));
    },
    sock_error: (fd: number, ret: number) => {
      mem.check(ret, 2);
      mem.setU16(ret, sock_error(ctx, fd));
    },
    // ABI v2: a pipe's capacity (pipe_size.ts).
    pipe_set_size: (fd: number, size: number, ret: number) => {
      mem.check(ret, 4);
      mem.setU32(ret, pipe_set_size(ctx, fd, size));
    },
  }, ctx.stop);
}
