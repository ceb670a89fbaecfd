// Sockets end to end: the seed server (assembly/guests/send_file.ts) in worker threads through
// run(), the CLI's send-file and --listen, workers, sock_cork, and a C server on descriptor 3.
import { suite } from './helpers/suite.js';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { boundPort, errno, run } from '../host/index.js';
import { listenOn } from '../host/listen.js';
import { openFilesLimit } from '../host/limits.js';
import * as libc from '../host/native/libc.js';
import { CLI, GUESTS, ROOT, loadGuest, openFds, runCli, tempDir } from './helpers/guest.js';
import { download, freePort, holdClients, startCli, type HeldClient } from './helpers/clients.js';
import { tcpConnect } from './helpers/fds.js';
import { queued } from './helpers/hostile.js';
import { Caller } from './helpers/imports.js';
import { waitFor } from './helpers/serve.js';

const SERVER = join(GUESTS, 'send_file.wasm');

function pattern(size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 131 + (i >> 12)) & 0xff;
  return b;
}

/** Runs `clients` downloads, at most `concurrency` at a time. */
async function many(port: number, clients: number, concurrency: number, check: (b: Buffer) => void): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < clients) {
      next++;
      check(await download(port));
    }
  }));
}

interface Server { port: number; done: Promise<number[]>; close(): void; log: string }

/** The seed server in `workers` worker threads, for `maxClients` clients, serving `data`. */
function serve(data: Buffer, maxClients: number, workers = 1, args: string[] = []): Server {
  const dir = tempDir('wzc-sf-');
  writeFileSync(join(dir, 'file'), data);
  const file = openSync(join(dir, 'file'), 'r');
  const logPath = join(dir, 'log');
  const logFd = openSync(logPath, 'w');
  const listener = listenOn('127.0.0.1:0');
  const done = run(loadGuest(SERVER), {
    workers, args: ['send_file', '--max-clients', String(maxClients), ...args], listen: [listener], grant: [file], stdout: logFd,
  });
  return {
    port: boundPort(listener),
    done,
    get log() { return readFileSync(logPath, 'utf8'); },
    close() {
      closeSync(listener);
      closeSync(file);
      closeSync(logFd);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------
const server = suite('the seed server');

server('serves 100 concurrent clients, every byte checked', async () => {
  const data = pattern(1 << 20);
  const s = serve(data, 100);
  try {
    const got = await Promise.all(Array.from({ length: 100 }, () => download(s.port)));
    for (const g of got) assert.ok(g.equals(data), `a client got ${g.length} bytes that differ`);
    assert.equal(await s.done, [0]);
    const lines = s.log.trim().split('\n');
    assert.is(lines.length, 100);
    for (const l of lines) assert.match(l, /^client #\d+ 127\.0\.0\.1:\d+: 1048576 bytes in \d+(\.\d)? ms$/);
  } finally {
    s.close();
  }
});

server('clients that disconnect mid-transfer change nothing for the others', async () => {
  const data = pattern(8 << 20);
  const s = serve(data, 12);
  try {
    const got = await Promise.all(Array.from({ length: 12 }, (_, i) => download(s.port, '127.0.0.1', undefined, i % 3 === 0 ? 65536 : Infinity)));
    got.forEach((g, i) => { if (i % 3 !== 0) assert.ok(g.equals(data), `client ${i} got ${g.length} bytes`); });
    assert.equal(await s.done, [0]);
    assert.ok(s.log.split('\n').filter((l) => / 8388608 bytes in /.test(l)).length >= 8, s.log);
  } finally {
    s.close();
  }
});

server('a client that sends a request and reads late still gets every byte (no reset under the data)', async () => {
  // As curl does: a request first, then the response is read. Were the server to close with
  // the request unread, Linux would send RST and the client would lose what it had not read.
  const data = pattern(4 << 20);
  const s = serve(data, 3);
  try {
    const got = await Promise.all(Array.from({ length: 3 }, () => new Promise<Buffer>((resolve, reject) => {
      const c = connect(s.port, '127.0.0.1', () => { c.write('GET / HTTP/1.0\r\n\r\n'); c.pause(); });
      setTimeout(() => c.resume(), 300);
      const bufs: Buffer[] = [];
      c.on('data', (d) => bufs.push(d));
      c.on('end', () => { c.end(); resolve(Buffer.concat(bufs)); });
      c.on('error', reject);
    })));
    for (const g of got) assert.ok(g.equals(data), `a client got ${g.length} bytes`);
    assert.equal(await s.done, [0]);
  } finally {
    s.close();
  }
});

server('a client that takes nothing for --timeout-ms is closed; the others are served', async () => {
  const data = pattern(64 << 20); // more than loopback's socket buffers hold
  const s = serve(data, 2, 1, ['--timeout-ms', '300']);
  const stuck = tcpConnect(s.port);
  try {
    // Client #1: the server has accepted it once it sends it bytes.
    await waitFor('the first bytes for the stuck client', () => queued(stuck) > 0);
    const ok = await download(s.port);
    assert.ok(ok.equals(data), `the other client got ${ok.length} bytes`);
    // It ends (--max-clients 2) only once the stuck client's connection is closed; without the
    // timeout it would wait forever, so give up after 20 s rather than hang the suite.
    const ended = await Promise.race([s.done, new Promise((r) => setTimeout(() => r('still running after 20 s'), 20_000).unref())]);
    assert.equal(ended, [0]);
    assert.match(s.log, /^client #1 127\.0\.0\.1:\d+: timed out after \d+ bytes in \d+(\.\d)? ms$/m);
    assert.match(s.log, /^client #2 127\.0\.0\.1:\d+: 67108864 bytes in /m);
    // What the stuck client reads now ends short of the file: the server gave up on it.
    const buf = Buffer.alloc(1 << 20);
    let total = 0;
    for (let n; (n = libc.read(stuck, buf, buf.length)) > 0;) total += n;
    assert.ok(total < data.length, `the stuck client read ${total} bytes`);
  } finally {
    libc.close(stuck);
    s.close();
  }
});

server('a client that never closes is let go after --linger-ms once it has every byte', async () => {
  const data = pattern(4096);
  const s = serve(data, 1, 1, ['--linger-ms', '200']);
  const idle = tcpConnect(s.port);
  try {
    const buf = Buffer.alloc(8192);
    let total = 0;
    for (let n; (n = libc.read(idle, buf, buf.length)) > 0;) total += n; // EOF: the server shut its side
    assert.is(total, data.length);
    // The client keeps its side open; the server ends (--max-clients 1) once it gives up on it,
    // which with the default linger would take 5 s.
    const ended = await Promise.race([s.done, new Promise((r) => setTimeout(() => r('still running after 3 s'), 3000).unref())]);
    assert.equal(ended, [0]);
  } finally {
    libc.close(idle);
    s.close();
  }
});

server('no descriptor is left behind after 10,000 connections', async () => {
  const data = pattern(4096);
  // A first run lets Node set up what it keeps for worker threads, so that only what the
  // runtime itself holds is compared.
  const warm = serve(data, 1);
  await download(warm.port);
  await warm.done;
  warm.close();
  const before = openFds();
  const s = serve(data, 10_000);
  try {
    await many(s.port, 10_000, 64, (b) => assert.ok(b.equals(data)));
    assert.equal(await s.done, [0]);
  } finally {
    s.close();
  }
  // Leaks are descriptors that appeared and stayed: exited workers release theirs a moment
  // later, so wait for that, then name any that stayed.
  const appeared = () => openFds().filter((fd) => !before.includes(fd));
  await waitFor('the descriptors of the run to be closed', () => appeared().length === 0).catch(() => {});
  assert.equal(appeared(), []);
});
server.run();

// ---------------------------------------------------------------------------------------
const cli = suite('the command line: send-file, --listen, --workers');

for (const signal of ['SIGTERM', 'SIGINT'] as const) cli(`send-file serves the file and stops cleanly on ${signal}, freeing the port`, async () => {
  const port = freePort();
  const p = startCli(['send-file', '--listen', `127.0.0.1:${port}`, '--workers', '2', join(ROOT, 'examples', 'hello.txt')]);
  try {
    await p.waitFor(/stop with Ctrl-C\n/);
    const got = await download(port);
    assert.is(got.toString(), readFileSync(join(ROOT, 'examples', 'hello.txt'), 'utf8'));
    await p.waitFor(/client #1 127\.0\.0\.1:\d+: \d+ bytes in /);
    p.child.kill(signal);
    assert.is(await p.exited, 0);
    const out = p.out;
    assert.match(out, new RegExp(`^serving .*hello\\.txt \\(\\d+ bytes\\) on 127\\.0\\.0\\.1:${port} with 2 workers\\n`));
    assert.match(out, new RegExp(`curl --http0\\.9 -s -o copy http://127\\.0\\.0\\.1:${port}/ .* nc -d 127\\.0\\.0\\.1 ${port} > copy\\n`));
    closeSync(listenOn(`127.0.0.1:${port}`)); // the port is free again
  } finally {
    p.kill();
  }
});

cli('send-file out of descriptors pauses accepting instead of spinning, and recovers', async () => {
  // A descriptor limit of 100 (soft and hard, so Node cannot raise it) and 150 clients that
  // never read: accept(2) fails with EMFILE while the listener stays readable. A server that
  // retried at once would burn a whole core; this one pauses accepting 100 ms at a time.
  const dir = tempDir('wzc-sf-');
  const data = pattern(4 << 20);
  writeFileSync(join(dir, 'file'), data);
  const port = freePort();
  const child = spawn('sh', ['-c', `ulimit -n 100 && exec "$0" "$@"`, process.execPath, CLI, 'send-file',
    '--listen', `127.0.0.1:${port}`, join(dir, 'file')], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  let err = '';
  child.stderr.on('data', (d) => { err += d; });
  child.stdout.resume();
  const holders: number[] = [];
  try {
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    for (let i = 0; i < 150; i++) holders.push(tcpConnect(port));
    await waitFor('accept to fail with mfile', () => /^send_file: accept: mfile; pausing accepts for 100 ms at a time$/m.test(err));
    // CPU time over one second, from /proc/PID/stat (utime + stime, in clock ticks of 1/100 s).
    const ticks = () => readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ').slice(11, 13)
      .reduce((a, b) => a + Number(b), 0);
    const t0 = ticks();
    await new Promise((r) => setTimeout(r, 1000));
    const used = ticks() - t0;
    assert.ok(used < 50, `the server used ${used / 100} s of CPU in 1 s while out of descriptors`);
    for (const fd of holders.splice(0)) libc.close(fd);
    await waitFor('the server to accept again', () => /^send_file: accepting again$/m.test(err));
    const got = await download(port);
    assert.ok(got.equals(data), `after the clients left, a client got ${got.length} bytes`);
    child.kill('SIGTERM');
    assert.is(await exited, 0);
  } finally {
    for (const fd of holders) libc.close(fd);
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

/** The socket descriptors process `pid` holds (proc(5): /proc/PID/fd links read "socket:[inode]"). */
function socketsOf(pid: number): number {
  let n = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try { if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) n++; } catch { /* closed meanwhile */ }
  }
  return n;
}

cli('send-file holds more than 1024 connections at once by default, and still serves a new client', async () => {
  // Its guest's default limit is the process's RLIMIT_NOFILE (host/limits.ts), not the
  // sandbox's 1024. HELD clients take the file and keep their side open, so the server
  // lingers on every one of them (--linger 600): all are open in the guest at once.
  const HELD = 1200;
  if (openFilesLimit() < 2 * HELD) {
    process.stdout.write(`\n  skipped: ${HELD} held connections need RLIMIT_NOFILE >= ${2 * HELD} (ulimit -Hn), not ${openFilesLimit()}\n`);
    return;
  }
  const dir = tempDir('wzc-sf-');
  const data = pattern(1000);
  writeFileSync(join(dir, 'file'), data);
  const port = freePort();
  const p = startCli(['send-file', '--listen', `127.0.0.1:${port}`, '--linger', '600', join(dir, 'file')]);
  let held: HeldClient[] = [];
  try {
    await p.waitFor(/^serving /m);
    held = await holdClients(port, HELD);
    await waitFor(`all ${HELD} held clients served`, () => held.every((c) => c.ended), 30_000).catch((e: Error) => {
      throw new Error(`${e.message}: ${held.filter((c) => c.ended).length} of ${HELD} were; stderr: ${p.err}`);
    });
    assert.ok(held.every((c) => c.bytes === data.length), 'a held client got a short file');
    assert.ok(socketsOf(p.child.pid!) > HELD, `the server holds ${socketsOf(p.child.pid!)} sockets, not all ${HELD} connections`);
    const got = await download(port);
    assert.ok(got.equals(data), `the client after them got ${got.length} bytes`);
    assert.is((p.out.match(/client #\d+ 127\.0\.0\.1:\d+: 1000 bytes in /g) ?? []).length, HELD + 1);
    assert.is(p.err, '', 'the guest ran out of descriptors');
    p.child.kill('SIGTERM');
    assert.is(await p.exited, 0);
  } finally {
    for (const c of held) c.socket.destroy();
    p.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}, { timeout: 90_000 });

cli('send-file --max-fds N bounds the guest: past N descriptors accept answers mfile and the rest wait', async () => {
  const dir = tempDir('wzc-sf-');
  writeFileSync(join(dir, 'file'), pattern(1000));
  const port = freePort();
  const p = startCli(['send-file', '--listen', `127.0.0.1:${port}`, '--linger', '600', '--max-fds', '16', join(dir, 'file')]);
  let held: HeldClient[] = [];
  try {
    await p.waitFor(/^serving /m);
    held = await holdClients(port, 20);
    await p.waitFor(/^send_file: accept: mfile; pausing accepts for 100 ms at a time$/m, 10_000, 'err');
    // A window, not a wait for something: what is shown is that no twelfth client is served,
    // and an absence can only be watched for a while.
    await new Promise((r) => setTimeout(r, 300));
    // stdio, the listener and the file take 5 of the 16: 11 clients are held, 9 wait.
    assert.is(held.filter((c) => c.ended).length, 11);
  } finally {
    for (const c of held) c.socket.destroy();
    p.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});

cli('send-file and serve take --max-fds from 3 to 2^20, else a one-line usage error', () => {
  for (const cmd of [['send-file', join(ROOT, 'examples', 'hello.txt')], ['serve', ROOT]]) {
    for (const bad of ['2', '0', '1048577', 'many', '']) {
      const r = runCli([cmd[0], '--max-fds', bad, cmd[1]]);
      assert.is(r.status, 2, `${cmd[0]} --max-fds ${bad}`);
      assert.match(r.stderr, new RegExp(`^wasm-zerocopy: --max-fds ${bad}: expected a count from 3 to 1048576\nusage: `), bad);
    }
  }
});

cli('a port in use is a one-line error before the guest starts', () => {
  const fd = listenOn('127.0.0.1:0');
  try {
    const r = runCli(['send-file', '--listen', `127.0.0.1:${boundPort(fd)}`, join(ROOT, 'examples', 'hello.txt')]);
    assert.is(r.status, 1);
    assert.is(r.stderr, `wasm-zerocopy: cannot listen on 127.0.0.1:${boundPort(fd)}: address already in use\n`);
  } finally {
    closeSync(fd);
  }
});

cli('an address that is not one is a usage error', () => {
  for (const bad of ['localhost:80', '1.2.3:80', '[::g]:80', '127.0.0.1:99999']) {
    const r = runCli(['run', '--listen', bad, join(GUESTS, 'env.wasm')]);
    assert.is(r.status, 2, bad);
    assert.match(r.stderr, /^wasm-zerocopy: --listen .*\nusage: /);
  }
});

cli('send-file --timeout takes seconds from 0.001 to a day, else a usage error', () => {
  for (const bad of ['0', '-1', 'soon', '1e3', '86401', '']) {
    const r = runCli(['send-file', '--timeout', bad, join(ROOT, 'examples', 'hello.txt')]);
    assert.is(r.status, 2, bad);
    assert.match(r.stderr, /^wasm-zerocopy: --timeout .*: expected seconds from 0\.001 to 86400\nusage: /, bad);
  }
});

cli('send-file --linger takes seconds from 0.001 to a day, else a usage error', () => {
  for (const bad of ['0', 'never', '86401']) {
    const r = runCli(['send-file', '--linger', bad, join(ROOT, 'examples', 'hello.txt')]);
    assert.is(r.status, 2, bad);
    assert.match(r.stderr, /^wasm-zerocopy: --linger .*: expected seconds from 0\.001 to 86400\nusage: /, bad);
  }
});

cli('the seed server given a directory where the file should be says so and exits 2', () => {
  const dir = tempDir('wzc-sf-');
  try {
    const r = runCli(['run', '--listen', '127.0.0.1:0', '--dir', `${dir}::/`, SERVER]);
    assert.is(r.status, 2);
    assert.is(r.stderr, 'send_file: descriptor 4 (after LISTEN_FDS=1 listeners) is not a regular file to send\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

cli('an address that cannot be bound is a one-line error', () => {
  const r = runCli(['run', '--listen', '192.0.2.1:8080', join(GUESTS, 'env.wasm')]);
  assert.is(r.status, 1);
  assert.is(r.stderr, 'wasm-zerocopy: cannot listen on 192.0.2.1:8080: cannot assign requested address\n');
});

cli('listeners come first and the guest learns their count from LISTEN_FDS', () => {
  const r = runCli(['run', '--listen', '127.0.0.1:0', '--listen', '[::1]:0', '--env', 'A=1', join(GUESTS, 'env.wasm')]);
  assert.is(r.status, 0, r.stderr);
  assert.ok(r.stdout.includes('env LISTEN_FDS=2\n'), r.stdout);
});

cli('each worker that traps is reported with its number, and the status is non-zero', () => {
  const r = runCli(['run', '--workers', '2', join(GUESTS, 'trap.wasm')]);
  assert.is(r.status, 134);
  const lines = r.stderr.trim().split('\n').sort();
  assert.equal(lines, ['wasm-zerocopy: worker 1: trap: unreachable', 'wasm-zerocopy: worker 2: trap: unreachable']);
});

cli('a C program accepting on descriptor 3 serves a 256 MiB file intact', async () => {
  const dir = tempDir('wzc-c-');
  try {
    const big = join(dir, 'big.bin');
    const chunk = pattern(1 << 20);
    const fd = openSync(big, 'w');
    const whole = createHash('sha256');
    for (let i = 0; i < 256; i++) { chunk[0] = i; writeFileSync(fd, chunk); whole.update(chunk); }
    closeSync(fd);
    const port = freePort();
    const p = startCli(['run', '--listen', `127.0.0.1:${port}`, '--dir', `${dir}::/`,
      join(ROOT, 'test', 'fixtures', 'c', 'serve.wasm'), 'big.bin']);
    try {
      const got = await download(port);
      assert.is(await p.exited, 0);
      assert.is(got.length, 256 << 20);
      assert.is(createHash('sha256').update(got).digest('hex'), whole.digest('hex'));
      assert.is(p.out, `sent ${256 << 20} bytes\n`);
    } finally {
      p.kill();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
cli.run();

// ---------------------------------------------------------------------------------------
const cork = suite('zerocopy.sock_cork and sock_peername');

cork('corks and uncorks a TCP socket; anything else is the kernel\'s notsock', () => {
  const listener = listenOn('127.0.0.1:0');
  const c = new Caller();
  try {
    const fd = c.sandbox.grant(listener);
    assert.is(c.zc.sock_cork(fd, 1), errno.success);
    assert.is(c.zc.sock_cork(fd, 0), errno.success);
    assert.is(c.zc.sock_cork(fd, 2), errno.inval);
    assert.is(c.zc.pipe(0, Caller.RET), errno.success);
    assert.is(c.zc.sock_cork(c.u32(Caller.RET), 1), errno.notsock);
    assert.is(c.zc.sock_cork(4242, 1), errno.badf);
  } finally {
    c.close();
    closeSync(listener);
  }
});
cork('sock_peername gives the peer address as text; too small a buffer is nametoolong', async () => {
  const listener = listenOn('[::1]:0');
  const c = new Caller();
  const client = connect(boundPort(listener), '::1');
  await new Promise((r) => client.once('connect', r));
  try {
    const l = c.sandbox.grant(listener);
    assert.is(c.wasi.sock_accept(l, 0, Caller.RET), errno.success);
    const conn = c.u32(Caller.RET);
    assert.is(c.zc.sock_peername(conn, 0x400, 64, Caller.RET), errno.success);
    const text = Buffer.from(c.u8.subarray(0x400, 0x400 + c.u32(Caller.RET))).toString();
    assert.is(text, `[::1]:${client.localPort}`);
    assert.is(c.zc.sock_peername(conn, 0x400, 4, Caller.RET), errno.nametoolong);
    assert.is(c.zc.pipe(0, Caller.RET), errno.success);
    assert.is(c.zc.sock_peername(c.u32(Caller.RET), 0x400, 64, Caller.RET), errno.notsock);
  } finally {
    client.destroy();
    c.close();
    closeSync(listener);
  }
});
cork.run();
