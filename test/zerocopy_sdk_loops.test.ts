// The SDK's loops (assembly/zerocopy/index.ts: sendAll, spliceAll) against real short counts:
// a pipe of one page that a child process drains, or fills a few hundred bytes at a time, so
// that each system call moves only part of what was asked and the loop must add them up
// (a loop that forgot to add, or to ask for the rest, fails here).
import { suite } from './helpers/suite.js';
import { hostPipe } from './helpers/fds.js';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as libc from '../host/native/libc.js';
import { GUESTS, runGuest, tempDir } from './helpers/guest.js';

const GUEST = join(GUESTS, 'sdk_loops.wasm');
const PAGE = 4096;
const COUNT = 100_000;
const big = Buffer.from(Array.from({ length: 150_000 }, (_, i) => (i * 13 + 7) & 0xff));


function exited(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => resolve(code ?? -1));
  });
}

/** Runs the guest with `pipeEnd` as descriptor 3 and `dir` as descriptor 4; our copy is closed. */
function guest(mode: string, pipeEnd: number, dir: string): string {
  try {
    const r = runGuest(GUEST, { args: [GUEST, mode, String(COUNT)], grant: [pipeEnd], preopens: { '/': dir } });
    assert.is(r.status, 0, r.stdout + r.stderr);
    return r.stdout.trim();
  } finally {
    libc.close(pipeEnd);
  }
}

/** A child that reads its stdin to the end, slowly, into `file`. */
function drainer(readEnd: number, file: string): ChildProcess {
  const code = `const fs = require('fs'); const b = Buffer.alloc(1000); const out = [];
    for (;;) { const n = fs.readSync(0, b); if (n === 0) break; out.push(Buffer.from(b.subarray(0, n)));
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1); }
    fs.writeFileSync(${JSON.stringify(file)}, Buffer.concat(out));`;
  return spawn(process.execPath, ['-e', code], { stdio: [readEnd, 'ignore', 'inherit'] });
}

const loops = suite('the SDK loops over real short counts', { timeout: 120_000 });

loops('one sendfile into a one-page pipe moves at most a page: the counts below are short', async () => {
  const dir = tempDir('wzc-loop-');
  try {
    writeFileSync(join(dir, 'big.bin'), big);
    const [r, w] = hostPipe({ size: PAGE });
    const child = drainer(r, join(dir, 'drained'));
    libc.close(r);
    const line = guest('sendone', w, dir);
    assert.is(await exited(child), 0);
    const n = Number(/^ret=(\d+) /.exec(line)?.[1]);
    assert.ok(n > 0 && n <= PAGE, line);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

loops('sendAll adds up the short counts of a pipe drained by another process and sends exactly COUNT bytes', async () => {
  const dir = tempDir('wzc-loop-');
  try {
    writeFileSync(join(dir, 'big.bin'), big);
    const [r, w] = hostPipe({ size: PAGE });
    const child = drainer(r, join(dir, 'drained'));
    libc.close(r);
    assert.is(guest('sendall', w, dir), `ret=${COUNT} off=${COUNT}`);
    assert.is(await exited(child), 0);
    assert.ok(readFileSync(join(dir, 'drained')).equals(big.subarray(0, COUNT)), 'the bytes the reader got');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

loops('spliceAll adds up the short counts of a pipe filled a few hundred bytes at a time', async () => {
  const dir = tempDir('wzc-loop-');
  try {
    const [r, w] = hostPipe({ size: PAGE });
    // More than COUNT: the loop must stop at COUNT. The rest meets a closed pipe (EPIPE).
    writeFileSync(join(dir, 'feed'), big.subarray(0, COUNT + 500));
    const code = `const fs = require('fs'); const data = fs.readFileSync(${JSON.stringify(join(dir, 'feed'))});
      try { for (let i = 0; i < data.length; i += 700) { fs.writeSync(1, data.subarray(i, i + 700));
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1); } } catch (e) { if (e.code !== 'EPIPE') throw e; }`;
    const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', w, 'inherit'] });
    libc.close(w);
    assert.is(guest('spliceall', r, dir), `ret=${COUNT} off=${COUNT}`);
    assert.is(await exited(child), 0);
    assert.ok(readFileSync(join(dir, 'out.bin')).equals(big.subarray(0, COUNT)), 'the bytes spliced into out.bin');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

loops.run();
