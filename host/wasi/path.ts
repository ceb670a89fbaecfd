// Paths beneath a directory descriptor. Every lookup is one openat2(2) call relative to the
// directory's host descriptor with RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS, so the kernel
// itself refuses `..` past the directory, absolute paths, symlinks that lead outside and
// /proc magic links, atomically (openat2(2), "RESOLVE_BENEATH"). No path string is compared.
import * as libc from '../native/libc.js';
import { O, RESOLVE } from '../native/platform.js';
import { check, errno, fail } from '../sandbox/errno.js';
import type { FdEntry } from '../sandbox/fd_table.js';
import type { Context } from '../sandbox/context.js';
import { FILETYPE, R, READ_RIGHTS, WRITE_RIGHTS } from '../sandbox/rights.js';
import { LOOKUP_SYMLINK_FOLLOW, OFLAGS } from './abi.js';
import { fdflagsToOpen, narrowRights } from './fd.js';
import { statFd, type Filestat } from './stat.js';

const EAGAIN = 11, EXDEV = 18;
const BENEATH = RESOLVE.BENEATH | RESOLVE.NO_MAGICLINKS;

/** The directory entry a path is looked up in, holding `rights`. */
export function directory(ctx: Context, fd: number, rights: number): FdEntry {
  const dir = ctx.fds.get(fd, rights);
  if (dir.filetype !== FILETYPE.DIRECTORY || dir.hostFd < 0) fail(errno.notdir);
  return dir;
}

/**
 * A path as the kernel will see it. C strings end at NUL, so a NUL inside the path would
 * silently name a different file: refuse it (`ilseq`, as wasmtime does) before it reaches libc.
 */
export function checkedPath(path: string): string {
  if (path.includes('\0')) fail(errno.ilseq);
  return path;
}

/**
 * openat2 beneath `dirFd`; the new host descriptor (always close-on-exec) is stored in
 * `into.hostFd` the moment the kernel returns it (see FdTable.reserve), and returned; or throws.
 * EAGAIN means a concurrent rename raced the lookup (openat2(2), "RESOLVE_BENEATH" notes):
 * retried a few times. EXDEV means the path tried to leave the directory: `notcapable`.
 */
export function openBeneath(dirFd: number, path: string, flags: number, mode: number, into: FdEntry): number {
  for (let attempt = 0; ; attempt++) {
    const r = libc.openat2(dirFd, checkedPath(path), flags | O.CLOEXEC, mode, BENEATH);
    if (r >= 0) return (into.hostFd = r);
    if (r === -EAGAIN && attempt < 8) continue;
    if (r === -EXDEV) fail(errno.notcapable);
    return check(r);
  }
}

/** Runs `use` on a host descriptor a call holds for itself (FdTable.temporary), closed after. */
function withTemporary<T>(ctx: Context, open: (into: FdEntry) => number, use: (hostFd: number) => T): T {
  const t = ctx.fds.temporary();
  try {
    return use(open(t));
  } finally {
    ctx.fds.release(t);
  }
}

/**
 * The open(2) access mode that a descriptor with these rights needs: the rights it is
 * *granted* (asked for and inheritable from its directory), never more, so that the host
 * descriptor cannot do what the guest may not. A directory granted write rights is opened for
 * writing too, so that the kernel answers EISDIR as it would natively (and as the official
 * suite's path_open_preopen expects).
 */
export function accessMode(rights: number): number {
  const read = (rights & READ_RIGHTS) !== 0;
  const write = (rights & WRITE_RIGHTS) !== 0;
  return read && write ? O.RDWR : write ? O.WRONLY : O.RDONLY;
}

export interface OpenRequest {
  dirflags: number; path: string; oflags: number;
  rightsBase: number; rightsInheriting: number; fdflags: number;
}

/** path_open: a new guest descriptor for `path` beneath directory `fd`. */
export function path_open(ctx: Context, fd: number, req: OpenRequest): number {
  let needed = R.PATH_OPEN;
  if (req.oflags & OFLAGS.CREAT) needed |= R.PATH_CREATE_FILE;
  if (req.oflags & OFLAGS.TRUNC) needed |= R.PATH_FILESTAT_SET_SIZE;
  const dir = directory(ctx, fd, needed);
  if (req.oflags & ~(OFLAGS.CREAT | OFLAGS.DIRECTORY | OFLAGS.EXCL | OFLAGS.TRUNC)) fail(errno.inval);

  let flags = accessMode(req.rightsBase & dir.rightsInheriting) | fdflagsToOpen(req.fdflags) | O.NOCTTY;
  if (req.oflags & OFLAGS.CREAT) flags |= O.CREAT;
  if (req.oflags & OFLAGS.DIRECTORY) flags |= O.DIRECTORY;
  if (req.oflags & OFLAGS.EXCL) flags |= O.EXCL;
  if (req.oflags & OFLAGS.TRUNC) flags |= O.TRUNC;
  if (!(req.dirflags & LOOKUP_SYMLINK_FOLLOW)) flags |= O.NOFOLLOW;

  // openat2(2) is strict where open(2) is lax: a mode without O_CREAT is EINVAL.
  const slot = ctx.fds.reserve(); // `mfile` at the guest's limit, before anything is opened
  try {
    const hostFd = openBeneath(dir.hostFd, req.path, flags, flags & O.CREAT ? 0o666 : 0, slot.entry);
    const filetype = statFd(hostFd).filetype;
    const [base, inheriting] = narrowRights(filetype, req.rightsBase, req.rightsInheriting, dir);
    slot.entry.exclusive = true; // a description of its own (open(2)): see poll_set.ts
    return ctx.fds.commit(slot, filetype, base, inheriting);
  } catch (e) {
    ctx.fds.cancel(slot);
    throw e;
  }
}

/** Runs `use` on an O_PATH descriptor for `path` beneath `fd`, closed afterwards. */
export function withPath<T>(ctx: Context, fd: number, rights: number, dirflags: number, path: string,
  use: (hostFd: number) => T): T {
  const dir = directory(ctx, fd, rights);
  const follow = (dirflags & LOOKUP_SYMLINK_FOLLOW) !== 0;
  return withTemporary(ctx, (t) => openBeneath(dir.hostFd, path, O.PATH | (follow ? 0 : O.NOFOLLOW), 0, t), use);
}

export function path_filestat_get(ctx: Context, fd: number, dirflags: number, path: string): Filestat {
  return withPath(ctx, fd, R.PATH_FILESTAT_GET, dirflags, path, statFd);
}

/**
 * Splits a path into the directory part and its last component, which keeps its trailing
 * slashes: the kernel applies its own rules to them (a trailing slash demands a directory;
 * mkdir accepts it, unlink answers ENOTDIR or EISDIR, and so on). A path with no component
 * at all ("", "/", "//") is refused by the kernel's own lookup of it: `noent` or `notcapable`.
 */
function splitLast(ctx: Context, dirFd: number, path: string): [head: string, last: string] {
  const m = /^(.*?)([^/]+\/*)$/s.exec(path);
  if (m === null) {
    withTemporary(ctx, (t) => openBeneath(dirFd, path, O.PATH, 0, t), () => 0); // throws for "" and absolute paths
    fail(errno.noent);
  }
  return [m[1], m[2]];
}

/**
 * Runs `use` on the parent directory of `path`'s last component, opened beneath `fd` with
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS), and that component's name: the *at call
 * then acts on one entry of a directory the guest may reach, without following it (as
 * cap-std's via_parent). unlinkat, renameat, mkdirat, symlinkat and linkat's new name look up
 * only the parent and never follow the last component, trailing slash or not (path_parentat
 * in fs/namei.c), and refuse `.` and `..` there before any lookup.
 */
export function withParent<T>(ctx: Context, fd: number, rights: number, path: string,
  use: (parentFd: number, name: string) => T): T {
  const dir = directory(ctx, fd, rights);
  const [head, name] = splitLast(ctx, dir.hostFd, checkedPath(path));
  if (head === '') return use(dir.hostFd, name);
  return withTemporary(ctx, (t) => openBeneath(dir.hostFd, head, O.PATH | O.DIRECTORY, 0, t), (parent) => use(parent, name));
}
