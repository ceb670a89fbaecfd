// The native twin of assembly/guests/conformance.ts: the same cases, performed by the host
// itself on real host descriptors through FFI (host/native/libc.ts), printing the same lines
// with Linux's errno translated by the host's one table (fromLinux). Any difference from the
// guest's lines is a sandbox (or SDK) bug.
//
// The guest's "sandbox only" cases have no native counterpart: SPEC_ONLY below gives the
// line each must print, from docs/ABI.md ("Errors"), not from running anything.
import { openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as libc from '../../host/native/libc.js';
import { F, O, SEEK } from '../../host/native/platform.js';
import { errnoName, fromLinux } from '../../host/sandbox/errno.js';

/** The fixture files both sides start from (the guest's preopen and the native directory). */
export function writeFixtures(dir: string): void {
  writeFileSync(join(dir, 'src.txt'), '0123456789abcdefghij');
  writeFileSync(join(dir, 'ro.txt'), 'readonly');
  writeFileSync(join(dir, 'big.bin'), Buffer.from(Array.from({ length: 100000 }, (_, i) => (i * 7 + 3) & 0xff)));
}

const SPLICE_F_NONBLOCK = 2;
const MODES: Record<string, number> = {
  r: O.RDONLY, w: O.WRONLY | O.CREAT | O.TRUNC, a: O.WRONLY | O.CREAT | O.TRUNC | O.APPEND,
  rw: O.RDWR | O.CREAT | O.TRUNC, wo: O.WRONLY,
};
const U64_MAX = 2n ** 64n - 1n;

/** An Offset: the i64 the kernel reads and advances, or null for the file position. */
type Off = BigInt64Array | null;
const offset = (v: number): BigInt64Array => new BigInt64Array([BigInt(v)]);
const ptr = (o: Off): Uint8Array | null => (o === null ? null : new Uint8Array(o.buffer));
const showOff = (o: Off): string => (o === null ? '-' : String(o[0]));

/** What a descriptor delivered: hex up to 32 bytes, else length and FNV-1a (as the guest). */
export function digest(data: Uint8Array): string {
  if (data.length === 0) return 'empty';
  if (data.length <= 32) return Buffer.from(data).toString('hex');
  let h = 0x811c9dc5;
  for (const b of data) h = Math.imul(h ^ b, 16777619) >>> 0;
  return `${data.length}b:fnv=${h.toString(16).padStart(8, '0')}`;
}

/** Runs every case natively in `dir` (a fresh copy of the fixtures); returns the lines. */
export function runNative(dir: string): string[] {
  const lines: string[] = [];
  const held: number[] = [];
  const buf = Buffer.alloc(4096);

  const open = (name: string, mode: string): number => {
    const fd = openSync(join(dir, name), MODES[mode], 0o644);
    held.push(fd);
    return fd;
  };
  const newPipe = (nonblock = false): [r: number, w: number] => {
    const fds = new Int32Array(2);
    const r = libc.pipe2(new Uint8Array(fds.buffer), O.CLOEXEC | (nonblock ? O.NONBLOCK : 0));
    if (r < 0) throw new Error(`pipe2: ${r}`);
    held.push(fds[0], fds[1]);
    return [fds[0], fds[1]];
  };
  const close = (fd: number): void => {
    libc.close(fd);
    held.splice(held.indexOf(fd), 1);
  };
  const write = (fd: number, text: string): void => {
    if (libc.write(fd, Buffer.from(text), Buffer.byteLength(text)) < 0) throw new Error('write');
  };
  const fill = (fd: number): void => {
    buf.fill(0x78);
    while (libc.write(fd, buf, 4096) > 0) { /* pages until EAGAIN */ }
    while (libc.write(fd, buf, 1) > 0) { /* then single bytes */ }
  };
  const setNonblock = (fd: number, on: boolean): void => {
    const fl = libc.fcntl(fd, F.GETFL, 0);
    libc.fcntl(fd, F.SETFL, on ? fl | O.NONBLOCK : fl & ~O.NONBLOCK);
  };
  const seek = (fd: number, pos: number): void => { libc.lseek(fd, BigInt(pos), SEEK.SET); };
  const pos = (fd: number): string => {
    const r = libc.lseek(fd, 0n, SEEK.CUR);
    return r < 0 ? '-' : String(r);
  };
  const readAll = (fd: number): Uint8Array => {
    const chunks: Buffer[] = [];
    for (;;) {
      const n = libc.read(fd, buf, 4096);
      if (n <= 0) break;
      chunks.push(Buffer.from(buf.subarray(0, n)));
    }
    return Buffer.concat(chunks);
  };
  const fileData = (name: string) => (): string => {
    const fd = open(name, 'r');
    const d = readAll(fd);
    close(fd);
    return digest(d);
  };
  const pipeData = (readFd: number) => (): string => {
    setNonblock(readFd, true);
    return digest(readAll(readFd));
  };
  const none = (): string => '-';
  const result = (r: number): string =>
    `ret=${r < 0 ? -1 : r} errno=${errnoName[r < 0 ? fromLinux(-r) : 0]}`;
  const report = (name: string, r: number, off: Off, offOut: Off, inFd: number, outFd: number,
    data: () => string, rest: () => string): void => {
    lines.push(`${name} ${result(r)} off=${showOff(off)} off_out=${showOff(offOut)} ` +
      `pos_in=${pos(inFd)} pos_out=${pos(outFd)} data=${data()} rest=${rest()}`);
    while (held.length > 0) close(held[held.length - 1]);
  };
  const file = (name: string): number => open(`${name}.out`, 'w');
  const out = (name: string) => fileData(`${name}.out`);

  const sendfile = (outFd: number, inFd: number, o: Off, count: number | bigint) => libc.sendfile(outFd, inFd, ptr(o), count);
  const splice = (inFd: number, oi: Off, outFd: number, oo: Off, len: number | bigint, flags = 0) =>
    libc.splice(inFd, ptr(oi), outFd, ptr(oo), len, flags);
  const tee = (inFd: number, outFd: number, len: number, flags = 0) => libc.tee(inFd, outFd, len, flags);
  const copy = (inFd: number, oi: Off, outFd: number, oo: Off, len: number | bigint, flags = 0) =>
    libc.copy_file_range(inFd, ptr(oi), outFd, ptr(oo), len, flags);
  // The SDK's loops (assembly/zerocopy/index.ts), over the raw calls: at most MAX_RW_COUNT
  // per call, since counts of 2^63 and above are EINVAL.
  const loop = (step: (left: bigint) => number, count: bigint): number => {
    let total = 0n;
    while (total < count) {
      const left = count - total;
      const n = step(left < 0x7ffff000n ? left : 0x7ffff000n);
      if (n < 0) return n;
      if (n === 0) break;
      total += BigInt(n);
    }
    return Number(total);
  };

  try {
    // --- sendfile(2)
    const sendfileCase = (name: string, o: Off, seekTo: number, count: number | bigint): void => {
      const inFd = open('src.txt', 'r'), outFd = file(name);
      if (seekTo >= 0) seek(inFd, seekTo);
      report(name, sendfile(outFd, inFd, o, count), o, null, inFd, outFd, out(name), none);
    };
    sendfileCase('sendfile-offset', offset(5), -1, 4);
    sendfileCase('sendfile-position', null, 3, 4);
    sendfileCase('sendfile-zero-offset', offset(5), -1, 0);
    sendfileCase('sendfile-zero-position', null, 3, 0);
    sendfileCase('sendfile-short', offset(15), -1, 100);
    sendfileCase('sendfile-short-position', null, 15, 100);
    sendfileCase('sendfile-eof', offset(20), -1, 100);
    sendfileCase('sendfile-past-eof', offset(999), -1, 100);
    sendfileCase('sendfile-eof-position', null, 20, 100);
    sendfileCase('sendfile-negative-offset', offset(-1), -1, 4);
    sendfileCase('sendfile-huge-count', offset(2), -1, 2n ** 62n);
    sendfileCase('sendfile-negative-count', offset(2), -1, U64_MAX);
    {
      const inFd = open('src.txt', 'r'), outFd = open('sendfile-append-destination.out', 'a');
      report('sendfile-append-destination', sendfile(outFd, inFd, null, 4), null, null, inFd, outFd, out('sendfile-append-destination'), none);
    }
    {
      const inFd = open('src.txt', 'r'), [pr, pw] = newPipe();
      close(pr);
      report('sendfile-to-closed-pipe', sendfile(pw, inFd, null, 4), null, null, inFd, pw, none, none);
    }
    {
      const inFd = open('src.txt', 'wo'), outFd = file('sendfile-write-only-source'), o = offset(0);
      report('sendfile-write-only-source', sendfile(outFd, inFd, o, 4), o, null, inFd, outFd, out('sendfile-write-only-source'), none);
    }
    {
      const inFd = open('src.txt', 'r'), outFd = open('ro.txt', 'r');
      report('sendfile-read-only-destination', sendfile(outFd, inFd, null, 4), null, null, inFd, outFd, fileData('ro.txt'), none);
    }
    {
      const inFd = open('src.txt', 'r'), [pr, pw] = newPipe(), o = offset(6);
      report('sendfile-to-pipe', sendfile(pw, inFd, o, 8), o, null, inFd, pw, pipeData(pr), none);
    }
    {
      const inFd = open('src.txt', 'r'), [pr, pw] = newPipe(true), o = offset(0);
      fill(pw);
      report('sendfile-full-pipe', sendfile(pw, inFd, o, 10), o, null, inFd, pw, pipeData(pr), none);
    }
    {
      const inFd = open('src.txt', 'r'), [pr, pw] = newPipe(true);
      fill(pw);
      report('sendfile-full-pipe-position', sendfile(pw, inFd, null, 10), null, null, inFd, pw, pipeData(pr), none);
    }

    // --- splice(2)
    const toPipe = (name: string, mode: string, oi: Off, oo: Off, seekTo: number, len: number | bigint): void => {
      const inFd = open('src.txt', mode), [pr, pw] = newPipe();
      if (seekTo >= 0) seek(inFd, seekTo);
      report(name, splice(inFd, oi, pw, oo, len), oi, oo, inFd, pw, pipeData(pr), none);
    };
    toPipe('splice-file-offset-to-pipe', 'r', offset(2), null, -1, 5);
    toPipe('splice-file-position-to-pipe', 'r', null, null, 4, 5);
    toPipe('splice-file-eof', 'r', offset(20), null, -1, 5);
    toPipe('splice-offset-on-output-pipe', 'r', null, offset(0), -1, 3);
    toPipe('splice-huge-count', 'r', offset(7), null, -1, 2n ** 62n);
    toPipe('splice-negative-count', 'r', offset(7), null, -1, U64_MAX);
    toPipe('splice-negative-offset', 'r', offset(-1), null, -1, 3);
    toPipe('splice-write-only-source', 'wo', null, null, -1, 3);
    const fromPipe = (name: string, oi: Off, oo: Off, len: number, flags: number): void => {
      const [pr, pw] = newPipe(), outFd = file(name);
      write(pw, 'XYZ');
      report(name, splice(pr, oi, outFd, oo, len, flags), oi, oo, pr, outFd, out(name), pipeData(pr));
    };
    fromPipe('splice-pipe-to-file', null, null, 3, 0);
    fromPipe('splice-pipe-to-file-offset', null, offset(2), 3, 0);
    fromPipe('splice-short', null, null, 100, 0);
    fromPipe('splice-zero', null, null, 0, 0);
    fromPipe('splice-offset-on-input-pipe', offset(0), null, 3, 0);
    fromPipe('splice-unknown-flag', null, null, 3, 256);
    {
      const [pr, pw] = newPipe(), outFd = file('splice-eof');
      close(pw);
      report('splice-eof', splice(pr, null, outFd, null, 3), null, null, pr, outFd, out('splice-eof'), pipeData(pr));
    }
    {
      const inFd = open('src.txt', 'r'), outFd = file('splice-two-files');
      report('splice-two-files', splice(inFd, null, outFd, null, 3), null, null, inFd, outFd, out('splice-two-files'), none);
    }
    {
      const [pr, pw] = newPipe(), [qr, qw] = newPipe();
      write(pw, 'XYZ');
      report('splice-two-pipes', splice(pr, null, qw, null, 100), null, null, pr, qw, pipeData(qr), none);
    }
    {
      const [pr] = newPipe(), outFd = file('splice-empty-pipe-nonblock');
      report('splice-empty-pipe-nonblock', splice(pr, null, outFd, null, 3, SPLICE_F_NONBLOCK), null, null, pr, outFd,
        out('splice-empty-pipe-nonblock'), pipeData(pr));
    }
    {
      const inFd = open('src.txt', 'r'), [pr, pw] = newPipe(true), o = offset(0);
      fill(pw);
      setNonblock(pw, false);
      report('splice-full-pipe-nonblock', splice(inFd, o, pw, null, 10, SPLICE_F_NONBLOCK), o, null, inFd, pw, pipeData(pr), none);
    }

    // --- tee(2)
    const teeCase = (name: string, len: number, flags: number, text: string): void => {
      const [pr, pw] = newPipe(), [qr, qw] = newPipe();
      if (text.length > 0) write(pw, text);
      report(name, tee(pr, qw, len, flags), null, null, pr, qw, pipeData(qr), pipeData(pr));
    };
    teeCase('tee-duplicates', 100, 0, 'hello');
    teeCase('tee-short', 3, 0, 'hello');
    teeCase('tee-zero', 0, 0, 'hello');
    teeCase('tee-empty-pipe-nonblock', 5, SPLICE_F_NONBLOCK, '');
    teeCase('tee-unknown-flag', 5, 256, 'hello');
    {
      const [pr, pw] = newPipe(), [qr, qw] = newPipe();
      close(pw);
      report('tee-eof', tee(pr, qw, 5), null, null, pr, qw, pipeData(qr), pipeData(pr));
    }
    {
      const inFd = open('src.txt', 'r'), [qr, qw] = newPipe();
      report('tee-file-source', tee(inFd, qw, 5), null, null, inFd, qw, pipeData(qr), none);
    }
    {
      const [pr, pw] = newPipe(), outFd = file('tee-file-destination');
      write(pw, 'hello');
      report('tee-file-destination', tee(pr, outFd, 5), null, null, pr, outFd, out('tee-file-destination'), pipeData(pr));
    }
    {
      const [pr, pw] = newPipe();
      write(pw, 'hello');
      report('tee-same-pipe', tee(pr, pw, 5), null, null, pr, pw, none, pipeData(pr));
    }

    // --- copy_file_range(2)
    const copyCase = (name: string, oi: Off, oo: Off, seekTo: number, len: number | bigint, flags: number): void => {
      const inFd = open('src.txt', 'r'), outFd = file(name);
      if (seekTo >= 0) seek(inFd, seekTo);
      report(name, copy(inFd, oi, outFd, oo, len, flags), oi, oo, inFd, outFd, out(name), none);
    };
    copyCase('copy-offsets', offset(3), offset(2), -1, 5, 0);
    copyCase('copy-positions', null, null, 4, 6, 0);
    copyCase('copy-input-offset-only', offset(10), null, 2, 4, 0);
    copyCase('copy-short', offset(18), null, -1, 10, 0);
    copyCase('copy-eof', offset(20), null, -1, 10, 0);
    copyCase('copy-zero', offset(3), offset(0), -1, 0, 0);
    copyCase('copy-flags', offset(0), null, -1, 5, 1);
    copyCase('copy-negative-offset', offset(-1), null, -1, 5, 0);
    copyCase('copy-huge-count', offset(12), null, -1, 2n ** 62n, 0);
    copyCase('copy-negative-count', offset(12), null, -1, U64_MAX, 0);
    {
      const fd = file('copy-same-file-overlap');
      close(fd);
      const a = open('copy-same-file-overlap.out', 'rw'), o = offset(0), oo = offset(5);
      write(a, '0123456789');
      report('copy-same-file-overlap', copy(a, o, a, oo, 10), o, oo, a, a, out('copy-same-file-overlap'), none);
    }
    {
      const [pr, pw] = newPipe(), outFd = file('copy-pipe-source');
      write(pw, 'abc');
      report('copy-pipe-source', copy(pr, null, outFd, null, 3), null, null, pr, outFd, out('copy-pipe-source'), pipeData(pr));
    }
    {
      const inFd = open('src.txt', 'r'), outFd = open('ro.txt', 'r');
      report('copy-read-only-destination', copy(inFd, null, outFd, null, 3), null, null, inFd, outFd, fileData('ro.txt'), none);
    }
    {
      const inFd = open('src.txt', 'wo'), outFd = file('copy-write-only-source');
      report('copy-write-only-source', copy(inFd, null, outFd, null, 3), null, null, inFd, outFd, out('copy-write-only-source'), none);
    }

    // --- the SDK's loops
    {
      const inFd = open('src.txt', 'r'), outFd = file('sendall-to-eof'), o = offset(4);
      report('sendall-to-eof', loop((left) => sendfile(outFd, inFd, o, left), U64_MAX), o, null, inFd, outFd, out('sendall-to-eof'), none);
    }
    {
      const inFd = open('big.bin', 'r'), outFd = file('sendall-big');
      report('sendall-big', loop((left) => sendfile(outFd, inFd, null, left), 100000n), null, null, inFd, outFd, out('sendall-big'), none);
    }
    {
      const inFd = open('big.bin', 'r'), [pr, pw] = newPipe(true), o = offset(0);
      report('sendall-again', loop((left) => sendfile(pw, inFd, o, left), 100000n), o, null, inFd, pw, pipeData(pr), none);
    }
    {
      const [pr, pw] = newPipe(), outFd = file('spliceall-to-eof');
      write(pw, 'hello');
      write(pw, ' world');
      close(pw);
      report('spliceall-to-eof', loop((left) => splice(pr, null, outFd, null, left), U64_MAX), null, null, pr, outFd,
        out('spliceall-to-eof'), pipeData(pr));
    }
    {
      const [pr, pw] = newPipe(), outFd = file('spliceall-again'), o = offset(1);
      write(pw, 'hello');
      report('spliceall-again', loop((left) => splice(pr, null, outFd, o, left, SPLICE_F_NONBLOCK), 1000n), null, o, pr, outFd,
        out('spliceall-again'), pipeData(pr));
    }

    // --- the errno names: the host's table, 0 to 76, then one past it
    lines.push(`errno-names ${[...errnoName, 'unknown'].join(',')}`);
  } finally {
    for (const fd of held) libc.close(fd);
  }
  return lines;
}

const nothingMoved = 'off=- off_out=- pos_in=0 pos_out=0 data=empty rest=-';

/**
 * The sandbox's own answers (docs/ABI.md, "Errors"), which Linux never gives for these calls:
 * each guest case's whole line, as the spec says it must be. `fault` is decided before the
 * system call, so nothing moved: positions 0, destinations empty, source pipes intact; a pipe
 * call that failed created no descriptor. A descriptor not held is `badf`; a right the guest
 * gave up is `notcapable`, and only that right (fd_seek guards offsets, not the position).
 */
export const SPEC_ONLY: Record<string, string> = {
  'fault-offset-straddles-end': `ret=-1 errno=fault ${nothingMoved}`,
  'fault-offset-far': `ret=-1 errno=fault ${nothingMoved}`,
  'fault-sendfile-result': `ret=-1 errno=fault ${nothingMoved}`,
  'fault-splice-offset': 'ret=-1 errno=fault off=- off_out=- pos_in=0 pos_out=- data=empty rest=-',
  'fault-splice-result': 'ret=-1 errno=fault off=- off_out=- pos_in=- pos_out=0 data=empty rest=58595a',
  'fault-tee-result': 'ret=-1 errno=fault off=- off_out=- pos_in=- pos_out=- data=empty rest=68656c6c6f',
  'fault-copy-result': `ret=-1 errno=fault ${nothingMoved}`,
  'fault-pipe-result': 'ret=-1 errno=fault off=- off_out=- pos_in=- pos_out=- data=new-fds:0 rest=-',
  // fdflags are WASI's: the ABI accepts NONBLOCK only, before Linux is asked.
  'pipe-unknown-fdflag': 'ret=-1 errno=inval off=- off_out=- pos_in=- pos_out=- data=new-fds:0 rest=-',
  'badf-sendfile-source-not-held': `ret=-1 errno=badf ${nothingMoved}`,
  'badf-sendfile-destination-not-held': `ret=-1 errno=badf ${nothingMoved}`,
  'badf-splice-not-held': `ret=-1 errno=badf ${nothingMoved}`,
  'badf-tee-not-held': `ret=-1 errno=badf ${nothingMoved}`,
  'badf-copy-not-held': `ret=-1 errno=badf ${nothingMoved}`,
  'notcapable-sendfile-without-read': `ret=-1 errno=notcapable ${nothingMoved}`,
  'notcapable-sendfile-offset-without-seek': 'ret=-1 errno=notcapable off=2 off_out=- pos_in=0 pos_out=0 data=empty rest=-',
  'sendfile-position-without-seek': 'ret=4 errno=success off=- off_out=- pos_in=4 pos_out=4 data=30313233 rest=-',
  'notcapable-splice-without-write': 'ret=-1 errno=notcapable off=- off_out=- pos_in=- pos_out=0 data=empty rest=58595a',
  'notcapable-tee-without-write': 'ret=-1 errno=notcapable off=- off_out=- pos_in=- pos_out=- data=empty rest=68656c6c6f',
  'notcapable-copy-without-write': `ret=-1 errno=notcapable ${nothingMoved}`,
};
