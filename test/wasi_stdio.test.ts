// Inherited stdio: the guest's descriptors 0-2 share their open file description with the
// host and its parent (fcntl(2): status flags belong to the description), so whatever the
// guest asks of fd_fdstat_set_flags must never change the host's flags, while the guest sees
// exactly what it asked for: fdstat reports it, and I/O blocks or returns `again` accordingly.
import { suite } from './helpers/suite.js';
import { hostPipe } from './helpers/fds.js';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { errno } from '../host/index.js';
import * as libc from '../host/native/libc.js';
import { F, O } from '../host/native/platform.js';
import { FDFLAGS } from '../host/wasi/abi.js';
import { tempDir } from './helpers/guest.js';
import { Caller } from './helpers/imports.js';

const IOV = 0x200, BUF = 0x400, NREAD = 0x300, STAT = 0x340;


const hostNonblock = (fd: number) => (libc.fcntl(fd, F.GETFL, 0) & O.NONBLOCK) !== 0;

function fdflags(c: Caller, fd: number): number {
  assert.is(c.wasi.fd_fdstat_get(fd, STAT), 0);
  return c.dv.getUint16(STAT + 2, true);
}

/** fd_read of up to 16 bytes: [errno, text]. */
function read(c: Caller, fd: number): [number, string] {
  c.dv.setUint32(IOV, BUF, true);
  c.dv.setUint32(IOV + 4, 16, true);
  const e = c.wasi.fd_read(fd, IOV, 1, NREAD);
  return [e, e === 0 ? Buffer.from(c.u8.subarray(BUF, BUF + c.u32(NREAD))).toString() : ''];
}

/** A child that writes `text` into host descriptor `fd` after `ms`: it proves a read waited. */
function writeLater(fd: number, text: string, ms: number): Promise<number | null> {
  const child = spawn('sh', ['-c', `sleep ${ms / 1000}; printf ${text}`], { stdio: ['ignore', fd, 'inherit'] });
  return new Promise((resolve) => child.on('exit', resolve));
}

const test = suite('inherited stdio and fd_fdstat_set_flags');

test('over a non-blocking host pipe: the guest sees blocking, then NONBLOCK, then blocking again; the host flags never change', async () => {
  const [r, w] = hostPipe({ nonblockRead: true });
  const c = new Caller({ stdin: r });
  try {
    assert.is(fdflags(c, 0), 0, 'the guest did not ask for NONBLOCK');
    let child = writeLater(w, 'abc', 200);
    assert.equal(read(c, 0), [0, 'abc'], 'the read waited for the writer');
    await child;

    assert.is(c.wasi.fd_fdstat_set_flags(0, FDFLAGS.NONBLOCK), 0);
    assert.is(fdflags(c, 0), FDFLAGS.NONBLOCK);
    assert.equal(read(c, 0), [errno.again, '']);
    assert.ok(hostNonblock(r), 'the host description keeps its own flag');

    assert.is(c.wasi.fd_fdstat_set_flags(0, 0), 0);
    assert.is(fdflags(c, 0), 0);
    assert.ok(hostNonblock(r), 'clearing it for the guest left the host non-blocking');
    child = writeLater(w, 'def', 200);
    assert.equal(read(c, 0), [0, 'def'], 'blocking is emulated again');
    await child;
  } finally {
    c.close();
    closeSync(r);
    closeSync(w);
  }
});

test('over a blocking host pipe: NONBLOCK gives the guest a description of its own, the host stays blocking', async () => {
  const [r, w] = hostPipe({ nonblockRead: false });
  const c = new Caller({ stdin: r });
  try {
    assert.is(c.wasi.fd_fdstat_set_flags(0, FDFLAGS.NONBLOCK), 0);
    assert.is(fdflags(c, 0), FDFLAGS.NONBLOCK);
    assert.equal(read(c, 0), [errno.again, '']);
    assert.not.ok(hostNonblock(r), 'the host description is still blocking');
    libc.write(w, Buffer.from('xyz'), 3);
    assert.equal(read(c, 0), [0, 'xyz'], 'the same pipe, read through the new description');

    assert.is(c.wasi.fd_fdstat_set_flags(0, 0), 0);
    assert.is(fdflags(c, 0), 0);
    const child = writeLater(w, 'uvw', 200);
    assert.equal(read(c, 0), [0, 'uvw'], 'blocking again: the read waited');
    await child;
    assert.not.ok(hostNonblock(r));
  } finally {
    c.close();
    closeSync(r);
    closeSync(w);
  }
});

test('over a regular file: NONBLOCK is reported and changes nothing else; the file position stays shared', () => {
  const dir = tempDir('wzc-stdio-');
  const path = join(dir, 'out');
  const fd = openSync(path, 'w');
  const c = new Caller({ stdout: fd });
  try {
    assert.is(c.wasi.fd_fdstat_set_flags(1, FDFLAGS.NONBLOCK), 0);
    assert.is(fdflags(c, 1), FDFLAGS.NONBLOCK);
    assert.not.ok(hostNonblock(fd));
    c.u8.set(Buffer.from('hello'), BUF);
    c.dv.setUint32(IOV, BUF, true);
    c.dv.setUint32(IOV + 4, 5, true);
    assert.is(c.wasi.fd_write(1, IOV, 1, NREAD), 0);
    assert.is(Number(libc.lseek(fd, 0n, 1 /* SEEK_CUR */)), 5, 'the host sees the position the guest moved');
    assert.is(readFileSync(path, 'utf8'), 'hello');
  } finally {
    c.close();
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('APPEND cannot change for the guest alone: notsup, and the host flags stay', () => {
  const dir = tempDir('wzc-stdio-');
  const fd = openSync(join(dir, 'out'), 'w');
  const c = new Caller({ stdout: fd });
  try {
    const before = libc.fcntl(fd, F.GETFL, 0);
    assert.is(c.wasi.fd_fdstat_set_flags(1, FDFLAGS.APPEND), errno.notsup);
    assert.is(c.wasi.fd_fdstat_set_flags(1, FDFLAGS.APPEND | FDFLAGS.NONBLOCK), errno.notsup);
    assert.is(libc.fcntl(fd, F.GETFL, 0), before);
    assert.is(fdflags(c, 1), 0);
  } finally {
    c.close();
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('over a blocking socket, which cannot be reopened: NONBLOCK is emulated for the guest alone', () => {
  const fds = new Int32Array(2);
  assert.is(libc.socketpair(1 /* AF_UNIX */, 1 /* SOCK_STREAM */ | O.CLOEXEC, 0, new Uint8Array(fds.buffer)), 0);
  const c = new Caller({ stdin: fds[0] });
  try {
    assert.is(c.wasi.fd_fdstat_set_flags(0, FDFLAGS.NONBLOCK), 0);
    assert.is(fdflags(c, 0), FDFLAGS.NONBLOCK);
    assert.equal(read(c, 0), [errno.again, ''], 'nothing to read: again, not a wait');
    assert.not.ok(hostNonblock(fds[0]), 'the host description is still blocking');
    libc.write(fds[1], Buffer.from('abc'), 3);
    assert.equal(read(c, 0), [0, 'abc']);
    assert.is(c.wasi.fd_fdstat_set_flags(0, 0), 0);
    assert.is(fdflags(c, 0), 0);
    libc.write(fds[1], Buffer.from('def'), 3);
    assert.equal(read(c, 0), [0, 'def']);
  } finally {
    c.close();
    closeSync(fds[0]);
    closeSync(fds[1]);
  }
});

test.run();

// ---------------------------------------------------------------------------------------
// Stdio given as JavaScript objects (SandboxOptions stdin/stdout, VirtualFile): vectored I/O
// makes one call per iovec until one comes back short, as readv(2) and writev(2) stop, and the
// guest gets that count: a host that looped until the object took everything would hide the
// short counts the guest must see to pace itself (issue 10, item 4).
const objects = suite('stdio objects: fd_read and fd_write show the object\'s short counts');

/** Lays out iovecs at IOV over the strings given (or buffers of the lengths given) at BUF; returns their count. */
function iovecs(c: Caller, parts: (string | number)[]): number {
  let at = BUF;
  parts.forEach((p, i) => {
    const len = typeof p === 'string' ? p.length : p;
    if (typeof p === 'string') c.str(p, at);
    c.dv.setUint32(IOV + i * 8, at, true);
    c.dv.setUint32(IOV + i * 8 + 4, len, true);
    at += len;
  });
  return parts.length;
}

objects('fd_write to a stdout that takes 4 bytes a call returns 7 for iovecs of 3, 5 and 2: the first whole, the second short', () => {
  let taken = '', calls = 0;
  const c = new Caller({ stdout: { write: (b) => { calls++; const n = Math.min(4, b.length); taken += Buffer.from(b.subarray(0, n)).toString(); return n; } } });
  try {
    assert.is(c.wasi.fd_write(1, IOV, iovecs(c, ['abc', 'defgh', 'ij']), NREAD), errno.success);
    assert.is(c.u32(NREAD), 7);
    assert.is(taken, 'abcdefg');
    assert.is(calls, 2, 'one call per iovec, up to the first short one');
  } finally {
    c.close();
  }
});

objects('fd_read from a stdin that yields 3 bytes a call returns 3 for two iovecs of 5, as readv(2) from a pipe holding 3', () => {
  const [r, w] = hostPipe();
  try {
    libc.write(w, Buffer.from('abc'), 3);
    const buf = Buffer.alloc(10), iov = Buffer.alloc(32);
    for (let i = 0; i < 2; i++) {
      iov.writeBigUInt64LE(libc.addressOf(buf) + BigInt(i * 5), i * 16);
      iov.writeBigUInt64LE(5n, i * 16 + 8);
    }
    assert.is(libc.readv(r, iov, 2), 3, 'natively');
  } finally {
    libc.close(r);
    libc.close(w);
  }
  let calls = 0;
  const c = new Caller({ stdin: { read: (into) => { calls++; const n = Math.min(3, into.length); into.fill(0x78, 0, n); return n; } } });
  try {
    assert.is(c.wasi.fd_read(0, IOV, iovecs(c, [5, 5]), NREAD), errno.success);
    assert.is(c.u32(NREAD), 3);
    assert.is(calls, 1, 'one call: the first iovec came back short');
  } finally {
    c.close();
  }
});

objects.run();
