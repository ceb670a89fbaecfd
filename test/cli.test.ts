import { suite } from './helpers/suite.js';
import * as assert from 'uvu/assert';
import { writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { GUESTS, ROOT, runCli, tempDir } from './helpers/guest.js';

const test = suite('the command line: run');

const zcat = join(GUESTS, 'zcat.wasm');

test('runs a guest and passes through its output and exit code', () => {
  const r = runCli(['run', '--dir', `${join(ROOT, 'examples')}::/`, zcat, '/hello.txt']);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /^Hello from a wasm-zerocopy guest/);
});

test('a missing module is a one-line error, exit 2', () => {
  const r = runCli(['run', '/nonexistent/x.wasm']);
  assert.is(r.status, 2);
  assert.is(r.stderr, 'wasm-zerocopy: no such module: /nonexistent/x.wasm\n');
});

test('a file that is not wasm is a one-line error', () => {
  const dir = tempDir();
  try {
    writeFileSync(join(dir, 'x.wasm'), 'hello, not wasm');
    const r = runCli(['run', join(dir, 'x.wasm')]);
    assert.is(r.status, 2);
    assert.match(r.stderr, /^wasm-zerocopy: not a WebAssembly module: .*x\.wasm\n$/);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('a missing --dir directory is a one-line error', () => {
  const r = runCli(['run', '--dir', '/nonexistent-dir::/', zcat]);
  assert.is(r.status, 2);
  assert.is(r.stderr, 'wasm-zerocopy: --dir /nonexistent-dir::/: no such directory: /nonexistent-dir\n');
});

test('an unknown flag is a one-line error with the usage', () => {
  const r = runCli(['run', '--frobnicate', zcat]);
  assert.is(r.status, 2);
  assert.match(r.stderr, /^wasm-zerocopy: unknown option: --frobnicate\nusage: /);
});

test('an unknown command is a one-line error with the usage', () => {
  const r = runCli(['frobnicate']);
  assert.is(r.status, 2);
  assert.match(r.stderr, /^wasm-zerocopy: unknown command: frobnicate\nusage: /);
});

test('flags after the module belong to the guest', () => {
  const r = runCli(['run', '--dir', `${join(ROOT, 'examples')}::/`, zcat, '--not-a-file']);
  assert.is(r.status, 1);
  assert.match(r.stderr, /zcat: --not-a-file: noent/);
});

test('--trace prints each call with decoded arguments and its errno on stderr', () => {
  const r = runCli(['run', '--trace', '--dir', `${join(ROOT, 'examples')}::/`, zcat, '/hello.txt', '/nope']);
  assert.is(r.status, 1);
  assert.match(r.stdout, /^Hello from a wasm-zerocopy guest/);
  const lines = r.stderr.split('\n');
  assert.ok(lines.some((l) => /^path_open\(fd=3, dirflags=1, path="hello\.txt", path_len=9, oflags=0, fs_rights_base=2, fs_rights_inheriting=0, fdflags=0, opened_fd=4\) = success$/.test(l)), r.stderr);
  assert.ok(lines.some((l) => /^zerocopy\.sendfile\(out_fd=1, in_fd=4, offset=NULL, count=\d+, ret_sent=(\d+)\) = success$/.test(l)), r.stderr);
  assert.ok(lines.some((l) => /^path_open\(fd=3, dirflags=1, path="nope", .*\) = noent$/.test(l)), r.stderr);
  assert.ok(lines.includes('proc_exit(rval=1) = exit 1'), r.stderr);
});

test.run();
