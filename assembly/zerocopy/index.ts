// The guest SDK for the `zerocopy` module (docs/ABI.md): typed wrappers over the raw
// bindings. On the hot path errors are returned values, never exceptions, and no call
// allocates: a transfer returns the bytes moved (>= 0) or -errno, as the kernel's own system
// call interface does before libc turns it into -1 and errno (syscall(2)).
//
//   const off = new Offset(0);              // allocate once, reuse for every call
//   const n = sendfile(outFd, inFd, off, 4096);
//   if (n == -errno.AGAIN) { /* poll, then call again */ }
//   else if (n < 0) { /* errno.name(<u16>-n) */ }
import * as raw from "./bindings";
export { errno } from "./errno";
import { errno } from "./errno";

/** splice(2) / tee(2) flags (include/uapi/linux/splice.h). Any other bit is EINVAL. */
export const SPLICE_F_MOVE: u32 = 1;
/** Do not block on the pipes (splice(2)): EAGAIN instead. The other descriptor may still block. */
export const SPLICE_F_NONBLOCK: u32 = 2;
export const SPLICE_F_MORE: u32 = 4;
export const SPLICE_F_GIFT: u32 = 8;

/** The one WASI fdflag `pipe` accepts (fdflags.nonblock): both ends O_NONBLOCK, pipe2(2). */
export const PIPE_NONBLOCK: u32 = 4;

/**
 * A file offset the kernel reads and advances (the `loff_t *` of sendfile(2), splice(2),
 * copy_file_range(2)). The address of `value` itself is what the call receives, so the kernel
 * updates it in place: pass one to read from `value` without touching the descriptor's file
 * position; pass null to use and advance the position instead. A negative `value` is EINVAL.
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
 * The most one read or write moves on Linux (MAX_RW_COUNT, INT_MAX rounded down to a page,
 * read(2) NOTES). The loops ask for no more per call, so that any u64 count works: a single
 * call with a count of 2^63 or more is EINVAL (sendfile(2): "count is negative").
 */
const MAX_RW_COUNT: u64 = 0x7ffff000;

// Results come back through this scratch word; guests are single-threaded.
const scratch = memory.data(8);

// @ts-ignore: decorator
@inline function offsetPtr(o: Offset | null): usize {
  return o === null ? 0 : changetype<usize>(o) + offsetof<Offset>("value");
}

// @ts-ignore: decorator
@inline function result(e: u16): i64 {
  return e == errno.SUCCESS ? load<i64>(scratch) : -(<i64>e);
}

/**
 * sendfile(2): copies up to `count` bytes from `inFd` (a file that supports mmap-like reads)
 * to `outFd`. With an `offset`, reading starts at `offset.value`, which is advanced past the
 * last byte read, and the file position of `inFd` is left alone; with null, the position is
 * used and advanced. Returns the bytes sent, which may be fewer than asked (0 at end of file,
 * and for `count` 0), or -errno: BADF for a descriptor not open for reading (in) or writing
 * (out), INVAL for a negative offset, AGAIN for a full non-blocking destination.
 */
export function sendfile(outFd: u32, inFd: u32, offset: Offset | null, count: u64): i64 {
  return result(raw.sendfile(outFd, inFd, offsetPtr(offset), count, scratch));
}

/**
 * splice(2): moves up to `len` bytes between two descriptors, one of which must be a pipe
 * (INVAL otherwise). An offset on the pipe side is SPIPE; on a file side it follows sendfile's
 * rules. Returns the bytes moved, 0 at end of input (a pipe with no writers, end of file), or
 * -errno (AGAIN with SPLICE_F_NONBLOCK on an empty or full pipe).
 */
export function splice(fdIn: u32, offIn: Offset | null, fdOut: u32, offOut: Offset | null, len: u64, flags: u32 = 0): i64 {
  return result(raw.splice(fdIn, offsetPtr(offIn), fdOut, offsetPtr(offOut), len, flags, scratch));
}

/**
 * tee(2): duplicates up to `len` bytes from pipe `fdIn` into pipe `fdOut` without consuming
 * them, so `fdIn` can still be read. Both must be pipes, and not the same pipe (INVAL).
 * Returns the bytes duplicated, 0 when there is nothing to copy and no writer, or -errno.
 */
export function tee(fdIn: u32, fdOut: u32, len: u64, flags: u32 = 0): i64 {
  return result(raw.tee(fdIn, fdOut, len, flags, scratch));
}

/**
 * copy_file_range(2): copies up to `len` bytes between two regular files inside the kernel.
 * Offsets as sendfile's, on both sides. `flags` must be 0 (INVAL). Returns the bytes copied,
 * 0 at end of the source, or -errno (INVAL for a pipe, BADF for a wrong access mode).
 */
export function copy_file_range(fdIn: u32, offIn: Offset | null, fdOut: u32, offOut: Offset | null, len: u64, flags: u32 = 0): i64 {
  return result(raw.copy_file_range(fdIn, offsetPtr(offIn), fdOut, offsetPtr(offOut), len, flags, scratch));
}

/**
 * pipe2(2): fills `fds` with the read end and the write end and returns errno.SUCCESS, or
 * another errno (MFILE, NFILE) leaving `fds` untouched. `nonblock` makes both ends O_NONBLOCK.
 */
export function pipe(fds: Pipe, nonblock: bool = false): u16 {
  const e = raw.pipe(nonblock ? PIPE_NONBLOCK : 0, scratch);
  if (e == errno.SUCCESS) {
    fds.readFd = load<u32>(scratch);
    fds.writeFd = load<u32>(scratch, 4);
  }
  return e;
}

/**
 * Sends `count` bytes, or up to end of file, looping over short counts as sendfile(2) advises
 * ("the caller should be prepared to retry"). Returns the total sent (less than `count` only
 * at end of file), or -errno as soon as a call fails.
 *
 * After an error, the progress made before it is not lost: it is in `offset.value` (when an
 * offset is given) or in the file position of `inFd`, so the caller can resume from there.
 * AGAIN is returned as -errno.AGAIN, never spun on: a non-blocking caller polls `outFd` for
 * writing and calls again.
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

/**
 * splice(2) in a loop until `len` bytes moved or end of input (a return of 0). Errors as
 * sendAll: -errno at once, progress visible in the offsets or the file position; with
 * SPLICE_F_NONBLOCK, -errno.AGAIN when a pipe is empty or full, not a busy loop.
 */
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

/** TCP_CORK on a TCP socket (tcp(7)), as sendfile(2)'s NOTES advise for a header then a file. */
export function sock_cork(fd: u32, enable: bool): u16 {
  return raw.sock_cork(fd, enable ? 1 : 0);
}

/** The peer's address as text ("a.b.c.d:port" or "[v6]:port"), or null on error. Allocates. */
export function peername(fd: u32): string | null {
  const buf = memory.data(64);
  if (raw.sock_peername(fd, buf, 64, scratch) != errno.SUCCESS) return null;
  return String.UTF8.decodeUnsafe(buf, load<u32>(scratch));
}

/** The one WASI fdflag `connect` accepts (fdflags.nonblock). */
export const CONNECT_NONBLOCK: u32 = 4;

// The longest address text is "[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:65535", 54 bytes.
const addrBuf = memory.data(64);

/**
 * Opens a TCP connection to `address`, which must be one the host granted (--connect), byte
 * for byte: "a.b.c.d:port" or "[v6]:port". Returns the new descriptor (>= 0) or -errno:
 * NOTCAPABLE for an address not granted (no packet is sent), CONNREFUSED, HOSTUNREACH,
 * TIMEDOUT... as connect(2). With `nonblock`, a connection still under way is returned at once
 * as a descriptor: poll it for writing, then `sock_error` says how it ended.
 */
export function connect(address: string, nonblock: bool = false): i64 {
  const flags = nonblock ? CONNECT_NONBLOCK : 0;
  let e: u16;
  if (String.UTF8.byteLength(address) <= 64) {
    const len = String.UTF8.encodeUnsafe(changetype<usize>(address), address.length, addrBuf);
    e = raw.sock_connect(addrBuf, <u32>len, flags, scratch);
  } else {
    // Too long to be any address; the host says so (NOTCAPABLE) rather than this SDK.
    const text = String.UTF8.encode(address);
    e = raw.sock_connect(changetype<usize>(text), <u32>text.byteLength, flags, scratch);
  }
  return e == errno.SUCCESS ? <i64>load<u32>(scratch) : -(<i64>e);
}

/**
 * The socket's pending error (getsockopt SO_ERROR, socket(7)), cleared by reading it: after a
 * non-blocking `connect`, SUCCESS once connected, or why it failed (CONNREFUSED, ...). Returns
 * that errno, or the errno of the call itself (BADF, NOTSOCK) negated, as the transfers do.
 */
export function sock_error(fd: u32): i32 {
  const e = raw.sock_error(fd, scratch);
  return e == errno.SUCCESS ? <i32>load<u16>(scratch) : -(<i32>e);
}

/**
 * fcntl(F_SETPIPE_SZ), pipe(7): sets a pipe's capacity to at least `size` bytes, so that one
 * splice can move more. Returns the capacity the kernel chose (a power of two pages), or
 * -errno: PERM past /proc/sys/fs/pipe-max-size or the sandbox's budget for enlarged pipes,
 * BUSY for less than the pipe holds, BADF for a descriptor that is not a pipe.
 */
export function pipe_set_size(fd: u32, size: u32): i64 {
  const e = raw.pipe_set_size(fd, size, scratch);
  return e == errno.SUCCESS ? <i64>load<u32>(scratch) : -(<i64>e);
}
