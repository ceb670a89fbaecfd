// Listeners beside preopens (issue 8, item 1): LISTEN_FDS puts listeners at 3.., before the
// --dir preopens, and wasi-libc finds preopens by asking fd_prestat_get from 3 up to the first
// badf. A listener answers success with a type that is not `dir` (our extension, docs/ABI.md),
// so libc skips it and open()/fopen() reach the directories after it. So does a descriptor the
// embedding API grants before the preopens.
import { suite } from './helpers/suite.js';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { download } from './helpers/clients.js';
import { join } from 'node:path';
import { boundPort, errno, errnoName, run } from '../host/index.js';
import { listenOn } from '../host/listen.js';
import { closeSync } from 'node:fs';
import { CLI, ROOT, tempDir } from './helpers/guest.js';
import { Caller } from './helpers/imports.js';
import { hostPipe } from './helpers/fds.js';

const SERVE = join(ROOT, 'test', 'fixtures', 'c', 'serve.wasm');

const prestat = suite('fd_prestat_get on a listener');

prestat('a listener is a preopen of type 1, not dir, without a name; the directory after it is found', () => {
  const dir = tempDir();
  const c = new Caller({ listen: ['127.0.0.1:0'], preopens: { '/data': dir } });
  try {
    assert.is(c.wasi.fd_prestat_get(3, Caller.RET), errno.success);
    assert.is(c.u8[Caller.RET], 1, 'the listener\'s preopen type');
    assert.is(c.u32(Caller.RET + 4), 0);
    assert.is(c.wasi.fd_prestat_dir_name(3, Caller.STR, 64), errno.notdir);
    assert.is(c.wasi.fd_prestat_get(4, Caller.RET), errno.success);
    assert.is(c.u8[Caller.RET], 0, 'the directory\'s preopen type');
    assert.is(c.u32(Caller.RET + 4), 5);
    assert.is(c.wasi.fd_prestat_get(5, Caller.RET), errno.badf);
  } finally {
    c.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

prestat('an accepted connection answers badf', async () => {
  const listener = listenOn('127.0.0.1:0');
  const c = new Caller();
  const client = connect(boundPort(listener), '127.0.0.1');
  await new Promise((r) => client.once('connect', r));
  try {
    const l = c.sandbox.grant(listener);
    assert.is(c.wasi.fd_prestat_get(l, Caller.RET), errno.success);
    assert.is(c.wasi.sock_accept(l, 0, Caller.RET), errno.success);
    const conn = c.u32(Caller.RET);
    assert.is(c.wasi.fd_prestat_get(conn, Caller.RET), errno.badf);
    assert.is(c.wasi.fd_prestat_dir_name(conn, Caller.STR, 64), errno.badf);
  } finally {
    client.destroy();
    c.close();
    closeSync(listener);
  }
});
prestat('a descriptor granted before the preopens is passed over as a listener is; one granted later answers badf', () => {
  const dir = tempDir();
  const [r, w] = hostPipe();
  const c = new Caller({ listen: ['127.0.0.1:0'], grant: [r], preopens: { '/data': dir } });
  try {
    // [descriptor, fd_prestat_get, its type, fd_prestat_dir_name]: listener, grant, directory.
    const table: [number, string, number, string][] = [[3, 'success', 1, 'notdir'], [4, 'success', 1, 'notdir'], [5, 'success', 0, 'success']];
    for (const [fd, status, type, name] of table) {
      assert.is(errnoName[c.wasi.fd_prestat_get(fd, Caller.RET)], status, `fd_prestat_get(${fd})`);
      assert.is(c.u8[Caller.RET], type, `the preopen type of ${fd}`);
      assert.is(errnoName[c.wasi.fd_prestat_dir_name(fd, Caller.STR, 64)], name, `fd_prestat_dir_name(${fd})`);
    }
    const later = c.sandbox.grant(w); // the lowest free number (Caller has no stdin: 0)
    assert.is(c.wasi.fd_prestat_get(later, Caller.RET), errno.badf);
  } finally {
    c.close();
    closeSync(r);
    closeSync(w);
    rmSync(dir, { recursive: true, force: true });
  }
});
prestat.run();

// ---------------------------------------------------------------------------------------
const cguest = suite('a C guest with --listen opens its files with fopen()');

cguest('under --workers 2, each worker fopen()s the file from its --dir for every client it accepts', async () => {
  const dir = tempDir();
  const text = 'served by fopen() beside a listener\n';
  writeFileSync(join(dir, 'page.txt'), text);
  const fd = listenOn('127.0.0.1:0');
  const port = boundPort(fd);
  closeSync(fd);
  // Two workers, each serving 3 clients, each client with its own fopen().
  const child = spawn(process.execPath, [CLI, 'run', '--workers', '2', '--listen', `127.0.0.1:${port}`,
    '--dir', `${dir}::/`, SERVE, '/page.txt', '3'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '', err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  try {
    for (let i = 0; i < 6; i++) assert.is((await download(port)).toString(), text, `client ${i + 1}`);
    assert.is(await exited, 0, err);
    assert.is(err, '');
    assert.is(out, `sent ${text.length} bytes\n`.repeat(6));
  } finally {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
cguest('with a descriptor granted between the listener and the --dir, fopen() still finds the directory', async () => {
  const dir = tempDir();
  const text = 'served beside a listener and a grant\n';
  writeFileSync(join(dir, 'page.txt'), text);
  const listener = listenOn('127.0.0.1:0');
  const [r, w] = hostPipe();
  const running = run(new WebAssembly.Module(readFileSync(SERVE)), {
    listen: [listener], grant: [r], preopens: { '/': dir }, args: ['serve', '/page.txt', '1'], stdout: null, stderr: null,
  });
  try {
    assert.is((await download(boundPort(listener))).toString(), text);
    assert.equal(await running, [0]);
  } finally {
    await running.stop();
    closeSync(listener);
    closeSync(r);
    closeSync(w);
    rmSync(dir, { recursive: true, force: true });
  }
});
cguest.run();
