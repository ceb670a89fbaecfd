// fd_readdir: a directory's entries as WASI dirents, straight from getdents64(2).
//
// A WASI dircookie is the kernel's own directory offset (struct linux_dirent64's d_off: "the
// offset to the next entry"), so a later call resumes exactly where a cookie points with
// lseek(2), however the filesystem orders or hashes its entries, and cookie 0 is the start
// (WASI's DIRCOOKIE_START). `.` and `..` come from the kernel like every other entry.
//
// Each call reads through a fresh descriptor of the same directory (openat(fd, ".")), so the
// guest descriptor's own offset, which an embedder may share through grant(), never moves.
import * as libc from '../native/libc.js';
import { AT, O, SEEK } from '../native/platform.js';
import { check, errno, fail } from '../sandbox/errno.js';
import { filetypeFromMode } from '../sandbox/fd_table.js';
import type { Context } from '../sandbox/context.js';
import { FILETYPE, R } from '../sandbox/rights.js';
import { DIRENT } from './abi.js';
import { statAt } from './stat.js';

/** getdents64's d_type values (dirent.h DT_*), which are st_mode's type bits shifted by 12. */
const DT_UNKNOWN = 0;
const DT_SHIFT = 12;

/** struct linux_dirent64 { u64 d_ino; s64 d_off; u16 d_reclen; u8 d_type; char d_name[]; } */
const D_INO = 0, D_OFF = 8, D_RECLEN = 16, D_TYPE = 18, D_NAME = 19;

const hostBuf = Buffer.alloc(64 * 1024);

/**
 * Fills the guest buffer with dirents from `cookie` on; returns the bytes used. As the witx
 * says, a result smaller than the buffer means the end of the directory was reached; when
 * the buffer fills, the last entry is cut off where it ends, and the guest resumes from the
 * d_next of the last entry it read whole.
 */
export function fd_readdir(ctx: Context, fd: number, buf: number, bufLen: number, cookie: bigint): number {
  const e = ctx.fds.get(fd, R.FD_READDIR);
  if (e.hostFd < 0 || e.filetype !== FILETYPE.DIRECTORY) fail(errno.notdir);
  const out = ctx.mem.bytes(buf, bufLen);
  const dir = ctx.fds.temporary(); // the table's before it exists (FdTable.temporary)
  try {
    const r = libc.openat(e.hostFd, '.', O.RDONLY | O.DIRECTORY | O.CLOEXEC, 0);
    if (r >= 0) dir.hostFd = r;
    const dirFd = check(r);
    check(libc.lseek(dirFd, BigInt.asIntN(64, cookie), SEEK.SET));
    const header = new Uint8Array(DIRENT.SIZE);
    const hv = new DataView(header.buffer);
    let used = 0;
    while (used < out.length) {
      const n = check(libc.getdents64(dirFd, hostBuf, hostBuf.length));
      if (n === 0) break;
      for (let at = 0; at < n && used < out.length; at += hostBuf.readUInt16LE(at + D_RECLEN)) {
        const nameEnd = hostBuf.indexOf(0, at + D_NAME);
        const name = hostBuf.subarray(at + D_NAME, nameEnd);
        hv.setBigUint64(DIRENT.NEXT, hostBuf.readBigUInt64LE(at + D_OFF), true);
        hv.setBigUint64(DIRENT.INO, hostBuf.readBigUInt64LE(at + D_INO), true);
        hv.setUint32(DIRENT.NAMLEN, name.length, true);
        hv.setUint32(DIRENT.TYPE, filetypeOfEntry(dirFd, hostBuf[at + D_TYPE], name), true);
        used = put(out, used, header);
        used = put(out, used, name);
      }
    }
    return used;
  } finally {
    ctx.fds.release(dir);
  }
}

/** Copies as much of `bytes` as fits at `at`; returns the new end. */
function put(out: Uint8Array, at: number, bytes: Uint8Array): number {
  const n = Math.min(bytes.length, out.length - at);
  out.set(bytes.subarray(0, n), at);
  return at + n;
}

/**
 * The WASI file type of an entry. Filesystems that do not fill d_type answer DT_UNKNOWN
 * (getdents64(2), "d_type"); then the entry itself is examined without following it. The
 * name is one component of this directory, so the lookup cannot leave it.
 */
function filetypeOfEntry(dirFd: number, dtype: number, name: Buffer): number {
  if (dtype !== DT_UNKNOWN) return filetypeFromMode(dtype << DT_SHIFT);
  try {
    return statAt(dirFd, name.toString('utf8'), AT.SYMLINK_NOFOLLOW).filetype;
  } catch {
    return FILETYPE.UNKNOWN; // removed since it was listed
  }
}
