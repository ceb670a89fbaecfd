// The command line with listeners and workers: send-file on several listeners, client numbers
// across workers, --trace with --workers (issue 8, items 5, 8 and 11), and what the README
// promises of send-file and run: --timeout's unit and default, the 5 s linger, --dir HOST,
// the first non-zero status, npm start's address (issue 10, item 7).
import { suite } from './helpers/suite.js';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { run } from '../host/index.js';
import { DEFAULT_LISTEN, DEFAULT_TIMEOUT_S, guestArgs } from '../host/cli/send_file.js';
import { runWorkers } from '../host/cli/guest.js';
import { ROOT, GUESTS, loadGuest, runCli, tempDir } from './helpers/guest.js';
import { download, freePort, startCli } from './helpers/clients.js';

const HELLO = join(ROOT, 'examples', 'hello.txt');
const hello = readFileSync(HELLO);

/** A connection that never reads (a Node socket would read ahead); closed by the caller. */
function stuckClient(port: number): Promise<import('node:net').Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1' }, () => { s.pause(); resolve(s); });
    s.on('error', reject);
  });
}

function bigFile(dir: string): string {
  const f = join(dir, 'big');
  writeFileSync(f, Buffer.alloc(64 << 20, 7)); // more than loopback's socket buffers hold
  return f;
}

// ---------------------------------------------------------------------------------------
const sendFile = suite('the command line: send-file with listeners and workers');

sendFile('send-file --listen A --listen B serves every listener', async () => {
  const [a, b] = [freePort(), freePort('::1')];
  const p = startCli(['send-file', '--listen', `127.0.0.1:${a}`, '--listen', `[::1]:${b}`, HELLO]);
  try {
    await p.waitFor(/stop with Ctrl-C\n/);
    assert.match(p.out, new RegExp(`on 127\\.0\\.0\\.1:${a}, \\[::1\\]:${b} with 1 worker\\n`));
    assert.ok((await download(a)).equals(hello), 'from the first listener');
    assert.ok((await download(b, '::1')).equals(hello), 'from the second listener');
    p.child.kill('SIGTERM');
    assert.is(await p.exited, 0, p.err);
  } finally {
    p.kill();
  }
});

sendFile('send-file --workers 2 logs client numbers that carry the worker number, unique across workers', async () => {
  const port = freePort();
  const p = startCli(['send-file', '--listen', `127.0.0.1:${port}`, '--workers', '2', HELLO]);
  try {
    await p.waitFor(/stop with Ctrl-C\n/);
    await Promise.all(Array.from({ length: 16 }, () => download(port)));
    await p.waitFor(/(client #\d+ .*\n[^]*){16}/);
    p.child.kill('SIGTERM');
    assert.is(await p.exited, 0, p.err);
    const ids = p.out.split('\n').filter((l) => l.includes('client #')).map((l) => {
      const m = /^\[worker ([12])\] client #(\d+) 127\.0\.0\.1:\d+: \d+ bytes in /.exec(l);
      assert.ok(m, `a log line without its worker: ${l}`);
      return `${m![1]}.${m![2]}`;
    });
    assert.is(ids.length, 16);
    assert.is(new Set(ids).size, 16, ids.join(' '));
  } finally {
    p.kill();
  }
});

sendFile('the seed server\'s argv: --timeout in milliseconds, default 60 s; the worker number only with workers', () => {
  assert.is(DEFAULT_TIMEOUT_S, 60);
  assert.is(DEFAULT_LISTEN, '127.0.0.1:8080');
  assert.equal(guestArgs(DEFAULT_TIMEOUT_S, 1, 1), ['send_file', '--timeout-ms', '60000']);
  assert.equal(guestArgs(0.25, 2, 2), ['send_file', '--timeout-ms', '250', '--worker', '2']);
});

sendFile('--timeout is in seconds: a client that takes nothing is dropped after 1 s, not 1 ms or 1000 s', async () => {
  const dir = tempDir();
  const port = freePort();
  const p = startCli(['send-file', '--listen', `127.0.0.1:${port}`, '--timeout', '1', bigFile(dir)]);
  try {
    await p.waitFor(/stop with Ctrl-C\n/);
    const stuck = await stuckClient(port);
    await p.waitFor(/timed out after/, 15_000);
    stuck.destroy();
    const ms = Number(/^client #1 127\.0\.0\.1:\d+: timed out after \d+ bytes in ([\d.]+) ms$/m.exec(p.out)?.[1]);
    assert.ok(ms >= 1000 && ms < 5000, `dropped after ${ms} ms`);
  } finally {
    p.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});

sendFile('without --timeout a client that takes nothing is kept (the default is a minute, not milliseconds)', async () => {
  const dir = tempDir();
  const port = freePort();
  const p = startCli(['send-file', '--listen', `127.0.0.1:${port}`, bigFile(dir)]);
  try {
    await p.waitFor(/stop with Ctrl-C\n/);
    const stuck = await stuckClient(port);
    await new Promise((r) => setTimeout(r, 3000));
    assert.not.match(p.out, /timed out/);
    stuck.destroy();
  } finally {
    p.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});

sendFile('after the last byte a client that keeps its side open is closed after the 5 s linger', async () => {
  const port = freePort();
  const p = startCli(['send-file', '--listen', `127.0.0.1:${port}`, HELLO]);
  try {
    await p.waitFor(/stop with Ctrl-C\n/);
    // Half-open: the client keeps writing after the server's FIN; once the server has closed
    // for good, a write is answered with a reset.
    const lingered = await new Promise<number>((resolve, reject) => {
      const s = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
      let ended = 0;
      let timer: NodeJS.Timeout | undefined;
      s.on('end', () => {
        ended = Date.now();
        timer = setInterval(() => s.write('x'), 100);
      });
      s.on('error', (e) => {
        clearInterval(timer);
        s.destroy();
        if (ended === 0) reject(e); else resolve(Date.now() - ended);
      });
      s.resume();
    });
    assert.ok(lingered >= 4500 && lingered < 9000, `closed ${lingered} ms after the last byte`);
  } finally {
    p.kill();
  }
});

sendFile('npm start serves on 127.0.0.1:8080', async () => {
  const script = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
  const m = /^node build\/host\/cli\.js (.+)$/.exec(script);
  assert.ok(m, `npm start runs the CLI: ${script}`);
  const p = startCli(m![1].split(' '), { cwd: ROOT });
  try {
    // Another program may hold 8080 on this machine: the error names the address all the same.
    await Promise.race([p.waitFor(/^serving .* on .*\n/m), p.waitFor(/cannot listen/, 10_000, 'err')]);
    if (p.err !== '') {
      assert.is(p.err, 'wasm-zerocopy: cannot listen on 127.0.0.1:8080: address already in use\n');
      return;
    }
    assert.match(p.out, /^serving \S+ (\(\d+ bytes\) )?on (http:\/\/)?127\.0\.0\.1:8080\/? with 1 worker/);
    assert.ok((await download(8080, '127.0.0.1', 'GET / HTTP/1.0\r\n\r\n')).length > 0, 'a response');
    p.child.kill('SIGINT');
    assert.is(await p.exited, 0);
  } finally {
    p.kill();
  }
});
sendFile.run();

// ---------------------------------------------------------------------------------------
const runCmd = suite('the command line: run with workers and --dir');

runCmd('--trace with --workers prefixes each line with the worker number', () => {
  const r = runCli(['run', '--trace', '--workers', '2', join(GUESTS, 'env.wasm'), 'x']);
  assert.is(r.status, 0, r.stderr);
  const lines = r.stderr.trim().split('\n');
  for (const l of lines) assert.match(l, /^\[worker [12]\] [a-z_.]+\(.*\) = [a-z0-9 ]+$/);
  for (const w of [1, 2]) {
    assert.ok(lines.includes(`[worker ${w}] args_sizes_get(argc=2, argv_buf_size=${join(GUESTS, 'env.wasm').length + 3}) = success`), r.stderr);
  }
});

runCmd('run()\'s trace gets every worker\'s lines with its number', async () => {
  const seen: [number, string][] = [];
  const devnull = openSync('/dev/null', 'w');
  try {
    const codes = await run(loadGuest(join(GUESTS, 'env.wasm')), {
      workers: 2, args: ['env'], stdout: devnull, trace: (w, line) => { seen.push([w, line]); },
    });
    assert.equal(codes, [0, 0]);
  } finally {
    closeSync(devnull);
  }
  for (const w of [1, 2]) {
    const mine = seen.filter(([x]) => x === w).map(([, l]) => l);
    assert.ok(mine.includes('args_sizes_get(argc=1, argv_buf_size=4) = success\n'), mine.join(''));
    assert.ok(mine.some((l) => /^fd_write\(fd=1, iovs=0x[0-9a-f]+, iovs_len=1, nwritten=\d+\) = success\n$/.test(l)), mine.join(''));
  }
});

runCmd('--dir HOST without ::GUEST preopens HOST under its own name', () => {
  const dir = tempDir();
  try {
    writeFileSync(join(dir, 'a.txt'), 'hello');
    const r = runCli(['run', '--trace', '--dir', dir, join(ROOT, 'test', 'fixtures', 'c', 'files.wasm'), dir]);
    assert.is(r.status, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`^fd_prestat_dir_name\\(fd=3, path="${dir}", path_len=${dir.length}\\) = success$`, 'm'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

runCmd('with workers of different statuses, the status is the first non-zero one in worker order', async () => {
  const port = freePort();
  // Each worker accepts one client and waits 3 s for it to send: a client that sends makes its
  // worker go on to an unknown operation (exit 2); one that does not makes it exit 3.
  const child = spawn(process.execPath, [join(ROOT, 'build', 'host', 'cli.js'), 'run', '--workers', '2', '--listen', `127.0.0.1:${port}`,
    join(GUESTS, 'sock_script.wasm'), 'fd l 3', 'accept c l', 'waitread c 3000', 'no-such-op'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => { err += d; });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const clients: import('node:net').Socket[] = [];
  try {
    for (const send of [true, false]) {
      for (let attempt = 0; ; attempt++) {
        try {
          clients.push(await new Promise((resolve, reject) => {
            const s = connect(port, '127.0.0.1', () => { if (send) s.write('x'); resolve(s); });
            s.on('error', reject);
          }));
          break;
        } catch (e) {
          if (attempt >= 100) throw e;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    }
    const status = await exited;
    const byWorker = Object.fromEntries([...err.matchAll(/^wasm-zerocopy: worker (\d): exit (\d+)$/gm)].map((m) => [m[1], Number(m[2])]));
    assert.equal(Object.values(byWorker).sort(), [2, 3], err);
    assert.is(status, byWorker['1'], err);
  } finally {
    for (const c of clients) c.destroy();
    child.kill('SIGKILL');
  }
});
runCmd('the CLI\'s status is worker order\'s first non-zero one, not the first to end, nor the largest', async () => {
  // Worker by worker: 2 at once (an unknown operation), or 3 after 300 ms (a wait on the
  // listener that no client ends).
  const fast2 = ['sock_script', 'no-such-op'];
  const slow3 = ['sock_script', 'fd l 3', 'waitread l 300'];
  const module = loadGuest(join(GUESTS, 'sock_script.wasm'));
  const devnull = openSync('/dev/null', 'w');
  const write = process.stderr.write;
  let reported = '';
  process.stderr.write = ((chunk: string) => { reported += chunk; return true; }) as typeof process.stderr.write;
  try {
    for (const [order, expected, lines] of [
      [[fast2, slow3], 2, 'worker 1: exit 2,worker 2: exit 3'],
      [[slow3, fast2], 3, 'worker 1: exit 3,worker 2: exit 2'],
      [[fast2.slice(0, 1), slow3], 3, 'worker 2: exit 3'],
    ] as const) {
      reported = '';
      const status = await runWorkers(module, {
        workers: 2, args: (w) => order[w - 1], listen: ['127.0.0.1:0'], stdout: devnull, stderr: devnull,
      }, false);
      assert.is(status, expected, JSON.stringify(order));
      assert.is(reported.trim().split('\n').map((l) => l.replace('wasm-zerocopy: ', '')).sort().join(','), lines);
    }
  } finally {
    process.stderr.write = write;
    closeSync(devnull);
  }
});
runCmd.run();
