// zerocopy.pipe_set_size (ABI v2): fcntl(F_SETPIPE_SZ) on a guest's pipe. A pipe's capacity
// is how much one splice(2) can move (pipe(7), "Pipe capacity"): a proxy relaying a stream
// through 1 MiB pipes makes about a sixteenth of the calls it makes through the default 64 KiB.
//
// The kernel bounds an unprivileged process by /proc/sys/fs/pipe-max-size and its user's pipe
// quota, but lets a privileged one (a host run as root) ask for anything. So the sandbox
// applies the unprivileged rules itself, whoever the host is: no pipe larger than
// pipe-max-size, and no more enlarged capacity in all of a guest's pipes together than
// PIPE_BUDGET; past either the answer is `perm`, as Linux gives an unprivileged process.
import { readFileSync } from 'node:fs';
import * as libc from '../native/libc.js';
import type { Context } from '../sandbox/context.js';
import { check, errno, fail } from '../sandbox/errno.js';
import type { FdEntry } from '../sandbox/fd_table.js';

const F_SETPIPE_SZ = 1031, F_GETPIPE_SZ = 1032; // include/uapi/linux/fcntl.h (F_LINUX_SPECIFIC_BASE + 7, + 8)
/** The most capacity all of one guest's enlarged pipes may have together. */
export const PIPE_BUDGET = 64 * 1024 * 1024;
/** Linux's default (pipe(7)): sizes up to it cost nothing against the budget. */
const DEFAULT_SIZE = 65536;

/** /proc/sys/fs/pipe-max-size, read once (1 MiB unless the administrator changed it). */
let maxSize: number | null = null;
export function pipeMaxSize(): number {
  if (maxSize === null) {
    try {
      maxSize = Number(readFileSync('/proc/sys/fs/pipe-max-size', 'utf8').trim()) || 1048576;
    } catch {
      maxSize = 1048576;
    }
  }
  return maxSize;
}

/** Each guest's enlarged pipes, by table entry, and their sum (closed ones counted until recounted). */
interface Budget { sizes: WeakMap<FdEntry, number>; total: number }
const budgets = new WeakMap<Context, Budget>();

/** The enlarged capacity of the pipes the guest still holds. */
function recount(ctx: Context, b: Budget): void {
  b.total = 0;
  for (const [, e] of ctx.fds.list()) b.total += b.sizes.get(e) ?? 0;
}

/**
 * Sets a pipe's capacity to at least `size` bytes; returns the capacity the kernel chose
 * (a power of two pages, fcntl(2)). The kernel's own answers stand: `badf` for a descriptor
 * that is not a pipe, `busy` for a size smaller than what the pipe holds (0 asks for the
 * smallest, one page).
 */
export function pipe_set_size(ctx: Context, fd: number, size: number): number {
  const e = ctx.fds.getUnrevoked(fd, 0);
  if (e.hostFd < 0) fail(errno.badf); // a virtual file is no pipe: fcntl answers so for a file
  size >>>= 0;
  let b = budgets.get(ctx);
  if (b === undefined) budgets.set(ctx, b = { sizes: new WeakMap(), total: 0 });
  const before = b.sizes.get(e) ?? 0;
  const extra = Math.max(0, size - DEFAULT_SIZE);
  const over = () => b!.total - before + extra > PIPE_BUDGET;
  if (size > pipeMaxSize() || (over() && (recount(ctx, b), over()))) {
    // The kernel's order: a descriptor that is not a pipe is badf before its size is judged.
    check(libc.fcntl(e.hostFd, F_GETPIPE_SZ, 0));
    fail(errno.perm);
  }
  const r = check(libc.fcntl(e.hostFd, F_SETPIPE_SZ, size));
  const now = Math.max(0, r - DEFAULT_SIZE);
  b.sizes.set(e, now);
  b.total += now - before;
  return r;
}
