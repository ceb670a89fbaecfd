// statx(2) into WASI's filestat. statx's layout is the same on every architecture, unlike
// struct stat, which is why it is used for every stat the runtime makes.
import * as libc from '../native/libc.js';
import { AT, STATX_BASIC_STATS, UTIME_NOW, UTIME_OMIT } from '../native/platform.js';
import { check, errno, fail } from '../sandbox/errno.js';
import { filetypeFromMode } from '../sandbox/fd_table.js';
import type { GuestMemory } from '../sandbox/memory.js';
import { FILESTAT, FSTFLAGS } from './abi.js';

export interface Filestat {
  dev: bigint; ino: bigint; filetype: number; nlink: bigint; size: bigint;
  atim: bigint; mtim: bigint; ctim: bigint;
}

const stx = Buffer.alloc(256);

/** gnu_dev_makedev: the st_dev encoding glibc's stat(2) reports, from statx's major/minor. */
function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major >>> 0), mi = BigInt(minor >>> 0);
  return ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) | (mi & 0xffn);
}

function timestamp(off: number): bigint {
  return stx.readBigInt64LE(off) * 1_000_000_000n + BigInt(stx.readUInt32LE(off + 8));
}

/** statx(dirfd, path, flags): throws the WASI errno on failure. */
export function statAt(dirfd: number, path: string, flags: number): Filestat {
  check(libc.statx(dirfd, path, flags, STATX_BASIC_STATS, stx));
  return {
    dev: makedev(stx.readUInt32LE(136), stx.readUInt32LE(140)),
    ino: stx.readBigUInt64LE(32),
    filetype: filetypeFromMode(stx.readUInt16LE(28)),
    nlink: BigInt(stx.readUInt32LE(16)),
    size: stx.readBigUInt64LE(40),
    atim: timestamp(64),
    mtim: timestamp(112),
    ctim: timestamp(96),
  };
}

export function statFd(hostFd: number): Filestat {
  return statAt(hostFd, '', AT.EMPTY_PATH);
}

export function writeFilestat(mem: GuestMemory, ptr: number, st: Filestat): void {
  mem.check(ptr, FILESTAT.SIZE);
  mem.bytes(ptr, FILESTAT.SIZE).fill(0);
  mem.setU64(ptr + FILESTAT.DEV, st.dev);
  mem.setU64(ptr + FILESTAT.INO, st.ino);
  mem.setU8(ptr + FILESTAT.FILETYPE, st.filetype);
  mem.setU64(ptr + FILESTAT.NLINK, st.nlink);
  mem.setU64(ptr + FILESTAT.FILESIZE, st.size);
  mem.setU64(ptr + FILESTAT.ATIM, st.atim);
  mem.setU64(ptr + FILESTAT.MTIM, st.mtim);
  mem.setU64(ptr + FILESTAT.CTIM, st.ctim);
}

const times = Buffer.alloc(32);

/** One struct timespec of utimensat(2): a WASI timestamp, or UTIME_NOW / UTIME_OMIT. */
function setTimespec(at: number, set: boolean, now: boolean, ns: bigint): void {
  const t = BigInt.asUintN(64, ns);
  times.writeBigInt64LE(set ? t / 1_000_000_000n : 0n, at);
  times.writeBigInt64LE(set ? t % 1_000_000_000n : BigInt(now ? UTIME_NOW : UTIME_OMIT), at + 8);
}

/**
 * The `const struct timespec times[2]` that utimensat(2) and futimens(3) take, for WASI
 * fstflags. A time given both explicitly and as "now" is contradictory: `inval`
 * (wasi_snapshot_preview1.witx, fstflags; the official suite's fstflags_validate).
 */
export function utimensTimes(atim: bigint, mtim: bigint, fstflags: number): Buffer {
  const all = FSTFLAGS.ATIM | FSTFLAGS.ATIM_NOW | FSTFLAGS.MTIM | FSTFLAGS.MTIM_NOW;
  if ((fstflags & ~all) !== 0) fail(errno.inval);
  if ((fstflags & FSTFLAGS.ATIM) && (fstflags & FSTFLAGS.ATIM_NOW)) fail(errno.inval);
  if ((fstflags & FSTFLAGS.MTIM) && (fstflags & FSTFLAGS.MTIM_NOW)) fail(errno.inval);
  setTimespec(0, (fstflags & FSTFLAGS.ATIM) !== 0, (fstflags & FSTFLAGS.ATIM_NOW) !== 0, atim);
  setTimespec(16, (fstflags & FSTFLAGS.MTIM) !== 0, (fstflags & FSTFLAGS.MTIM_NOW) !== 0, mtim);
  return times;
}
