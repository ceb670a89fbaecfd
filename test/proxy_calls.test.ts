// The proxy guest's calls per connection (assembly/guests/proxy.ts), read from the host's trace:
// what a short exchange costs is counted in calls, and the calls it does without must not come
// back. (Speed itself is the bench's, section (g); these count, they do not time.)
import { suite } from './helpers/suite.js';
import * as assert from 'uvu/assert';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { proxyModule, proxyRunOptions, type ProxyOptions } from '../host/proxy.js';
import { run } from '../host/workers.js';
import { boundPort, listenOn } from '../host/listen.js';
import { tempDir } from './helpers/guest.js';
import { closedPort, hostPipe } from './helpers/fds.js';

const SMALL = 4096;

interface Traced { port: number; calls: string[]; lines(): string[]; running: ReturnType<typeof run>; dispose(): void }

/** The proxy guest on a listener made first (clients may queue on it before the guest runs), traced. */
function listener(): { fd: number; port: number } {
  const fd = listenOn('127.0.0.1:0');
  return { fd, port: boundPort(fd) };
}

function startTraced(l: { fd: number; port: number }, o: Omit<ProxyOptions, 'listen' | 'stdout'>): Traced {
  const dir = tempDir('wzc-pxc-');
  const logPath = join(dir, 'log');
  const logFd = openSync(logPath, 'w');
  const calls: string[] = [];
  const running = run(proxyModule(), { ...proxyRunOptions({ ...o, listen: l.fd, stdout: logFd }), trace: (_w, line) => { calls.push(line); } });
  return {
    port: l.port, calls, running,
    lines: () => readFileSync(logPath, 'utf8').split('\n').filter(Boolean),
    dispose() {
      closeSync(l.fd);
      closeSync(logFd);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const count = (calls: string[], prefix: string): number => calls.filter((c) => c.startsWith(prefix)).length;

/** An upstream that reads the request to its end (the client's FIN), then answers SMALL bytes and closes. */
async function answeringUpstream(): Promise<{ server: Server; to: string }> {
  const server = createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => {});
    s.resume();
    s.on('end', () => s.end(Buffer.alloc(SMALL, 'a')));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, to: `127.0.0.1:${(server.address() as { port: number }).port}` };
}

/**
 * Sends SMALL bytes and half-closes (or, `silent`, sends nothing); resolves with what came back
 * and whether it ended with a FIN.
 */
function exchange(port: number, silent = false): Promise<{ got: number; how: 'end' | 'error' }> {
  return new Promise((resolve) => {
    const c: Socket = connect({ port, host: '127.0.0.1', allowHalfOpen: !silent });
    let got = 0;
    let how: 'end' | 'error' = 'error';
    c.on('data', (d: Buffer) => { got += d.length; });
    c.on('end', () => { how = 'end'; });
    c.on('error', () => { how = 'error'; });
    c.on('close', () => resolve({ got, how }));
    if (!silent) c.end(Buffer.alloc(SMALL, 'q'));
  });
}

// ---------------------------------------------------------------------------------------
const calls = suite('a short exchange through the proxy, in calls');

calls('one shutdown per connection: the last direction to end is closed, and the client still gets a FIN', async () => {
  const up = await answeringUpstream();
  const N = 8;
  const p = startTraced(listener(), { to: up.to, maxClients: N });
  try {
    for (let i = 0; i < N; i++) assert.equal(await exchange(p.port), { got: SMALL, how: 'end' }, `connection ${i}`);
    assert.equal(await p.running, [0]);
    // The client's FIN becomes the upstream's shutdown (the upstream answers only after it);
    // the upstream's FIN then ends the connection, and close(2) sends the client its FIN.
    assert.is(count(p.calls, 'sock_shutdown('), N, p.calls.filter((c) => c.startsWith('sock_shutdown(')).join('\n'));
    assert.is(p.lines().length, N);
  } finally {
    p.dispose();
    up.server.close();
  }
});

calls('a connection that is made asks no sock_error: its write event says so', async () => {
  const up = await answeringUpstream();
  const N = 8;
  const p = startTraced(listener(), { to: up.to, maxClients: N });
  try {
    await Promise.all(Array.from({ length: N }, () => exchange(p.port)));
    assert.equal(await p.running, [0]);
    assert.is(count(p.calls, 'zerocopy.sock_connect('), N);
    assert.is(count(p.calls, 'zerocopy.sock_error('), 0);
    for (const l of p.lines()) assert.match(l, /: closed, 4096 bytes up, 4096 bytes down in /);
  } finally {
    p.dispose();
    up.server.close();
  }
});


// The two ways the connection to the upstream fails. Refused: connect(2) said EINPROGRESS (on
// loopback too: test/sock_connect_late.test.ts says why), so sock_connect succeeded, and the
// write event, which has fd_readwrite_hangup, makes the guest ask sock_error. Unreachable
// (255.255.255.255: TCP refuses a broadcast address before any packet, connect(2) ENETUNREACH):
// sock_connect fails at once, and there is nothing to ask.
for (const [how, to, connected, late, logged] of [
  ['refused after the connect began', () => `127.0.0.1:${closedPort()}`, 'success', true, 'upstream connrefused'],
  ['unreachable at once', () => '255.255.255.255:9', 'netunreach', false, 'upstream netunreach'],
] as const) {
  calls(`an upstream ${how}: sock_connect says ${connected}, ${late ? 'then one sock_error after a poll says connrefused' : 'no sock_error'}, the log says ${logged}`, async () => {
    const N = 4;
    const p = startTraced(listener(), { to: to(), maxClients: N });
    try {
      // The clients send nothing: a client socket closed with bytes unread would be a reset.
      for (let i = 0; i < N; i++) assert.equal(await exchange(p.port, true), { got: 0, how: 'end' }, `connection ${i}`);
      assert.equal(await p.running, [0]);
      const trace = p.calls.join('');
      const connects = p.calls.filter((c) => c.startsWith('zerocopy.sock_connect('));
      assert.is(connects.length, N, trace);
      for (const c of connects) assert.ok(c.endsWith(`) = ${connected}\n`), c);
      const errors = p.calls.map((c, i) => [c, i] as const).filter(([c]) => c.startsWith('zerocopy.sock_error('));
      assert.is(errors.length, late ? N : 0, trace);
      for (const [c, i] of errors) {
        assert.match(c, /^zerocopy\.sock_error\(fd=(\d+), ret_errno=14\) = success\n$/);
        // The late branch: the descriptor sock_connect gave, then a poll, then sock_error on it.
        const fd = /fd=(\d+)/.exec(c)![1];
        let made = i;
        while (--made >= 0 && !(p.calls[made].startsWith('zerocopy.sock_connect(') && p.calls[made].includes(`ret_fd=${fd})`)));
        assert.ok(made >= 0 && p.calls.slice(made, i).some((x) => x.startsWith('poll_oneoff(')), `no poll between the connect and\n${c}`);
      }
      assert.is(p.lines().length, N);
      for (const l of p.lines()) assert.match(l, new RegExp(`: ${logged}, 0 bytes up, 0 bytes down in `));
    } finally {
      await p.running.stop(); // at once if it has ended
      p.dispose();
    }
  });
}

calls('the log lines of connections that end in one wakeup go out in one write', async () => {
  // Every client is queued on the listener before the guest runs, and the upstream refuses:
  // the first wakeup accepts all of them and each ends at once (connrefused).
  const l = listener();
  const refusing = `127.0.0.1:${closedPort()}`;
  const N = 20;
  const clients = Array.from({ length: N }, () => {
    const c = connect({ port: l.port, host: '127.0.0.1' });
    c.on('error', () => {});
    return new Promise<void>((r) => c.on('close', () => r()));
  });
  await new Promise((r) => setTimeout(r, 100)); // the handshakes, which the kernel completes alone
  const p = startTraced(l, { to: refusing, maxClients: N });
  try {
    await Promise.all(clients);
    assert.equal(await p.running, [0]);
    const lines = p.lines();
    assert.is(lines.length, N);
    for (const line of lines) assert.match(line, /: upstream connrefused, 0 bytes up, 0 bytes down in /);
    const writes = count(p.calls, 'fd_write(fd=1,');
    assert.ok(writes >= 1 && writes < N, `${writes} writes for ${N} lines`);
  } finally {
    p.dispose();
  }
});

calls('a log nobody reads is said once on stderr, and the proxy goes on relaying', async () => {
  // stdout is a pipe whose reader is gone: every write is EPIPE (Node ignores SIGPIPE).
  const up = await answeringUpstream();
  const [r, w] = hostPipe();
  closeSync(r);
  const dir = tempDir('wzc-pxc-');
  const errPath = join(dir, 'err');
  const errFd = openSync(errPath, 'w');
  const l = listener();
  const N = 3;
  const running = run(proxyModule(), proxyRunOptions({ to: up.to, listen: l.fd, maxClients: N, stdout: w, stderr: errFd }));
  try {
    for (let i = 0; i < N; i++) assert.equal(await exchange(l.port), { got: SMALL, how: 'end' }, `connection ${i}`);
    assert.equal(await running, [0]);
    assert.is(readFileSync(errPath, 'utf8'), 'proxy: log: pipe; lines are dropped until it clears\n');
  } finally {
    await running.stop();
    closeSync(w);
    closeSync(errFd);
    closeSync(l.fd);
    rmSync(dir, { recursive: true, force: true });
    up.server.close();
  }
});

calls.run();
