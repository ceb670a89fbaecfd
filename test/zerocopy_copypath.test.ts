// The copying path (docs/ABI.md, "Descriptors that are not kernel descriptors"): standard
// streams that are JavaScript objects behave as pipes, with the kernel's rules for pipes:
// short counts when the stream takes a few bytes at a time, *offset and the file position
// advanced by what was delivered and no more, bytes taken from a source but not delivered kept
// and delivered first by the next read, spipe for an offset on the stream, EAGAIN for
// SPLICE_F_NONBLOCK on an empty pipe, EINVAL where the kernel says so.
import { suite } from './helpers/suite.js';
import * as assert from 'uvu/assert';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { errno, errnoName } from '../host/sandbox/errno.js';
import { R } from '../host/sandbox/rights.js';
import { Caller } from './helpers/imports.js';
import { openFds, tempDir } from './helpers/guest.js';

const RET = 0x100, OFF = 0x200, IOV = 0x300, BUF = 0x400;
const READ = R.FD_READ | R.FD_SEEK | R.FD_TELL, WRITE = R.FD_WRITE | R.FD_SEEK | R.FD_TELL;
const SPLICE_F_NONBLOCK = 2;

/** A virtual stdout that takes at most `per` bytes a call (all if 0), recording them. */
class Sink {
  taken = '';
  calls = 0;
  constructor(private per = 0) {}
  write = (from: Uint8Array): number => {
    this.calls++;
    const n = this.per === 0 ? from.length : Math.min(this.per, from.length);
    this.taken += Buffer.from(from.subarray(0, n)).toString();
    return n;
  };
}
/** A virtual stdin that yields `text`, then end of input; counts the calls. */
class Source {
  calls = 0;
  constructor(private text: string) {}
  read = (into: Uint8Array): number => {
    this.calls++;
    const b = Buffer.from(this.text);
    const n = Math.min(b.length, into.length);
    into.set(b.subarray(0, n));
    this.text = b.subarray(n).toString();
    return n;
  };
}

interface World { dir: string; c: Caller; sink: Sink; source: Source }
function world(per = 0, input = ''): World {
  const dir = tempDir('wzc-copy-');
  writeFileSync(join(dir, 'src.txt'), '0123456789abcdefghij');
  writeFileSync(join(dir, 'out.txt'), '');
  const sink = new Sink(per), source = new Source(input);
  return { dir, sink, source, c: new Caller({ preopens: { '/': dir }, stdin: { read: source.read }, stdout: { write: sink.write } }) };
}
function withWorld(body: (w: World) => void, per = 0, input = ''): void {
  const w = world(per, input);
  try {
    body(w);
  } finally {
    w.c.close();
    rmSync(w.dir, { recursive: true, force: true });
  }
}
function open(c: Caller, name: string, rights: number): number {
  const [p, l] = c.str(name);
  assert.is(c.wasi.path_open(3, 0, p, l, 0, BigInt(rights), 0n, 0, RET), errno.success);
  return c.u32(RET);
}
function write(c: Caller, fd: number, text: string): void {
  c.str(text, BUF);
  c.dv.setUint32(IOV, BUF, true);
  c.dv.setUint32(IOV + 4, text.length, true);
  assert.is(c.wasi.fd_write(fd, IOV, 1, RET), errno.success);
}
/** One fd_read of up to 256 bytes: the text, or the errno's name in brackets. */
function read(c: Caller, fd: number): string {
  c.dv.setUint32(IOV, BUF, true);
  c.dv.setUint32(IOV + 4, 256, true);
  const e = c.wasi.fd_read(fd, IOV, 1, RET);
  return e === 0 ? Buffer.from(c.u8.subarray(BUF, BUF + c.u32(RET))).toString() : `[${errnoName[e]}]`;
}
/** Reads until end of input (a pipe's read may be short: kept bytes come alone). */
function readAll(c: Caller, fd: number): string {
  let all = '';
  for (let r = read(c, fd); r !== ''; r = read(c, fd)) all += r;
  return all;
}
function tell(c: Caller, fd: number): bigint {
  assert.is(c.wasi.fd_tell(fd, RET), errno.success);
  return c.dv.getBigUint64(RET, true);
}
const count = (c: Caller) => c.dv.getBigUint64(RET, true);
const off = (c: Caller) => c.dv.getBigInt64(OFF, true);
const setOff = (c: Caller, v: bigint) => c.dv.setBigInt64(OFF, v, true);
const result = (c: Caller, e: number) => (e === 0 ? `success ${count(c)}` : errnoName[e]);

let fdsBefore: string[] = [];

// ---------------------------------------------------------------------------------------
const rules = suite("a virtual stream follows the kernel's rules for a pipe");
rules.before(async () => { fdsBefore = openFds(); });

rules('splice from an empty pipe into virtual stdout with SPLICE_F_NONBLOCK is again, at once', () => withWorld(({ c, sink }) => {
  const [pr] = c.pipe(); // a blocking pipe: only the flag stands between the call and waiting
  assert.is(result(c, c.zc.splice(pr, 0, 1, 0, 10n, SPLICE_F_NONBLOCK, RET)), 'again');
  assert.is(sink.calls, 0);
}));

rules('sendfile to virtual stdout of 2^63 bytes is inval, as sendfile(2) says of a negative count', () => withWorld(({ c, sink }) => {
  const inFd = open(c, 'src.txt', READ);
  assert.is(result(c, c.zc.sendfile(1, inFd, 0, 1n << 63n, RET)), 'inval');
  assert.is(tell(c, inFd), 0n);
  assert.is(sink.taken, '');
}));

rules('an offset on virtual stdout or stdin is spipe, and nothing moves', () => withWorld(({ c, sink }) => {
  const fileIn = open(c, 'src.txt', READ), fileOut = open(c, 'out.txt', WRITE);
  setOff(c, 0n);
  assert.is(result(c, c.zc.splice(fileIn, 0, 1, OFF, 4n, 0, RET)), 'spipe');
  assert.is(result(c, c.zc.splice(0, OFF, fileOut, 0, 4n, 0, RET)), 'spipe');
  assert.is(tell(c, fileIn), 0n);
  assert.is(sink.taken, '');
  assert.is(readAll(c, 0), 'input', 'stdin was not consumed');
}, 0, 'input'));

rules('copy_file_range with a virtual stream is inval and takes nothing from it', () => withWorld(({ c, sink }) => {
  const fileIn = open(c, 'src.txt', READ), fileOut = open(c, 'out.txt', WRITE);
  assert.is(result(c, c.zc.copy_file_range(fileIn, 0, 1, 0, 4n, 0, RET)), 'inval');
  assert.is(result(c, c.zc.copy_file_range(0, 0, fileOut, 0, 4n, 0, RET)), 'inval');
  assert.is(sink.taken, '');
  assert.is(readAll(c, 0), 'input');
}, 0, 'input'));

rules('copy_file_range from virtual stdin is inval without reading it, as the kernel refuses a pipe unread', () => withWorld(({ c, source }) => {
  // A read would make the guest wait for input (an interactive stdin) only to be told inval.
  const fileOut = open(c, 'out.txt', WRITE);
  assert.is(result(c, c.zc.copy_file_range(0, 0, fileOut, 0, 4n, 0, RET)), 'inval');
  assert.is(source.calls, 0, 'the stream was read');
}, 0, 'input'));

rules('an unknown splice flag is inval with a virtual stream, as on a pipe', () => withWorld(({ c }) => {
  const fileIn = open(c, 'src.txt', READ);
  assert.is(result(c, c.zc.splice(fileIn, 0, 1, 0, 4n, 0x100, RET)), 'inval');
  assert.is(tell(c, fileIn), 0n);
}));

rules('sendfile from virtual stdin is inval, as from a pipe, and its bytes stay for the next read', () => withWorld(({ c }) => {
  const fileOut = open(c, 'out.txt', WRITE);
  assert.is(result(c, c.zc.sendfile(fileOut, 0, 0, 4n, RET)), 'inval');
  assert.is(readAll(c, 0), 'input');
}, 0, 'input'));

rules('tee from virtual stdin duplicates without consuming, as from a pipe', () => withWorld(({ c }) => {
  const [qr, qw] = c.pipe(true);
  assert.is(result(c, c.zc.tee(0, qw, 100n, 0, RET)), 'success 5');
  assert.is(read(c, qr), 'input');
  assert.is(readAll(c, 0), 'input');
}, 0, 'input'));

rules('splice from virtual stdin into a file at an offset writes there and advances *off_out', () => withWorld(({ c, dir }) => {
  const fileOut = open(c, 'out.txt', WRITE);
  setOff(c, 2n);
  assert.is(result(c, c.zc.splice(0, 0, fileOut, OFF, 100n, 0, RET)), 'success 5');
  assert.is(off(c), 7n);
  assert.is(tell(c, fileOut), 0n);
  assert.is(readFileSync(join(dir, 'out.txt'), 'latin1'), '\0\0input');
}, 0, 'input'));

rules('splice from virtual stdin at its end returns zero', () => withWorld(({ c }) => {
  const [, qw] = c.pipe();
  assert.is(result(c, c.zc.splice(0, 0, qw, 0, 10n, 0, RET)), 'success 0');
}));

rules('no host descriptor is left open', () => {
  assert.equal(openFds(), fdsBefore);
});
rules.run();

// ---------------------------------------------------------------------------------------
const short = suite('a virtual stdout that takes a few bytes at a time shows the guest short counts');

short('sendfile at an offset returns the short count and advances *offset by it alone', () => withWorld(({ c, sink }) => {
  const inFd = open(c, 'src.txt', READ);
  setOff(c, 2n);
  assert.is(result(c, c.zc.sendfile(1, inFd, OFF, 10n, RET)), 'success 3');
  assert.is(off(c), 5n);
  assert.is(tell(c, inFd), 0n);
  assert.is(sink.calls, 1, 'one write per call: the guest loops, not the host');
  assert.is(result(c, c.zc.sendfile(1, inFd, OFF, 10n, RET)), 'success 3');
  assert.is(sink.taken, '234567');
}, 3));

short('sendfile from the file position advances it by the short count alone', () => withWorld(({ c, sink }) => {
  const inFd = open(c, 'src.txt', READ);
  assert.is(result(c, c.zc.sendfile(1, inFd, 0, 10n, RET)), 'success 3');
  assert.is(tell(c, inFd), 3n);
  assert.is(result(c, c.zc.sendfile(1, inFd, 0, 10n, RET)), 'success 3');
  assert.is(sink.taken, '012345');
}, 3));

short('splice from a file at an offset advances *off_in by the short count alone', () => withWorld(({ c, sink }) => {
  const inFd = open(c, 'src.txt', READ);
  setOff(c, 10n);
  assert.is(result(c, c.zc.splice(inFd, OFF, 1, 0, 8n, 0, RET)), 'success 3');
  assert.is(off(c), 13n);
  assert.is(tell(c, inFd), 0n);
  assert.is(sink.taken, 'abc');
}, 3));

short('splice from a pipe keeps what was not taken, delivered first by the next read and the next splice', () => withWorld(({ c, sink }) => {
  const [pr, pw] = c.pipe(true);
  write(c, pw, 'hello world');
  assert.is(result(c, c.zc.splice(pr, 0, 1, 0, 100n, 0, RET)), 'success 3');
  assert.is(sink.taken, 'hel');
  assert.is(result(c, c.zc.splice(pr, 0, 1, 0, 100n, 0, RET)), 'success 3');
  assert.is(sink.taken, 'hello ');
  write(c, pw, '!');
  assert.is(read(c, pr), 'world', 'the kept bytes come first, alone');
  assert.is(read(c, pr), '!');
}, 3));

short('tee into virtual stdout returns the short count and leaves the source whole', () => withWorld(({ c, sink }) => {
  const [pr, pw] = c.pipe(true);
  write(c, pw, 'hello');
  assert.is(result(c, c.zc.tee(pr, 1, 100n, 0, RET)), 'success 3');
  assert.is(sink.taken, 'hel');
  assert.is(read(c, pr), 'hello');
}, 3));

short('splice from virtual stdin into virtual stdout keeps the rest for stdin\'s next read', () => withWorld(({ c, sink }) => {
  assert.is(result(c, c.zc.splice(0, 0, 1, 0, 100n, 0, RET)), 'success 3');
  assert.is(sink.taken, 'abc');
  assert.is(readAll(c, 0), 'defgh');
}, 3, 'abcdefgh'));

short('splice from virtual stdin delivers the bytes it kept first to the next splice, then the stream\'s', () => withWorld(({ c, sink }) => {
  assert.is(result(c, c.zc.splice(0, 0, 1, 0, 100n, 0, RET)), 'success 3');
  assert.is(result(c, c.zc.splice(0, 0, 1, 0, 100n, 0, RET)), 'success 3');
  assert.is(result(c, c.zc.splice(0, 0, 1, 0, 100n, 0, RET)), 'success 3');
  assert.is(sink.taken, 'abcdefghi');
  assert.is(readAll(c, 0), 'jkl');
}, 3, 'abcdefghijkl'));

short('bytes from virtual stdin that a full pipe refuses are kept for the next read', () => withWorld(({ c }) => {
  const [, qw] = c.pipe(true);
  c.u8.fill(0x78, BUF, BUF + 4096);
  c.dv.setUint32(IOV, BUF, true);
  c.dv.setUint32(IOV + 4, 4096, true);
  while (c.wasi.fd_write(qw, IOV, 1, RET) === 0) { /* fill the pipe */ }
  c.dv.setUint32(IOV + 4, 1, true);
  while (c.wasi.fd_write(qw, IOV, 1, RET) === 0) { /* to the last byte */ }
  assert.is(result(c, c.zc.splice(0, 0, qw, 0, 100n, SPLICE_F_NONBLOCK, RET)), 'again');
  assert.is(readAll(c, 0), 'abcdefgh');
}, 0, 'abcdefgh'));

short('a virtual stdout that takes nothing is again, and nothing is lost', () => withWorld(({ c }) => {
  const inFd = open(c, 'src.txt', READ);
  setOff(c, 0n);
  assert.is(result(c, c.zc.sendfile(1, inFd, OFF, 10n, RET)), 'again');
  assert.is(off(c), 0n);
  assert.is(result(c, c.zc.sendfile(1, inFd, 0, 10n, RET)), 'again');
  assert.is(tell(c, inFd), 0n);
}, -1));
short.run();
