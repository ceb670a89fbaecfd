// The wasi_snapshot_preview1 import module: decoding only. Each import reads its arguments
// out of guest memory, calls what the call means (fd.ts, path.ts, io.ts) and writes results
// back. Every import returns an errno; no exception crosses into the guest except ProcExit.
import { randomFillSync } from 'node:crypto';
import * as libc from '../native/libc.js';
import { errno, fail } from '../sandbox/errno.js';
import type { Context } from '../sandbox/context.js';
import { ProcExit } from '../sandbox/context.js';
import { encodeUtf8 } from '../sandbox/memory.js';
import { FILETYPE, R, rightsFrom } from '../sandbox/rights.js';
import type { FdEntry } from '../sandbox/fd_table.js';
import { isListening } from '../listen.js';
import { CLOCK, FDSTAT, PRESTAT, PREOPENTYPE_DIR } from './abi.js';
import * as fd from './fd.js';
import { decodeIovecs, readInto, stopPoint, writeFrom } from './io.js';
import * as path from './path.js';
import * as pathOps from './path_ops.js';
import { fd_readdir } from './dir.js';
import { poll_oneoff, proc_raise_status } from './poll.js';
import * as sock from './sock.js';
import { writeFilestat } from './stat.js';
import { guard, type Imports } from './guard.js';

const timespec = libc.keptBuffer(16);
/** fd_prestat_get's tag for a listener or a grant: not in the witx (whose `preopentype` has only `dir`, 0). */
export const PREOPENTYPE_LISTENER = 1;
/** A listener, or a descriptor the host granted before the preopens: passed over by a preopen scan. */
const beforePreopens = (e: FdEntry): boolean =>
  e.granted || (e.filetype === FILETYPE.SOCKET_STREAM && isListening(e.hostFd));

function clockNs(read: typeof libc.clock_gettime, id: number): bigint {
  // clockid is a u32 that arrives as a signed i32: unsigned here, or a negative id would reach
  // Linux, which reads those as another process's CPU clock or an fd's (clock_getcpuclockid(3)).
  if ((id >>> 0) > CLOCK.THREAD_CPUTIME_ID) fail(errno.inval);
  const r = read(id, timespec.buf);
  if (r < 0) fail(errno.inval);
  return timespec.buf.readBigInt64LE(0) * 1_000_000_000n + timespec.buf.readBigInt64LE(8);
}

/**
 * Writes a struct timespec as a WASI timestamp (u64 nanoseconds) at `at`, in u32 halves of
 * exact plain numbers: no BigInt for a call a server makes per request. Realtime nanoseconds
 * pass 2^53, so seconds are split in 16-bit parts where a product could lose bits.
 */
function setTimestamp(out: DataView, at: number, ts: DataView): void {
  const sec = ts.getUint32(0, true) + ts.getInt32(4, true) * 0x100000000, nsec = ts.getUint32(8, true);
  if (sec < 0) { // before 1970: the u64 wraps, as the BigInt it stands for would
    out.setBigUint64(at, BigInt.asUintN(64, BigInt(sec) * 1_000_000_000n + BigInt(nsec)), true);
    return;
  }
  const p1 = Math.floor(sec / 65536) * 1e9; // sec = hi * 65536 + lo; p1 = hi * 1e9 < 2^48
  const r = (p1 % 65536) * 65536 + (sec % 65536) * 1e9 + nsec; // < 2^47
  out.setUint32(at, r % 0x100000000, true);
  out.setUint32(at + 4, Math.floor(p1 / 65536) + Math.floor(r / 0x100000000), true);
}

/** Writes a list of strings as argv/environ do: pointers into one NUL-separated buffer. */
function writeStrings(ctx: Context, list: readonly string[], ptrs: number, buf: number): void {
  let at = buf;
  for (let i = 0; i < list.length; i++) {
    const bytes = encodeUtf8(list[i] + '\0');
    ctx.mem.setU32(ptrs + i * 4, at);
    ctx.mem.write(at, bytes);
    at += bytes.length;
  }
}

/**
 * random_get fills the whole buffer, as the witx asks, however large: in steps, so that no
 * single fill has a size Node refuses (randomFillSync stops at 2^31 - 1 bytes) and a stop is
 * seen between steps. Nothing is allocated: the bytes go straight into guest memory.
 */
const RANDOM_STEP = 1 << 20;
function randomGet(ctx: Context, buf: number, len: number): void {
  const all = ctx.mem.bytes(buf, len);
  for (let at = 0; at < all.length; at += RANDOM_STEP) {
    if (at > 0) stopPoint(ctx.stop);
    randomFillSync(all.subarray(at, Math.min(all.length, at + RANDOM_STEP)));
  }
}

function writeSizes(ctx: Context, list: readonly string[], countPtr: number, sizePtr: number): void {
  ctx.mem.check(countPtr, 4);
  ctx.mem.check(sizePtr, 4);
  ctx.mem.setU32(countPtr, list.length);
  ctx.mem.setU32(sizePtr, list.reduce((n, s) => n + encodeUtf8(s).length + 1, 0));
}

export function preview1(ctx: Context): Imports {
  const { mem } = ctx;
  /** Stores a u32 result, or returns the errno a negative one carries (AGAIN, io.ts). */
  const count = (ret: number, n: number): number => {
    if (n < 0) return -n;
    mem.setU32(ret, n);
    return errno.success;
  };
  const imports: Record<string, (...a: any[]) => number | void> = {
    args_get: (argv: number, buf: number) => writeStrings(ctx, ctx.args, argv, buf),
    args_sizes_get: (count: number, size: number) => writeSizes(ctx, ctx.args, count, size),
    environ_get: (environ: number, buf: number) => writeStrings(ctx, ctx.env, environ, buf),
    environ_sizes_get: (count: number, size: number) => writeSizes(ctx, ctx.env, count, size),

    clock_res_get: (id: number, ret: number) => {
      mem.check(ret, 8);
      mem.setU64(ret, clockNs(libc.clock_getres, id));
    },
    clock_time_get: (id: number, _precision: bigint, ret: number) => {
      const out = mem.view(ret, 8);
      if ((id >>> 0) > CLOCK.THREAD_CPUTIME_ID || libc.clockGettimeAt(id, timespec.at) < 0) fail(errno.inval);
      setTimestamp(out, ret >>> 0, timespec.view);
    },
    random_get: (buf: number, len: number) => randomGet(ctx, buf, len),
    sched_yield: () => { libc.sched_yield(); },
    proc_exit: (code: number) => {
      ctx.exitStatus ??= code >>> 0; // first: constructing the ProcExit may meet the stack limit
      throw new ProcExit(ctx.exitStatus);
    },

    // The transfers return a count, or AGAIN (io.ts): a negated errno, returned without a throw.
    fd_read: (f: number, iovs: number, n: number, ret: number) => {
      mem.check(ret, 4);
      const e = ctx.fds.get(f, R.FD_READ);
      return count(ret, readInto(ctx, e, decodeIovecs(mem, iovs, n), null));
    },
    fd_write: (f: number, iovs: number, n: number, ret: number) => {
      mem.check(ret, 4);
      const e = ctx.fds.get(f, R.FD_WRITE);
      return count(ret, writeFrom(ctx, e, decodeIovecs(mem, iovs, n), null));
    },
    fd_pread: (f: number, iovs: number, n: number, offset: bigint, ret: number) => {
      mem.check(ret, 4);
      const e = ctx.fds.get(f, R.FD_READ | R.FD_SEEK);
      return count(ret, readInto(ctx, e, decodeIovecs(mem, iovs, n), offset));
    },
    fd_pwrite: (f: number, iovs: number, n: number, offset: bigint, ret: number) => {
      mem.check(ret, 4);
      const e = ctx.fds.get(f, R.FD_WRITE | R.FD_SEEK);
      return count(ret, writeFrom(ctx, e, decodeIovecs(mem, iovs, n), offset));
    },
    fd_seek: (f: number, offset: bigint, whence: number, ret: number) => {
      mem.check(ret, 8);
      mem.setU64(ret, fd.fd_seek(ctx, f, offset, whence));
    },
    fd_tell: (f: number, ret: number) => {
      mem.check(ret, 8);
      mem.setU64(ret, fd.fd_tell(ctx, f));
    },
    fd_close: (f: number) => fd.fd_close(ctx, f),
    fd_fdstat_get: (f: number, ret: number) => {
      mem.check(ret, FDSTAT.SIZE);
      const st = fd.fd_fdstat_get(ctx, f);
      mem.bytes(ret, FDSTAT.SIZE).fill(0);
      mem.setU8(ret + FDSTAT.FILETYPE, st.filetype);
      mem.setU16(ret + FDSTAT.FLAGS, st.flags);
      mem.setU64(ret + FDSTAT.RIGHTS_BASE, st.rightsBase);
      mem.setU64(ret + FDSTAT.RIGHTS_INHERITING, st.rightsInheriting);
    },
    fd_fdstat_set_flags: (f: number, flags: number) => fd.fd_fdstat_set_flags(ctx, f, flags & 0xffff),
    fd_fdstat_set_rights: (f: number, base: bigint, inheriting: bigint) =>
      fd.fd_fdstat_set_rights(ctx, f, rightsFrom(base), rightsFrom(inheriting)),
    fd_filestat_get: (f: number, ret: number) => {
      mem.check(ret, 64);
      writeFilestat(mem, ret, fd.fd_filestat_get(ctx, f));
    },
    fd_filestat_set_size: (f: number, size: bigint) => fd.fd_filestat_set_size(ctx, f, size),
    fd_prestat_get: (f: number, ret: number) => {
      mem.check(ret, PRESTAT.SIZE);
      const e = ctx.fds.get(f);
      // A listener or a grant (at 3.., before the preopens, as LISTEN_FDS has it) answers
      // success with a type that is not `dir`: wasi-libc and Go scan fd_prestat_get from 3 up
      // to the first badf and skip other types, so the preopens after them stay visible to
      // open(). Our extension, docs/ABI.md "Listeners, grants and preopens".
      const listener = e.preopen === null && beforePreopens(e);
      if (e.preopen === null && !listener) fail(errno.badf);
      mem.bytes(ret, PRESTAT.SIZE).fill(0);
      mem.setU8(ret + PRESTAT.TAG, listener ? PREOPENTYPE_LISTENER : PREOPENTYPE_DIR);
      if (e.preopen !== null) mem.setU32(ret + PRESTAT.NAME_LEN, encodeUtf8(e.preopen).length);
    },
    fd_prestat_dir_name: (f: number, buf: number, len: number) => {
      const e = ctx.fds.get(f);
      if (e.preopen === null) fail(beforePreopens(e) ? errno.notdir : errno.badf);
      const name = encodeUtf8(e.preopen);
      if ((len >>> 0) < name.length) fail(errno.nametoolong);
      mem.write(buf, name);
    },

    path_open: (dirfd: number, dirflags: number, p: number, pLen: number, oflags: number,
      base: bigint, inheriting: bigint, fdflags: number, ret: number) => {
      mem.check(ret, 4);
      const guestFd = path.path_open(ctx, dirfd, {
        dirflags, path: mem.path(p, pLen), oflags: oflags & 0xffff,
        rightsBase: rightsFrom(base), rightsInheriting: rightsFrom(inheriting), fdflags: fdflags & 0xffff,
      });
      mem.setU32(ret, guestFd);
    },
    path_filestat_get: (dirfd: number, dirflags: number, p: number, pLen: number, ret: number) => {
      mem.check(ret, 64);
      writeFilestat(mem, ret, path.path_filestat_get(ctx, dirfd, dirflags, mem.path(p, pLen)));
    },

    // Filesystem calls (fd.ts, dir.ts, path_ops.ts). Result pointers are checked first, so a
    // bad pointer is `fault` before anything changes.
    fd_advise: (f: number, offset: bigint, len: bigint, advice: number) => fd.fd_advise(ctx, f, offset, len, advice),
    fd_allocate: (f: number, offset: bigint, len: bigint) => fd.fd_allocate(ctx, f, offset, len),
    fd_datasync: (f: number) => fd.fd_datasync(ctx, f),
    fd_sync: (f: number) => fd.fd_sync(ctx, f),
    fd_filestat_set_times: (f: number, atim: bigint, mtim: bigint, fstflags: number) =>
      fd.fd_filestat_set_times(ctx, f, atim, mtim, fstflags & 0xffff),
    fd_renumber: (from: number, to: number) => fd.fd_renumber(ctx, from, to),
    fd_readdir: (f: number, buf: number, bufLen: number, cookie: bigint, ret: number) => {
      mem.check(ret, 4);
      mem.setU32(ret, fd_readdir(ctx, f, buf, bufLen >>> 0, cookie));
    },
    path_create_directory: (dirfd: number, p: number, pLen: number) =>
      pathOps.path_create_directory(ctx, dirfd, mem.path(p, pLen)),
    path_remove_directory: (dirfd: number, p: number, pLen: number) =>
      pathOps.path_remove_directory(ctx, dirfd, mem.path(p, pLen)),
    path_unlink_file: (dirfd: number, p: number, pLen: number) =>
      pathOps.path_unlink_file(ctx, dirfd, mem.path(p, pLen)),
    path_rename: (oldfd: number, op: number, opLen: number, newfd: number, np: number, npLen: number) =>
      pathOps.path_rename(ctx, oldfd, mem.path(op, opLen), newfd, mem.path(np, npLen)),
    path_symlink: (t: number, tLen: number, dirfd: number, p: number, pLen: number) =>
      pathOps.path_symlink(ctx, mem.path(t, tLen), dirfd, mem.path(p, pLen)),
    path_link: (oldfd: number, dirflags: number, op: number, opLen: number, newfd: number, np: number, npLen: number) =>
      pathOps.path_link(ctx, oldfd, dirflags, mem.path(op, opLen), newfd, mem.path(np, npLen)),
    path_readlink: (dirfd: number, p: number, pLen: number, buf: number, bufLen: number, ret: number) => {
      mem.check(ret, 4);
      mem.setU32(ret, pathOps.path_readlink(ctx, dirfd, mem.path(p, pLen), buf, bufLen));
    },
    path_filestat_set_times: (dirfd: number, dirflags: number, p: number, pLen: number,
      atim: bigint, mtim: bigint, fstflags: number) =>
      pathOps.path_filestat_set_times(ctx, dirfd, dirflags, mem.path(p, pLen), atim, mtim, fstflags & 0xffff),

    poll_oneoff: (inPtr: number, outPtr: number, n: number, ret: number) => {
      mem.check(ret, 4);
      mem.setU32(ret, poll_oneoff(ctx, inPtr, outPtr, n >>> 0));
    },
    proc_raise: (sig: number) => {
      const status = proc_raise_status(sig & 0xff);
      if (status !== null) {
        ctx.exitStatus ??= status;
        throw new ProcExit(ctx.exitStatus);
      }
    },

    sock_accept: (f: number, flags: number, ret: number) => {
      mem.check(ret, 4);
      return count(ret, sock.sock_accept(ctx, f, flags & 0xffff));
    },
    sock_recv: (f: number, iovs: number, n: number, riflags: number, retLen: number, retFlags: number) => {
      mem.check(retLen, 4);
      mem.check(retFlags, 2);
      const len = sock.sock_recv(ctx, f, decodeIovecs(mem, iovs, n), riflags & 0xffff);
      if (len < 0) return -len;
      mem.setU32(retLen, len);
      mem.setU16(retFlags, sock.recvFlags());
    },
    sock_send: (f: number, iovs: number, n: number, siflags: number, ret: number) => {
      mem.check(ret, 4);
      return count(ret, sock.sock_send(ctx, f, decodeIovecs(mem, iovs, n), siflags & 0xffff));
    },
    sock_shutdown: (f: number, how: number) => sock.sock_shutdown(ctx, f, how & 0xff),
  };
  // Every function of the witx is implemented; the check keeps it so. but answers `nosys` until it is implemented.
  for (const name of PREVIEW1_FUNCTIONS) if (!(name in imports)) throw new Error(`preview1: ${name} is missing`);
  return guard('wasi_snapshot_preview1', imports, ctx);
}

/** Every function of wasi_snapshot_preview1 (wasi_snapshot_preview1.witx). */
export const PREVIEW1_FUNCTIONS = [
  'args_get', 'args_sizes_get', 'environ_get', 'environ_sizes_get', 'clock_res_get',
  'clock_time_get', 'fd_advise', 'fd_allocate', 'fd_close', 'fd_datasync', 'fd_fdstat_get',
  'fd_fdstat_set_flags', 'fd_fdstat_set_rights', 'fd_filestat_get', 'fd_filestat_set_size',
  'fd_filestat_set_times', 'fd_pread', 'fd_prestat_get', 'fd_prestat_dir_name', 'fd_pwrite',
  'fd_read', 'fd_readdir', 'fd_renumber', 'fd_seek', 'fd_sync', 'fd_tell', 'fd_write',
  'path_create_directory', 'path_filestat_get', 'path_filestat_set_times', 'path_link',
  'path_open', 'path_readlink', 'path_remove_directory', 'path_rename', 'path_symlink',
  'path_unlink_file', 'poll_oneoff', 'proc_exit', 'proc_raise', 'sched_yield', 'random_get',
  'sock_accept', 'sock_recv', 'sock_send', 'sock_shutdown',
] as const;
