// The guest SDK for the `zerocopy` module (docs/ABI.md): typed wrappers over the raw
// bindings. On the hot path errors are returned values, never exceptions, and no call
// allocates: a transfer returns the bytes moved (>= 0) or -errno, as a raw Linux syscall does.
import * as raw from "./bindings";
export { errno } from "./errno";
import { errno } from "./errno";

/** splice(2) / tee(2) flags. */
export const SPLICE_F_MOVE: u32 = 1;
export const SPLICE_F_NONBLOCK: u32 = 2;
export const SPLICE_F_MORE: u32 = 4;
export const SPLICE_F_GIFT: u32 = 8;

/** The fdflag `pipe` accepts: both ends non-blocking. */
export const PIPE_NONBLOCK: u32 = 4;

/**
 * A file offset the kernel reads and advances (loff_t *). Pass one to read from `value`
 * without touching the descriptor's file position; pass null to use and advance the position.
 */
@final export class Offset {
  constructor(public value: i64 = 0) {}
}

/** The two ends of a kernel pipe, filled by `pipe`. */
@final export class Pipe {
  readFd: u32 = -1;
  writeFd: u32 = -1;
}

/**
 * The most one read or write moves on Linux (MAX_RW_COUNT, INT_MAX rounded down to a page);
 * the loops ask for no more per call, since counts of 2^63 and above are EINVAL.
 */
const MAX_RW_COUNT: u64 = 0x7ffff000;

// Results come back through this scratch word; guests are single-threaded.
const scratch = memory.data(8);

@inline function offsetPtr(o: Offset | null): usize {
  return o === null ? 0 : changetype<usize>(o) + offsetof<Offset>("value");
}

@inline function result(e: u16): i64 {
  return e == errno.SUCCESS ? load<i64>(scratch) : -(<i64>e);
}

/** sendfile(2): bytes sent (0 at end of file) or -errno. */
export function sendfile(outFd: u32, inFd: u32, offset: Offset | null, count: u64): i64 {
  return result(raw.sendfile(outFd, inFd, offsetPtr(offset), count, scratch));
}

/** splice(2): bytes moved (0 at end of input) or -errno. One side must be a pipe. */
export function splice(fdIn: u32, offIn: Offset | null, fdOut: u32, offOut: Offset | null, len: u64, flags: u32 = 0): i64 {
  return result(raw.splice(fdIn, offsetPtr(offIn), fdOut, offsetPtr(offOut), len, flags, scratch));
}

/** tee(2): bytes duplicated from pipe to pipe, the source left unconsumed, or -errno. */
export function tee(fdIn: u32, fdOut: u32, len: u64, flags: u32 = 0): i64 {
  return result(raw.tee(fdIn, fdOut, len, flags, scratch));
}

/** copy_file_range(2): bytes copied (0 at end of file) or -errno. `flags` must be 0. */
export function copy_file_range(fdIn: u32, offIn: Offset | null, fdOut: u32, offOut: Offset | null, len: u64, flags: u32 = 0): i64 {
  return result(raw.copy_file_range(fdIn, offsetPtr(offIn), fdOut, offsetPtr(offOut), len, flags, scratch));
}

/** pipe2(2): fills `fds` and returns errno.SUCCESS, or another errno. */
export function pipe(fds: Pipe, nonblock: bool = false): u16 {
  const e = raw.pipe(nonblock ? PIPE_NONBLOCK : 0, scratch);
  if (e == errno.SUCCESS) {
    fds.readFd = load<u32>(scratch);
    fds.writeFd = load<u32>(scratch, 4);
  }
  return e;
}

/**
 * Sends `count` bytes (or up to end of file), looping over short counts as sendfile(2) advises.
 * Returns the total sent, or -errno if a call failed. After an error the progress so far is in
 * `offset` (when given) or the file position of `inFd`. EAGAIN is returned as -errno.AGAIN,
 * not waited for: a non-blocking caller polls and calls again.
 */
export function sendAll(outFd: u32, inFd: u32, offset: Offset | null, count: u64): i64 {
  let total: u64 = 0;
  while (total < count) {
    const left = count - total;
    const n = sendfile(outFd, inFd, offset, left < MAX_RW_COUNT ? left : MAX_RW_COUNT);
    if (n < 0) return n;
    if (n == 0) break;
    total += <u64>n;
  }
  return <i64>total;
}

/** splice(2) in a loop until `len` bytes moved or end of input; errors as sendAll. */
export function spliceAll(fdIn: u32, offIn: Offset | null, fdOut: u32, offOut: Offset | null, len: u64, flags: u32 = 0): i64 {
  let total: u64 = 0;
  while (total < len) {
    const left = len - total;
    const n = splice(fdIn, offIn, fdOut, offOut, left < MAX_RW_COUNT ? left : MAX_RW_COUNT, flags);
    if (n < 0) return n;
    if (n == 0) break;
    total += <u64>n;
  }
  return <i64>total;
}

/** TCP_CORK on a TCP socket, as sendfile(2) advises for a header followed by a file. */
export function sock_cork(fd: u32, enable: bool): u16 {
  return raw.sock_cork(fd, enable ? 1 : 0);
}

/** The peer's address as text ("a.b.c.d:port" or "[v6]:port"), or null on error. */
export function peername(fd: u32): string | null {
  const buf = memory.data(64);
  if (raw.sock_peername(fd, buf, 64, scratch) != errno.SUCCESS) return null;
  return String.UTF8.decodeUnsafe(buf, load<u32>(scratch));
}
