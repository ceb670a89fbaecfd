// Platform facts the native layer depends on. Linux-only by design: sendfile(2), splice(2),
// tee(2), copy_file_range(2) and openat2(2) are Linux system calls.
import { constants as fsc } from 'node:fs';

export function requireLinux(): void {
  const { platform, arch } = process;
  if (platform !== 'linux' || (arch !== 'x64' && arch !== 'arm64')) {
    throw new Error(`wasm-zerocopy requires Linux on x86-64 or arm64 (this is ${platform}/${arch}): ` +
      'it maps guest calls onto Linux system calls (sendfile, splice, tee, copy_file_range, openat2).');
  }
}

/**
 * open(2) flags. Several differ between x86-64 and arm64 (O_DIRECTORY, O_NOFOLLOW), so they
 * come from Node's table for this platform; O_CLOEXEC and O_PATH are the same on both and
 * Node does not export them.
 */
export const O = {
  RDONLY: fsc.O_RDONLY,
  WRONLY: fsc.O_WRONLY,
  RDWR: fsc.O_RDWR,
  ACCMODE: 3,
  CREAT: fsc.O_CREAT,
  EXCL: fsc.O_EXCL,
  TRUNC: fsc.O_TRUNC,
  APPEND: fsc.O_APPEND,
  NONBLOCK: fsc.O_NONBLOCK,
  DSYNC: fsc.O_DSYNC,
  SYNC: fsc.O_SYNC,
  DIRECTORY: fsc.O_DIRECTORY,
  NOFOLLOW: fsc.O_NOFOLLOW,
  NOCTTY: fsc.O_NOCTTY,
  CLOEXEC: 0o2000000,
  PATH: 0o10000000,
} as const;

/** openat2(2) resolve flags (include/uapi/linux/openat2.h). */
export const RESOLVE = {
  NO_XDEV: 0x01,
  NO_MAGICLINKS: 0x02,
  NO_SYMLINKS: 0x04,
  BENEATH: 0x08,
  IN_ROOT: 0x10,
  CACHED: 0x20,
} as const;

/** fcntl(2) commands. */
export const F = { DUPFD_CLOEXEC: 1030, GETFD: 1, SETFD: 2, GETFL: 3, SETFL: 4 } as const;

/** *at(2) flags (include/uapi/linux/fcntl.h). */
export const AT = {
  FDCWD: -100,
  SYMLINK_NOFOLLOW: 0x100,
  REMOVEDIR: 0x200,
  SYMLINK_FOLLOW: 0x400,
  EMPTY_PATH: 0x1000,
} as const;

/** statx(2) mask: the basic stat fields. */
export const STATX_BASIC_STATS = 0x7ff;

/** File type bits of st_mode. */
export const S = {
  IFMT: 0o170000, IFSOCK: 0o140000, IFLNK: 0o120000, IFREG: 0o100000,
  IFBLK: 0o060000, IFDIR: 0o040000, IFCHR: 0o020000, IFIFO: 0o010000,
} as const;

export const SEEK = { SET: 0, CUR: 1, END: 2 } as const;
export const UTIME_NOW = (1 << 30) - 1;
export const UTIME_OMIT = (1 << 30) - 2;
