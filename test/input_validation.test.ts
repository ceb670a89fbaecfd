// Input validation at the import boundary: every import of both modules with a descriptor the
// guest does not hold, with pointers past the end of memory, with lengths that overflow and
// values out of range, then a seeded random loop over all of them. Every call goes through a
// real wasm trampoline (helpers/imports.ts), so arguments arrive as a guest's do. The host
// must always answer an errno (never throw into the guest, never crash, never report an
// internal error), leak no descriptor, and leave the world outside the preopen alone.
import { suite } from './helpers/suite.js';
import * as assert from 'uvu/assert';
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as libc from '../host/native/libc.js';
import { errno, errnoName } from '../host/index.js';
import { ProcExit } from '../host/sandbox/context.js';
import { FILE_RIGHTS } from '../host/sandbox/rights.js';
import { PREVIEW1_FUNCTIONS } from '../host/wasi/preview1.js';
import { Caller, SIGNATURES, kindsOf, tcpPair, type Module } from './helpers/imports.js';
import { boundPort, listenOn } from '../host/listen.js';
import { ROOT, openFds, tempDir } from './helpers/guest.js';

const END = Caller.PAGES * 65536;
const SAFE = 0x2000; // a zeroed, in-bounds scratch area
const FILE = 4, SOCKET = 5, PEER = 6; // guest descriptors: see caller()
const RW = BigInt(FILE_RIGHTS); // every right a regular file can have
const FUNCTIONS = (Object.keys(SIGNATURES) as Module[]).flatMap((m) => Object.keys(SIGNATURES[m]).map((n) => [m, n] as const));

interface World {
  top: string; jail: string; canary: string; canaryMtime: number; sockets: [number, number];
  /** A listener on 127.0.0.1 whose address the guest is granted (sock_connect), as text. */
  listener: number; granted: string;
}
let grantedNow = '';
function world(): World {
  const top = tempDir('wzc-val-');
  const jail = join(top, 'jail');
  mkdirSync(join(jail, 'dir'), { recursive: true });
  writeFileSync(join(jail, 'file.txt'), '0123456789');
  symlinkSync('file.txt', join(jail, 'link'));
  symlinkSync('..', join(jail, 'out'));
  const canary = join(top, 'canary.txt');
  writeFileSync(canary, 'SECRET');
  symlinkSync(canary, join(jail, 'abs'));
  const sockets = tcpPair();
  libc.write(sockets[1], Buffer.from('hello'), 5); // something for sock_recv to read
  const listener = listenOn('127.0.0.1:0');
  grantedNow = `127.0.0.1:${boundPort(listener)}`;
  return { top, jail, canary, canaryMtime: statSync(canary).mtimeMs, sockets, listener, granted: grantedNow };
}
function dispose(w: World): void {
  for (const s of w.sockets) libc.close(s);
  libc.close(w.listener);
  rmSync(w.top, { recursive: true, force: true });
}

/**
 * Standard streams are virtual (empty input, discarded output), so 3 is the preopen; then
 * file.txt opened read-write is 4, and the two ends of a connected TCP pair are 5 and 6.
 */
function caller(w: World): Caller {
  const sink = { write: (b: Uint8Array) => b.length };
  const c = new Caller({ args: ['guest', 'arg'], env: { A: '1' }, preopens: { '/sandbox': w.jail }, connect: [w.granted],
    stdin: { read: () => 0 }, stdout: sink, stderr: sink });
  try {
    const [p, l] = c.str('file.txt', 0x7000);
    assert.is(c.wasi.path_open(3, 0, p, l, 1 /* CREAT */, RW, 0n, 0, Caller.RET), errno.success);
    assert.is(c.u32(Caller.RET), FILE);
    assert.is(c.sandbox.grant(w.sockets[0]), SOCKET);
    assert.is(c.sandbox.grant(w.sockets[1]), PEER);
    return c;
  } catch (e) {
    c.close();
    throw e;
  }
}

function call(c: Caller, module: Module, name: string, args: unknown[]): number {
  return (module === 'zerocopy' ? c.zc : c.wasi)[name](...args);
}

/** Runs `body` on a fresh world and caller, and checks the canary and descriptors after. */
function inWorld(body: (c: Caller, w: World) => void): void {
  const before = openFds();
  const w = world();
  let canary: string;
  try {
    const c = caller(w);
    try {
      body(c, w);
    } finally {
      c.close();
    }
  } finally {
    canary = readFileSync(w.canary, 'utf8');
    dispose(w);
  }
  assert.is(canary, 'SECRET');
  assert.equal(openFds(), before, 'a host descriptor leaked');
}

/**
 * Arguments that make each call valid, so that the one bad argument is what fails. Paths
 * are "file.txt"; every buffer lies in the scratch area; lengths are small.
 */
const VALID: Record<string, (c: Caller) => unknown[]> = {
  args_get: () => [SAFE, SAFE + 64], args_sizes_get: () => [SAFE, SAFE + 8],
  environ_get: () => [SAFE, SAFE + 64], environ_sizes_get: () => [SAFE, SAFE + 8],
  clock_res_get: () => [1, SAFE], clock_time_get: () => [1, 0n, SAFE],
  fd_advise: () => [FILE, 0n, 10n, 0], fd_allocate: () => [FILE, 0n, 10n], fd_close: () => [FILE],
  fd_datasync: () => [FILE], fd_sync: () => [FILE], fd_fdstat_get: () => [FILE, SAFE],
  fd_fdstat_set_flags: () => [FILE, 0], fd_fdstat_set_rights: () => [FILE, RW, 0n],
  fd_filestat_get: () => [FILE, SAFE], fd_filestat_set_size: () => [FILE, 10n],
  fd_filestat_set_times: () => [FILE, 0n, 0n, 2 | 8],
  fd_pread: (c) => [FILE, iov(c), 1, 0n, SAFE + 64], fd_pwrite: (c) => [FILE, iov(c), 1, 0n, SAFE + 64],
  fd_read: (c) => [FILE, iov(c), 1, SAFE + 64], fd_write: (c) => [FILE, iov(c), 1, SAFE + 64],
  fd_prestat_get: () => [3, SAFE], fd_prestat_dir_name: () => [3, SAFE, 8],
  fd_readdir: () => [3, SAFE, 64, 0n, SAFE + 128], fd_renumber: () => [FILE, PEER],
  fd_seek: () => [FILE, 0n, 0, SAFE], fd_tell: () => [FILE, SAFE],
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
  proc_raise: () => [17 /* chld: ignored */], sched_yield: () => [], random_get: () => [SAFE, 16],
  sock_accept: () => [SOCKET, 0, SAFE], sock_recv: (c) => [SOCKET, iov(c), 1, 0, SAFE, SAFE + 8],
  sock_send: (c) => [SOCKET, iov(c), 1, 0, SAFE], sock_shutdown: () => [SOCKET, 2],
  sendfile: () => [SOCKET, FILE, SAFE, 1n, SAFE + 8], splice: (c) => [FILE, SAFE, c.pipe(true, 0x7800)[1], 0, 1n, 2, SAFE + 16],
  tee: (c) => [c.pipe(true, 0x7800)[0], c.pipe(true, 0x7800)[1], 1n, 2, SAFE], pipe: () => [4, SAFE],
  copy_file_range: (c) => { c.dv.setBigInt64(SAFE + 8, 20n, true); return [FILE, SAFE, FILE, SAFE + 8, 1n, 0, SAFE + 16]; },
  sock_cork: () => [SOCKET, 1], sock_peername: () => [SOCKET, SAFE, 64, SAFE + 64],
  sock_connect: (c) => [...c.str(granted(c), 0x7400), 4, SAFE], sock_error: () => [SOCKET, SAFE],
  pipe_set_size: (c) => [c.pipe(true, 0x7800)[0], 1 << 20, SAFE],
};
/** The address the current world's caller was granted (VALID gets only the caller). */
const granted = (_c: Caller): string => grantedNow;
function iov(c: Caller, buf = SAFE + 0x100, len = 1): number {
  c.dv.setUint32(0x4000, buf, true);
  c.dv.setUint32(0x4004, len, true);
  return 0x4000;
}
function path(c: Caller, s: string, at = Caller.STR): [number, number] { return c.str(s, at); }
/** file.txt opened again, read-write: a second descriptor for the same file. */
function reopen(c: Caller): number {
  const [p, l] = c.str('file.txt', 0x7000);
  assert.is(c.wasi.path_open(3, 0, p, l, 0, RW, 0n, 0, 0x7810), errno.success);
  return c.u32(0x7810);
}
function clockSub(c: Caller): number {
  c.u8.fill(0, 0x5000, 0x5000 + 48);
  c.dv.setUint32(0x5000 + 16, 1, true); // a monotonic clock, timeout 0
  return 0x5000;
}

// ---------------------------------------------------------------------------------------
const tables = suite('the signature table');

tables('covers every import of both modules', () => {
  assert.equal(Object.keys(SIGNATURES.wasi_snapshot_preview1).sort(), [...PREVIEW1_FUNCTIONS].sort());
  inWorld((c) => assert.equal(Object.keys(c.zc).sort(), Object.keys(SIGNATURES.zerocopy).sort()));
  assert.equal(Object.keys(VALID).sort(), FUNCTIONS.map(([, n]) => n).filter((n) => n !== 'proc_exit').sort());
});

/** [name, parameter types] of each `export declare function` in an AssemblyScript bindings file. */
function declared(file: string): Map<string, string[]> {
  const text = readFileSync(join(ROOT, file), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
  const out = new Map<string, string[]>();
  for (const m of text.matchAll(/export declare function (\w+)\(([^)]*)\)/g)) {
    out.set(m[1], m[2].split(',').map((s) => s.trim()).filter(Boolean).map((s) => s.split(':')[1].trim()));
  }
  return out;
}

tables('agrees with the AssemblyScript bindings guests are built against on arity, i64s and descriptors', () => {
  const WIDE = new Set(['u64', 'i64', 'timestamp', 'filesize', 'filedelta', 'rights', 'dircookie', 'userdata', 'device', 'inode']);
  const files: [Module, string][] = [
    ['wasi_snapshot_preview1', 'node_modules/@assemblyscript/wasi-shim/assembly/bindings/wasi_snapshot_preview1.ts'],
    ['zerocopy', 'assembly/zerocopy/bindings.ts'],
  ];
  let compared = 0;
  for (const [module, file] of files) {
    for (const [name, types] of declared(file)) {
      const kinds = kindsOf(module, name);
      assert.is(kinds.length, types.length, `${name}: arity`);
      types.forEach((t, i) => assert.is(kinds[i] === 'I', WIDE.has(t), `${name} parameter ${i} (${t})`));
      if (module === 'wasi_snapshot_preview1') types.forEach((t, i) => assert.is(kinds[i] === 'f', t === 'fd', `${name} parameter ${i}`));
      compared++;
    }
  }
  // The shim predates sock_accept; everything else is declared there.
  assert.ok(compared >= FUNCTIONS.length - 1, `only ${compared} functions compared`);
});

/** What the VALID arguments answer: success, but where Linux itself refuses the call. */
const VALID_ANSWER: Record<string, string> = {
  sock_accept: 'inval', // accept(2) on a connected socket, not a listening one
  tee: 'again',         // tee(2) from an empty pipe, with SPLICE_F_NONBLOCK
};

tables('the valid argument lists are valid, so that one bad argument is what each test below changes', () => {
  for (const [module, name] of FUNCTIONS) {
    if (name === 'proc_exit') continue;
    inWorld((c) => assert.is(errnoName[call(c, module, name, VALID[name](c))], VALID_ANSWER[name] ?? 'success', name));
  }
});

tables.run();

// ---------------------------------------------------------------------------------------
const badf = suite('a descriptor the guest does not hold');

/** 4242 was never opened; 0xffffffff arrives as -1; descriptor 4 was held and closed. */
const NOT_HELD: [string, number, boolean][] = [['4242', 4242, false], ['0xffffffff', 0xffffffff, false], ['just closed', FILE, true]];

for (const [module, name] of FUNCTIONS) {
  kindsOf(module, name).forEach((k, i) => {
    if (k !== 'f') return;
    for (const [what, fd, close] of NOT_HELD) {
      badf(`${name} with descriptor ${what} as argument ${i} is badf`, () => inWorld((c) => {
        const args = VALID[name](c);
        if (close) {
          // The zerocopy calls follow the kernel's order of checks (docs/ABI.md): a socket in
          // place of a file would answer spipe for sendfile's offset before out_fd is looked
          // up, so they get the same file again under another number.
          const other = module === 'zerocopy' ? reopen(c) : SOCKET;
          assert.is(c.wasi.fd_close(FILE), errno.success);
          args.forEach((a, j) => { if (kindsOf(module, name)[j] === 'f' && a === FILE && j !== i) args[j] = other; });
        }
        args[i] = fd;
        assert.is(errnoName[call(c, module, name, args)], 'badf');
      }));
    }
  });
}

badf.run();

// ---------------------------------------------------------------------------------------
const pointers = suite('pointers outside memory');

for (const [module, name] of FUNCTIONS) {
  kindsOf(module, name).forEach((k, i) => {
    if (k !== 'p') return;
    for (const [where, ptr] of [['past the end of memory', END + 16], ['straddling the end of memory', END - 1],
      ['near 4 GiB', 0xfffffff0]] as const) {
      pointers(`${name} with argument ${i} ${where} is fault`, () => inWorld((c, w) => {
        // splice's off_out must name a file side: on a pipe the kernel answers spipe first.
        const args = name === 'splice' && i === 3 ? [c.pipe(true, 0x7800)[0], 0, FILE, 0, 1n, 2, SAFE + 16] : VALID[name](c);
        args[i] = ptr;
        assert.is(errnoName[call(c, module, name, args)], 'fault');
        assert.is(readFileSync(join(w.jail, 'file.txt'), 'utf8'), '0123456789', 'a faulting call changed the file');
      }));
    }
  });
}

const IOV_CALLS = ['fd_pread', 'fd_pwrite', 'fd_read', 'fd_write', 'sock_recv', 'sock_send'];
for (const name of IOV_CALLS) {
  for (const [what, buf, len] of [['wrapping past 4 GiB', 0xfffffff0, 0x20], ['of 4 GiB', SAFE, 0xffffffff],
    ['ending past memory', END - 4, 8]] as const) {
    pointers(`${name} with an iovec ${what} is fault`, () => inWorld((c) => {
      const args = VALID[name](c);
      iov(c, buf, len);
      assert.is(errnoName[call(c, 'wasi_snapshot_preview1', name, args)], 'fault');
    }));
  }
}

pointers.run();

// ---------------------------------------------------------------------------------------
const lengths = suite('lengths that overflow');

/**
 * A buffer the host only writes a short result into (a preopen's name, a peer's address) is
 * checked for what is written, as wasmtime does; an over-long length there is harmless.
 */
const WRITES_ONLY_RESULT = new Set(['fd_prestat_dir_name', 'sock_peername']);

for (const [module, name] of FUNCTIONS) {
  const kinds = kindsOf(module, name);
  kinds.forEach((k, i) => {
    if (k !== 'n') return;
    // null: one byte (or element) more than fits between the pointer and the end of memory.
    for (const [what, len] of [['0xffffffff', 0xffffffff], ['0x80000000', 0x80000000], ['one past memory', null]] as const) {
      const expected = WRITES_ONLY_RESULT.has(name) ? ['success'] : ['fault', 'inval'];
      lengths(`${name} with length ${what} as argument ${i} is ${expected.join(' or ')}`, () => inWorld((c) => {
        const args = VALID[name](c);
        args[i] = len ?? END - (args[i - 1] as number) + 1;
        const e = errnoName[call(c, module, name, args)];
        assert.ok(expected.includes(e), `got ${e}`);
      }));
    }
    lengths(`${name} with a buffer at argument ${i - 1} that wraps past 4 GiB is fault`, () => inWorld((c) => {
      const args = VALID[name](c);
      args[i - 1] = 0xffffff00;
      args[i] = 0x200;
      assert.is(errnoName[call(c, module, name, args)], 'fault');
    }));
  });
}

lengths('64-bit sizes and offsets past 2^63 are answered, never thrown', () => inWorld((c) => {
  assert.is(errnoName[c.wasi.fd_seek(FILE, -(2n ** 63n), 0, SAFE)], 'inval');
  assert.is(errnoName[c.wasi.fd_pread(FILE, iov(c), 1, 2n ** 63n, SAFE)], 'inval', 'an offset past 2^63 is negative to Linux');
  assert.is(errnoName[c.wasi.fd_filestat_set_size(FILE, -1n)], 'inval');
  assert.ok(['inval', 'fbig'].includes(errnoName[c.wasi.fd_allocate(FILE, 2n ** 62n, 2n ** 62n)]));
  assert.is(errnoName[c.wasi.fd_readdir(3, SAFE, 64, -1n, SAFE + 128)], 'inval');
  assert.is(errnoName[c.zc.sendfile(PEER, FILE, 0, 2n ** 63n, SAFE)], 'inval');
  c.dv.setBigInt64(SAFE, -1n, true);
  // Linux answers EINVAL, or EOVERFLOW (copy_file_range(2): a range too large for its type).
  assert.ok(['inval', 'overflow'].includes(errnoName[c.zc.copy_file_range(FILE, SAFE, FILE, 0, 1n, 0, SAFE + 16)]),
    'a negative *off_in');
}));

lengths.run();

// ---------------------------------------------------------------------------------------
const values = suite('values out of range');

const cpuClockOf = (pid: number) => ((~pid) << 3) | 2; // CPUCLOCK_SCHED of a process (posix-timers.h)
const RANGE: [string, (c: Caller) => number, string][] = [
  ['clock_time_get with clock id 4', (c) => c.wasi.clock_time_get(4, 0n, SAFE), 'inval'],
  ['clock_time_get with clock id 0xffffffff', (c) => c.wasi.clock_time_get(0xffffffff, 0n, SAFE), 'inval'],
  ['clock_time_get with the CPU clock id of process 1', (c) => c.wasi.clock_time_get(cpuClockOf(1), 0n, SAFE), 'inval'],
  ['clock_time_get with the CPU clock id of the host process', (c) => c.wasi.clock_time_get(cpuClockOf(process.pid), 0n, SAFE), 'inval'],
  ['clock_res_get with the CPU clock id of process 1', (c) => c.wasi.clock_res_get(cpuClockOf(1), SAFE), 'inval'],
  ['fd_seek with whence 3', (c) => c.wasi.fd_seek(FILE, 0n, 3, SAFE), 'inval'],
  ['fd_seek with whence 0xffffffff', (c) => c.wasi.fd_seek(FILE, 0n, 0xffffffff, SAFE), 'inval'],
  ['fd_advise with advice 6', (c) => c.wasi.fd_advise(FILE, 0n, 1n, 6), 'inval'],
  ['fd_advise with advice 0xffffffff', (c) => c.wasi.fd_advise(FILE, 0n, 1n, 0xffffffff), 'inval'],
  ['fd_filestat_set_times with atim and atim_now', (c) => c.wasi.fd_filestat_set_times(FILE, 0n, 0n, 1 | 2), 'inval'],
  ['fd_filestat_set_times with an unknown flag', (c) => c.wasi.fd_filestat_set_times(FILE, 0n, 0n, 16), 'inval'],
  ['path_filestat_set_times with mtim and mtim_now', (c) => c.wasi.path_filestat_set_times(3, 0, ...path(c, 'file.txt'), 0n, 0n, 4 | 8), 'inval'],
  ['path_open with an unknown oflag', (c) => c.wasi.path_open(3, 0, ...path(c, 'file.txt'), 16, 2n, 0n, 0, SAFE), 'inval'],
  ['fd_fdstat_set_flags with an unknown flag', (c) => c.wasi.fd_fdstat_set_flags(FILE, 32), 'inval'],
  ['fd_fdstat_set_rights adding a right', (c) => c.wasi.fd_fdstat_set_rights(FILE, RW | (1n << 9n), 0n), 'notcapable'],
  ['poll_oneoff with no subscriptions', (c) => c.wasi.poll_oneoff(clockSub(c), SAFE, 0, SAFE + 8), 'inval'],
  ['proc_raise with signal 0', (c) => c.wasi.proc_raise(0), 'inval'],
  ['proc_raise with signal 31, past the enum', (c) => c.wasi.proc_raise(31), 'inval'],
  ['sock_shutdown with how 0', (c) => c.wasi.sock_shutdown(SOCKET, 0), 'inval'],
  ['sock_shutdown with how 4', (c) => c.wasi.sock_shutdown(SOCKET, 4), 'inval'],
  ['sock_recv with an unknown riflag', (c) => c.wasi.sock_recv(SOCKET, iov(c), 1, 4, SAFE, SAFE + 8), 'inval'],
  ['sock_send with a siflag', (c) => c.wasi.sock_send(SOCKET, iov(c), 1, 1, SAFE), 'inval'],
  ['sock_accept with an unknown flag', (c) => c.wasi.sock_accept(SOCKET, 1, SAFE), 'inval'],
  ['pipe with an fdflag other than nonblock', (c) => c.zc.pipe(1, SAFE), 'inval'],
  ['sock_cork with enable 2', (c) => c.zc.sock_cork(SOCKET, 2), 'inval'],
  ['sock_connect with an fdflag other than nonblock', (c) => c.zc.sock_connect(...c.str(granted(c), 0x7400), 1, SAFE), 'inval'],
  ['pipe_set_size with size 0xffffffff', (c) => c.zc.pipe_set_size(c.pipe(true, 0x7800)[0], 0xffffffff, SAFE), 'perm'],
];

for (const [what, op, expected] of RANGE) {
  values(`${what} is ${expected}`, () => inWorld((c) => assert.is(errnoName[op(c)], expected)));
}

values.run();

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

/** Replay another seed with WZC_FUZZ_SEED=<n>. */
const SEED = Number(process.env.WZC_FUZZ_SEED ?? 20261122);
const CALLS = 100_000;
/** Where each path argument of the path_* calls is: [index of its pointer, address to place it]. */
const PATH_ARGS: Record<string, number[]> = {
  path_create_directory: [1], path_filestat_get: [2], path_filestat_set_times: [2], path_link: [2, 5],
  path_open: [2], path_readlink: [1], path_remove_directory: [1], path_rename: [1, 4], path_symlink: [0, 3],
  path_unlink_file: [1],
};
const PATHS = ['file.txt', 'dir', 'dir/', 'dir/x', 'link', 'new', 'new/x', '.', '..', '../canary.txt', 'out',
  'out/canary.txt', 'out/jail/file.txt', 'abs', '/abs', '', 'file.txt/', 'dir/../..', 'a'.repeat(300), 'x\0y'];
const SUBS = 0x6000, EVENTS = 0x6800;
/** proc_exit only throws ProcExit; proc_raise, which the loop calls, takes that path too. */
const CALLABLE = FUNCTIONS.filter(([, n]) => n !== 'proc_exit');

/** A new caller after restoring file.txt, which the random calls may have replaced or grown. */
function freshCaller(w: World): Caller {
  rmSync(join(w.jail, 'file.txt'), { recursive: true, force: true });
  writeFileSync(join(w.jail, 'file.txt'), '0123456789');
  return caller(w);
}

fuzz(`${CALLS} calls with random arguments (seed ${SEED}) all answer an errno, escape nowhere and leak nothing`, () => {
  const rand = prng(SEED);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const small = () => Math.floor(rand() * 64);
  const EDGES = [0, 1, 8, 4096, END - 8, END - 1, END, END + 8, 0x7fffffff, 0x80000000, 0xfffffff0, 0xffffffff];
  const FDS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 4242, 0x7fffffff, 0xffffffff];
  // i64s as a wasm guest can pass them: 2^63 and 2^64 - 1 arrive as -2^63 and -1. No sizes
  // between 1 GiB and 2^62: fd_allocate on tmpfs would really reserve them.
  const I64 = [0n, 1n, 7n, 4096n, 65535n, -1n, -4096n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 63n, 2n ** 64n - 1n];
  const arg = (k: string): unknown => {
    if (k === 'f') return pick(FDS);
    if (k === 'I') return rand() < 0.3 ? BigInt(small()) : pick(I64);
    if (k === 'p') return rand() < 0.6 ? SAFE + Math.floor(rand() * 0x1000) : pick(EDGES);
    return rand() < 0.6 ? small() : pick(EDGES);
  };
  const fdsBefore = openFds();
  const w = world();
  const stats = { calls: 0, exits: 0, results: new Map<number, number>(), perFunction: new Map<string, number>() };
  const internal: string[] = [];
  const write = process.stderr.write;
  // guard.ts reports a host exception once per import on stderr, and answers `io`: catch it.
  process.stderr.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (String(chunk).includes('internal error')) internal.push(String(chunk).split('\n')[0]);
    return (write as any).call(process.stderr, chunk, ...rest);
  }) as typeof process.stderr.write;
  let c: Caller | null = null;
  let outside: string[], canary: string, mtime: number, nlink: number;
  // Every 1000 calls, before the caller is replaced: does any guest descriptor lead to the canary?
  const canaryId = (({ dev, ino }) => `${dev}:${ino}`)(statSync(w.canary, { bigint: true }));
  let heldCanary = 0;
  try {
    c = caller(w);
    for (let i = 0; i < CALLS; i++) {
      if (i % 1000 === 999) {
        for (const [, h] of c.held()) if (h.id === canaryId) heldCanary++;
        c.close();
        c = freshCaller(w);
      }
      const [module, name] = pick(CALLABLE);
      const kinds = kindsOf(module, name);
      const args = kinds.map(arg);
      for (const [j, at] of (PATH_ARGS[name] ?? []).entries()) {
        if (rand() < 0.6) {
          const [p, l] = c.str(pick(PATHS), 0x3000 + j * 0x800);
          args[at] = p;
          args[at + 1] = l;
        }
      }
      // Exclusions, so that no call can wait for ever (the sandbox blocks where Linux would):
      // pipes and sockets stay non-blocking, splice and tee carry SPLICE_F_NONBLOCK (a pipe's
      // O_NONBLOCK does not stop them waiting on older kernels), and poll_oneoff always has a
      // clock of at most 1 ms first, with subscriptions the loop writes afresh.
      if (name === 'pipe') args[0] = 4;
      if (name === 'fd_fdstat_set_flags') args[1] = (args[1] as number) | 4;
      if (name === 'splice' || name === 'tee') args[kinds.lastIndexOf('i')] = (args[kinds.lastIndexOf('i')] as number) | 2;
      if (name === 'poll_oneoff') args.splice(0, 3, ...subscriptions(c, rand, pick, FDS));
      let r: number;
      try {
        r = call(c, module, name, args);
      } catch (e) {
        if (!(e instanceof ProcExit)) throw new Error(`${name}(${args.join(', ')}) threw ${e}`);
        stats.exits++;
        continue;
      }
      assert.ok(Number.isInteger(r) && r >= 0 && r <= 76, `${name}(${args.join(', ')}) returned ${r}`);
      stats.calls++;
      stats.results.set(r, (stats.results.get(r) ?? 0) + 1);
      stats.perFunction.set(name, (stats.perFunction.get(name) ?? 0) + 1);
    }
  } finally {
    c?.close();
    process.stderr.write = write;
    outside = readdirSync(w.top).sort();
    const st = statSync(w.canary, { throwIfNoEntry: false });
    canary = st === undefined ? '(gone)' : readFileSync(w.canary, 'utf8');
    mtime = st?.mtimeMs ?? 0;
    nlink = st?.nlink ?? 0;
    dispose(w);
  }
  const escapes = heldCanary + (canary !== 'SECRET' ? 1 : 0) + (mtime !== w.canaryMtime ? 1 : 0) +
    (nlink !== 1 ? 1 : 0) + (outside.join() !== 'canary.txt,jail' ? 1 : 0);
  console.log(`  fuzz: ${stats.calls + stats.exits} calls (${stats.exits} ended by proc_raise), ` +
    `${stats.results.size} distinct errnos, ${stats.results.get(0) ?? 0} successes, ${escapes} escapes, ` +
    `${internal.length} internal errors`);
  assert.equal(internal, [], 'the host threw');
  assert.is(escapes, 0, `outside: ${outside}, canary ${JSON.stringify(canary)}, nlink ${nlink}`);
  assert.equal(openFds(), fdsBefore, 'a host descriptor leaked');
  assert.ok(stats.results.size > 15, 'the loop exercised few outcomes');
  for (const [, n] of CALLABLE) {
    assert.ok((stats.perFunction.get(n) ?? 0) > 500, `${n} was called only ${stats.perFunction.get(n) ?? 0} times`);
  }
});

/** Up to four subscriptions at SUBS, the first a clock of at most 1 ms; returns [in, out, n]. */
function subscriptions(c: Caller, rand: () => number, pick: <T>(xs: readonly T[]) => T, fds: number[]): number[] {
  const n = 1 + Math.floor(rand() * 4);
  c.u8.fill(0, SUBS, SUBS + 4 * 48);
  for (let i = 0; i < n; i++) {
    const s = SUBS + i * 48;
    c.dv.setBigUint64(s, BigInt(i), true);
    const type = i === 0 ? 0 : Math.floor(rand() * 4); // 3 is no event type: an `inval` event
    c.u8[s + 8] = type;
    if (type === 0) {
      c.dv.setUint32(s + 16, pick([0, 1, 2, 7]), true);                    // realtime, monotonic, CPU, unknown
      c.dv.setBigUint64(s + 24, BigInt(Math.floor(rand() * 1_000_000)), true); // relative, < 1 ms
    } else {
      c.dv.setUint32(s + 16, pick(fds), true);
    }
  }
  // Now and then a bad pointer or count, which must fail before anything waits.
  const r = rand();
  if (r < 0.05) return [pick([END, 0xfffffff0]), EVENTS, n];
  if (r < 0.1) return [SUBS, pick([END - 8, 0xffffffff]), n];
  if (r < 0.15) return [SUBS, EVENTS, pick([0, 0xffffffff, 0x80000000, 6000])];
  return [SUBS, EVENTS, n];
}

fuzz.run();
