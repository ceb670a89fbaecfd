// The command line's errors, one style (issue 8, items 4, 6, 7 and 10): one line
// "wasm-zerocopy: ...", words rather than raw codes, the path named; the usage only for usage
// errors; exit 2 for what the command line gave, 1 for what failed while running.
import { suite } from './helpers/suite.js';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseListen, run } from '../host/index.js';
import { CLI, GUESTS, ROOT, runCli, tempDir } from './helpers/guest.js';

const ENV = join(GUESTS, 'env.wasm');

/** A module from its sections (WebAssembly core spec 5.5): [id, bytes] each. */
function wasm(...sections: [number, number[]][]): Uint8Array<ArrayBuffer> {
  const out = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  for (const [id, body] of sections) out.push(id, body.length, ...body);
  return new Uint8Array(out);
}
const name = (s: string) => [s.length, ...Buffer.from(s)];
const TYPE_VOID: [number, number[]] = [1, [1, 0x60, 0, 0]];
const MEMORY: [number, number[]] = [5, [1, 0, 1]];
/** Exports memory and nothing else: no _start. */
const NO_START = wasm(MEMORY, [7, [1, ...name('memory'), 2, 0]]);
/** A reactor: _initialize and memory. */
const REACTOR = wasm(TYPE_VOID, [3, [1, 0]], MEMORY, [7, [2, ...name('memory'), 2, 0, ...name('_initialize'), 0, 0]], [10, [1, 2, 0, 0x0b]]);
/** Imports env.foo, which no sandbox provides. */
const IMPORTS_ENV = wasm(TYPE_VOID, [2, [1, ...name('env'), ...name('foo'), 0, 0]]);

function withModule(bytes: Uint8Array, fn: (path: string) => void): void {
  const dir = tempDir();
  try {
    writeFileSync(join(dir, 'm.wasm'), bytes);
    fn(join(dir, 'm.wasm'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const modules = suite('the command line: modules that cannot run');

modules('a module without _start is one line and exit 2, with or without --workers', () => {
  withModule(NO_START, (m) => {
    for (const extra of [[], ['--workers', '2']]) {
      const r = runCli(['run', ...extra, m]);
      assert.is(r.status, 2, extra.join(' '));
      assert.is(r.stderr, `wasm-zerocopy: ${m} is not a WASI command: it exports no _start function\n`);
    }
  });
});

modules('a reactor is told it is a library, not a command', () => {
  withModule(REACTOR, (m) => {
    for (const extra of [[], ['--workers', '2']]) {
      const r = runCli(['run', ...extra, m]);
      assert.is(r.status, 2);
      assert.is(r.stderr, `wasm-zerocopy: ${m} is a library (a WASI reactor: it exports _initialize, not _start), not a command; ` +
        'load it from JavaScript with Sandbox.initialize() and call its exports\n');
    }
  });
});

modules('an import the sandbox does not provide is named, with what it does provide', () => {
  withModule(IMPORTS_ENV, (m) => {
    const r = runCli(['run', m]);
    assert.is(r.status, 2);
    assert.is(r.stderr, `wasm-zerocopy: cannot instantiate ${m}: it imports function "foo" from "env", which wasm-zerocopy ` +
      'does not provide (it provides the functions of wasi_snapshot_preview1 and zerocopy only)\n');
  });
});

modules('a module that cannot be read says why in words, with the path, and no usage', () => {
  const dir = tempDir();
  try {
    const r = runCli(['run', dir]);
    assert.is(r.status, 2);
    assert.is(r.stderr, `wasm-zerocopy: cannot read module ${dir}: is a directory\n`);
    const missing = runCli(['run', join(dir, 'none.wasm')]);
    assert.is(missing.stderr, `wasm-zerocopy: no such module: ${join(dir, 'none.wasm')}\n`);
    writeFileSync(join(dir, 'x.wasm'), 'not wasm at all');
    assert.is(runCli(['run', join(dir, 'x.wasm')]).stderr, `wasm-zerocopy: not a WebAssembly module: ${join(dir, 'x.wasm')}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
modules.run();

// ---------------------------------------------------------------------------------------
const dirs = suite('the command line: --dir and send-file FILE');

dirs('--dir FILE says "not a directory"; a missing one "no such directory"', () => {
  const file = join(ROOT, 'examples', 'hello.txt');
  const r = runCli(['run', '--dir', `${file}::/`, ENV]);
  assert.is(r.status, 2);
  assert.is(r.stderr, `wasm-zerocopy: --dir ${file}::/: not a directory: ${file}\n`);
  const m = runCli(['run', '--dir', '/nonexistent-dir', ENV]);
  assert.is(m.status, 2);
  assert.is(m.stderr, 'wasm-zerocopy: --dir /nonexistent-dir: no such directory: /nonexistent-dir\n');
});

dirs('send-file refuses a FIFO at once, without opening it for a writer that never comes', () => {
  const dir = tempDir();
  try {
    const fifo = join(dir, 'fifo');
    const mk = spawnSync('mkfifo', [fifo]);
    assert.is(mk.status, 0, 'mkfifo');
    const t0 = Date.now();
    const r = spawnSync(process.execPath, [CLI, 'send-file', '--listen', '127.0.0.1:0', fifo], { encoding: 'utf8', timeout: 15_000 });
    assert.ok(Date.now() - t0 < 10_000, `send-file took ${Date.now() - t0} ms on a FIFO`);
    assert.is(r.status, 2, r.stderr);
    assert.is(r.stderr, `wasm-zerocopy: ${fifo} is not a regular file but a FIFO: send-file sends a regular file\n`);
    assert.is(r.stdout, '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

dirs('send-file on a directory or a missing file says so in words', () => {
  const dir = tempDir();
  try {
    mkdirSync(join(dir, 'sub'));
    const r = runCli(['send-file', join(dir, 'sub')]);
    assert.is(r.status, 2);
    assert.is(r.stderr, `wasm-zerocopy: ${join(dir, 'sub')} is not a regular file but a directory: send-file sends a regular file\n`);
    const m = runCli(['send-file', join(dir, 'none')]);
    assert.is(m.status, 2);
    assert.is(m.stderr, `wasm-zerocopy: cannot open ${join(dir, 'none')}: no such file or directory\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
dirs.run();

// ---------------------------------------------------------------------------------------
const listen = suite('the command line: --listen addresses');

listen('a host name, a port out of range and a malformed address each say what is wrong, with the usage', () => {
  const cases: [string, string][] = [
    ['localhost:80', 'a host name is not an address; give an IP address, as 127.0.0.1:80 or [::1]:80'],
    ['127.0.0.1:99999', 'port 99999 is out of range (0 to 65535)'],
    ['127.0.0.1:http', 'the port must be a number from 0 to 65535'],
    ['1.2.3:80', 'not an IPv4 address'],
    ['256.0.0.1:80', 'not an IPv4 address (a part is above 255)'],
    ['[::g]:80', 'not an IPv6 address'],
    ['[1:2:3]:80', 'not an IPv6 address'],
    ['127.0.0.1', 'expected IPv4:PORT or [IPv6]:PORT'],
  ];
  for (const [spec, why] of cases) {
    for (const cmd of [['run', '--listen', spec, ENV], ['send-file', '--listen', spec, join(ROOT, 'examples', 'hello.txt')]]) {
      const r = runCli(cmd);
      assert.is(r.status, 2, spec);
      assert.match(r.stderr, new RegExp(`^wasm-zerocopy: --listen ${spec.replace(/[[\].]/g, '\\$&')}: ${why.replace(/[[\]().]/g, '\\$&')}\nusage: wasm-zerocopy ${cmd[0]} `), spec);
    }
  }
});

listen('the API\'s errors name no command-line flag', async () => {
  for (const spec of ['localhost:80', '127.0.0.1:99999', '[::g]:80', '[1:2:3]:80']) {
    assert.throws(() => parseListen(spec), (e: Error) => e.message.startsWith(`${spec}: `) && !e.message.includes('--'), spec);
  }
  assert.throws(() => run(new WebAssembly.Module(NO_START), { listen: ['[1:2:3]:80'] }),
    (e: Error) => !e.message.includes('--listen'));
});
listen.run();
