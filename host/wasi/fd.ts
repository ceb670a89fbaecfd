// What the fd_* calls of WASI preview1 mean, on decoded arguments. Decoding stays in
// preview1.ts; everything here takes guest descriptor numbers and host values.
import * as libc from '../native/libc.js';
import { AT, F, O } from '../native/platform.js';
import { check, errno, fail } from '../sandbox/errno.js';
import { FdEntry, closeEntry } from '../sandbox/fd_table.js';
import type { Context } from '../sandbox/context.js';
import { FILETYPE, R, maxRights } from '../sandbox/rights.js';
import { ADVICE_MAX, FDFLAGS, WHENCE } from './abi.js';
import { statFd, utimensTimes, type Filestat } from './stat.js';

/** WASI fdflags <-> open(2) status flags. RSYNC is O_SYNC on Linux (fcntl.h). */
export function fdflagsToOpen(flags: number): number {
  let o = 0;
  if (flags & FDFLAGS.APPEND) o |= O.APPEND;
  if (flags & FDFLAGS.DSYNC) o |= O.DSYNC;
  if (flags & FDFLAGS.NONBLOCK) o |= O.NONBLOCK;
  if (flags & (FDFLAGS.SYNC | FDFLAGS.RSYNC)) o |= O.SYNC;
  return o;
}

export function openToFdflags(o: number): number {
  let f = 0;
  if (o & O.APPEND) f |= FDFLAGS.APPEND;
  if ((o & O.SYNC) === O.SYNC) f |= FDFLAGS.SYNC | FDFLAGS.RSYNC;
  else if (o & O.DSYNC) f |= FDFLAGS.DSYNC;
  if (o & O.NONBLOCK) f |= FDFLAGS.NONBLOCK;
  return f;
}

export function fd_close(ctx: Context, fd: number): void {
  check(closeEntry(ctx.fds.remove(fd)));
}

export interface Fdstat { filetype: number; flags: number; rightsBase: number; rightsInheriting: number }

export function fd_fdstat_get(ctx: Context, fd: number): Fdstat {
  const e = ctx.fds.get(fd);
  let flags = 0;
  if (e.hostFd >= 0) {
    flags = openToFdflags(check(libc.fcntl(e.hostFd, F.GETFL, 0)));
    // A shared description's NONBLOCK is the host's; the guest sees what it asked for.
    if (e.sharedDescription) flags = (flags & ~FDFLAGS.NONBLOCK) | (e.emulateBlocking ? 0 : FDFLAGS.NONBLOCK);
  }
  return { filetype: e.filetype, flags, rightsBase: e.rightsBase, rightsInheriting: e.rightsInheriting };
}

/**
 * Sets APPEND and NONBLOCK with F_SETFL. Linux's F_SETFL cannot change the sync flags
 * (fcntl(2): "file access mode and file creation flags ... are ignored"; O_DSYNC and O_SYNC
 * likewise), so asking for them is `notsup` rather than a silent no-op.
 */
export function fd_fdstat_set_flags(ctx: Context, fd: number, flags: number): void {
  const e = ctx.fds.get(fd, R.FD_FDSTAT_SET_FLAGS);
  if (flags & ~(FDFLAGS.APPEND | FDFLAGS.DSYNC | FDFLAGS.NONBLOCK | FDFLAGS.RSYNC | FDFLAGS.SYNC)) fail(errno.inval);
  if (e.hostFd < 0) fail(errno.notsup);
  const current = check(libc.fcntl(e.hostFd, F.GETFL, 0));
  const sync = O.SYNC | O.DSYNC;
  if ((fdflagsToOpen(flags) & sync) !== (current & sync)) fail(errno.notsup);
  const next = (current & ~(O.APPEND | O.NONBLOCK)) | (fdflagsToOpen(flags) & (O.APPEND | O.NONBLOCK));
  if (e.sharedDescription) {
    setSharedFlags(ctx, fd, e, current, next);
    return;
  }
  check(libc.fcntl(e.hostFd, F.SETFL, next));
}

/**
 * fd_fdstat_set_flags on a description the guest shares: inherited stdio (with the host and
 * its parent), granted descriptors (with the embedder), listeners (with the embedder or the
 * other workers). F_SETFL there would change it for all of them (fcntl(2): the status flags
 * belong to the description, not the descriptor), so it is never called.
 * - APPEND cannot be changed for the guest alone: `notsup`.
 * - NONBLOCK over a description that is non-blocking already, or over a regular file or a
 *   directory (where O_NONBLOCK changes nothing), only stops the emulated waiting.
 * - NONBLOCK over a blocking pipe, FIFO or terminal: the guest gets a description of its own,
 *   opened through /proc/self/fd (proc(5): opening the link opens the file itself, as a new
 *   description), made non-blocking. It is the guest's from then on, as an ordinary descriptor.
 *   A socket cannot be reopened that way (open(2) says ENXIO): the flag is emulated for the
 *   guest instead (FdEntry.emulateNonblock: MSG_DONTWAIT, or EAGAIN when not ready).
 * - Clearing NONBLOCK turns the emulated waiting back on.
 */
function setSharedFlags(ctx: Context, fd: number, e: FdEntry, current: number, next: number): void {
  if ((next & O.APPEND) !== (current & O.APPEND)) fail(errno.notsup);
  const nonblock = (next & O.NONBLOCK) !== 0;
  const fileLike = e.filetype === FILETYPE.REGULAR_FILE || e.filetype === FILETYPE.DIRECTORY;
  if (!nonblock || (current & O.NONBLOCK) !== 0 || fileLike) {
    e.emulateBlocking = !nonblock;
    e.emulateNonblock = false;
    return;
  }
  if (e.filetype === FILETYPE.SOCKET_STREAM || e.filetype === FILETYPE.SOCKET_DGRAM) {
    e.emulateBlocking = false;
    e.emulateNonblock = true;
    return;
  }
  // Held by the table before it exists (FdTable.temporary), then put in place of the shared one.
  const mine = ctx.fds.temporary();
  try {
    const r = libc.openat(AT.FDCWD, `/proc/self/fd/${e.hostFd}`, (current & O.ACCMODE) | O.NONBLOCK | O.CLOEXEC | O.NOCTTY, 0);
    if (r >= 0) mine.hostFd = r;
    check(r);
  } catch (err) {
    ctx.fds.release(mine);
    throw err;
  }
  mine.filetype = e.filetype;
  mine.rightsBase = e.rightsBase;
  mine.rightsInheriting = e.rightsInheriting;
  mine.exclusive = true; // reopened through /proc: a description of its own (poll_set.ts)
  mine.revoked = e.revoked;
  mine.pending = e.pending;
  closeEntry(ctx.fds.replace(fd, mine));
  ctx.fds.keep(mine);
}

/** Rights only narrow (witx: "fd_fdstat_set_rights ... can only remove rights"). */
export function fd_fdstat_set_rights(ctx: Context, fd: number, base: number, inheriting: number): void {
  const e = ctx.fds.get(fd);
  if ((base & ~e.rightsBase) !== 0 || (inheriting & ~e.rightsInheriting) !== 0) fail(errno.notcapable);
  e.revoked |= e.rightsBase & ~base;
  e.rightsBase = base;
  e.rightsInheriting = inheriting;
  ctx.fds.touch(e);
}

export function fd_seek(ctx: Context, fd: number, offset: bigint, whence: number): bigint {
  // Asking only for the position needs fd_tell, as in wasmtime; moving it needs fd_seek.
  const right = offset === 0n && whence === WHENCE.CUR ? R.FD_TELL : R.FD_SEEK;
  const e = kernelEntry(ctx, fd, right);
  if (whence > WHENCE.END) fail(errno.inval);
  return BigInt(check(libc.lseek(e.hostFd, offset, whence)));
}

export function fd_tell(ctx: Context, fd: number): bigint {
  return BigInt(check(libc.lseek(kernelEntry(ctx, fd, R.FD_TELL).hostFd, 0n, WHENCE.CUR)));
}

export function fd_filestat_get(ctx: Context, fd: number): Filestat {
  const e = ctx.fds.get(fd, R.FD_FILESTAT_GET);
  if (e.hostFd < 0) {
    return { dev: 0n, ino: 0n, filetype: e.filetype, nlink: 1n, size: 0n, atim: 0n, mtim: 0n, ctim: 0n };
  }
  const st = statFd(e.hostFd);
  // st_mode says S_IFSOCK for every socket; the entry knows datagram from stream (SO_TYPE),
  // and fd_fdstat_get reports that, so both calls agree.
  if (st.filetype === FILETYPE.SOCKET_STREAM) st.filetype = e.filetype;
  return st;
}

export function fd_filestat_set_size(ctx: Context, fd: number, size: bigint): void {
  check(libc.ftruncate(kernelEntry(ctx, fd, R.FD_FILESTAT_SET_SIZE).hostFd, BigInt.asIntN(64, size)));
}

export function fd_filestat_set_times(ctx: Context, fd: number, atim: bigint, mtim: bigint, fstflags: number): void {
  const e = kernelEntry(ctx, fd, R.FD_FILESTAT_SET_TIMES);
  check(libc.futimens(e.hostFd, utimensTimes(atim, mtim, fstflags)));
}

/** posix_fadvise(2); WASI's advice values are Linux's POSIX_FADV_* (0..5, the same numbers). */
export function fd_advise(ctx: Context, fd: number, offset: bigint, len: bigint, advice: number): void {
  const e = kernelEntry(ctx, fd, R.FD_ADVISE);
  if ((advice >>> 0) > ADVICE_MAX) fail(errno.inval);
  check(libc.posix_fadvise(e.hostFd, BigInt.asIntN(64, offset), BigInt.asIntN(64, len), advice));
}

/**
 * posix_fallocate(3): the file grows to at least offset + len and never shrinks. glibc falls
 * back to writing zeros where the filesystem lacks fallocate(2), so the call means the same
 * everywhere.
 */
export function fd_allocate(ctx: Context, fd: number, offset: bigint, len: bigint): void {
  const e = kernelEntry(ctx, fd, R.FD_ALLOCATE);
  check(libc.posix_fallocate(e.hostFd, BigInt.asIntN(64, offset), BigInt.asIntN(64, len)));
}

/** fsync(2) and fdatasync(2). A virtual file behaves as a pipe, where both are EINVAL. */
export function fd_sync(ctx: Context, fd: number): void {
  const e = ctx.fds.get(fd, R.FD_SYNC);
  if (e.hostFd < 0) fail(errno.inval);
  check(libc.fsync(e.hostFd));
}

export function fd_datasync(ctx: Context, fd: number): void {
  const e = ctx.fds.get(fd, R.FD_DATASYNC);
  if (e.hostFd < 0) fail(errno.inval);
  check(libc.fdatasync(e.hostFd));
}

/**
 * Moves descriptor `from` onto `to`, closing what `to` held; both must be open (`badf`),
 * as wasmtime and the official suite's renumber case expect. The entry moves whole: its
 * rights, and its preopen name if it has one.
 */
export function fd_renumber(ctx: Context, from: number, to: number): void {
  ctx.fds.renumber(from, to);
}

/** A descriptor that must be a kernel descriptor: virtual files behave as pipes (`spipe`). */
export function kernelEntry(ctx: Context, fd: number, rights: number): FdEntry {
  const e = ctx.fds.get(fd, rights);
  if (e.hostFd < 0) fail(errno.spipe);
  return e;
}

/** Rights for a newly opened host descriptor: what was asked, what the parent lets it inherit. */
export function narrowRights(filetype: number, base: number, inheriting: number, parent: FdEntry): [number, number] {
  const [maxBase, maxInheriting] = maxRights(filetype);
  return [base & parent.rightsInheriting & maxBase, inheriting & parent.rightsInheriting & maxInheriting];
}
