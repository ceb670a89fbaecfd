// The path_* calls that change names or read links and times: each acts beneath a directory
// descriptor the guest holds, never on a path string the host compares.
//
// Two ways to reach a file, chosen by what the syscall does with its last component:
// - Operations on a directory entry (mkdir, rmdir, unlink, rename, symlink, a link's new
//   name) go through withParent: the parent is opened beneath the directory, and the *at call
//   names one entry of it, which the kernel does not follow.
// - Operations on the file an entry names (readlink, set times, a link's source) go
//   through withPath: the whole path is resolved by openat2 beneath the directory into an
//   O_PATH descriptor, and the call acts on that descriptor (AT_EMPTY_PATH), so any symlink
//   on the way is resolved by the kernel beneath the directory too.
import { existsSync } from 'node:fs';
import * as libc from '../native/libc.js';
import { AT } from '../native/platform.js';
import { check, errno, fail } from '../sandbox/errno.js';
import type { Context } from '../sandbox/context.js';
import { FILETYPE, R } from '../sandbox/rights.js';
import { LOOKUP_SYMLINK_FOLLOW } from './abi.js';
import { checkedPath, withParent, withPath } from './path.js';
import { statFd, utimensTimes } from './stat.js';

const ENOENT = 2;

/** mkdirat(2) with mode 0777, which the process umask narrows, as mkdir(1) does. */
export function path_create_directory(ctx: Context, fd: number, path: string): void {
  withParent(ctx, fd, R.PATH_CREATE_DIRECTORY, path, (p, name) => check(libc.mkdirat(p, name, 0o777)));
}

export function path_remove_directory(ctx: Context, fd: number, path: string): void {
  withParent(ctx, fd, R.PATH_REMOVE_DIRECTORY, path, (p, name) => check(libc.unlinkat(p, name, AT.REMOVEDIR)));
}

export function path_unlink_file(ctx: Context, fd: number, path: string): void {
  withParent(ctx, fd, R.PATH_UNLINK_FILE, path, (p, name) => check(libc.unlinkat(p, name, 0)));
}

export function path_rename(ctx: Context, oldFd: number, oldPath: string, newFd: number, newPath: string): void {
  withParent(ctx, oldFd, R.PATH_RENAME_SOURCE, oldPath, (op, oldName) =>
    withParent(ctx, newFd, R.PATH_RENAME_TARGET, newPath, (np, newName) =>
      check(libc.renameat(op, oldName, np, newName))));
}

/**
 * symlinkat(2). The target is stored as given: a relative target that climbs out of the
 * directory is harmless, because every later lookup through it is beneath the guest's
 * directory (openat2 answers EXDEV, `notcapable`). An absolute target is refused with
 * `perm`, as wasmtime does and the official suite's symlink_create expects: no guest path
 * starts at the host's root.
 */
export function path_symlink(ctx: Context, target: string, fd: number, path: string): void {
  if (checkedPath(target).startsWith('/')) fail(errno.perm);
  withParent(ctx, fd, R.PATH_SYMLINK, path, (p, name) => check(libc.symlinkat(target, p, name)));
}

/**
 * linkat(2). Without SYMLINK_FOLLOW the source entry itself is linked (a symlink stays a
 * symlink), through its parent. With it, the source is resolved beneath the directory and
 * the file it ends at is linked; linkat's own AT_SYMLINK_FOLLOW would follow a symlink
 * anywhere on the host, so the resolved descriptor is linked instead.
 */
export function path_link(ctx: Context, oldFd: number, dirflags: number, oldPath: string,
  newFd: number, newPath: string): void {
  const follow = (dirflags & LOOKUP_SYMLINK_FOLLOW) !== 0;
  withPath(ctx, oldFd, R.PATH_LINK_SOURCE, follow ? LOOKUP_SYMLINK_FOLLOW : 0, oldPath, (src) => {
    // link(2) refuses directories (EPERM). Checking first, beneath, also keeps linkat from
    // ever looking a source up itself where it would follow something: a trailing slash
    // follows a symlink, and `.` and `..` step out of the parent, but all of those can only
    // name directories.
    if (statFd(src).filetype === FILETYPE.DIRECTORY) fail(errno.perm);
    withParent(ctx, newFd, R.PATH_LINK_TARGET, newPath, (np, newName) => {
      if (follow) linkFd(src, np, newName);
      else withParent(ctx, oldFd, R.PATH_LINK_SOURCE, oldPath, (op, oldName) =>
        check(libc.linkat(op, oldName, np, newName, 0)));
    });
  });
}

const procFd = existsSync('/proc/self/fd');

/**
 * Links the file an O_PATH descriptor refers to. linkat(2) with AT_EMPTY_PATH needs
 * CAP_DAC_READ_SEARCH; following the descriptor's /proc/self/fd link does not (open(2),
 * O_TMPFILE), and that link is the host's own, to a file already resolved beneath.
 */
function linkFd(src: number, newDir: number, newName: string): void {
  if (procFd) check(libc.linkat(AT.FDCWD, `/proc/self/fd/${src}`, newDir, newName, AT.SYMLINK_FOLLOW));
  else check(libc.linkat(src, '', newDir, newName, AT.EMPTY_PATH));
}

/**
 * readlinkat(2) on the link itself, straight into guest memory. The contents are cut to the
 * buffer, as readlink(2) does; the result is the number of bytes placed. A file that is not
 * a symlink is `inval`, as readlink(2) says.
 */
export function path_readlink(ctx: Context, fd: number, path: string, buf: number, bufLen: number): number {
  const len = bufLen >>> 0;
  const at = len === 0 ? null : ctx.mem.address(buf, len);
  return withPath(ctx, fd, R.PATH_READLINK, 0, path, (link) => {
    // readlinkat(2) refuses a zero-sized buffer before looking at the file, and answers
    // ENOENT for an empty path naming a descriptor that is not a symlink.
    if (len === 0) {
      if (statFd(link).filetype !== FILETYPE.SYMBOLIC_LINK) fail(errno.inval);
      return 0;
    }
    const r = libc.readlinkat(link, '', at, len);
    if (r === -ENOENT) fail(errno.inval);
    return check(r);
  });
}

/**
 * utimensat(2) on what `path` names, or, with SYMLINK_FOLLOW, on what it resolves to,
 * through the O_PATH descriptor of it (AT_EMPTY_PATH, which utimensat accepts since Linux 5.8).
 */
export function path_filestat_set_times(ctx: Context, fd: number, dirflags: number, path: string,
  atim: bigint, mtim: bigint, fstflags: number): void {
  const times = utimensTimes(atim, mtim, fstflags);
  withPath(ctx, fd, R.PATH_FILESTAT_SET_TIMES, dirflags, path, (f) =>
    check(libc.utimensat(f, '', times, AT.EMPTY_PATH | AT.SYMLINK_NOFOLLOW)));
}
