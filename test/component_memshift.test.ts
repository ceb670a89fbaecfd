// The memory shift componentize applies to a module that exports no realloc
// (host/component/memshift.ts): the module's accesses land SHIFT bytes higher and the adapter
// owns the bytes below. Each guest here is hand-written WAT run three ways where it matters:
// as a core module (this host's preview1, the reference for what the module sees), as a
// shifted component, and, for what only the adapter decides (a pointer past the end), as a
// component of the same module with a `cabi_realloc` export of its own, which componentize
// does not shift: the behaviour before the shift.
import { suite } from './helpers/suite.js';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { componentize } from '../host/component/componentize.js';
import { loadComponent } from '../host/component/load.js';
import { SCRATCH, SHIFT, SHIFT_PAGES } from '../host/component/memshift.js';
import { fixPreview1Module } from '../host/component/preview1_fixes.js';
import { Sandbox, type SandboxOptions } from '../host/index.js';
import { tempDir } from './helpers/guest.js';
import { watBytes } from './helpers/wat.js';

const P1 = 'wasi_snapshot_preview1';
const IMPORTS = `
  (import "${P1}" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "${P1}" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "${P1}" "proc_exit" (func $exit (param i32)))
  (import "${P1}" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "${P1}" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "${P1}" "environ_sizes_get" (func $environ_sizes_get (param i32 i32) (result i32)))
  (import "${P1}" "environ_get" (func $environ_get (param i32 i32) (result i32)))
  (import "${P1}" "fd_prestat_dir_name" (func $fd_prestat_dir_name (param i32 i32 i32) (result i32)))
  (import "${P1}" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "${P1}" "path_filestat_get" (func $path_filestat_get (param i32 i32 i32 i32 i32) (result i32)))
  (import "${P1}" "path_rename" (func $path_rename (param i32 i32 i32 i32 i32 i32) (result i32)))`;

/**
 * $io_all(fd, iovs, count, write): fd_write (or fd_read) until the whole iovec list is done,
 * or a read meets the end; moves along the list in place as writev(2) callers do. Its count
 * goes to address 8. A failed call exits 90 + errno.
 */
const IO_ALL = `
  (func $io_all (param $fd i32) (param $iovs i32) (param $cnt i32) (param $write i32)
    (local $n i32) (local $len i32) (local $e i32)
    (block $done (loop $again
      (br_if $done (i32.eqz (local.get $cnt)))
      (local.set $e (if (result i32) (local.get $write)
        (then (call $fd_write (local.get $fd) (local.get $iovs) (local.get $cnt) (i32.const 8)))
        (else (call $fd_read (local.get $fd) (local.get $iovs) (local.get $cnt) (i32.const 8)))))
      (if (local.get $e) (then (call $exit (i32.add (i32.const 90) (local.get $e)))))
      (local.set $n (i32.load (i32.const 8)))
      (br_if $done (i32.and (i32.eqz (local.get $write)) (i32.eqz (local.get $n))))
      (block $consumed (loop $skip
        (br_if $consumed (i32.eqz (local.get $cnt)))
        (local.set $len (i32.load offset=4 (local.get $iovs)))
        (if (i32.ge_u (local.get $n) (local.get $len)) (then
          (local.set $n (i32.sub (local.get $n) (local.get $len)))
          (local.set $iovs (i32.add (local.get $iovs) (i32.const 8)))
          (local.set $cnt (i32.sub (local.get $cnt) (i32.const 1)))
          (br $skip)))
        (i32.store (local.get $iovs) (i32.add (i32.load (local.get $iovs)) (local.get $n)))
        (i32.store offset=4 (local.get $iovs) (i32.sub (local.get $len) (local.get $n)))))
      (br $again))))
  (func $iov (param $at i32) (param $buf i32) (param $len i32)
    (i32.store (local.get $at) (local.get $buf))
    (i32.store offset=4 (local.get $at) (local.get $len)))
  (func $check (param $ok i32) (param $status i32)
    (if (i32.eqz (local.get $ok)) (then (call $exit (local.get $status)))))`;

/** A command: memory `memory`, `start` the body of _start, `rest` more fields. */
function command(memory: string, start: string, rest = '', reference = false): Uint8Array<ArrayBuffer> {
  // The reference keeps the adapter off the module's pages by a realloc of its own, as
  // wit-component's memory.grow would (64 KiB pages only).
  const realloc = reference ? `(func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (i32.shl (memory.grow (i32.const 1)) (i32.const 16)))` : '';
  return watBytes(`(module ${IMPORTS}
    (memory (export "memory") ${memory})
    ${IO_ALL} ${rest} ${realloc}
    (func (export "_start") ${start} (call $exit (i32.const 0))))`);
}

type Outcome = { status?: number; trap?: string; stdout: string };
const cache = tempDir('wzc-memshift-glue-');

function options(o: SandboxOptions, out: Buffer[], input?: string): SandboxOptions {
  let stdin = Buffer.from(input ?? '');
  return {
    ...o,
    stdin: { read: (into) => { const n = stdin.copy(into); stdin = stdin.subarray(n); return n; } },
    stdout: { write: (b) => { out.push(Buffer.from(b)); return b.length; } },
    stderr: null,
  };
}

function settle(run: () => number, out: Buffer[]): Outcome {
  try {
    return { status: run(), stdout: Buffer.concat(out).toString() };
  } catch (e) {
    if (!(e instanceof WebAssembly.RuntimeError)) throw e;
    return { trap: e.message, stdout: Buffer.concat(out).toString() };
  }
}

async function asCore(module: Uint8Array<ArrayBuffer>, o: SandboxOptions = {}, input?: string): Promise<Outcome> {
  const out: Buffer[] = [];
  const s = new Sandbox(options(o, out, input));
  try {
    return settle(() => s.start(new WebAssembly.Module(module)), out);
  } finally {
    s.close();
  }
}

async function asComponent(module: Uint8Array, o: SandboxOptions = {}, input?: string): Promise<Outcome> {
  const component = await loadComponent(await componentize(module), { cacheDir: cache });
  const out: Buffer[] = [];
  const s = new Sandbox(options(o, out, input));
  try {
    return settle(() => s.startComponent(component), out);
  } finally {
    s.close();
  }
}

const OOB = 'memory access out of bounds';
/** An outcome with the addresses in a trap's message left out: they differ with the memory's size. */
const summary = ({ status, trap, stdout }: Outcome) => ({ status, trap: trap?.replace(/\d+/g, 'N'), bytes: stdout.length });

// ---------------------------------------------------------------------------------------
const rewrite = suite('the shifted module', { timeout: 180_000 });

rewrite('is the module unchanged when it exports a realloc, and otherwise exports cabi_realloc_adapter with SHIFT_PAGES more pages', async () => {
  for (const name of ['cabi_realloc', 'cabi_realloc_adapter']) {
    const own = watBytes(`(module (memory (export "memory") 1)
      (func (export "${name}") (param i32 i32 i32 i32) (result i32) (i32.const 0)) (func (export "_start")))`);
    assert.equal(await fixPreview1Module(own), own, name);
  }
  const shifted = new WebAssembly.Module(new Uint8Array(await fixPreview1Module(command('2 7', ''))));
  assert.ok(WebAssembly.Module.exports(shifted).some((e) => e.name === 'cabi_realloc_adapter'));
  const memory = new WebAssembly.Instance(shifted, stubs(shifted)).exports.memory as WebAssembly.Memory;
  assert.is(memory.buffer.byteLength, (2 + SHIFT_PAGES) * 65536);
});

/** Every import of `module` answering 0, for instantiating it outside a sandbox. */
function stubs(module: WebAssembly.Module): WebAssembly.Imports {
  const imports: Record<string, Record<string, () => number>> = {};
  for (const i of WebAssembly.Module.imports(module)) (imports[i.module] ??= {})[i.name] = () => 0;
  return imports;
}

rewrite('cabi_realloc_adapter bump-allocates aligned blocks below the scratch area, above 0, and traps when they run out', async () => {
  const shifted = new WebAssembly.Module(new Uint8Array(await fixPreview1Module(command('1', ''))));
  const realloc = new WebAssembly.Instance(shifted, stubs(shifted)).exports.cabi_realloc_adapter as (...a: number[]) => number;
  const state = realloc(0, 0, 8, 65536);
  assert.ok(state > 0 && state % 8 === 0, `state at ${state}`);
  const odd = realloc(0, 0, 1, 3);
  assert.is(odd, state + 65536);
  const stack = realloc(0, 0, 8, 65536);
  assert.is(stack, odd + 8); // aligned up from odd + 3
  assert.ok(stack + 65536 <= SCRATCH && SCRATCH < SHIFT);
  assert.throws(() => realloc(0, 0, 8, SCRATCH - (stack + 65536) + 1), (e: unknown) => e instanceof WebAssembly.RuntimeError);
  assert.throws(() => realloc(4, 4, 8, 16), (e: unknown) => e instanceof WebAssembly.RuntimeError, 'a reallocation');
});

rewrite.run();

// ---------------------------------------------------------------------------------------
const bounds = suite('an access traps exactly where it did in the core module', { timeout: 300_000 });

/** [what, access, traps]: one page of memory, then one more where the access says grow. */
const ACCESSES: [string, string, boolean][] = [
  ['i32.load at the last word', '(drop (i32.load (i32.const 65532)))', false],
  ['i32.load one byte further', '(drop (i32.load (i32.const 65533)))', true],
  ['i32.load with the address in the offset', '(drop (i32.load offset=65533 (i32.const 0)))', true],
  ['i32.load split between pointer and offset', '(drop (i32.load offset=65531 (i32.const 1)))', false],
  ['i32.store at 2^32 - 1', '(i32.store (i32.const -1) (i32.const 7))', true],
  ['i64.load8_u with offset 2^32 - 1', '(drop (i64.load8_u offset=4294967295 (i32.const 0)))', true],
  ['i32.load after memory.grow, at the new last word', '(drop (memory.grow (i32.const 1))) (drop (i32.load (i32.const 131068)))', false],
  ['i32.load after memory.grow, one byte further', '(drop (memory.grow (i32.const 1))) (drop (i32.load (i32.const 131069)))', true],
  ['v128.load at the last 16 bytes', '(drop (v128.load (i32.const 65520)))', false],
  ['v128.load one byte further', '(drop (v128.load (i32.const 65521)))', true],
  ['v128.store16_lane past the end', '(v128.store16_lane 0 (i32.const 65535) (v128.const i64x2 0 0))', true],
  ['i32.atomic.rmw.add at the last word', '(drop (i32.atomic.rmw.add (i32.const 65532) (i32.const 1)))', false],
  ['i32.atomic.load past the end', '(drop (i32.atomic.load (i32.const 65536)))', true],
  ['memory.fill of the last byte', '(memory.fill (i32.const 65535) (i32.const 1) (i32.const 1))', false],
  ['memory.fill of nothing at the end', '(memory.fill (i32.const 65536) (i32.const 1) (i32.const 0))', false],
  ['memory.fill of nothing past the end', '(memory.fill (i32.const 65537) (i32.const 1) (i32.const 0))', true],
  ['memory.fill of nothing at 2^32 - 1', '(memory.fill (i32.const -1) (i32.const 1) (i32.const 0))', true],
  ['memory.copy into the last word', '(memory.copy (i32.const 65532) (i32.const 0) (i32.const 4))', false],
  ['memory.copy one byte too far', '(memory.copy (i32.const 65533) (i32.const 0) (i32.const 4))', true],
  ['memory.copy from past the end', '(memory.copy (i32.const 0) (i32.const 65537) (i32.const 0))', true],
  ['memory.init into the last word', '(memory.init $four (i32.const 65532) (i32.const 0) (i32.const 4))', false],
  ['memory.init one byte too far', '(memory.init $four (i32.const 65533) (i32.const 0) (i32.const 4))', true],
];
for (const [what, access, traps] of ACCESSES) {
  bounds(`${what} ${traps ? 'traps' : 'succeeds'}`, async () => {
    const module = command('1', access, '(data $four "abcd")');
    const core = await asCore(module), shifted = await asComponent(module);
    assert.equal(core, traps ? { trap: OOB, stdout: '' } : { status: 0, stdout: '' }, 'core module');
    assert.equal(shifted, core, 'shifted component');
  });
}
bounds.run();

// ---------------------------------------------------------------------------------------
const seen = suite('the module sees its own memory', { timeout: 180_000 });

seen('memory.size and memory.grow answer in the module\'s pages, up to its maximum', async () => {
  const module = command('2 5', `
    (call $check (i32.eq (memory.size) (i32.const 2)) (i32.const 1))
    (call $check (i32.eq (memory.grow (i32.const 1)) (i32.const 2)) (i32.const 2))
    (call $check (i32.eq (memory.size) (i32.const 3)) (i32.const 3))
    (call $check (i32.eq (memory.grow (i32.const 3)) (i32.const -1)) (i32.const 4))
    (call $check (i32.eq (memory.grow (i32.const 2)) (i32.const 3)) (i32.const 5))
    (call $check (i32.eq (memory.grow (i32.const 0)) (i32.const 5)) (i32.const 6))
    (i32.store (i32.const 327676) (i32.const 1))`);
  assert.equal(await asCore(module), { status: 0, stdout: '' });
  assert.equal(await asComponent(module), { status: 0, stdout: '' });
});

seen('data segments, active and passive, are where the module put them, and fd_write gathers several buffers', async () => {
  const module = command('1', `
    (memory.init $passive (i32.const 1000) (i32.const 0) (i32.const 8))
    (memory.copy (i32.const 1100) (i32.const 300) (i32.const 5))
    (memory.fill (i32.const 1200) (i32.const 0x2d) (i32.const 3))
    (call $iov (i32.const 2000) (i32.const 16) (i32.const 5))
    (call $iov (i32.const 2008) (i32.const 300) (i32.const 9))
    (call $iov (i32.const 2016) (i32.const 1000) (i32.const 0))
    (call $iov (i32.const 2024) (i32.const 1000) (i32.const 8))
    (call $iov (i32.const 2032) (i32.const 1200) (i32.const 3))
    (call $iov (i32.const 2040) (i32.const 1100) (i32.const 5))
    (call $iov (i32.const 2048) (i32.const 65529) (i32.const 7))
    (call $io_all (i32.const 1) (i32.const 2000) (i32.const 7) (i32.const 1))`,
  `(data (i32.const 16) "zero ") (data (i32.const 300) "three-oh ") (data $passive "passive ")
   (data (i32.const 65529) " at end")`);
  const expected = 'zero three-oh passive ---three at end';
  assert.equal(await asCore(module), { status: 0, stdout: expected });
  assert.equal(await asComponent(module), { status: 0, stdout: expected });
});

seen('fd_read scatters into several buffers', async () => {
  const module = command('1', `
    (call $iov (i32.const 2000) (i32.const 100) (i32.const 3))
    (call $iov (i32.const 2008) (i32.const 200) (i32.const 0))
    (call $iov (i32.const 2016) (i32.const 65531) (i32.const 5))
    (call $io_all (i32.const 0) (i32.const 2000) (i32.const 3) (i32.const 0))
    (call $iov (i32.const 2000) (i32.const 65531) (i32.const 5))
    (call $iov (i32.const 2008) (i32.const 100) (i32.const 3))
    (call $io_all (i32.const 1) (i32.const 2000) (i32.const 2) (i32.const 1))`);
  assert.equal(await asCore(module, {}, 'abcdefgh'), { status: 0, stdout: 'defghabc' });
  assert.equal(await asComponent(module, {}, 'abcdefgh'), { status: 0, stdout: 'defghabc' });
});

/** Prints each string of args_get or environ_get, checking each pointer lies in the buffer. */
function strings(sizes: string, get: string, list: number, buf: number): string {
  return `
    (call $check (i32.eqz (call ${sizes} (i32.const 16) (i32.const 20))) (i32.const 40))
    (call $check (i32.eqz (call ${get} (i32.const ${list}) (i32.const ${buf}))) (i32.const 41))
    (local.set $i (i32.const 0))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (i32.load (i32.const 16))))
      (local.set $p (i32.load (i32.add (i32.const ${list}) (i32.shl (local.get $i) (i32.const 2)))))
      (call $check (i32.and (i32.ge_u (local.get $p) (i32.const ${buf}))
        (i32.lt_u (local.get $p) (i32.add (i32.const ${buf}) (i32.load (i32.const 20))))) (i32.const 42))
      (local.set $n (i32.const 0))
      (block $end (loop $byte
        (br_if $end (i32.eqz (i32.load8_u (i32.add (local.get $p) (local.get $n)))))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $byte)))
      (call $iov (i32.const 3000) (local.get $p) (local.get $n))
      (call $iov (i32.const 3008) (i32.const 24) (i32.const 1))
      (call $io_all (i32.const 1) (i32.const 3000) (i32.const 2) (i32.const 1))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))`;
}

seen('args_get and environ_get leave pointers the module can follow', async () => {
  // Locals of _start: declared by a wrapper function, so `command` stays one shape.
  const body = `(call $list)`;
  const rest = `(data (i32.const 24) "\\n")
    (func $list (local $i i32) (local $p i32) (local $n i32)
      ${strings('$args_sizes_get', '$args_get', 4000, 5000)}
      ${strings('$environ_sizes_get', '$environ_get', 6000, 40000)})`;
  const module = command('1', body, rest);
  const o = { args: ['prog', 'two words', ''], env: { A: '1', LONGER_NAME: 'x'.repeat(300) } };
  const expected = `prog\ntwo words\n\nA=1\nLONGER_NAME=${'x'.repeat(300)}\n`;
  assert.equal(await asCore(module, o), { status: 0, stdout: expected });
  assert.equal(await asComponent(module, o), { status: 0, stdout: expected });
});

seen('path calls read and write the module\'s addresses', async () => {
  const module = command('1', `
    (call $check (i32.eqz (call $fd_prestat_dir_name (i32.const 3) (i32.const 500) (i32.const 1))) (i32.const 50))
    (call $iov (i32.const 2000) (i32.const 500) (i32.const 1))
    (call $io_all (i32.const 1) (i32.const 2000) (i32.const 1) (i32.const 1))
    (call $check (i32.eqz (call $path_open (i32.const 3) (i32.const 0) (i32.const 600) (i32.const 8)
      (i32.const 1) (i64.const 0x1fffffff) (i64.const 0x1fffffff) (i32.const 0) (i32.const 700))) (i32.const 51))
    (call $iov (i32.const 2000) (i32.const 620) (i32.const 4))
    (call $io_all (i32.load (i32.const 700)) (i32.const 2000) (i32.const 1) (i32.const 1))
    (call $check (i32.eqz (call $path_filestat_get (i32.const 3) (i32.const 0) (i32.const 600) (i32.const 8) (i32.const 800))) (i32.const 52))
    (call $check (i64.eq (i64.load (i32.const 832)) (i64.const 4)) (i32.const 53))
    (call $check (i32.eqz (call $path_rename (i32.const 3) (i32.const 600) (i32.const 8)
      (i32.const 3) (i32.const 640) (i32.const 9))) (i32.const 54))`,
  '(data (i32.const 600) "made.txt") (data (i32.const 620) "data") (data (i32.const 640) "moved.txt")');
  for (const run of [asCore, asComponent]) {
    const dir = mkdtempSync(join(tmpdir(), 'wzc-memshift-path-'));
    try {
      assert.equal(await run(module, { preopens: { '/': dir } }), { status: 0, stdout: '/' }, run.name);
      assert.equal(readdirSync(dir), ['moved.txt'], run.name);
      assert.is(readFileSync(join(dir, 'moved.txt'), 'utf8'), 'data', run.name);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});
seen.run();

// ---------------------------------------------------------------------------------------
const lists = suite('an iovec list the adapter never sees answers as readv(2) would', { timeout: 180_000 });

/** [call, fd, iovs, count, errno]: the list at `iovs` is zero-filled memory. */
const LISTS: [string, number, number | string, number, number][] = [
  ['fd_write', 1, 16, 1025, 28], ['fd_read', 0, 16, 1025, 28], ['fd_write', 9, 16, 1025, 8],
  ['fd_write', 1, 65528, 2, 21], ['fd_read', 0, 65528, 2, 21], ['fd_write', 9, 65528, 2, 8],
  ['fd_write', 1, 65528, 1, 0], ['fd_write', 1, 16, 1024, 0], ['fd_write', 1, -8, 1, 21],
];
for (const [call, fd, iovs, count, errno] of LISTS) {
  lists(`${call}(${fd}, ${iovs}, ${count}) answers ${errno}`, async () => {
    const module = command('1', `(call $exit (call $${call} (i32.const ${fd}) (i32.const ${iovs}) (i32.const ${count}) (i32.const 8)))`);
    assert.equal(await asCore(module), { status: errno, stdout: '' }, 'core module');
    assert.equal(await asComponent(module), { status: errno, stdout: '' }, 'shifted component');
  });
}
lists.run();

// ---------------------------------------------------------------------------------------
const edge = suite('a pointer at the end of memory does what it did before the shift', { timeout: 180_000 });

/** [what, module's _start after a first call, core's outcome]: the adapter's is the reference's. */
const EDGES: [string, string, Outcome][] = [
  ['a count written into the last word', '(call $exit (call $fd_write (i32.const 1) (i32.const 2000) (i32.const 1) (i32.sub (call $end) (i32.const 4))))', { status: 0, stdout: 'ok' }],
  ['a count written one byte further', '(call $exit (call $fd_write (i32.const 1) (i32.const 2000) (i32.const 1) (i32.sub (call $end) (i32.const 3))))', { status: 21, stdout: '' }],
  ['a buffer that ends at the end', '(call $iov (i32.const 2000) (i32.sub (call $end) (i32.const 2)) (i32.const 2)) (call $exit (call $fd_write (i32.const 1) (i32.const 2000) (i32.const 1) (i32.const 8)))', { status: 0, stdout: '\0\0' }],
  ['a buffer one byte longer', '(call $iov (i32.const 2000) (i32.sub (call $end) (i32.const 2)) (i32.const 3)) (call $exit (call $fd_write (i32.const 1) (i32.const 2000) (i32.const 1) (i32.const 8)))', { status: 21, stdout: '' }],
  ['a buffer at 2^32 - 1', '(call $iov (i32.const 2000) (i32.const -1) (i32.const 1)) (call $exit (call $fd_write (i32.const 1) (i32.const 2000) (i32.const 1) (i32.const 8)))', { status: 21, stdout: '' }],
];
for (const [what, start, core] of EDGES) {
  edge(what, async () => {
    // args_sizes_get first: the reference's adapter grows its pages at its first call, so
    // the end of memory is read after that.
    const body = `(drop (call $args_sizes_get (i32.const 16) (i32.const 20))) (call $iov (i32.const 2000) (i32.const 3000) (i32.const 2)) ${start}`;
    const rest = '(data (i32.const 3000) "ok") (func $end (result i32) (i32.shl (memory.size) (i32.const 16)))';
    assert.equal(await asCore(command('1', body, rest)), core, 'core module');
    const shifted = await asComponent(command('1', body, rest));
    // Where the core module succeeds, so does the component. Where it faults, the adapter
    // decides, and the reference shows what it did unshifted (the reference's own success
    // cases would write over the adapter's state, which lies at the end of its memory).
    // The bytes are compared by their count: past the module's end, the reference's adapter
    // has its own state. A list the adapter passes on past the end of memory traps
    // (host/component/list_bounds.ts), at an address of each one's own memory.
    if (core.status === 0) assert.equal(shifted, core);
    else assert.equal(summary(shifted), summary(await asComponent(command('1', body, rest, true))));
  });
}
edge.after(() => rmSync(cache, { recursive: true, force: true }));
edge.run();
