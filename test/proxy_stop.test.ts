// The proxy guest (assembly/guests/proxy.ts) stopped by its host: the log lines of the
// connections it ends in the wakeup the stop arrives in still reach stdout.
//
// A stop (Sandbox.stop, run()'s stop(), SIGTERM/SIGINT at the CLI) ends the guest at its next
// call with an uncatchable trap (host/wasi/guard.ts, sandbox/context.ts ProcExit). To make it
// arrive at an exact call, the guest runs in a Sandbox on this thread and the trace, which sees
// every call as it returns, asks for the stop there: the next call ends the guest.
import { suite } from './helpers/suite.js';
import * as assert from 'uvu/assert';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { Sandbox } from '../host/index.js';
import { boundPort, listenOn } from '../host/listen.js';
import { proxyModule, proxyRunOptions } from '../host/proxy.js';
import * as libc from '../host/native/libc.js';
import { tempDir } from './helpers/guest.js';

interface Stopped { status: number; lines: string[]; calls: string[]; stoppedAt: number }

/**
 * Runs the proxy guest on this thread until the trace shows the call `stopAfter` picks, asks
 * for a stop (SIGTERM) there and returns what it logged. A guest that never makes that call is
 * stopped after `ms` all the same (and the test's assertions then fail).
 */
function runUntil(listener: number, to: string, idleTimeoutMs: number, stopAfter: (call: string) => boolean, ms = 10_000): Stopped {
  const dir = tempDir('wzc-pxs-');
  const outFd = openSync(join(dir, 'out'), 'w');
  const calls: string[] = [];
  let stoppedAt = -1;
  const deadline = Date.now() + ms;
  try {
    const o = proxyRunOptions({ listen: listener, to, idleTimeoutMs });
    const sandbox: Sandbox = new Sandbox({
      args: o.args as string[], listen: o.listen, connect: o.connect, maxFds: o.maxFds, stdin: null, stdout: outFd,
      trace: (call) => {
        calls.push(call);
        if (stoppedAt < 0 && (stopAfter(call) || Date.now() > deadline)) {
          stoppedAt = calls.length - 1;
          sandbox.stop(15);
        }
      },
    });
    try {
      const status = sandbox.start(proxyModule());
      return { status, lines: readFileSync(join(dir, 'out'), 'utf8').split('\n').filter(Boolean), calls, stoppedAt };
    } finally {
      sandbox.close();
    }
  } finally {
    closeSync(outFd);
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------
const stop = suite('a stop in the middle of a wakeup');

stop('connections that end in the wakeup a stop arrives in all get their log lines, and the stop is not delayed', async () => {
  // N clients queue on the listener before the guest runs, so that its first wakeup accepts all
  // of them at one time; the upstream is a listener nobody accepts on (the kernel completes the
  // handshakes alone). Nothing moves, so every connection reaches the idle timeout in the same
  // wakeup, and the stop arrives there after its first fd_close.
  const N = 12;
  const listener = listenOn('127.0.0.1:0');
  const upstream = listenOn('127.0.0.1:0');
  const to = `127.0.0.1:${boundPort(upstream)}`;
  const clients: Socket[] = [];
  try {
    await Promise.all(Array.from({ length: N }, () => new Promise<void>((resolve, reject) => {
      const c = connect({ port: boundPort(listener), host: '127.0.0.1' });
      clients.push(c);
      c.once('connect', () => resolve());
      c.once('error', reject);
    })));
    const closed = clients.map((c) => new Promise<void>((r) => { c.on('error', () => {}); c.once('close', () => r()); }));
    const r = runUntil(listener, to, 300, (call) => call.startsWith('fd_close('));
    const tail = r.calls.slice(Math.max(0, r.stoppedAt - 3)).join('');
    assert.ok(r.stoppedAt >= 0 && r.calls[r.stoppedAt].startsWith('fd_close('), `no fd_close before the deadline:\n${tail}`);
    // The stop is taken at the very next call: nothing the guest does can put it off.
    assert.is(r.status, 143);
    assert.is(r.calls.length, r.stoppedAt + 2, tail);
    assert.match(r.calls[r.stoppedAt + 1], / = exit 143\n$/);
    assert.is(r.lines.length, N, `lines on stdout:\n${r.lines.join('\n')}\ncalls before the stop:\n${tail}`);
    for (const l of r.lines) assert.match(l, /^client #\d+ 127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+: idle timeout, 0 bytes up, 0 bytes down in \d+\.\d ms$/);
    assert.equal(new Set(r.lines.map((l) => l.split(' ')[1])).size, N, 'one line per connection');
    await Promise.all(closed); // and the host closed what the guest had not
  } finally {
    for (const c of clients) c.destroy();
    libc.close(listener);
    libc.close(upstream);
  }
});

stop.run();
