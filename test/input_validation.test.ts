// Input validation at the import boundary: every import of both modules with a descriptor the
// guest does not hold, with pointers past the end of memory, with lengths that overflow, and
// then a seeded random loop over all of them. The host must always answer an errno (never
// throw into the guest, never crash), leak no descriptor, and leave the world outside alone.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { errno } from '../host/index.js';
import { ProcExit } from '../host/sandbox/context.js';
import { PREVIEW1_FUNCTIONS } from '../host/wasi/preview1.js';
import { Caller } from './helpers/imports.js';
import { openFds, tempDir } from './helpers/guest.js';

/**
 * Wasm signatures: f a descriptor (i32), p a pointer (i32), i an i32, I an i64 (a BigInt in JS).
 * From wasi_snapshot_preview1.witx and docs/ABI.md.
 */
const SIGNATURES: Record<string, Record<string, string>> = {
  wasi_snapshot_preview1: {
    args_get: 'p p', args_sizes_get: 'p p', environ_get: 'p p', environ_sizes_get: 'p p',
    clock_res_get: 'i p', clock_time_get: 'i I p', fd_advise: 'f I I i', fd_allocate: 'f I I',
    fd_close: 'f', fd_datasync: 'f', fd_fdstat_get: 'f p', fd_fdstat_set_flags: 'f i',
    fd_fdstat_set_rights: 'f I I', fd_filestat_get: 'f p', fd_filestat_set_size: 'f I',
    fd_filestat_set_times: 'f I I i', fd_pread: 'f p i I p', fd_prestat_get: 'f p',
    fd_prestat_dir_name: 'f p i', fd_pwrite: 'f p i I p', fd_read: 'f p i p', fd_readdir: 'f p i I p',
    fd_renumber: 'f f', fd_seek: 'f I i p', fd_sync: 'f', fd_tell: 'f p', fd_write: 'f p i p',
    path_create_directory: 'f p i', path_filestat_get: 'f i p i p', path_filestat_set_times: 'f i p i I I i',
    path_link: 'f i p i f p i', path_open: 'f i p i i I I i p', path_readlink: 'f p i p i p',
    path_remove_directory: 'f p i', path_rename: 'f p i f p i', path_symlink: 'p i f p i',
    path_unlink_file: 'f p i', poll_oneoff: 'p p i p', proc_exit: 'i', proc_raise: 'i', sched_yield: '',
    random_get: 'p i', sock_accept: 'f i p', sock_recv: 'f p i i p p', sock_send: 'f p i i p', sock_shutdown: 'f i',
  },
  zerocopy: {
    sendfile: 'f f p I p', splice: 'f p f p I i p', tee: 'f f I i p', pipe: 'i p',
    copy_file_range: 'f p f p I i p', sock_cork: 'f i', sock_peername: 'f p i p',
  },
};

const PAGES = 4;
const END = PAGES * 65536;
const NOT_HELD = 4242;
const SAFE = 0x2000; // a zeroed, in-bounds scratch area

interface World { top: string; jail: string; canary: string }
function world(): World {
  const top = tempDir('wzc-val-');
  const jail = join(top, 'jail');
  mkdirSync(join(jail, 'dir'), { recursive: true });
  writeFileSync(join(jail, 'file.txt'), '0123456789');
  symlinkSync('file.txt', join(jail, 'link'));
  writeFileSync(join(top, 'canary.txt'), 'SECRET');
  return { top, jail, canary: join(top, 'canary.txt') };
}

function caller(w: World): Caller {
  // Standard streams are virtual (empty input, discarded output), so 3 is the preopen and the
  // next file opened is 4; nothing the random loop writes reaches the test's own output.
  const sink = { write: (b: Uint8Array) => b.length };
  return new Caller({ args: ['guest', 'arg'], env: { A: '1' }, preopens: { '/sandbox': w.jail },
    stdin: { read: () => 0 }, stdout: sink, stderr: sink });
}

function call(c: Caller, module: string, name: string, args: unknown[]): number {
  const fns = module === 'zerocopy' ? c.zc : c.wasi;
  return fns[name](...args);
}

const isErrno = (r: unknown) => typeof r === 'number' && Number.isInteger(r) && r >= 0 && r <= 76;

// ---------------------------------------------------------------------------------------
const table = suite('every import against bad input');

table('the signature table covers every import of both modules', () => {
  assert.equal(Object.keys(SIGNATURES.wasi_snapshot_preview1).sort(), [...PREVIEW1_FUNCTIONS].sort());
  const w = world();
  const c = caller(w);
  try {
    assert.equal(Object.keys(c.zc).sort(), Object.keys(SIGNATURES.zerocopy).sort());
  } finally {
    c.close();
    rmSync(w.top, { recursive: true });
  }
});

for (const [module, fns] of Object.entries(SIGNATURES)) {
  for (const [name, sig] of Object.entries(fns)) {
    const kinds = sig.split(' ').filter(Boolean);
    if (!kinds.includes('f')) continue;
    table(`${name} with a descriptor the guest does not hold is badf`, () => {
      const w = world();
      const c = caller(w);
      try {
        const args = kinds.map((k) => (k === 'f' ? NOT_HELD : k === 'p' ? SAFE : k === 'I' ? 0n : 0));
        assert.is(call(c, module, name, args), errno.badf);
      } finally {
        c.close();
        rmSync(w.top, { recursive: true });
      }
    });
  }
}

/**
 * Arguments that make each call otherwise valid, so that the one bad pointer is what fails:
 * descriptors 3 (the preopen) or 4 (file.txt, opened read-write), lengths of 1, paths "file.txt".
 */
const VALID: Record<string, (c: Caller) => unknown[]> = {
  args_get: () => [SAFE, SAFE + 64], args_sizes_get: () => [SAFE, SAFE + 8],
  environ_get: () => [SAFE, SAFE + 64], environ_sizes_get: () => [SAFE, SAFE + 8],
  clock_res_get: () => [1, SAFE], clock_time_get: () => [1, 0n, SAFE],
  fd_fdstat_get: () => [4, SAFE], fd_filestat_get: () => [4, SAFE],
  fd_pread: (c) => [4, iov(c), 1, 0n, SAFE + 64], fd_pwrite: (c) => [4, iov(c), 1, 0n, SAFE + 64],
  fd_read: (c) => [4, iov(c), 1, SAFE + 64], fd_write: (c) => [4, iov(c), 1, SAFE + 64],
  fd_prestat_get: () => [3, SAFE], fd_prestat_dir_name: () => [3, SAFE, 8],
  fd_readdir: () => [3, SAFE, 64, 0n, SAFE + 128], fd_seek: () => [4, 0n, 0, SAFE], fd_tell: () => [4, SAFE],
  path_create_directory: (c) => [3, ...path(c, 'newdir')], path_remove_directory: (c) => [3, ...path(c, 'dir')],
  path_unlink_file: (c) => [3, ...path(c, 'file.txt')],
  path_filestat_get: (c) => [3, 0, ...path(c, 'file.txt'), SAFE],
  path_filestat_set_times: (c) => [3, 0, ...path(c, 'file.txt'), 0n, 0n, 2],
  path_link: (c) => [3, 0, ...path(c, 'file.txt'), 3, ...path(c, 'hard', 0x3000)],
  path_open: (c) => [3, 0, ...path(c, 'file.txt'), 0, 2n, 0n, 0, SAFE],
  path_readlink: (c) => [3, ...path(c, 'link'), SAFE, 16, SAFE + 64],
  path_rename: (c) => [3, ...path(c, 'file.txt'), 3, ...path(c, 'moved', 0x3000)],
  path_symlink: (c) => [...path(c, 'xy'), 3, ...path(c, 'sym', 0x3000)],
  poll_oneoff: (c) => [clockSub(c), SAFE + 0x400, 1, SAFE + 0x800],
  random_get: () => [SAFE, 16], sock_accept: () => [4, 0, SAFE], sock_recv: (c) => [4, iov(c), 1, 0, SAFE, SAFE + 8],
  sock_send: (c) => [4, iov(c), 1, 0, SAFE],
  sendfile: () => [4, 4, SAFE, 1n, SAFE + 8], splice: () => [4, SAFE, 4, SAFE + 8, 1n, 0, SAFE + 16],
  tee: () => [4, 4, 1n, 0, SAFE], pipe: () => [0, SAFE],
  copy_file_range: () => [4, SAFE, 4, SAFE + 8, 1n, 0, SAFE + 16],
};
function iov(c: Caller): number {
  c.dv.setUint32(0x4000, SAFE + 0x100, true);
  c.dv.setUint32(0x4004, 1, true);
  return 0x4000;
}
function path(c: Caller, s: string, at = Caller.STR): [number, number] { return c.str(s, at); }
function clockSub(c: Caller): number {
  c.u8.fill(0, 0x5000, 0x5000 + 48);
  c.dv.setUint32(0x5000 + 16, 1, true);
  return 0x5000;
}

/** The file, opened read-write, becomes guest descriptor 4. */
function withFile(c: Caller): void {
  const [p, l] = c.str('file.txt');
  assert.is(c.wasi.path_open(3, 0, p, l, 0, 2n | 64n | 4n | 32n | (1n << 21n), 0n, 0, Caller.RET), errno.success);
  assert.is(c.u32(Caller.RET), 4);
}

for (const [module, fns] of Object.entries(SIGNATURES)) {
  for (const [name, sig] of Object.entries(fns)) {
    const kinds = sig.split(' ').filter(Boolean);
    const valid = VALID[name];
    if (valid === undefined) continue; // no pointer to get wrong
    kinds.forEach((k, i) => {
      if (k !== 'p') return;
      for (const [where, ptr] of [['past the end of memory', END + 16], ['straddling the end of memory', END - 1],
        ['near 4 GiB', 0xfffffff0]] as const) {
        table(`${name} with argument ${i} ${where} is fault`, () => {
          const w = world();
          const c = caller(w);
          try {
            withFile(c);
            const args = valid(c);
            args[i] = ptr;
            const before = readFileSync(join(w.jail, 'file.txt'), 'utf8');
            assert.is(call(c, module, name, args), errno.fault);
            assert.is(readFileSync(join(w.jail, 'file.txt'), 'utf8'), before, 'a faulting call changed the file');
          } finally {
            c.close();
            rmSync(w.top, { recursive: true });
          }
        });
      }
    });
  }
}

table('lengths that overflow are answered, never thrown', () => {
  const w = world();
  const c = caller(w);
  try {
    withFile(c);
    const huge = 0xffffffff;
    assert.is(c.wasi.fd_read(4, SAFE, huge, SAFE), errno.inval, 'iovs_len past IOV_MAX is inval, as readv(2)');
    assert.is(c.wasi.fd_write(4, SAFE, 1024, SAFE), errno.success, '1024 empty iovecs are fine');
    assert.is(c.wasi.fd_write(4, END - 8 * 100, 1000, SAFE), errno.fault, 'an iovec array running off the end');
    assert.is(c.wasi.path_open(3, 0, SAFE, huge, 0, 2n, 0n, 0, SAFE), errno.fault);
    assert.is(c.wasi.random_get(SAFE, huge), errno.fault);
    assert.is(c.wasi.fd_readdir(3, SAFE, huge, 0n, SAFE), errno.fault);
    assert.is(c.wasi.poll_oneoff(SAFE, SAFE, huge, SAFE), errno.fault);
    assert.is(c.wasi.fd_seek(4, -(2n ** 63n), 0, SAFE), errno.inval);
    assert.is(c.wasi.fd_pread(4, iov(c), 1, 2n ** 63n, SAFE), errno.inval, 'an offset past 2^63 is negative to Linux');
    assert.is(c.zc.sendfile(4, 4, 0, 2n ** 63n, SAFE), errno.inval);
  } finally {
    c.close();
    rmSync(w.top, { recursive: true });
  }
});

table.run();

// ---------------------------------------------------------------------------------------
const fuzz = suite('a seeded random loop over every import');

/** mulberry32: a small deterministic PRNG, so a failure can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED = 20261122;
const CALLS = 100_000;

fuzz(`${CALLS} calls with random arguments (seed ${SEED}) all answer an errno and leak nothing`, () => {
  const rand = prng(SEED);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const I32 = [0, 1, 2, 3, 4, 5, 6, 7, 8, 16, 64, 255, 4096, END - 8, END - 1, END, 0x7fffffff, -1, 0xfffffff0];
  const FDS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 4242, -1];
  const I64 = [0n, 1n, 7n, 4096n, -1n, 2n ** 63n - 1n, -(2n ** 63n), 65535n];
  // Calls that could wait for ever on their own are kept out: poll_oneoff with a random clock
  // (it has its own tests), and blocking pipes (see below).
  const names = Object.entries(SIGNATURES).flatMap(([m, fns]) =>
    Object.keys(fns).filter((n) => n !== 'poll_oneoff').map((n) => [m, n] as const));
  const fdsBefore = openFds();
  const w = world();
  const stats = { calls: 0, exits: 0, results: new Map<number, number>() };
  try {
    let c = caller(w);
    for (let i = 0; i < CALLS; i++) {
      if (i % 2000 === 0) {
        c.close();
        c = caller(w);
        withFile(c);
      }
      const [module, name] = pick(names);
      const kinds = SIGNATURES[module][name].split(' ').filter(Boolean);
      const args = kinds.map((k) => {
        if (k === 'f') return pick(FDS);
        if (k === 'I') return pick(I64);
        if (k === 'p') return rand() < 0.7 ? 0x2000 + Math.floor(rand() * 0x1000) : pick(I32);
        return rand() < 0.5 ? Math.floor(rand() * 64) : pick(I32);
      });
      // Pipes stay non-blocking: made so, and never switched back (a read from an empty
      // blocking pipe waits for ever, in the sandbox as natively).
      if (name === 'pipe') args[0] = 4;
      if (name === 'fd_fdstat_set_flags') args[1] = (args[1] as number) | 4;
      // Keep the random paths short and printable, so files created stay inside the preopen.
      c.u8.set(Buffer.from(pick(['file.txt', 'dir', 'link', 'new', '..', '/abs', 'dir/x', ''])), 0x2000);
      let r: unknown;
      try {
        r = call(c, module, name, args);
      } catch (e) {
        if (!(e instanceof ProcExit)) throw new Error(`${name}(${args.join(', ')}) threw ${e}`);
        stats.exits++;
        continue;
      }
      assert.ok(isErrno(r), `${name}(${args.join(', ')}) returned ${r}`);
      stats.calls++;
      stats.results.set(r as number, (stats.results.get(r as number) ?? 0) + 1);
    }
    c.close();
    assert.is(readFileSync(w.canary, 'utf8'), 'SECRET');
  } finally {
    rmSync(w.top, { recursive: true, force: true });
  }
  assert.equal(openFds(), fdsBefore, 'a host descriptor leaked');
  assert.ok(stats.results.size > 10, 'the loop exercised few outcomes');
  console.log(`  fuzz: ${stats.calls + stats.exits} calls (${stats.exits} proc_exit/raise), ${stats.results.size} distinct errnos, ` +
    `${stats.results.get(0) ?? 0} successes, 0 escapes`);
});

fuzz.run();
