// The system call of a transfer between two kernel descriptors, as both paths make it:
// transfer.ts directly, copypath.ts between the stand-in pipes it puts in place of virtual
// files and pending bytes. Its own module, so that neither of those imports the other for it.
import { check, errno, fail } from '../sandbox/errno.js';
import type { FdEntry } from '../sandbox/fd_table.js';
import { readyNow, stopPoint, waitReady } from '../wasi/io.js';

const EAGAIN = 11, EINTR = 4;

/**
 * Runs a raw transfer syscall for descriptors whose flags the guest sees emulated (shared
 * descriptions, see FdEntry); `stop` is the guest's stop flag (Context.stop):
 * - A side that must look blocking (inherited stdio the host made non-blocking) and is not
 *   ready waits for it, in slices that see a stop, and the call is retried, unless the guest
 *   asked for SPLICE_F_NONBLOCK. EAGAIN does not say which side was not ready: each is asked;
 *   if every emulated side is ready, the EAGAIN was the other side's own, and is returned.
 * - A side the guest made NONBLOCK over a description that stays blocking (a shared socket)
 *   and is not ready answers EAGAIN before the call (which could still wait for a large count
 *   once started; a stop interrupts it, sandbox/interrupt.ts).
 * A call interrupted for a stop ends the guest; one interrupted otherwise is restarted.
 */
export function run(stop: Int32Array | null, src: FdEntry, dst: FdEntry, nonblock: boolean, op: () => number,
  first?: number): number {
  if (first === undefined && ((src.emulateNonblock && !readyNow(src.hostFd, false)) ||
    (dst.emulateNonblock && !readyNow(dst.hostFd, true)))) fail(errno.again);
  for (let r = first ?? op(); ; r = op()) {
    if (r === -EAGAIN && !nonblock && (dst.emulateBlocking || src.emulateBlocking)) {
      const srcWaits = src.emulateBlocking && !readyNow(src.hostFd, false);
      const dstWaits = dst.emulateBlocking && !readyNow(dst.hostFd, true);
      if (srcWaits) waitReady(src.hostFd, false, stop);
      if (dstWaits) waitReady(dst.hostFd, true, stop);
      if (srcWaits || dstWaits) continue;
    }
    if (r === -EINTR) { stopPoint(stop); continue; }
    return check(r);
  }
}

/** A kernel descriptor with nothing the host must deliver first: the system call applies as is. */
export const kernel = (e: FdEntry): boolean => e.hostFd >= 0 && e.pending === null;

/**
 * An offset the copying path reads and moves back itself (copypath.ts): preview1's lives in
 * guest memory, a WASI 0.2 stream's in a host buffer. The kernel gets the same i64's address.
 */
export interface OffsetAccess {
  get(): bigint;
  set(value: bigint): void;
}
