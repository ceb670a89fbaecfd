// The serve command's life: workers, the graceful stop (the stop descriptor), the hard stop
// after the grace period, running out of descriptors, systemd socket activation, and no
// descriptor left behind.
import { suite } from './helpers/suite.js';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { boundPort, listenOn } from '../host/listen.js';
import { run } from '../host/workers.js';
import { CLI, GUESTS, ROOT, loadGuest, openFds, runCli, runGuest, tempDir } from './helpers/guest.js';
import { get, request, Conn } from './helpers/http.js';
import { startTestServer, waitFor, writeTree } from './helpers/serve.js';

const BIG = 16 << 20;
const settle = () => new Promise((r) => setTimeout(r, 200));

/** Connects and reports whether the connection was refused. */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect(port, '127.0.0.1');
    c.on('connect', () => { c.destroy(); resolve(false); });
    c.on('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED'));
  });
}

// ---------------------------------------------------------------------------------------
const stop = suite('serve: stopping');

stop('a graceful stop refuses new connections, closes idle ones and lets a download finish; exit 0', async () => {
  const s = startTestServer({ 'big.bin': Buffer.alloc(BIG, 5), 'a.txt': 'A' }, { workers: 2, grace: 20 });
  const idle = new Conn(s.port);
  const slow = new Conn(s.port);
  try {
    await idle.connected();
    await idle.write(get('/a.txt'));
    assert.is((await idle.reply()).status, 200);
    await slow.connected();
    slow.socket.pause(); // a download in flight that the client takes slowly
    await slow.write(get('/big.bin'));
    await new Promise((r) => setTimeout(r, 200));
    const stopped = s.stop();
    await idle.closedByServer(5000);
    // Refused once every worker has seen the stop (a worker still starting sees it first thing).
    const deadline = Date.now() + 5000;
    while (!(await refused(s.port))) {
      assert.ok(Date.now() < deadline, 'new connections are still accepted 5 s after the stop began');
      await new Promise((r) => setTimeout(r, 50));
    }
    slow.socket.resume();
    const r = await slow.reply(false, 20_000);
    assert.is(r.status, 200);
    assert.is(r.body.length, BIG);
    await slow.closedByServer(5000);
    assert.equal(await stopped, [0, 0]);
  } finally {
    idle.close();
    slow.close();
    await s.close();
  }
});

stop('a response still going after the grace period is cut off by the hard stop', async () => {
  const s = startTestServer({ 'big.bin': Buffer.alloc(64 << 20, 5), 'a.txt': 'A' }, { grace: 0.5 });
  const stuck = new Conn(s.port);
  try {
    assert.is((await request(s.port, get('/a.txt'))).status, 200); // the guest is up
    await stuck.connected();
    stuck.socket.pause();
    await stuck.write(get('/big.bin'));
    await new Promise((r) => setTimeout(r, 200));
    const t = Date.now();
    const codes = await s.stop();
    assert.equal(codes, [128 + 15]);
    assert.ok(Date.now() - t >= 450, `ended after ${Date.now() - t} ms`);
  } finally {
    stuck.close();
    await s.close();
  }
});

stop('the stop descriptor is named in the environment and comes after listeners, grants and preopens', () => {
  const listener = listenOn('127.0.0.1:0');
  try {
    // The environment guest prints its environment; with one listener, one grant and one
    // preopen, the stop descriptor is 6 (run()'s gracefulStop passes the same option).
    const r = runGuest(join(GUESTS, 'env.wasm'), { listen: [listener], grant: [listener], preopens: { '/': ROOT }, stopNotice: listener });
    assert.is(r.status, 0);
    assert.match(r.stdout, /env STOP_FD=6\n/);
    assert.match(r.stdout, /env LISTEN_FDS=1\n/);
  } finally {
    closeSync(listener);
  }
});

stop('run(): shutdown() makes the stop descriptor readable; a guest that ignores it is stopped after the grace', async () => {
  // The seed server knows nothing of STOP_FD: shutdown() must fall back to the hard stop.
  const dir = tempDir('wzc-lc-');
  writeFileSync(join(dir, 'f'), 'x');
  const file = openSync(join(dir, 'f'), 'r');
  const listener = listenOn('127.0.0.1:0');
  const running = run(loadGuest(join(GUESTS, 'send_file.wasm')), { args: ['send_file'], listen: [listener], grant: [file], gracefulStop: true });
  try {
    await settle();
    const t = Date.now();
    assert.equal(await running.shutdown(300), [128 + 15]);
    assert.ok(Date.now() - t >= 250);
  } finally {
    closeSync(listener);
    closeSync(file);
    rmSync(dir, { recursive: true, force: true });
  }
});
stop.run();

// ---------------------------------------------------------------------------------------
const many = suite('serve: workers and descriptors');

many('two workers share the listener; 2000 requests over fresh and kept connections leave no descriptor behind', async () => {
  // Warm up: Node keeps some descriptors for worker threads after the first ones.
  const warm = startTestServer({ 'a.txt': 'A' });
  await request(warm.port, get('/a.txt'));
  await warm.close();
  await settle();
  const before = openFds();
  const s = startTestServer({ 'a.txt': 'A', 'big.bin': Buffer.alloc(100_000, 1), 'd/x': 'x' }, { workers: 2, list: true });
  try {
    const paths = ['/a.txt', '/big.bin', '/nope', '/d', '/d/', '/a.txt?x'];
    await Promise.all(Array.from({ length: 16 }, async (_, k) => {
      for (let i = 0; i < 50; i++) {
        const r = await request(s.port, get(paths[(i + k) % paths.length], { Range: i % 3 ? 'bytes=0-1,5-9' : 'bytes=0-' }));
        assert.ok([200, 206, 301, 404].includes(r.status), String(r.status));
      }
      const c = new Conn(s.port);
      await c.connected();
      for (let i = 0; i < 75; i++) {
        await c.write(get(paths[i % paths.length]));
        assert.ok((await c.reply()).status < 500);
      }
      c.close();
    }));
    // A few clients that leave mid-response.
    for (let i = 0; i < 10; i++) {
      const c = new Conn(s.port);
      await c.connected();
      await c.write(get('/big.bin'));
      c.close();
    }
    assert.equal(await s.stop(), [0, 0]);
  } finally {
    await s.close();
  }
  await settle();
  assert.equal(openFds(), before);
}, { timeout: 120_000 });
many.run();

// ---------------------------------------------------------------------------------------
const proc = suite('serve: in its own process');

/** Runs `wasm-zerocopy serve ARGS` in a child process, through `sh -c` (for ulimit, LISTEN_PID). */
function child(shell: string, args: string[], extraFds: number[] = []) {
  const p = spawn('sh', ['-c', `${shell}; exec "$0" "$@"`, process.execPath, CLI, 'serve', ...args],
    { stdio: ['ignore', 'pipe', 'pipe', ...extraFds] });
  let out = '', err = '';
  p.stdout!.on('data', (d) => { out += d; });
  p.stderr!.on('data', (d) => { err += d; });
  const exited = new Promise<number | null>((resolve) => p.once('exit', resolve));
  return { p, exited, get out() { return out; }, get err() { return err; } };
}

proc('out of descriptors it pauses accepting instead of spinning, and recovers', async () => {
  const dir = tempDir('wzc-lc-');
  writeTree(dir, { 'a.txt': 'A' });
  const free = listenOn('127.0.0.1:0');
  const port = boundPort(free);
  closeSync(free);
  const c = child('ulimit -n 100', ['--quiet', '--listen', `127.0.0.1:${port}`, dir]);
  const holders: Conn[] = [];
  try {
    await waitFor('the server to start', () => c.out.includes('serving'), 20_000);
    for (let i = 0; i < 150; i++) { const h = new Conn(port); holders.push(h); }
    await Promise.all(holders.map((h) => h.connected().catch(() => {})));
    await waitFor('the EMFILE message', () => /accept: mfile; pausing accepts for 100 ms at a time/.test(c.err), 10_000);
    const ticks = () => readFileSync(`/proc/${c.p.pid}/stat`, 'utf8').split(') ')[1].split(' ').slice(11, 13).reduce((a, b) => a + Number(b), 0);
    const t0 = ticks();
    await new Promise((r) => setTimeout(r, 1000));
    const used = ticks() - t0;
    // Paused, it uses ~0.01 s; spinning on the readable listener it took ~0.3 s even on a loaded machine.
    assert.ok(used < 10, `the server used ${used / 100} s of CPU in 1 s while out of descriptors`);
    for (const h of holders.splice(0)) h.close();
    await waitFor('accepting again', () => /accepting again/.test(c.err), 10_000).catch(() => null);
    const r = await request(port, get('/a.txt'));
    assert.is(r.status, 200);
    c.p.kill('SIGTERM');
    assert.is(await c.exited, 0);
  } finally {
    for (const h of holders) h.close();
    c.p.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}, { timeout: 60_000 });

proc('--listen systemd takes the sockets of socket activation (LISTEN_FDS, LISTEN_PID)', async () => {
  const dir = tempDir('wzc-lc-');
  writeTree(dir, { 'a.txt': 'activated' });
  const listener = listenOn('127.0.0.1:0');
  const port = boundPort(listener);
  // As systemd does: the socket at descriptor 3, LISTEN_PID set to the server's own pid.
  const c = child('export LISTEN_FDS=1 LISTEN_PID=$$', ['--listen', 'systemd', dir], [listener]);
  closeSync(listener);
  try {
    await waitFor('the server to start', () => c.out.includes('serving'), 20_000);
    assert.match(c.out, new RegExp(`^serving ${dir} on http://127\\.0\\.0\\.1:${port}/ with 1 worker\\n`));
    const r = await request(port, get('/a.txt'));
    assert.is(r.body.toString(), 'activated');
    c.p.kill('SIGINT');
    assert.is(await c.exited, 0);
  } finally {
    c.p.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}, { timeout: 60_000 });

proc('--listen systemd without sockets for this process is a one-line error', async () => {
  const c = child('export LISTEN_FDS=1 LISTEN_PID=1', ['--listen', 'systemd', '.']);
  const code = await c.exited;
  assert.is.not(code, 0);
  assert.match(c.err, /--listen systemd: the sockets are for process 1, not this one \(\d+\)/);
});
proc.run();

// ---------------------------------------------------------------------------------------
const cli = suite('serve: the command line');

cli('serve DIR prints its URL and serves until SIGTERM, exit 0', async () => {
  const dir = tempDir('wzc-lc-');
  writeTree(dir, { 'index.html': '<p>hi</p>\n' });
  const free = listenOn('127.0.0.1:0');
  const port = boundPort(free);
  closeSync(free);
  const c = child(':', ['--listen', `127.0.0.1:${port}`, '--workers', '2', dir]);
  try {
    await waitFor('the server to start', () => c.out.includes('stop with Ctrl-C'), 20_000);
    assert.is(c.out, `serving ${dir} on http://127.0.0.1:${port}/ with 2 workers\nstop with Ctrl-C\n`);
    const r = await request(port, get('/'));
    assert.is(r.body.toString(), '<p>hi</p>\n');
    await waitFor('the access log line', () => c.out.includes('"GET / HTTP/1.1" 200 10 "-" "-"'));
    c.p.kill('SIGTERM');
    assert.is(await c.exited, 0);
  } finally {
    c.p.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}, { timeout: 60_000 });

const USAGE_ERRORS: [string[], RegExp][] = [
  [['/nonexistent-dir'], /^wasm-zerocopy: no such directory: \/nonexistent-dir\n/],
  [['--header-timeout', '0', '.'], /^wasm-zerocopy: --header-timeout 0: expected seconds from 0\.001 to 86400\n/],
  [['--send-timeout', 'soon', '.'], /^wasm-zerocopy: --send-timeout soon: expected seconds from 0\.001 to 86400\n/],
  [['--listen', 'localhost:80', '.'], /^wasm-zerocopy: --listen localhost:80: a host name is not an address; give an IP address, as 127\.0\.0\.1:80 or \[::1\]:80\n/],
  [['--workers', '0', '.'], /^wasm-zerocopy: --workers 0: expected a count from 1 to 1024\n/],
  [['a', 'b'], /^wasm-zerocopy: serve takes one DIR, not also b\n/],
];
for (const [args, message] of USAGE_ERRORS) {
  cli(`serve ${args.join(' ')} is a usage error, exit 2`, () => {
    const r = runCli(['serve', ...args]);
    assert.is(r.status, 2);
    assert.match(r.stderr, message);
    assert.match(r.stderr, /\nusage: wasm-zerocopy serve \[OPTIONS\] \[DIR\]\n/);
  });
}
cli.run();
