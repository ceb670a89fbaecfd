// The zerocopy ABI, differentially: test/c/conformance.c built natively (straight to Linux)
// and for wasm32-wasi (through the sandbox) must print the same line for every case; the
// man pages' expectations are checked on top, so a bug shared by both sides still fails.
import { suite } from './helpers/suite.js';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, openFds, runCli, tempDir } from './helpers/guest.js';
import { errno, fromLinux } from '../host/sandbox/errno.js';

const C_DIR = join(ROOT, 'test', 'c');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'c');
/** How scripts/build-c-fixtures.js hashes a fixture's sources; the same function, not a copy. */
const { sourceHash } = await import(join(ROOT, 'scripts', 'build-c-fixtures.js')) as { sourceHash(cFile: string): string };


/** Compiles a C program natively with the machine's cc into dir. */
function compileNative(src: string, dir: string): string {
  const exe = join(dir, 'native');
  try {
    execFileSync('cc', ['-O2', '-I', join(ROOT, 'include'), src, '-o', exe], { stdio: 'pipe' });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: Buffer };
    throw new Error(err.code === 'ENOENT'
      ? 'no C compiler (cc) on this machine: the native side of the differential test needs one'
      : `cc failed: ${err.stderr?.toString() ?? err.message}`);
  }
  return exe;
}

/** Runs a prebuilt C guest under the CLI with DIR preopened as /. */
function runWasm(name: string, dir: string): string {
  const r = runCli(['run', '--dir', `${dir}::/`, join(FIXTURES, `${name}.wasm`), '/']);
  assert.is(r.status, 0, `${name}.wasm exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

// ---------------------------------------------------------------------------------------
const fixtures = suite('prebuilt C guests');

for (const name of ['conformance', 'files', 'sandbox_only']) {
  fixtures(`${name}.wasm is built from the current ${name}.c and zerocopy.h`, () => {
    const recorded = readFileSync(join(FIXTURES, `${name}.wasm.sha256`), 'utf8').trim();
    assert.is(recorded, sourceHash(join(C_DIR, `${name}.c`)),
      `test/fixtures/c/${name}.wasm is stale: run npm run build:c-fixtures (needs clang, lld, wasi-libc, libclang-rt-14-dev-wasm32)`);
  });
}
fixtures.run();

// ---------------------------------------------------------------------------------------
const differential = suite('conformance.c: the sandbox against native Linux');

let native: string[] = [];
let sandboxed: string[] = [];
let fdsBefore: string[] = [];

differential.before(() => {
  fdsBefore = openFds();
  const build = tempDir('wzc-cc-');
  const nativeDir = tempDir('wzc-native-');
  const wasmDir = tempDir('wzc-wasm-');
  try {
    const exe = compileNative(join(C_DIR, 'conformance.c'), build);
    native = execFileSync(exe, [nativeDir], { encoding: 'utf8' }).trimEnd().split('\n');
    sandboxed = runWasm('conformance', wasmDir).trimEnd().split('\n');
  } finally {
    for (const d of [build, nativeDir, wasmDir]) rmSync(d, { recursive: true, force: true });
  }
});

differential('both builds run every case', () => {
  assert.ok(native.length >= 40, `native printed ${native.length} lines`);
  assert.is(sandboxed.length, native.length, 'the sandboxed build printed a different number of lines');
});

/**
 * Cases on a file opened without read (or write) access: WASI opens a file with the access its
 * rights allow, so the sandbox's descriptor lacks fd_read (fd_write) and answers `notcapable`
 * where Linux answers EBADF, at the same point (docs/ABI.md, "Errors"); the rest is the same.
 */
const UNHELD_RIGHT = [
  'sendfile from a write-only descriptor is badf', 'sendfile to a read-only descriptor is badf',
  'splice into a read-only file is badf', 'copy_file_range into a read-only descriptor is badf',
];

differential('every case prints the same result in the sandbox and natively', () => {
  const asNative = (line: string) =>
    UNHELD_RIGHT.some((n) => line.startsWith(`${n}: `)) ? line.replace('errno=notcapable ', 'errno=badf ') : line;
  for (const name of UNHELD_RIGHT) {
    assert.ok(native.some((l) => l.startsWith(`${name}: errno=badf `)), `native: ${name}`);
    assert.ok(sandboxed.some((l) => l.startsWith(`${name}: errno=notcapable `)), `sandboxed: ${name}`);
  }
  const differ = native
    .map((line, i) => [line, sandboxed[i]] as const)
    .filter(([a, b]) => a !== asNative(b))
    .map(([a, b]) => `native:    ${a}\nsandboxed: ${b}`);
  assert.is(differ.length, 0, `cases differ:\n${differ.join('\n')}`);
});

/** The man pages' expectations, on the sandboxed output: [case, pattern]. */
const expectations: [string, RegExp][] = [
  ['sendfile with an offset reads from it, advances it, and leaves the position', /errno=success n=4 off=9 pos_in=0 pos_out=4 data=35363738$/],
  ['sendfile without an offset uses and advances the file position', /errno=success n=4 off=- pos_in=7 pos_out=4 data=33343536$/],
  ['sendfile of zero bytes returns zero', /errno=success n=0 /],
  ['sendfile near the end returns what is there', /errno=success n=5 off=20 /],
  ['sendfile at end of file returns zero', /errno=success n=0 off=20 /],
  ['sendfile past end of file returns zero', /errno=success n=0 off=1000 /],
  ['sendfile with a negative offset is inval', /errno=inval n=0 off=-1 /],
  ['sendfile from a write-only descriptor is badf', /errno=notcapable /],
  ['sendfile to a read-only descriptor is badf', /errno=notcapable /],
  ['sendfile into a pipe', /errno=success n=8 off=14 .* data=3637383961626364$/],
  ['sendfile into a full non-blocking pipe is again and moves nothing', /errno=again n=0 off=0 pos_in=0 /],
  ['pipe with an unknown flag is inval', /errno=inval /],
  ['pipe with a NULL array is fault', /errno=fault /],
  ['sendfile with a NULL result pointer is fault and moves nothing', /errno=fault n=0 off=- pos_in=0 pos_out=0 data=empty$/],
  ['splice from a file at an offset into a pipe', /errno=success n=5 off=7 pos_in=0 .* data=3233343536$/],
  ['splice from a pipe into a file advances the file position', /errno=success n=3 .* pos_out=3 data=58595a$/],
  ['splice with an offset on the pipe side is spipe', /errno=spipe /],
  ['splice with an offset on the output pipe is spipe', /errno=spipe /],
  ['splice between two files is inval', /errno=inval /],
  ['splice with an unknown flag is inval', /errno=inval /],
  ['splice from an empty pipe with SPLICE_F_NONBLOCK is again', /errno=again /],
  ['splice into a full pipe with SPLICE_F_NONBLOCK is again', /errno=again n=0 off=0 /],
  ['splice from a pipe whose writers are gone returns zero', /errno=success n=0 /],
  ['tee duplicates the data', /errno=success n=5 .* data=68656c6c6f$/],
  ['tee leaves its source intact', /data=68656c6c6f$/],
  ['tee from a file is inval', /errno=inval /],
  ['tee from an empty pipe with SPLICE_F_NONBLOCK is again', /errno=again /],
  ['copy_file_range with offsets advances them and leaves both positions', /errno=success n=5 off=8 pos_in=0 pos_out=0 data=00003334353637$/],
  ['copy_file_range without offsets uses and advances both positions', /errno=success n=6 off=- pos_in=10 pos_out=6 data=343536373839$/],
  ['copy_file_range near the end copies what is there', /errno=success n=2 off=20 /],
  ['copy_file_range with flags other than zero is inval', /errno=inval /],
  ['copy_file_range from a pipe is inval', /errno=inval /],
  ['copy_file_range into a read-only descriptor is badf', /errno=notcapable /],
];

for (const [name, pattern] of expectations) {
  differential(`the man page holds: ${name}`, () => {
    const line = sandboxed.find((l) => l.startsWith(`${name}: `));
    assert.ok(line !== undefined, `no line for "${name}"`);
    assert.match(line!, pattern);
  });
}

differential('the host holds no more descriptors than before', () => {
  assert.equal(openFds(), fdsBefore);
});
differential.run();

// ---------------------------------------------------------------------------------------
const sandboxOnly = suite("sandbox_only.c: the sandbox's own answers");

let lines: string[] = [];
sandboxOnly.before(() => {
  const dir = tempDir('wzc-so-');
  try {
    lines = runWasm('sandbox_only', dir).trimEnd().split('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// WASI errno numbers: fault 21, badf 8, notcapable 76, success 0.
const sandboxCases: [string, string][] = [
  ['an offset pointer straddling the end of memory is fault and moves nothing', 'offset pointer straddling the end of memory: 21, out size 0, in position 0'],
  ['a result pointer straddling the end of memory is fault, checked before any byte moves', 'result pointer straddling the end of memory: 21, out size 0, in position 0'],
  ['an offset pointer far past memory is fault', 'offset pointer far past memory: 21, out size 0'],
  ['a splice offset pointer at the end of memory is fault', 'splice offset pointer at the end of memory: 21'],
  ['a copy_file_range result pointer past memory is fault and copies nothing', 'copy_file_range result pointer past memory: 21, out size 0, in position 0'],
  ['a pipe result pointer past memory is fault and leaves no descriptor behind', 'pipe result pointer past memory: 21, next descriptor 6 (in was 4, out 5)'],
  ['a descriptor the guest does not hold is badf', 'a descriptor the guest does not hold: 8'],
  ['a source that gave up fd_read is notcapable', 'sendfile from a descriptor that gave up fd_read: 76, out size 0'],
  ['a destination that gave up fd_write is notcapable', 'splice into a descriptor that gave up fd_write: 76'],
  ['an offset on a source that gave up fd_seek is notcapable', 'sendfile at an offset from a descriptor that gave up fd_seek: 76'],
  ['the file position of a source without fd_seek still works', 'sendfile from the position of that descriptor: 0, n 4'],
];
for (const [name, expected] of sandboxCases) {
  sandboxOnly(name, () => {
    assert.ok(lines.includes(expected), `expected the line "${expected}" in:\n${lines.join('\n')}`);
  });
}
sandboxOnly.run();

// ---------------------------------------------------------------------------------------
const files = suite('files.c: an ordinary program that lists, creates, renames and deletes');

files('runs unchanged under --dir and prints what it prints natively', () => {
  const build = tempDir('wzc-cc-');
  const nativeDir = tempDir('wzc-native-');
  const wasmDir = tempDir('wzc-wasm-');
  try {
    const exe = compileNative(join(C_DIR, 'files.c'), build);
    const native = execFileSync(exe, [nativeDir], { encoding: 'utf8' });
    const sandboxed = runWasm('files', wasmDir);
    assert.fixture(sandboxed, native);
    assert.match(native, /^rename a\.txt -> b\.txt: ok$/m);
    assert.match(native, /^list work: \. \.\. b\.txt\(file,13\) l\(link\)$/m);
    assert.match(native, /^rmdir work: ok$/m);
  } finally {
    for (const d of [build, nativeDir, wasmDir]) rmSync(d, { recursive: true, force: true });
  }
});
files.run();

// ---------------------------------------------------------------------------------------
const errnoTable = suite("zerocopy.h's native errno translation");

errnoTable('matches the host table for every Linux errno number', () => {
  const build = tempDir('wzc-cc-');
  try {
    const exe = compileNative(join(C_DIR, 'native', 'errno_table.c'), build);
    const lines = execFileSync(exe, { encoding: 'utf8' }).trimEnd().split('\n');
    assert.is(lines.length, 4095);
    const differ = lines.map((l) => l.split(' ').map(Number))
      .filter(([linux, wasi]) => fromLinux(linux) !== wasi)
      .map(([linux, wasi]) => `${linux}: header ${wasi}, host ${fromLinux(linux)}`);
    assert.equal(differ, []);
    // Not a table of `io`s: the names WASI shares with Linux map by name.
    assert.is(Number(lines[2 - 1].split(' ')[1]), errno.noent); // ENOENT is 2 on Linux
    assert.is(Number(lines[95 - 1].split(' ')[1]), errno.notsup); // EOPNOTSUPP is 95
  } finally {
    rmSync(build, { recursive: true, force: true });
  }
});
errnoTable.run();
