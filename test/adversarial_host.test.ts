// The adversarial suite, part two: guests that attack the host itself rather than the
// preopen (issue 9). Each section is one way a hostile guest tried to crash the host, make it
// allocate, leak descriptors, freeze it, or outlive a stop; each guest is hand-written WAT
// (helpers/hostile.ts), or calls the imports directly (helpers/imports.ts).
import { suite } from './helpers/suite.js';
import * as assert from 'uvu/assert';
import { rmSync } from 'node:fs';
import { Sandbox, errno, errnoName } from '../host/index.js';
import * as libc from '../host/native/libc.js';
import { AT, O } from '../host/native/platform.js';
import { PATH_MAX } from '../host/sandbox/memory.js';
import { Caller } from './helpers/imports.js';
import { openFds, runCli, tempDir } from './helpers/guest.js';
import { assertStackExhaustedAtCli, countOutcome, hostile, hostileFile } from './helpers/hostile.js';
import { hostPipe } from './helpers/fds.js';

const { RET } = Caller;
const ENAMETOOLONG = 36;

/** Runs `fn` with process.stderr captured; returns what was written to it. */
function stderrOf(fn: () => void): string {
  const write = process.stderr.write;
  let text = '';
  process.stderr.write = ((chunk: string | Uint8Array) => { text += String(chunk); return true; }) as typeof write;
  try {
    fn();
  } finally {
    process.stderr.write = write;
  }
  return text;
}

/** Instantiates `module` for `sandbox` and runs it (start(module) is tested in section 9). */
const startIn = (sandbox: Sandbox, module: WebAssembly.Module): number =>
  sandbox.start(new WebAssembly.Instance(module, sandbox.getImportObject()));

/** Every call that takes a path, given a path at [p, len) and a scratch area elsewhere. */
const PATH_CALLS: [string, (c: Caller, p: number, len: number) => number][] = [
  ['path_open', (c, p, len) => c.wasi.path_open(3, 0, p, len, 0, 2n, 0n, 0, RET)],
  ['path_filestat_get', (c, p, len) => c.wasi.path_filestat_get(3, 0, p, len, 0x200)],
  ['path_filestat_set_times', (c, p, len) => c.wasi.path_filestat_set_times(3, 0, p, len, 0n, 0n, 2)],
  ['path_create_directory', (c, p, len) => c.wasi.path_create_directory(3, p, len)],
  ['path_remove_directory', (c, p, len) => c.wasi.path_remove_directory(3, p, len)],
  ['path_unlink_file', (c, p, len) => c.wasi.path_unlink_file(3, p, len)],
  ['path_readlink', (c, p, len) => c.wasi.path_readlink(3, p, len, 0x400, 64, RET)],
  ['path_rename (old)', (c, p, len) => { const [n, l] = c.str('x', 0x300); return c.wasi.path_rename(3, p, len, 3, n, l); }],
  ['path_rename (new)', (c, p, len) => { const [n, l] = c.str('x', 0x300); return c.wasi.path_rename(3, n, l, 3, p, len); }],
  ['path_link (new)', (c, p, len) => { const [n, l] = c.str('x', 0x300); return c.wasi.path_link(3, 0, n, l, 3, p, len); }],
  ['path_symlink (target)', (c, p, len) => { const [n, l] = c.str('x', 0x300); return c.wasi.path_symlink(p, len, 3, n, l); }],
  ['path_symlink (name)', (c, p, len) => { const [n, l] = c.str('x', 0x300); return c.wasi.path_symlink(n, l, 3, p, len); }],
];

// ---------------------------------------------------------------------------------------
const lengths = suite('adversarial (1): lengths a guest chooses never size a host allocation');

// The first is the kernel's own limit (checked natively here); the second has bytes past the
// limit that are not UTF-8, then a NUL: decoding them would answer ilseq, so nametoolong shows
// the limit was applied before anything beyond it was read.
const LONG_PATHS: [string, Uint8Array | string, boolean][] = [
  ['a path of PATH_MAX bytes is nametoolong in every call that takes one, as the kernel answers natively',
    'a/'.repeat(PATH_MAX / 2), true],
  ['a path past PATH_MAX is refused before it is decoded: what lies beyond the limit is never read',
    new Uint8Array([...Buffer.from('a'.repeat(PATH_MAX + 100)), 0xff, 0xfe, 0]), false],
];
for (const [title, path, native] of LONG_PATHS) {
  lengths(title, () => {
    if (native) assert.is(libc.openat(AT.FDCWD, path as string, O.RDONLY | O.CLOEXEC, 0), -ENAMETOOLONG, 'natively');
    const dir = tempDir('wzc-adv-');
    const c = new Caller({ preopens: { '/': dir } });
    try {
      for (const [name, call] of PATH_CALLS) {
        const [p, len] = c.str(path);
        assert.is(errnoName[call(c, p, len)], 'nametoolong', name);
      }
    } finally {
      c.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

lengths('a 528 MiB path is nametoolong at once: no 528 MiB string, no internal error, and the trace prints its pointer', () => {
  const dir = tempDir('wzc-adv-');
  const lines: string[] = [];
  const c = new Caller({ preopens: { '/': dir }, trace: (l) => { lines.push(l); } });
  try {
    // Grown, never written: the pages stay the kernel's shared zero page, so the test holds
    // no 528 MiB itself. A host that decoded the path would build a 528 MiB string of NULs.
    const len = 528 * 1024 * 1024;
    c.memory.grow(len / 65536 + 1);
    let e = -1;
    const err = stderrOf(() => { e = c.wasi.path_open(3, 0, 65536, len, 0, 2n, 0n, 0, RET); });
    assert.is(errnoName[e], 'nametoolong');
    assert.is(err, '', 'no internal error was reported');
    assert.match(lines.join(''), new RegExp(`^path_open\\(fd=3, dirflags=0, path=0x10000, path_len=${len}, .*\\) = nametoolong$`, 'm'));
  } finally {
    c.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

lengths('random_get fills the whole of a large buffer, with nothing allocated for it', () => {
  const c = new Caller();
  try {
    const len = 48 * 1024 * 1024;
    c.memory.grow(len / 65536);
    const before = process.memoryUsage().arrayBuffers;
    assert.is(c.wasi.random_get(65536, len), errno.success);
    assert.ok(process.memoryUsage().arrayBuffers - before < len / 2, 'no host buffer the size of the request');
    // Random bytes: every one of 256 values appears in the last 64 KiB, so the fill reached the end.
    assert.is(new Set(c.u8.subarray(65536 + len - 65536, 65536 + len)).size, 256);
  } finally {
    c.close();
  }
});

lengths.run();

// ---------------------------------------------------------------------------------------
const stack = suite('adversarial (2): a stack overflow is a trap, wherever it falls, and leaks nothing');

/**
 * A guest that recurses until the stack limit, each frame creating a pipe and closing both
 * ends, so that the limit is reached inside one of those calls. Where exactly depends on how
 * much stack is left when the last frame starts: a first frame of `pad` extra 8-byte locals
 * shifts that by 8 bytes per step, so a scan over `pad` reaches the limit at every point of a
 * call, the moment pipe2 has returned among them.
 */
const pipeRecursion = (pad: number) => hostile(`(call $pad)`, `
  (func $pad ${Array.from({ length: pad }, (_, i) => `(local $l${i} i64)`).join(' ')}
    ${Array.from({ length: pad }, (_, i) => `(local.set $l${i} (i64.const ${i}))`).join(' ')}
    (call $deep)
    (drop ${Array.from({ length: pad }, (_, i) => `(local.get $l${i})`).reduce((a, b) => `(i64.add ${a} ${b})`, '(i64.const 0)')}))
  (func $deep
    (drop (call $pipe (i32.const 0) (i32.const 16)))
    (drop (call $fd_close (i32.load (i32.const 16))))
    (drop (call $fd_close (i32.load (i32.const 20))))
    (call $deep))`);

stack('a recursion that creates descriptors in every frame traps with "call stack exhausted" at every depth, and close() leaves no host descriptor open', () => {
  const before = openFds();
  const outcomes = new Map<string, number>();
  const err = stderrOf(() => {
    for (let pad = 0; pad < 16; pad++) {
      const sandbox = new Sandbox({ stdin: null, stdout: null, stderr: null });
      try {
        countOutcome(outcomes, () => startIn(sandbox, pipeRecursion(pad)));
      } finally {
        sandbox.close();
      }
    }
  });
  assert.equal([...outcomes.keys()], ['trap: call stack exhausted'], JSON.stringify([...outcomes]));
  assert.is(err, '', 'nothing reported as an internal error');
  assert.equal(openFds(), before, 'host descriptors leaked');
});

stack('a descriptor a call created but had not handed over when it was cut short is closed by close()', () => {
  // What a call cut short by the stack limit leaves: a number reserved and a host descriptor
  // stored in it the moment the system call returned, no commit; and a temporary not released.
  const before = openFds();
  const sandbox = new Sandbox({ stdin: null, stdout: null, stderr: null });
  const [r, w] = hostPipe();
  const slot = sandbox.fds.reserve();
  slot.entry.hostFd = r;
  sandbox.fds.temporary().hostFd = w;
  assert.not.equal(openFds(), before);
  sandbox.close();
  assert.equal(openFds(), before);
});

stack('a recursion in plain guest code is the same trap', () => {
  const sandbox = new Sandbox({ stdin: null, stdout: null, stderr: null });
  try {
    assert.throws(() => startIn(sandbox, hostile('(call $r)', '(func $r (call $r))')),
      (e: unknown) => e instanceof WebAssembly.RuntimeError && e.message === 'call stack exhausted');
  } finally {
    sandbox.close();
  }
});

stack('under the CLI both print one line and exit 134, in this thread and in a worker', () => {
  const dir = tempDir('wzc-adv-');
  try {
    const plain = hostileFile(dir, 'plain', '(call $r)', '(func $r (call $r))');
    const calls = hostileFile(dir, 'calls', '(call $r)', '(func $r (drop (call $fd_fdstat_get (i32.const 1) (i32.const 64))) (call $r))');
    for (const path of [plain, calls]) assertStackExhaustedAtCli(path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

stack.run();

// ---------------------------------------------------------------------------------------
const uncatchable = suite('adversarial (6): proc_exit and a stop cannot be caught by the guest');

/** catch_all around proc_exit(3); if that is caught, say so and return normally (status 0). */
const CATCH_EXIT = '(try (do (call $proc_exit (i32.const 3))) (catch_all (call $caught)))';

uncatchable('a guest that wraps proc_exit in try/catch_all still exits with its code', () => {
  let stderr = '';
  const sandbox = new Sandbox({ stdin: null, stdout: null, stderr: { write: (b) => { stderr += Buffer.from(b).toString(); return b.length; } } });
  try {
    assert.is(startIn(sandbox, hostile(CATCH_EXIT)), 3);
    assert.is(stderr, '', 'the guest ran on after proc_exit');
  } finally {
    sandbox.close();
  }
});

uncatchable('a stop ends a guest that catches everything around its calls, with 128 + the signal', () => {
  const sandbox = new Sandbox({ stdin: null, stdout: null, stderr: null });
  try {
    sandbox.stop(15);
    // A guest that catches the stop leaves its loop and returns normally: status 0.
    const loop = `(block $out (loop $l
      (try (do (drop (call $fd_fdstat_get (i32.const 1) (i32.const 64)))) (catch_all (br $out)))
      (br $l)))`;
    assert.is(startIn(sandbox, hostile(loop)), 143);
  } finally {
    sandbox.close();
  }
});

uncatchable.run();

// ---------------------------------------------------------------------------------------
const startSection = suite('adversarial (9): proc_exit in a start section is an exit');

const EXIT_IN_START = ['', '(func $s (call $proc_exit (i32.const 7))) (start $s)'] as const;

startSection('Sandbox.start(module) returns the code', () => {
  const sandbox = new Sandbox({ stdin: null, stdout: null, stderr: null });
  try {
    assert.is(sandbox.start(hostile(...EXIT_IN_START)), 7);
  } finally {
    sandbox.close();
  }
});

startSection('the CLI exits with it, quietly, in this thread and in a worker; a trap there is a trap', () => {
  const dir = tempDir('wzc-adv-');
  try {
    const path = hostileFile(dir, 'exit7', ...EXIT_IN_START);
    const r = runCli(['run', path]);
    assert.is(r.status, 7, r.stderr);
    assert.is(r.stderr, '');
    const w = runCli(['run', '--workers', '1', path]);
    assert.is(w.status, 7, w.stderr);
    assert.is(w.stderr, 'wasm-zerocopy: worker 1: exit 7\n');
    const trap = hostileFile(dir, 'trap', '', '(func $s unreachable) (start $s)');
    const t = runCli(['run', trap]);
    assert.is(t.status, 134, t.stderr);
    assert.is(t.stderr, `wasm-zerocopy: ${trap}: trap: unreachable\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

startSection.run();

// ---------------------------------------------------------------------------------------
const sharedMemory = suite('adversarial (8): a module with shared memory is refused before it runs');

/** Writes "hi" to stdout; exits with the errno if that failed. */
const SAY_HI = ['(local $e i32) (local.set $e (call $write (i32.const 1) (i32.const 512) (i32.const 2))) (if (local.get $e) (then (call $proc_exit (local.get $e))))',
  '(data (i32.const 512) "hi")', '(memory (export "memory") 1 1 shared)'] as const;

sharedMemory('Sandbox.start throws a clear error and the guest never runs', () => {
  let out = '';
  const sandbox = new Sandbox({ stdin: null, stdout: { write: (b) => { out += Buffer.from(b).toString(); return b.length; } }, stderr: null });
  try {
    assert.throws(() => startIn(sandbox, hostile(...SAY_HI)), /memory is shared/);
    assert.is(out, '');
  } finally {
    sandbox.close();
  }
});

sharedMemory('the CLI says so in one line and exits 1', () => {
  const dir = tempDir('wzc-adv-');
  try {
    const r = runCli(['run', hostileFile(dir, 'shared', ...SAY_HI)]);
    assert.is(r.status, 1, r.stderr);
    assert.match(r.stderr, /^wasm-zerocopy: the module's memory is shared \(the threads proposal\)[^\n]*\n$/);
    assert.is(r.stdout, '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

sharedMemory.run();
