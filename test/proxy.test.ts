// The zero-copy TCP proxy guest (assembly/guests/proxy.ts) through host/proxy.ts and the CLI:
// bytes both ways, byte for byte; half-close each way; an upstream that refuses, resets or never
// answers; a client that resets or goes quiet; a thousand connections at once; nothing leaked.
import { suite } from './helpers/suite.js';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { proxy, type ProxyOptions } from '../host/index.js';
import { boundPort, listenOn } from '../host/listen.js';
import * as libc from '../host/native/libc.js';
import { closedPort, fullListener } from './helpers/fds.js';
import { CLI, GUESTS, openFds, runCli, tempDir } from './helpers/guest.js';

const GiB = 1 << 30;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A byte stream whose every byte depends on its position: a random block of a length that is
 * no power of two, repeated. A lost, repeated or reordered chunk shows as a mismatch.
 */
class Pattern {
  static readonly PERIOD = (1 << 20) + 13;
  /** The block twice, so that any window of up to PERIOD bytes is one subarray. */
  private readonly twice: Buffer;
  constructor() {
    const block = randomBytes(Pattern.PERIOD);
    this.twice = Buffer.concat([block, block]);
  }
  /** `len` (<= PERIOD) bytes from position `pos`, without copying. */
  at(pos: number, len: number): Buffer {
    const o = pos % Pattern.PERIOD;
    return this.twice.subarray(o, o + len);
  }
  /** Checks `chunk` against the stream at `pos`. */
  matches(chunk: Buffer, pos: number): boolean {
    for (let done = 0; done < chunk.length;) {
      const n = Math.min(chunk.length - done, Pattern.PERIOD);
      if (!chunk.subarray(done, done + n).equals(this.at(pos + done, n))) return false;
      done += n;
    }
    return true;
  }
}

/** Writes `total` bytes of `p` to `sock`, honouring backpressure, then ends it (FIN). */
function sendPattern(sock: Socket, p: Pattern, total: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let pos = 0;
    const more = () => {
      while (pos < total) {
        const n = Math.min(1 << 20, total - pos);
        const ok = sock.write(p.at(pos, n));
        pos += n;
        if (!ok) { sock.once('drain', more); return; }
      }
      sock.end(resolve);
    };
    sock.once('error', reject);
    more();
  });
}

/** Reads `sock` to its end, checking every byte against `p`; resolves with the count. */
function receivePattern(sock: Socket, p: Pattern): Promise<number> {
  return new Promise((resolve, reject) => {
    let pos = 0, bad = -1;
    sock.on('data', (d: Buffer) => {
      if (bad < 0 && !p.matches(d, pos)) bad = pos;
      pos += d.length;
    });
    sock.once('end', () => (bad < 0 ? resolve(pos) : reject(new Error(`bytes differ in the chunk at ${bad}`))));
    sock.once('error', reject);
  });
}

/** Everything `sock` receives until it closes, and how it ended. */
function collect(sock: Socket): Promise<{ data: Buffer; how: 'end' | 'error' }> {
  return new Promise((resolve) => {
    const bufs: Buffer[] = [];
    let how: 'end' | 'error' = 'end';
    sock.on('data', (d: Buffer) => bufs.push(d));
    sock.on('error', () => { how = 'error'; });
    sock.once('close', () => resolve({ data: Buffer.concat(bufs), how }));
  });
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** An echo upstream: what each connection sends comes back; its FIN ends our side too. */
async function echoUpstream(): Promise<{ server: Server; to: string; connections: () => number }> {
  let n = 0;
  const server = createServer((s) => { n++; s.on('error', () => {}); s.pipe(s); });
  return { server, to: `127.0.0.1:${await listen(server)}`, connections: () => n };
}

interface Proxy { port: number; running: ReturnType<typeof proxy>; log(): string; lines(): string[]; dispose(): void }

/** The proxy guest on 127.0.0.1, port chosen by the kernel, logging to a file. */
function startProxy(o: Omit<ProxyOptions, 'listen' | 'stdout'>): Proxy {
  const dir = tempDir('wzc-px-');
  const logPath = join(dir, 'log');
  const logFd = openSync(logPath, 'w');
  const listener = listenOn('127.0.0.1:0');
  const running = proxy({ ...o, listen: listener, stdout: logFd });
  const log = () => readFileSync(logPath, 'utf8');
  return {
    port: boundPort(listener), running, log,
    lines: () => log().split('\n').filter(Boolean),
    dispose() {
      closeSync(listener);
      closeSync(logFd);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Waits until the proxy has logged `n` lines (one per finished connection). */
async function logged(p: Proxy, n: number, ms = 10_000): Promise<string[]> {
  for (const until = Date.now() + ms; p.lines().length < n;) {
    if (Date.now() > until) throw new Error(`the proxy logged ${p.lines().length} lines, not ${n}, in ${ms} ms:\n${p.log()}`);
    await sleep(20);
  }
  return p.lines();
}

const dial = (port: number, halfOpen = false): Socket => connect({ port, host: '127.0.0.1', allowHalfOpen: halfOpen });
const LINE = (what: string, up: number | string, down: number | string) =>
  new RegExp(`^client #\\d+ 127\\.0\\.0\\.1:\\d+ -> 127\\.0\\.0\\.1:\\d+: ${what}, ${up} bytes up, ${down} bytes down in \\d+(\\.\\d)? ms$`);

// ---------------------------------------------------------------------------------------
const bytes = suite('the proxy moves every byte both ways');

bytes('echoes 20 clients byte for byte, one log line each', async () => {
  const up = await echoUpstream();
  const p = startProxy({ to: up.to, maxClients: 20 });
  try {
    const pattern = new Pattern();
    await Promise.all(Array.from({ length: 20 }, async () => {
      const c = dial(p.port, true);
      const [, got] = await Promise.all([sendPattern(c, pattern, 100_000), receivePattern(c, pattern)]);
      assert.is(got, 100_000);
    }));
    assert.equal(await p.running, [0]);
    const lines = p.lines();
    assert.is(lines.length, 20);
    for (const l of lines) assert.match(l, LINE('closed', 100000, 100000));
  } finally {
    p.dispose();
    await close(up.server);
  }
});

bytes('1 GiB each way at once, byte for byte', async () => {
  // The upstream sends its own gigabyte while it checks the client's, and the client does the
  // same: both directions of one connection are full at the same time.
  const toUpstream = new Pattern(), toClient = new Pattern();
  let upstreamGot: Promise<number> = Promise.resolve(-1);
  const server = createServer({ allowHalfOpen: true }, (s) => {
    upstreamGot = receivePattern(s, toUpstream);
    void sendPattern(s, toClient, GiB);
  });
  const to = `127.0.0.1:${await listen(server)}`;
  const p = startProxy({ to, maxClients: 1 });
  try {
    const c = dial(p.port, true);
    const t0 = Date.now();
    const [, clientGot] = await Promise.all([sendPattern(c, toUpstream, GiB), receivePattern(c, toClient)]);
    assert.is(clientGot, GiB);
    assert.is(await upstreamGot, GiB);
    assert.equal(await p.running, [0]);
    assert.match(p.lines()[0], LINE('closed', GiB, GiB));
    console.log(`  2 GiB through the proxy in ${Date.now() - t0} ms (one process feeds and checks both ends)`);
  } finally {
    p.dispose();
    await close(server);
  }
}, { timeout: 180_000 });

bytes.run();

// ---------------------------------------------------------------------------------------
const halves = suite('half-close passes through, each way');

halves('the client\'s FIN reaches the upstream, which still answers after it', async () => {
  let upstreamSaw = '';
  const server = createServer({ allowHalfOpen: true }, (s) => {
    s.on('data', (d) => { upstreamSaw += d; });
    // Only once the request has ended does the upstream answer: the FIN must have come through.
    s.on('end', () => s.end(`you said ${upstreamSaw.length} bytes`));
  });
  const p = startProxy({ to: `127.0.0.1:${await listen(server)}`, maxClients: 1 });
  try {
    const c = dial(p.port, true);
    const got = collect(c);
    c.end('request');
    const { data, how } = await got;
    assert.is(how, 'end');
    assert.is(upstreamSaw, 'request');
    assert.is(data.toString(), 'you said 7 bytes');
    assert.equal(await p.running, [0]);
    assert.match(p.lines()[0], LINE('closed', 7, 16));
  } finally {
    p.dispose();
    await close(server);
  }
});

halves('the upstream\'s FIN reaches the client, which can still send after it', async () => {
  let upstreamSaw: Promise<string> = Promise.resolve('');
  const server = createServer({ allowHalfOpen: true }, (s) => {
    s.end('banner'); // the upstream is done talking at once
    upstreamSaw = new Promise((resolve) => {
      let text = '';
      s.on('data', (d) => { text += d; });
      s.on('end', () => resolve(text));
    });
  });
  const p = startProxy({ to: `127.0.0.1:${await listen(server)}`, maxClients: 1 });
  try {
    const c = dial(p.port, true);
    const banner = await new Promise<string>((resolve) => {
      let text = '';
      c.on('data', (d) => { text += d; });
      c.once('end', () => resolve(text));
    });
    assert.is(banner, 'banner');
    // The client's direction is still open: it talks after the upstream's FIN, then ends.
    c.end('late but delivered');
    assert.is(await upstreamSaw, 'late but delivered');
    assert.equal(await p.running, [0]);
    assert.match(p.lines()[0], LINE('closed', 18, 6));
  } finally {
    p.dispose();
    await close(server);
  }
});

halves.run();

// ---------------------------------------------------------------------------------------
const failures = suite('failures on either side');


failures('an upstream that refuses: the client is closed and the log says connrefused', async () => {
  const p = startProxy({ to: `127.0.0.1:${closedPort()}`, maxClients: 2 });
  try {
    for (let i = 0; i < 2; i++) {
      const { data } = await collect(dial(p.port));
      assert.is(data.length, 0);
    }
    assert.equal(await p.running, [0]);
    for (const l of p.lines()) assert.match(l, LINE('upstream connrefused', 0, 0));
  } finally {
    p.dispose();
  }
});

failures('an upstream that resets mid-stream: the client keeps what came before, then gets an orderly end', async () => {
  const pattern = new Pattern();
  let reset = () => {};
  const server = createServer((s) => {
    s.on('error', () => {});
    s.write(pattern.at(0, 1 << 20));
    reset = () => s.resetAndDestroy();
  });
  const p = startProxy({ to: `127.0.0.1:${await listen(server)}`, maxClients: 1 });
  try {
    const c = dial(p.port);
    let got = 0;
    // The upstream resets once the client has its megabyte, so that no byte is still in its
    // own send queue (which a reset discards before it is sent).
    c.on('data', (d: Buffer) => { got += d.length; if (got === 1 << 20) reset(); });
    const { data, how } = await collect(c);
    assert.is(how, 'end', 'the client is closed with a FIN after the bytes, not reset');
    assert.is(data.length, 1 << 20);
    assert.ok(pattern.matches(data, 0));
    assert.equal(await p.running, [0]);
    assert.match(p.lines()[0], LINE('reset by upstream \\(connreset\\)', 0, 1 << 20));
  } finally {
    p.dispose();
    await close(server);
  }
});

/**
 * How many bytes of what a Node socket sent its peer's kernel has acknowledged: struct
 * tcp_info's tcpi_bytes_acked (linux/tcp.h, offset 120), through getsockopt(TCP_INFO).
 */
function bytesAcked(s: Socket): number {
  const fd = (s as unknown as { _handle: { fd: number } })._handle.fd;
  const info = Buffer.alloc(256), len = Buffer.alloc(4);
  len.writeUInt32LE(256);
  assert.is(libc.getsockopt(fd, 6 /* IPPROTO_TCP */, 11 /* TCP_INFO */, info, len), 0);
  assert.ok(len.readUInt32LE(0) >= 128, 'tcp_info without tcpi_bytes_acked');
  return Number(info.readBigUInt64LE(120));
}

failures('an upstream that resets while the client is not reading: every byte the proxy received still reaches the client', async () => {
  // The client reads nothing at first, so the proxy's pipe and the sockets' buffers fill up.
  // Then the upstream resets. What its kernel had sent and the proxy's had acknowledged is the
  // proxy's to deliver (a reset discards only the sender's unsent queue, tcp(7)); the proxy
  // must not drop what its pipe and queues hold just because the other side is gone.
  const pattern = new Pattern();
  let upstream = null as Socket | null;
  const total = 64 << 20; // more than the sockets and the pipe between them can hold (tcp_rmem allows 32 MiB here)
  const server = createServer((s) => {
    s.on('error', () => {});
    upstream = s;
    for (let pos = 0; pos < total; pos += 1 << 20) s.write(pattern.at(pos, 1 << 20));
  });
  const p = startProxy({ to: `127.0.0.1:${await listen(server)}`, maxClients: 1 });
  try {
    const c = dial(p.port);
    c.pause();
    const got = collect(c);
    // Wait until every buffer on the way is full: the proxy's kernel acknowledges nothing more.
    let acked = -1;
    for (const until = Date.now() + 20_000; ;) {
      await sleep(200);
      assert.ok(Date.now() < until, upstream === null ? 'the upstream was never reached'
        : 'the proxy kept taking bytes from a client that reads nothing');
      if (upstream === null) continue;
      const now = bytesAcked(upstream);
      if (now === acked) break;
      acked = now;
    }
    assert.ok(acked > 65536 && acked < total, `the proxy acknowledged ${acked} bytes: the test needs more than its pipe and less than all`);
    upstream!.resetAndDestroy();
    await sleep(100);
    c.resume();
    const { data, how } = await got;
    assert.is(how, 'end', 'the client is closed with a FIN after the bytes, not reset');
    assert.is(data.length, acked);
    assert.ok(pattern.matches(data, 0));
    assert.equal(await p.running, [0]);
    assert.match(p.lines()[0], LINE('reset by upstream \\(connreset\\)', 0, acked));
  } finally {
    upstream?.destroy();
    p.dispose();
    await close(server);
  }
});

failures('a client that resets: the upstream connection is closed too', async () => {
  let upstreamClosed: Promise<void> = new Promise(() => {});
  const server = createServer((s) => {
    s.on('error', () => {});
    upstreamClosed = new Promise((resolve) => s.once('close', () => resolve()));
    // Keep the client's direction busy so that the reset arrives in the middle of things.
    const chunk = Buffer.alloc(1 << 16, 1);
    const pump = () => { while (s.writable && s.write(chunk)); if (s.writable) s.once('drain', pump); };
    pump();
  });
  const p = startProxy({ to: `127.0.0.1:${await listen(server)}`, maxClients: 1 });
  try {
    const c = dial(p.port);
    c.on('error', () => {});
    await new Promise((r) => c.once('data', r));
    await new Promise((r) => c.write('some request bytes', r)); // in the kernel before the reset
    await sleep(50);
    c.resetAndDestroy();
    await upstreamClosed;
    assert.equal(await p.running, [0]);
    // The 18 bytes came before the reset: the proxy reads them from the kernel before the error.
    assert.match(p.lines()[0], /: reset by client \((connreset|pipe)\), 18 bytes up, \d+ bytes down in /);
  } finally {
    p.dispose();
    await close(server);
  }
});

failures('an upstream that never answers is given up after the connect timeout', async () => {
  // A listener whose accept queue is full: the proxy's connect never completes.
  const { fd: l, port, filler } = fullListener();
  await sleep(100);
  const p = startProxy({ to: `127.0.0.1:${port}`, maxClients: 1, connectTimeoutMs: 300 });
  try {
    const t0 = Date.now();
    const { data } = await collect(dial(p.port));
    const took = Date.now() - t0;
    assert.is(data.length, 0);
    assert.ok(took >= 250 && took < 3000, `closed after ${took} ms`);
    assert.equal(await p.running, [0]);
    assert.match(p.lines()[0], LINE('upstream connect timed out', 0, 0));
  } finally {
    p.dispose();
    libc.close(filler);
    libc.close(l);
  }
});

failures('a connection on which nothing moves is closed after the idle timeout', async () => {
  const up = await echoUpstream();
  const p = startProxy({ to: up.to, maxClients: 1, idleTimeoutMs: 300 });
  try {
    const c = dial(p.port);
    c.write('ping');
    const got = collect(c);
    const t0 = Date.now();
    const { data } = await got;
    assert.is(data.toString(), 'ping');
    assert.ok(Date.now() - t0 >= 250, `closed after ${Date.now() - t0} ms`);
    assert.equal(await p.running, [0]);
    assert.match(p.lines()[0], LINE('idle timeout', 4, 4));
  } finally {
    p.dispose();
    await close(up.server);
  }
});

failures.run();

// ---------------------------------------------------------------------------------------
const load = suite('many connections');

load('1000 connections open at once, each echoed, and afterwards no descriptor or pipe is left', async () => {
  const up = await echoUpstream();
  const p = startProxy({ to: up.to });
  try {
    // One connection first, so that what the runtime keeps for good (the worker, its module)
    // is in the baseline; the guest's sockets and pipes live in this process's table too.
    const { data } = await (async () => { const c = dial(p.port); const r = collect(c); c.end('x'); return r; })();
    assert.is(data.toString(), 'x');
    await logged(p, 1);
    await sleep(600);
    const before = openFds();
    const N = 1000;
    const payload = randomBytes(4096);
    const clients: Socket[] = [];
    // Every client gets its echo while all of them are still open; only then do they close.
    await Promise.all(Array.from({ length: N }, (_, i) => new Promise<void>((resolve, reject) => {
      const c = dial(p.port, true);
      clients.push(c);
      let got = 0;
      const bufs: Buffer[] = [];
      c.on('data', (d: Buffer) => {
        bufs.push(d);
        got += d.length;
        if (got === payload.length) {
          if (!Buffer.concat(bufs).equals(payload)) reject(new Error(`client ${i} got other bytes back`));
          resolve();
        }
      });
      c.on('error', reject);
      c.write(payload);
    })));
    assert.is(clients.filter((c) => !c.destroyed).length, N, 'every connection was open at the same time');
    const ended = clients.map((c) => new Promise((r) => c.once('close', r)));
    for (const c of clients) c.end();
    await Promise.all(ended);
    const lines = await logged(p, N + 1);
    assert.is(lines.filter((l) => LINE('closed', 4096, 4096).test(l)).length, N);
    assert.is(up.connections(), N + 1);
    await sleep(600); // the proxy closes its spare pipes once it has been idle for a tick (200 ms)
    assert.equal(openFds(), before, 'the proxy holds descriptors it did not hold before the 1000 connections');
    assert.equal(await p.running.stop(), [143]);
  } finally {
    await p.running.stop(); // at once if it has ended: a failed assertion must not leave it running
    p.dispose();
    await close(up.server);
  }
}, { timeout: 120_000 });

load('stopping the proxy with connections open closes every descriptor it held', async () => {
  await sleep(100);
  const before = openFds();
  const up = await echoUpstream();
  const p = startProxy({ to: up.to, workers: 2 });
  try {
    const clients = Array.from({ length: 20 }, () => dial(p.port));
    await Promise.all(clients.map((c) => new Promise((r) => { c.once('data', r); c.write('hi'); })));
    const closed = clients.map((c) => collect(c));
    assert.equal(await p.running.stop(), [143, 143]);
    await Promise.all(closed);
  } finally {
    p.dispose();
    await close(up.server);
  }
  await sleep(200);
  assert.equal(openFds(), before);
});

load.run();

// ---------------------------------------------------------------------------------------
const cli = suite('the command line: proxy and run --connect');

cli('wasm-zerocopy proxy relays, logs, and stops cleanly on SIGTERM', async () => {
  const up = await echoUpstream();
  const port = closedPort();
  const child = spawn(process.execPath, [CLI, 'proxy', '--listen', `127.0.0.1:${port}`, '--to', up.to, '--workers', '2'],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const reap = () => child.kill('SIGKILL'); // a test past its deadline must not leave it running
  process.once('exit', reap);
  let out = '', err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  try {
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    const c = dial(port, true);
    const got = collect(c);
    c.end('through the CLI');
    assert.is((await got).data.toString(), 'through the CLI');
    for (const until = Date.now() + 5000; !/bytes down/.test(out) && Date.now() < until;) await sleep(20);
    child.kill('SIGTERM');
    assert.is(await exited, 0, err);
    assert.match(out, new RegExp(`^proxying 127\\.0\\.0\\.1:${port} -> ${up.to.replace(/\./g, '\\.')} with 2 workers\\n`));
    assert.match(out, /\nclient #1 127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+: closed, 15 bytes up, 15 bytes down in /);
    closeSync(listenOn(`127.0.0.1:${port}`)); // the port is free again
  } finally {
    child.kill('SIGKILL');
    process.off('exit', reap);
    await close(up.server);
  }
});

cli('out of descriptors, the proxy neither spins nor stops: it refuses what it cannot serve and recovers', async () => {
  // A descriptor limit of 100 (soft and hard, so Node cannot raise it) and 150 clients that
  // hold their connections: accept(2), socket(2) or pipe(2) fail with EMFILE while the
  // listener stays readable. A proxy that retried at once would burn a whole core.
  const up = await echoUpstream();
  const port = closedPort();
  const child = spawn('sh', ['-c', 'ulimit -n 100 && exec "$0" "$@"', process.execPath, CLI, 'proxy',
    '--listen', `127.0.0.1:${port}`, '--to', up.to], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const reap = () => child.kill('SIGKILL'); // a test past its deadline must not leave it running
  process.once('exit', reap);
  let out = '', err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  const holders: Socket[] = [];
  try {
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    for (let i = 0; i < 150; i++) {
      const h = dial(port);
      h.on('error', () => {});
      holders.push(h);
    }
    await sleep(1000);
    assert.match(out + err, /mfile/, 'the proxy never ran out of descriptors: the test proves nothing');
    // CPU time over one second, from /proc/PID/stat (utime + stime, in ticks of 1/100 s).
    const ticks = () => readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ').slice(11, 13)
      .reduce((a, b) => a + Number(b), 0);
    const t0 = ticks();
    await sleep(1000);
    const used = ticks() - t0;
    assert.ok(used < 50, `the proxy used ${used / 100} s of CPU in 1 s while out of descriptors`);
    for (const h of holders.splice(0)) h.destroy();
    await sleep(500);
    const c = dial(port, true);
    const got = collect(c);
    c.end('after the storm');
    assert.is((await got).data.toString(), 'after the storm');
    child.kill('SIGTERM');
    assert.is(await exited, 0, err);
  } finally {
    for (const h of holders) h.destroy();
    child.kill('SIGKILL');
    process.off('exit', reap);
    await close(up.server);
  }
});

cli('run --connect grants an address to any guest; without it the guest gets notcapable', () => {
  const l = listenOn('127.0.0.1:0');
  const addr = `127.0.0.1:${boundPort(l)}`;
  try {
    const script = join(GUESTS, 'sock_script.wasm');
    const granted = runCli(['run', '--connect', addr, script, `connect s ${addr}`]);
    assert.is(granted.stdout, 'connect errno=0\n', granted.stderr);
    const refused = runCli(['run', script, `connect s ${addr}`]);
    assert.is(refused.stdout, 'connect errno=76\n', refused.stderr);
  } finally {
    closeSync(l);
  }
});

cli('bad proxy addresses and timeouts are usage errors', () => {
  for (const [args, message] of [
    [['proxy'], 'proxy needs --to HOST:PORT'],
    [['proxy', '--to', 'localhost:80'], '--to localhost:80: a host name is not an address; give an IP address, as 127.0.0.1:80 or [::1]:80'],
    [['proxy', '--to', '127.0.0.1:0'], '--to 127.0.0.1:0: port 0 cannot be connected to'],
    [['proxy', '--to', '127.0.0.1:80', '--listen', '1.2.3:4'], '--listen 1.2.3:4: not an IPv4 address'],
    [['proxy', '--to', '127.0.0.1:80', '--listen', '127.0.0.1:1', '--listen', '127.0.0.1:2'], 'proxy takes one --listen'],
    [['proxy', '--to', '127.0.0.1:80', '--max-fds', '2'], '--max-fds 2: expected a count from 3 to 1048576'],
    [['proxy', '--to', '127.0.0.1:80', '--idle-timeout', '0'], '--idle-timeout 0: expected seconds from 0.001 to 86400'],
    [['proxy', '--to', '127.0.0.1:80', '--connect-timeout', 'soon'], '--connect-timeout soon: expected seconds from 0.001 to 86400'],
    [['run', '--connect', '999.1.1.1:80', 'x.wasm'], '--connect 999.1.1.1:80: not an IPv4 address (a part is above 255)'],
  ] as const) {
    const r = runCli([...args]);
    assert.is(r.status, 2, args.join(' '));
    assert.is(r.stderr.split('\n')[0], `wasm-zerocopy: ${message}`, args.join(' '));
  }
});

cli.run();
