// The adversarial suite, part three (issue 9): guests that try to outlive a stop, to change
// descriptions the host shares with them, and to take every descriptor the process has.
import { suite } from './helpers/suite.js';
import * as assert from 'uvu/assert';
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, constants as fsc, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { download, freePort } from './helpers/clients.js';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Sandbox, errno, errnoName, run, type RunOptions, type WorkerResult } from '../host/index.js';
import * as libc from '../host/native/libc.js';
import { F, O } from '../host/native/platform.js';
import { FDFLAGS } from '../host/wasi/abi.js';
import { CLI, openFds, runCli, tempDir } from './helpers/guest.js';
import { hostile, hostileFile, queued, waitFor, waitForText } from './helpers/hostile.js';
import { hostPipe } from './helpers/fds.js';
import { Caller } from './helpers/imports.js';
import { data } from './helpers/wat.js';
import { listenOn } from '../host/listen.js';

const { RET } = Caller;
const hostNonblock = (fd: number): boolean => (libc.fcntl(fd, F.GETFL, 0) & O.NONBLOCK) !== 0;

/** The guest's view of a descriptor's fdflags. */
function fdflags(c: Caller, fd: number): number {
  assert.is(c.wasi.fd_fdstat_get(fd, 0x340), 0);
  return c.dv.getUint16(0x340 + 2, true);
}

/**
 * Runs `body` in a worker with stderr to a file; once the guest has said "ready" and `blocked`
 * holds, stops it; returns what the worker reported. A guest whose blocking call never woke
 * for the stop would keep stop() from resolving: worker.terminate() cannot interrupt a native
 * call, so the test's deadline would fail it.
 */
async function stopWhenBlocked(body: string, options: RunOptions = {}, blocked?: () => boolean, extra = '',
  memory?: string): Promise<WorkerResult[]> {
  const dir = tempDir('wzc-stop-');
  const errPath = join(dir, 'stderr');
  const err = openSync(errPath, 'w');
  const results: WorkerResult[] = [];
  try {
    const running = run(hostile(body, extra, memory), { stdin: null, stdout: null, stderr: err, ...options, onExit: (_, r) => { results.push(r); } });
    try {
      await waitForText(errPath, 'ready\n');
      if (blocked !== undefined) await waitFor('the guest to block', blocked);
      await sleep(200); // the blocking call follows "ready" at once; give it time to be entered
    } finally {
      assert.equal(await running.stop(15), [143]);
    }
    return results;
  } finally {
    closeSync(err);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Sets up iovec 0 over 64 KiB at 4096 and reads into it from the descriptor on the stack. */
const READ_64K = '(i32.store (i32.const 0) (i32.const 4096)) (i32.store (i32.const 4) (i32.const 65536))';
/** Writes 64 KiB to stdout for ever. */
const WRITE_FOREVER = '(loop $l (drop (call $write (i32.const 1) (i32.const 4096) (i32.const 65536))) (br $l))';

// ---------------------------------------------------------------------------------------
const wakes = suite('adversarial (5): a stop wakes a guest blocked in a host call', { timeout: 30_000 });

wakes('fd_read on its own pipe that never gets data', async () => {
  const results = await stopWhenBlocked(`(drop (call $pipe (i32.const 0) (i32.const 16))) (call $ready) ${READ_64K}
    (drop (call $fd_read (i32.load (i32.const 16)) (i32.const 0) (i32.const 1) (i32.const 8)))`);
  assert.equal(results, [{ status: 143 }], 'the read woke and the guest ended as stopped, not terminated');
});

wakes('sock_accept on a listener nobody connects to', async () => {
  const results = await stopWhenBlocked('(call $ready) (drop (call $sock_accept (i32.const 3) (i32.const 0) (i32.const 16)))',
    { listen: ['127.0.0.1:0'] });
  assert.equal(results, [{ status: 143 }]);
});

for (const nonblock of [false, true]) {
  wakes(`fd_write to a stdout pipe nobody reads (${nonblock ? 'non-blocking, as Node makes them' : 'blocking'} on the host)`, async () => {
    const [r, w] = hostPipe({ nonblock });
    try {
      const results = await stopWhenBlocked(`(call $ready) ${WRITE_FOREVER}`, { stdout: w }, () => queued(r) >= 65536);
      assert.equal(results, [{ status: 143 }]);
    } finally {
      closeSync(r);
      closeSync(w);
    }
  });
}

wakes('one fd_write of 1 MiB to a blocking stdout pipe nobody reads: the kernel waits in it, past every check', async () => {
  const [r, w] = hostPipe();
  try {
    // The pipe is empty when the call starts, so nothing waits before it: the kernel takes
    // 64 KiB and waits inside writev(2), where only a signal reaches the thread.
    const results = await stopWhenBlocked('(call $ready) (drop (call $write (i32.const 1) (i32.const 4096) (i32.const 1048576)))',
      { stdout: w }, () => queued(r) >= 65536, '', '(memory (export "memory") 17)');
    assert.equal(results, [{ status: 143 }]);
  } finally {
    closeSync(r);
    closeSync(w);
  }
});

wakes('one sendfile of 8 MiB to a blocking socket whose peer stops reading', async () => {
  const dir = tempDir('wzc-stop-');
  const file = join(dir, 'data');
  writeFileSync(file, Buffer.alloc(8 << 20, 'x'));
  const fd = openSync(file, 'r');
  const pair = new Int32Array(2);
  assert.is(libc.socketpair(1 /* AF_UNIX */, 1 /* SOCK_STREAM */ | O.CLOEXEC, 0, new Uint8Array(pair.buffer)), 0);
  try {
    const results = await stopWhenBlocked('(call $ready) (drop (call $sendfile (i32.const 3) (i32.const 4) (i32.const 0) (i64.const 8388608) (i32.const 40)))',
      { grant: [pair[0], fd] }, () => queued(pair[1]) > 0);
    assert.equal(results, [{ status: 143 }]);
  } finally {
    closeSync(fd);
    closeSync(pair[0]);
    closeSync(pair[1]);
    rmSync(dir, { recursive: true, force: true });
  }
});

wakes('sendfile from a file to a stdout pipe nobody reads', async () => {
  const dir = tempDir('wzc-stop-');
  const [r, w] = hostPipe();
  const file = join(dir, 'data');
  writeFileSync(file, Buffer.alloc(1 << 20, 'x'));
  const fd = openSync(file, 'r');
  try {
    // From offset 0 each time (the i64 at 32 is reset): the file never runs out.
    const results = await stopWhenBlocked(`(call $ready) (loop $l (i64.store (i32.const 32) (i64.const 0))
      (drop (call $sendfile (i32.const 1) (i32.const 3) (i32.const 32) (i64.const 65536) (i32.const 40))) (br $l))`,
    { stdout: w, grant: [fd] }, () => queued(r) >= 65536);
    assert.equal(results, [{ status: 143 }]);
  } finally {
    closeSync(fd);
    closeSync(r);
    closeSync(w);
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const [mode, rights] of [['reading', 2], ['writing', 64]] as const) {
  wakes(`path_open of a FIFO for ${mode} while nobody opens its other end`, async () => {
    const dir = tempDir('wzc-stop-');
    try {
      execFileSync('mkfifo', [join(dir, 'fifo')]);
      const results = await stopWhenBlocked(`(call $ready)
        (drop (call $path_open (i32.const 3) (i32.const 0) (i32.const 512) (i32.const 4) (i32.const 0)
          (i64.const ${rights}) (i64.const 0) (i32.const 0) (i32.const 16)))`,
      { preopens: { '/': dir } }, undefined, `${data(512, 'fifo')}`);
      assert.equal(results, [{ status: 143 }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

wakes('a blocking path_open of a FIFO still completes when the other end comes, and I/O goes through', async () => {
  const dir = tempDir('wzc-stop-');
  const fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const c = new Caller({ preopens: { '/': dir } });
  try {
    const [p, len] = c.str('fifo');
    // A writer that comes later: the open for reading waits for it (fifo(7)).
    let child = spawn('sh', ['-c', `sleep 0.3; printf abc > ${fifo}`]);
    let done = new Promise((resolve) => child.on('exit', resolve));
    assert.is(c.wasi.path_open(3, 0, p, len, 0, 2n, 0n, 0, RET), errno.success);
    const r = c.u32(RET);
    c.dv.setUint32(0x200, 0x400, true);
    c.dv.setUint32(0x204, 16, true);
    assert.is(c.wasi.fd_read(r, 0x200, 1, 0x300), errno.success);
    assert.is(Buffer.from(c.u8.subarray(0x400, 0x400 + c.u32(0x300))).toString(), 'abc');
    assert.is(fdflags(c, r), 0, 'blocking, as asked');
    await done;
    assert.is(c.wasi.fd_close(r), errno.success);
    // A reader that comes later: the open for writing waits for it.
    child = spawn('sh', ['-c', `sleep 0.3; cat ${fifo} > ${fifo}.out`]);
    done = new Promise((resolve) => child.on('exit', resolve));
    assert.is(c.wasi.path_open(3, 0, p, len, 0, 64n, 0n, 0, RET), errno.success);
    const w = c.u32(RET);
    c.u8.set(Buffer.from('xyz'), 0x400);
    c.dv.setUint32(0x204, 3, true);
    assert.is(c.wasi.fd_write(w, 0x200, 1, 0x300), errno.success);
    assert.is(c.wasi.fd_close(w), errno.success);
    await done;
    assert.is(readFileSync(`${fifo}.out`, 'utf8'), 'xyz');
    // Asked for NONBLOCK, it does not wait: ENXIO without a reader, as natively.
    assert.is(c.wasi.path_open(3, 0, p, len, 0, 64n, 0n, FDFLAGS.NONBLOCK, RET), errno.nxio);
  } finally {
    c.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Spawns the CLI with stderr to a file; resolves its exit status, killing it past `ms`. */
function spawnCli(args: string[], errPath: string, ms = 20_000): { exited: Promise<number | string>; pid: number } {
  const err = openSync(errPath, 'w');
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', err] });
  closeSync(err);
  const timer = setTimeout(() => child.kill('SIGKILL'), ms);
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => {
    clearTimeout(timer);
    resolve(code ?? `killed by ${signal}`);
  }));
  return { exited, pid: child.pid! };
}

wakes('the CLI: SIGTERM ends `run --workers 1 --listen` with a guest in sock_accept, status 143', async () => {
  const dir = tempDir('wzc-stop-');
  try {
    const guest = hostileFile(dir, 'accept', '(call $ready) (drop (call $sock_accept (i32.const 3) (i32.const 0) (i32.const 16)))');
    const errPath = join(dir, 'stderr');
    const { exited, pid } = spawnCli(['run', '--workers', '1', '--listen', '127.0.0.1:0', guest], errPath);
    await waitForText(errPath, 'ready\n');
    await sleep(200);
    process.kill(pid, 'SIGTERM');
    assert.is(await exited, 143);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

wakes('the CLI: SIGTERM ends send-file whose stdout is a FIFO nobody reads, full when a client is logged', async () => {
  const dir = tempDir('wzc-stop-');
  const fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  // The reading end is the test's (non-blocking, its own description); the server's stdout is
  // a separate writing description, which Node makes blocking, as it does for pipes.
  const reader = openSync(fifo, fsc.O_RDONLY | fsc.O_NONBLOCK);
  const writer = openSync(fifo, fsc.O_WRONLY);
  const filler = openSync(fifo, fsc.O_WRONLY | fsc.O_NONBLOCK);
  const errPath = join(dir, 'stderr');
  const err = openSync(errPath, 'w');
  const file = join(dir, 'hello.txt');
  writeFileSync(file, 'hello\n');
  try {
    const port = freePort();
    const child = spawn(process.execPath, [CLI, 'send-file', '--listen', `127.0.0.1:${port}`, file], { stdio: ['ignore', writer, err] });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const exited = new Promise<number | string>((resolve) => child.on('exit', (code, sig) => { clearTimeout(timer); resolve(code ?? `killed by ${sig}`); }));
    // The banner is read; from then on nobody reads, and the FIFO is filled to the brim.
    let banner = '';
    await waitFor('the banner', () => {
      const b = Buffer.alloc(4096);
      const n = libc.read(reader, b, 4096);
      if (n > 0) banner += b.subarray(0, n).toString();
      return banner.includes('stop with Ctrl-C\n');
    });
    while (libc.write(filler, Buffer.alloc(4096, 'f'), 4096) > 0) { /* until EAGAIN */ }
    assert.is((await download(port, '127.0.0.1', undefined, 6)).toString(), 'hello\n', 'the client got the file');
    await sleep(300); // the guest now writes its log line into the full FIFO, and waits there
    assert.is(queued(reader) >= 65536, true, 'the FIFO is full');
    child.kill('SIGTERM');
    assert.is(await exited, 0, readFileSync(errPath, 'utf8'));
  } finally {
    for (const fd of [err, filler, writer, reader]) closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
});

wakes('the CLI: a second signal ends the process at once, before the first one\'s stop has finished', async () => {
  const dir = tempDir('wzc-stop-');
  try {
    // Computes for ever without a call: only terminating its worker, 2 s after a stop, ends it.
    const guest = hostileFile(dir, 'spin', '(call $ready) (loop $l (br $l))');
    const errPath = join(dir, 'stderr');
    const { exited, pid } = spawnCli(['run', '--workers', '1', guest], errPath);
    await waitForText(errPath, 'ready\n');
    process.kill(pid, 'SIGINT');  // its stop would end the guest as 130, two seconds from now
    await sleep(300);
    process.kill(pid, 'SIGTERM'); // ends the process now, as 143
    assert.is(await exited, 143);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

wakes.run();

// ---------------------------------------------------------------------------------------
const terminated = suite('adversarial (6): a guest that ignores a stop is terminated, reported and cleaned up', { timeout: 30_000 });

terminated('a guest computing without calls ends with 143 after stop(), and every descriptor it held is closed', async () => {
  const before = openFds();
  const results = await stopWhenBlocked(`
    (drop (call $pipe (i32.const 0) (i32.const 16))) (drop (call $pipe (i32.const 0) (i32.const 16)))
    (drop (call $pipe (i32.const 0) (i32.const 16))) (call $ready) (loop $l (br $l))`);
  assert.equal(results, [{ status: 143, terminated: true }]);
  assert.equal(openFds(), before, 'the pipes the guest held were left open');
});

terminated('a guest that polled first (poll_oneoff\'s epoll instance) and then computes: that descriptor is closed too', async () => {
  const before = openFds();
  // Two subscriptions at 1024: read on its pipe (registered with epoll) and a clock of 0 ns,
  // so that the call returns at once. Events at 2048, their count at 8.
  const results = await stopWhenBlocked(`
    (drop (call $pipe (i32.const 0) (i32.const 16)))
    (i32.store8 (i32.const 1032) (i32.const 1)) (i32.store (i32.const 1040) (i32.load (i32.const 16)))
    (i32.store (i32.const 1088) (i32.const 1))
    (drop (call $poll_oneoff (i32.const 1024) (i32.const 2048) (i32.const 2) (i32.const 8)))
    (if (i32.ne (i32.load (i32.const 8)) (i32.const 1)) (then (unreachable)))
    (call $ready) (loop $l (br $l))`);
  assert.equal(results, [{ status: 143, terminated: true }]);
  assert.equal(openFds(), before, 'the epoll instance (or the pipe) the guest held was left open');
});

terminated.run();

// ---------------------------------------------------------------------------------------
const sharing = suite('adversarial (4): a guest never changes a description it shares');

sharing('a granted non-blocking socket (as Node\'s): clearing NONBLOCK is the guest\'s alone, and reads wait for it', () => {
  const fds = new Int32Array(2);
  assert.is(libc.socketpair(1 /* AF_UNIX */, 1 /* SOCK_STREAM */ | O.CLOEXEC | O.NONBLOCK, 0, new Uint8Array(fds.buffer)), 0);
  const c = new Caller();
  try {
    const g = c.sandbox.grant(fds[0]);
    assert.is(fdflags(c, g), FDFLAGS.NONBLOCK, 'the guest sees the description as it is');
    assert.is(c.wasi.fd_fdstat_set_flags(g, 0), errno.success);
    assert.is(fdflags(c, g), 0);
    assert.ok(hostNonblock(fds[0]), 'the host\'s socket stayed non-blocking');
    libc.write(fds[1], Buffer.from('hi'), 2);
    c.dv.setUint32(0x200, 0x400, true);
    c.dv.setUint32(0x204, 16, true);
    assert.is(c.wasi.fd_read(g, 0x200, 1, RET), errno.success);
    assert.is(c.u32(RET), 2);
    assert.is(c.wasi.fd_fdstat_set_flags(g, FDFLAGS.NONBLOCK), errno.success);
    assert.is(c.wasi.fd_read(g, 0x200, 1, RET), errno.again, 'NONBLOCK again for the guest');
    assert.ok(hostNonblock(fds[0]));
  } finally {
    c.close();
    closeSync(fds[0]);
    closeSync(fds[1]);
  }
});

sharing('a listener shared by two guests (as run()\'s workers): one guest\'s flags never reach the other', () => {
  const listener = listenOn('127.0.0.1:0');
  assert.is(libc.fcntl(listener, F.SETFL, O.NONBLOCK | O.RDWR), 0);
  const a = new Caller({ listen: [listener] });
  const b = new Caller({ listen: [listener] });
  try {
    assert.is(fdflags(a, 3), 0, 'a listener looks blocking, as a new one is');
    assert.is(a.wasi.fd_fdstat_set_flags(3, 0), errno.success);
    assert.is(a.wasi.fd_fdstat_set_flags(3, FDFLAGS.NONBLOCK), errno.success);
    assert.is(a.wasi.sock_accept(3, 0, RET), errno.again);
    assert.is(a.wasi.fd_fdstat_set_flags(3, 0), errno.success);
    assert.ok(hostNonblock(listener), 'the shared listener is still non-blocking');
    assert.is(fdflags(b, 3), 0, 'the other guest\'s view did not move');
    assert.is(fdflags(a, 3), 0);
  } finally {
    a.close();
    b.close();
    closeSync(listener);
  }
});

sharing('APPEND on a granted file: notsup, the embedder\'s description keeps its flags', () => {
  const dir = tempDir('wzc-share-');
  const fd = openSync(join(dir, 'f'), 'w');
  const c = new Caller();
  try {
    const g = c.sandbox.grant(fd);
    const before = libc.fcntl(fd, F.GETFL, 0);
    assert.is(c.wasi.fd_fdstat_set_flags(g, FDFLAGS.APPEND), errno.notsup);
    assert.is(libc.fcntl(fd, F.GETFL, 0), before);
  } finally {
    c.close();
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
});

sharing.run();

// ---------------------------------------------------------------------------------------
const limit = suite('adversarial (7): each sandbox has a descriptor limit');

/** Pipes until a call fails; how many were made, and the errno that ended it. */
function pipesUntilFull(c: Caller): [count: number, e: number] {
  for (let n = 0; ; n++) {
    const e = c.zc.pipe(0, RET);
    if (e !== errno.success) return [n, e];
  }
}

limit('at the limit a pipe is mfile, and the failing call creates no host descriptor', () => {
  const c = new Caller({ maxFds: 16 });
  try {
    const [n, e] = pipesUntilFull(c);
    assert.is(errnoName[e], 'mfile');
    assert.is(n, 8);
    assert.is(c.sandbox.fds.size, 16);
    const held = openFds();
    assert.is(c.zc.pipe(0, RET), errno.mfile);
    assert.equal(openFds(), held);
  } finally {
    c.close();
  }
});

limit('path_open and sock_accept answer mfile at the limit too', () => {
  const dir = tempDir('wzc-limit-');
  const listener = listenOn('127.0.0.1:0');
  writeFileSync(join(dir, 'f'), 'x');
  const c = new Caller({ maxFds: 6, listen: [listener], preopens: { '/': dir } });
  try {
    const [p, len] = c.str('f');
    for (let i = 0; i < 4; i++) assert.is(c.wasi.path_open(4, 0, p, len, 0, 2n, 0n, 0, RET), errno.success); // 0, 1, 2, 5
    assert.is(c.wasi.path_open(4, 0, p, len, 0, 2n, 0n, 0, RET), errno.mfile);
    assert.is(c.wasi.sock_accept(3, FDFLAGS.NONBLOCK, RET), errno.mfile, 'before it would even see that nobody connected');
  } finally {
    c.close();
    closeSync(listener);
    rmSync(dir, { recursive: true, force: true });
  }
});

limit('by default a guest holds at most 1024 descriptors', () => {
  const c = new Caller();
  try {
    const [n, e] = pipesUntilFull(c);
    assert.is(errnoName[e], 'mfile');
    assert.is(n, 512);
  } finally {
    c.close();
  }
});

limit('an embedder that gives more descriptors than the limit gets a clear error, and nothing is left open', () => {
  const dir = tempDir('wzc-limit-');
  const before = openFds();
  try {
    assert.throws(() => new Sandbox({ maxFds: 4, preopens: { '/a': dir, '/b': dir } }), /more than maxFds \(4\)/);
    assert.equal(openFds(), before);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Counts pipes until one fails: exits with the count if that was mfile, else 99. */
const COUNT_PIPES = `(local $n i32) (local $e i32)
  (block $full (loop $l
    (local.set $e (call $pipe (i32.const 0) (i32.const 16)))
    (br_if $full (local.get $e))
    (local.set $n (i32.add (local.get $n) (i32.const 1)))
    (br $l)))
  (if (i32.ne (local.get $e) (i32.const ${errno.mfile})) (then (call $proc_exit (i32.const 99))))
  (call $proc_exit (local.get $n))`;

limit('--max-fds on the command line, and maxFds for run()', async () => {
  const dir = tempDir('wzc-limit-');
  try {
    // Descriptors 0-2 are stdio: 3 and 4, 5 and 6 are two pipes; the third would need 8.
    const path = hostileFile(dir, 'count', COUNT_PIPES);
    assert.is(runCli(['run', '--max-fds', '8', path]).status, 2);
    assert.is(runCli(['run', '--max-fds', '8', '--workers', '1', path]).status, 2);
    assert.equal(await run(hostile(COUNT_PIPES), { maxFds: 8 }), [2]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

limit.run();
