// The copying path. Where a descriptor of a zerocopy call is not a kernel descriptor (a
// virtual file: an embedder's JavaScript stream) or holds bytes an earlier copy left behind
// (FdEntry.pending), a private pipe stands in for it and the kernel makes the call on that
// pipe. So every rule is the kernel's, in the kernel's order: a virtual file behaves as a pipe
// (an offset on it is ESPIPE, SPLICE_F_NONBLOCK on an empty source is EAGAIN, copy_file_range
// is EINVAL, counts of 2^63 and more are EINVAL where the kernel says so). The host only moves
// bytes between the stream and the pipe:
// - a source: what it yields now (its pending bytes first) is written into the pipe, whose
//   write end is then closed (a stream that yields nothing is at its end, as a pipe without
//   writers); what the call does not take goes back to the front of `pending`, in order;
// - a destination: the call fills an empty pipe; the bytes go to the stream in one write, and
//   what the stream does not take is undone (*offset or the file position moved back, or for
//   a source that cannot rewind, kept in its `pending`), so the guest sees the short count.
import * as libc from '../native/libc.js';
import { F, O } from '../native/platform.js';
import { check, errno, fail, WasiError } from '../sandbox/errno.js';
import type { FdEntry } from '../sandbox/fd_table.js';
import { run, type OffsetAccess } from './kernel.js';

export type Call = 'sendfile' | 'splice' | 'tee' | 'copy_file_range';

const ESPIPE = 29, SEEK_CUR = 1;
/** The most a stream yields into the stand-in pipe per call: what an empty pipe holds. */
const CHUNK = 64 * 1024;
const scratch = new Uint8Array(CHUNK);

const kernel = (e: FdEntry): boolean => e.hostFd >= 0 && e.pending === null;

/** A pipe made for one call: [read end, write end], close-on-exec, blocking. */
function privatePipe(): [number, number] {
  const fds = new Int32Array(2);
  check(libc.pipe2(new Uint8Array(fds.buffer), O.CLOEXEC));
  return [fds[0], fds[1]];
}

export function viaPipes(stop: Int32Array | null, call: Call, src: FdEntry, dst: FdEntry, nonblock: boolean, offIn: OffsetAccess | null,
  len: bigint, op: (inFd: number, outFd: number) => number): number {
  const opened: number[] = [];
  const hadPending = src.pending !== null;
  try {
    let inFd = src.hostFd, outFd = dst.hostFd;
    let taken: Uint8Array = new Uint8Array(0); // the source's bytes placed in its stand-in pipe
    const standIn = !kernel(src);
    if (standIn) {
      const [r, w] = privatePipe();
      opened.push(r, w);
      // copy_file_range refuses any pipe: nothing is taken from the stream for it.
      if (call !== 'copy_file_range') taken = fill(src, w, len);
      libc.close(opened.pop()!);
      inFd = r;
    }
    let drain = -1;
    if (!kernel(dst)) {
      const [r, w] = privatePipe();
      opened.push(r, w);
      drain = r;
      outFd = w;
    }

    let n: number;
    try {
      n = run(stop, src, dst, nonblock, () => op(inFd, outFd));
    } catch (e) {
      giveBack(src, taken, 0);
      throw e;
    }
    // tee duplicates: the source keeps every byte.
    let consumed = call === 'tee' ? 0 : n;
    let accepted = n;
    let data: Uint8Array | null = null;
    if (drain >= 0 && n > 0) {
      data = readExactly(drain, n);
      accepted = Math.max(0, Math.min(n, dst.virtual!.write!(data)));
      consumed = call === 'tee' ? 0 : accepted;
    }
    if (standIn) {
      giveBack(src, taken, consumed);
    } else if (call !== 'tee' && accepted < n) {
      rewind(src, call, offIn, data!.subarray(accepted));
    }
    if (n > 0 && accepted === 0) fail(errno.again);
    return accepted;
  } finally {
    for (const fd of opened) libc.close(fd);
    // Bytes now pending on a descriptor poll_oneoff waited on through epoll: readable at once.
    if (!hadPending && src.pending !== null) src.watcher?.changed(src);
  }
}

/**
 * Writes what the source yields now (pending bytes first, then up to `len` bytes read from
 * the virtual file) into the stand-in pipe's write end; returns the bytes written. Bytes that
 * did not fit stay in `pending`.
 */
function fill(src: FdEntry, w: number, len: bigint): Uint8Array {
  const want = len > BigInt(CHUNK) ? CHUNK : Number(len);
  if (want === 0) return new Uint8Array(0);
  let data: Uint8Array;
  let rest: Uint8Array | null = null;
  if (src.pending !== null) {
    data = src.pending.subarray(0, want);
    rest = src.pending.length > want ? src.pending.subarray(want) : null;
  } else if (src.virtual?.read !== undefined) {
    data = scratch.slice(0, src.virtual.read(scratch.subarray(0, want)));
  } else {
    return new Uint8Array(0);
  }
  // Non-blocking: a pipe smaller than CHUNK (pipe-user-pages-soft) takes what it can.
  check(libc.fcntl(w, F.SETFL, O.NONBLOCK));
  const wrote = data.length === 0 ? 0 : Math.max(0, libc.write(w, data, data.length));
  src.pending = join(data.subarray(wrote), rest);
  return data.subarray(0, wrote);
}

/** The bytes of `taken` past the first `consumed` go back to the front of `pending`. */
function giveBack(src: FdEntry, taken: Uint8Array, consumed: number): void {
  if (consumed < taken.length) src.pending = join(taken.slice(consumed), src.pending);
}

/**
 * Undoes the part of a transfer from a kernel descriptor that the virtual destination did not
 * take: *offset moved back (it is guest memory the kernel advanced), else the file position,
 * else, for a source that cannot seek (a pipe, a socket), the bytes kept in its `pending`.
 */
function rewind(src: FdEntry, call: Call, offIn: OffsetAccess | null, rest: Uint8Array): void {
  if (offIn !== null && call !== 'tee') {
    offIn.set(offIn.get() - BigInt(rest.length));
    return;
  }
  const r = libc.lseek(src.hostFd, BigInt(-rest.length), SEEK_CUR);
  if (r === -ESPIPE) src.pending = join(rest.slice(), src.pending);
  else check(r);
}

function readExactly(fd: number, n: number): Uint8Array {
  const out = n <= CHUNK ? scratch.subarray(0, n) : new Uint8Array(n);
  for (let got = 0; got < n;) {
    const r = libc.read(fd, out.subarray(got), n - got);
    if (r <= 0) throw new WasiError(errno.io); // the host's own pipe: cannot happen
    got += r;
  }
  return out;
}

function join(a: Uint8Array | null, b: Uint8Array | null): Uint8Array | null {
  const la = a?.length ?? 0, lb = b?.length ?? 0;
  if (la === 0) return lb === 0 ? null : b;
  if (lb === 0) return a;
  const out = new Uint8Array(la + lb);
  out.set(a!);
  out.set(b!, la);
  return out;
}
