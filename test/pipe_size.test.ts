// zerocopy.pipe_set_size (ABI v2): fcntl(F_SETPIPE_SZ) with Linux's answers, checked against
// the same call made natively, and the limits the sandbox applies whoever the host runs as.
import { suite } from './helpers/suite.js';
import * as assert from 'uvu/assert';
import { closeSync, openSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { errno, fromLinux } from '../host/sandbox/errno.js';
import * as libc from '../host/native/libc.js';
import { O } from '../host/native/platform.js';
import { PIPE_BUDGET, pipeMaxSize } from '../host/zerocopy/pipe_size.js';
import { listenOn } from '../host/listen.js';
import { openFds, tempDir } from './helpers/guest.js';
import { Caller } from './helpers/imports.js';

const F_SETPIPE_SZ = 1031, F_GETPIPE_SZ = 1032;

/** A native pipe: [read end, write end]. */
function nativePipe(): [number, number] {
  const fds = new Int32Array(2);
  assert.is(libc.pipe2(new Uint8Array(fds.buffer), O.CLOEXEC | O.NONBLOCK), 0);
  return [fds[0], fds[1]];
}

/** fcntl(F_SETPIPE_SZ) natively, as the guest would see it: [errno, size]. */
function native(fd: number, size: number): [number, number] {
  const r = libc.fcntl(fd, F_SETPIPE_SZ, size);
  return r < 0 ? [fromLinux(-r), 0] : [errno.success, r];
}

/** pipe_set_size through the import: [errno, size]. */
function sandboxed(c: Caller, fd: number, size: number): [number, number] {
  const e = c.zc.pipe_set_size(fd, size, Caller.RET);
  return [e, e === errno.success ? c.u32(Caller.RET) : 0];
}

function guestPipe(c: Caller): [number, number] {
  assert.is(c.zc.pipe(4, Caller.RET), errno.success);
  return [c.u32(Caller.RET), c.u32(Caller.RET + 4)];
}

// ---------------------------------------------------------------------------------------
const linux = suite('pipe_set_size answers as fcntl(F_SETPIPE_SZ)');

linux('sizes round up to a power of two pages, on either end, as natively', () => {
  const c = new Caller();
  const [nr, nw] = nativePipe();
  try {
    for (const size of [1, 4096, 4097, 65536, 100_000, 1 << 20, 0]) {
      for (const end of [0, 1]) {
        const fd = guestPipe(c)[end];
        const want = native([nr, nw][end], size);
        assert.equal(sandboxed(c, fd, size), want, `size ${size}, end ${end}`);
        if (want[0] === errno.success) {
          assert.is(libc.fcntl(c.sandbox.fds.get(fd).hostFd, F_GETPIPE_SZ, 0), want[1], 'the host pipe has the size');
        }
      }
    }
    assert.equal(sandboxed(c, guestPipe(c)[0], 100_000), [errno.success, 131072]);
  } finally {
    c.close();
    libc.close(nr);
    libc.close(nw);
  }
});

linux('less than the pipe holds is busy, as natively', () => {
  const c = new Caller();
  const [nr, nw] = nativePipe();
  try {
    const [r, w] = guestPipe(c);
    const data = Buffer.alloc(3 * 4096, 1);
    assert.is(libc.write(c.sandbox.fds.get(w).hostFd, data, data.length), data.length);
    assert.is(libc.write(nw, data, data.length), data.length);
    assert.equal(sandboxed(c, r, 4096), native(nr, 4096));
    assert.is(sandboxed(c, r, 4096)[0], errno.busy);
  } finally {
    c.close();
    libc.close(nr);
    libc.close(nw);
  }
});

linux('a socket, a file, a descriptor not held: badf, as natively for the first two', () => {
  const dir = tempDir('wzc-ps-');
  const file = openSync(join(dir, 'f'), 'w');
  const sock = listenOn('127.0.0.1:0');
  const c = new Caller({ stdout: { write: (b) => b.length } });
  try {
    for (const host of [file, sock]) {
      assert.equal(sandboxed(c, c.sandbox.grant(host), 1 << 20), native(host, 1 << 20));
      assert.is(sandboxed(c, c.sandbox.grant(host), 1 << 20)[0], errno.badf);
      // Also past the sandbox's own limit: the descriptor is judged first, as the kernel does.
      assert.is(sandboxed(c, c.sandbox.grant(host), pipeMaxSize() * 2)[0], errno.badf);
    }
    assert.is(sandboxed(c, 1, 1 << 20)[0], errno.badf, 'a virtual stdout is no pipe');
    assert.is(sandboxed(c, 4242, 1 << 20)[0], errno.badf);
  } finally {
    c.close();
    closeSync(file);
    closeSync(sock);
    rmSync(dir, { recursive: true, force: true });
  }
});

linux.run();

// ---------------------------------------------------------------------------------------
const limits = suite('the sandbox\'s limits on pipe sizes, whoever the host runs as');

limits('past /proc/sys/fs/pipe-max-size is perm, as for an unprivileged process', () => {
  const c = new Caller();
  try {
    const fd = guestPipe(c)[0];
    assert.equal(sandboxed(c, fd, pipeMaxSize()), [errno.success, pipeMaxSize()]);
    assert.is(sandboxed(c, fd, pipeMaxSize() + 1)[0], errno.perm);
    assert.is(sandboxed(c, fd, 0xffffffff)[0], errno.perm);
    assert.is(libc.fcntl(c.sandbox.fds.get(fd).hostFd, F_GETPIPE_SZ, 0), pipeMaxSize(), 'a refused call changed nothing');
  } finally {
    c.close();
  }
});

limits(`all of a guest's enlarged pipes together hold at most ${PIPE_BUDGET >> 20} MiB more than the default; closing one frees its share`, () => {
  const before = openFds();
  const c = new Caller();
  try {
    const big = 1 << 20, extra = big - 65536;
    const fits = Math.floor(PIPE_BUDGET / extra);
    const pipes: number[] = [];
    for (let i = 0; i < fits; i++) {
      const fd = guestPipe(c)[0];
      pipes.push(fd);
      assert.equal(sandboxed(c, fd, big), [errno.success, big], `pipe ${i + 1} of ${fits}`);
    }
    const one = guestPipe(c)[0];
    assert.is(sandboxed(c, one, big)[0], errno.perm, 'one more pipe of 1 MiB is over the budget');
    assert.equal(sandboxed(c, one, 65536), [errno.success, 65536], 'the default size costs nothing');
    assert.equal(sandboxed(c, pipes[0], big), [errno.success, big], 'setting a pipe again to its size is within it');
    assert.is(c.wasi.fd_close(pipes[0]), errno.success);
    assert.equal(sandboxed(c, one, big), [errno.success, big], 'the closed pipe\'s share is free again');
  } finally {
    c.close();
  }
  assert.equal(openFds(), before);
});

limits.run();
