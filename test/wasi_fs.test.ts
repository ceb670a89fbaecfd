// The filesystem calls of WASI preview1, through a small AssemblyScript guest that runs one
// call per script line and prints its errno (assembly/guests/fs_script.ts). Each case states
// the expected lines and, where a call changes the host filesystem, what the host then sees.
// WASI errno numbers: busy 10, exist 20, inval 28, isdir 31, noent 44, notdir 54,
// notempty 55, perm 63, notcapable 76; filetypes: directory 3, regular file 4, symlink 7.
import { suite } from './helpers/suite.js';
import * as assert from 'uvu/assert';
import { closeSync, existsSync, lstatSync, mkdirSync, openSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync,
  symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GUESTS, openFds, runGuest, tempDir } from './helpers/guest.js';
import { errno } from '../host/index.js';
import { errnoName, fromLinux } from '../host/sandbox/errno.js';
import * as libc from '../host/native/libc.js';
import { hostPipe } from './helpers/fds.js';
import { Caller } from './helpers/imports.js';

const EINVAL = 22;

const GUEST = join(GUESTS, 'fs_script.wasm');

/** A preopened `root` and, beside it, an `outside` the guest must never reach. */
interface World { root: string; outside: string }

function withWorld(body: (w: World) => void): void {
  const base = tempDir('wzc-fs-');
  const w = { root: join(base, 'root'), outside: join(base, 'outside') };
  mkdirSync(w.root);
  mkdirSync(w.outside);
  try {
    body(w);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

function run(w: World, script: string[]): string[] {
  const r = runGuest(GUEST, { args: [GUEST, ...script], preopens: { '/': w.root } });
  assert.is(r.status, 0, r.stdout + r.stderr);
  assert.is(r.stderr, '');
  return r.stdout.split('\n').filter((l) => l !== '');
}

interface Case {
  name: string;
  setup?: (w: World) => void;
  script: string[];
  /** The lines printed, one per call; a RegExp where a value (a present time) varies. */
  expect: (string | RegExp)[];
  check?: (w: World) => void;
}

function table(s: ReturnType<typeof suite>, cases: Case[]): void {
  for (const c of cases) {
    s(c.name, () => withWorld((w) => {
      c.setup?.(w);
      const lines = run(w, c.script);
      assert.is(lines.length, c.expect.length, lines.join('\n'));
      c.expect.forEach((e, i) => {
        if (typeof e === 'string') assert.is(lines[i], e);
        else assert.match(lines[i], e);
      });
      c.check?.(w);
    }));
  }
}

const file = (w: World, p: string, text = 'x'): void => writeFileSync(join(w.root, p), text);
const dir = (w: World, p: string): void => mkdirSync(join(w.root, p));

// ---------------------------------------------------------------------------------------
const readdir = suite('fd_readdir');

/** Parses `readdir-all ... entries=a:4,b:3` into a name -> type map, checking no duplicates. */
function entries(line: string): Map<string, number> {
  const m = new Map<string, number>();
  const list = line.replace(/^.* entries=/, '');
  for (const e of list === '' ? [] : list.split(',')) {
    const [name, type] = e.split(':');
    assert.not.ok(m.has(name), `${name} listed twice`);
    m.set(name, Number(type));
  }
  return m;
}

readdir('lists . and .. and every entry once, each with its file type', () => withWorld((w) => {
  file(w, 'a.txt');
  dir(w, 'sub');
  symlinkSync('a.txt', join(w.root, 'link'));
  const [open, all] = run(w, ['opendir d .', 'readdir-all d 4096']);
  assert.is(open, 'open d errno=0');
  assert.match(all, /^readdir-all calls=1 /);
  assert.equal([...entries(all)].sort(), [['.', 3], ['..', 3], ['a.txt', 4], ['link', 7], ['sub', 3]]);
}));

readdir('cookies resume across calls whose buffer holds one entry at a time', () => withWorld((w) => {
  const names = Array.from({ length: 60 }, (_, i) => `file.${i}`);
  for (const n of names) file(w, n);
  const [, whole, pieces] = run(w, ['opendir d .', 'readdir-all d 8192', 'readdir-all d 40']);
  assert.equal([...entries(whole).keys()].sort(), ['.', '..', ...names].sort());
  // The same entries in the same order, fetched in many calls resuming from d_next cookies.
  assert.is(pieces.replace(/calls=\d+ /, ''), whole.replace(/calls=\d+ /, ''));
  assert.ok(Number(/calls=(\d+)/.exec(pieces)![1]) > 30, pieces);
}));

readdir('a cookie from an earlier call resumes right after its entry', () => withWorld((w) => {
  for (const n of ['a', 'b', 'c', 'd', 'e']) file(w, n);
  for (const k of [0, 2, 6]) {
    const [, line] = run(w, ['opendir d .', `readdir-resume d ${k}`]);
    const [, all, rest] = /all=(.*) rest=(.*)$/.exec(line)!;
    assert.is(all.split(',').length, 7);
    assert.is(rest, all.split(',').slice(k + 1).join(','), line);
  }
}));

readdir('a full buffer is used to its last byte, the entry cut off there being read again', () => withWorld((w) => {
  file(w, 'abcdefgh');
  const [, first] = run(w, ['opendir d .', 'readdir d 30 0']);
  // 30 bytes: one 24-byte header and the start of its name; no entry is whole yet.
  assert.match(first, /^readdir used=30 entries= next=0$/);
}));

readdir('a file descriptor never holds fd_readdir: notcapable', () => withWorld((w) => {
  file(w, 'f');
  assert.equal(run(w, ['openfile f f', 'readdir f 100 0']), ['open f errno=0', 'readdir errno=76']);
}));

// ---------------------------------------------------------------------------------------
const names = suite('names: mkdir, rmdir, unlink, rename, symlink, link, readlink');

table(names, [
  { name: 'path_create_directory makes a directory, and a second time is exist',
    script: ['mkdir a', 'mkdir a', 'mkdir a/b/', 'mkdir a/.'],
    expect: ['mkdir a errno=0', 'mkdir a errno=20', 'mkdir a/b/ errno=0', 'mkdir a/. errno=20'],
    check: (w) => assert.ok(statSync(join(w.root, 'a', 'b')).isDirectory()) },
  { name: 'path_remove_directory removes an empty directory; notempty, notdir and inval otherwise',
    setup: (w) => { dir(w, 'a'); dir(w, 'a/b'); file(w, 'f'); dir(w, 'e'); },
    script: ['rmdir a', 'rmdir f', 'rmdir f/', 'rmdir a/b/.', 'rmdir a/b/', 'rmdir a', 'rmdir e'],
    expect: ['rmdir a errno=55', 'rmdir f errno=54', 'rmdir f/ errno=54', 'rmdir a/b/. errno=28',
      'rmdir a/b/ errno=0', 'rmdir a errno=0', 'rmdir e errno=0'],
    check: (w) => assert.equal(readdirSync(w.root), ['f']) },
  { name: 'path_unlink_file removes files and symlinks, not what a symlink points to; isdir for a directory',
    setup: (w) => { file(w, 'f'); dir(w, 'd'); symlinkSync('d', join(w.root, 'ld')); },
    script: ['unlink f/', 'unlink f', 'unlink d', 'unlink d/', 'unlink ld', 'unlink f'],
    expect: ['unlink f/ errno=54', 'unlink f errno=0', 'unlink d errno=31', 'unlink d/ errno=31',
      'unlink ld errno=0', 'unlink f errno=44'],
    check: (w) => assert.equal(readdirSync(w.root), ['d']) },
  { name: 'path_rename moves files and directories, replacing a file or an empty directory',
    setup: (w) => { file(w, 'f', 'one'); file(w, 'g', 'two'); dir(w, 'd'); dir(w, 'empty'); dir(w, 'full'); file(w, 'full/x'); },
    script: ['rename f g', 'rename d/ empty/', 'rename empty full', 'rename g empty', 'rename g sub/g'],
    expect: ['rename f g errno=0', 'rename d/ empty/ errno=0', 'rename empty full errno=55',
      'rename g empty errno=31', 'rename g sub/g errno=44'],
    check: (w) => {
      assert.equal(readdirSync(w.root).sort(), ['empty', 'full', 'g']);
      assert.is(readFileSync(join(w.root, 'g'), 'utf8'), 'one');
    } },
  { name: 'path_symlink stores the target verbatim, even one that climbs out; an absolute target is perm',
    script: ['symlink a/b l1', 'symlink ../../x l2', 'symlink /etc l3', 'symlink a l1', 'symlink a nodir/l'],
    expect: ['symlink a/b l1 errno=0', 'symlink ../../x l2 errno=0', 'symlink /etc l3 errno=63',
      'symlink a l1 errno=20', 'symlink a nodir/l errno=44'],
    check: (w) => {
      assert.is(readlinkSync(join(w.root, 'l1')), 'a/b');
      assert.is(readlinkSync(join(w.root, 'l2')), '../../x');
      assert.not.ok(existsSync(join(w.root, 'l3')));
    } },
  { name: 'path_readlink returns the target cut to the buffer, touching nothing after it; inval for a file',
    setup: (w) => { file(w, 'f'); symlinkSync('target', join(w.root, 'l')); },
    script: ['readlink l 10', 'readlink l 3', 'readlink f 10', 'readlink missing 10'],
    expect: ['readlink l 10 errno=0 n=6 text=target after=****', 'readlink l 3 errno=0 n=3 text=tar after=****',
      'readlink f 10 errno=28 n=0 text= after=****', 'readlink missing 10 errno=44 n=0 text= after=****'] },
  { name: 'path_link links a file or the symlink itself; exist for a taken name, perm for a directory',
    setup: (w) => { file(w, 'f', 'data'); symlinkSync('f', join(w.root, 'l')); dir(w, 'd'); },
    script: ['link f h', 'link l hl', 'link f d', 'link d x', 'link d/ x', 'link f y/'],
    expect: ['link f h errno=0', 'link l hl errno=0', 'link f d errno=20', 'link d x errno=63',
      'link d/ x errno=63', 'link f y/ errno=44'],
    check: (w) => {
      assert.is(statSync(join(w.root, 'h')).ino, statSync(join(w.root, 'f')).ino);
      assert.ok(lstatSync(join(w.root, 'hl')).isSymbolicLink());
      assert.is(lstatSync(join(w.root, 'hl')).ino, lstatSync(join(w.root, 'l')).ino);
    } },
  { name: 'path_link with SYMLINK_FOLLOW links the file a symlink resolves to; a dangling one is noent',
    setup: (w) => { file(w, 'f'); symlinkSync('f', join(w.root, 'l')); symlinkSync('gone', join(w.root, 'dangling')); },
    script: ['link l h follow', 'link dangling h2 follow'],
    expect: ['link l h follow errno=0', 'link dangling h2 follow errno=44'],
    check: (w) => {
      assert.ok(lstatSync(join(w.root, 'h')).isFile());
      assert.is(statSync(join(w.root, 'h')).ino, statSync(join(w.root, 'f')).ino);
    } },
  { name: 'empty paths are noent for every call',
    script: ['mkdir <empty>', 'rmdir <empty>', 'unlink <empty>', 'rename <empty> x', 'symlink a <empty>',
      'link <empty> x', 'readlink <empty> 4', 'stat <empty>'],
    expect: ['mkdir <empty> errno=44', 'rmdir <empty> errno=44', 'unlink <empty> errno=44',
      'rename <empty> x errno=44', 'symlink a <empty> errno=44', 'link <empty> x errno=44',
      'readlink <empty> 4 errno=44 n=0 text= after=****', 'stat <empty> errno=44'] },
]);

// ---------------------------------------------------------------------------------------
const beneath = suite('every name is resolved beneath the preopen');

/** Links inside the preopen that lead outside it, relative and absolute. */
function escapes(w: World): void {
  writeFileSync(join(w.outside, 'secret'), 'secret');
  utimesSync(join(w.outside, 'secret'), 1000, 1000);
  symlinkSync('../outside', join(w.root, 'rel'));
  symlinkSync(w.outside, join(w.root, 'abs'));
  symlinkSync(join(w.outside, 'secret'), join(w.root, 'absfile'));
}

function outsideUntouched(w: World): void {
  assert.equal(readdirSync(w.outside), ['secret']);
  const st = statSync(join(w.outside, 'secret'));
  assert.is(st.mtimeMs, 1_000_000);
  assert.is(st.nlink, 1);
  assert.is(readFileSync(join(w.outside, 'secret'), 'utf8'), 'secret');
}

table(beneath, [
  { name: 'absolute paths and .. past the preopen are notcapable for every call',
    setup: escapes,
    script: ['mkdir /x', 'mkdir ../outside/x', 'rmdir ../outside', 'unlink ../outside/secret',
      'rename ../outside/secret s', 'rename absfile ../outside/s2', 'symlink a ../outside/l',
      'link ../outside/secret h', 'readlink ../outside/secret 4', 'stat /', 'settimes .. nofollow 0 0 8'],
    expect: ['mkdir /x errno=76', 'mkdir ../outside/x errno=76', 'rmdir ../outside errno=76',
      'unlink ../outside/secret errno=76', 'rename ../outside/secret s errno=76',
      'rename absfile ../outside/s2 errno=76', 'symlink a ../outside/l errno=76',
      'link ../outside/secret h errno=76', 'readlink ../outside/secret 4 errno=76 n=0 text= after=****',
      'stat / errno=76', 'settimes .. nofollow 0 0 8 errno=76'],
    check: outsideUntouched },
  { name: 'symlinks that lead outside are never followed out, whatever the call',
    setup: escapes,
    script: ['unlink rel/secret', 'unlink abs/secret', 'mkdir rel/x', 'rmdir abs/', 'rename rel/secret s',
      'symlink a abs/l', 'link rel/secret h', 'link absfile h follow', 'link abs/ h', 'link rel/ h',
      'settimes absfile follow 0 0 8', 'settimes rel/secret nofollow 0 0 8', 'stat absfile follow',
      'readlink rel/secret 4'],
    expect: ['unlink rel/secret errno=76', 'unlink abs/secret errno=76', 'mkdir rel/x errno=76',
      'rmdir abs/ errno=54', 'rename rel/secret s errno=76', 'symlink a abs/l errno=76',
      'link rel/secret h errno=76', 'link absfile h follow errno=76', 'link abs/ h errno=76',
      'link rel/ h errno=76', 'settimes absfile follow 0 0 8 errno=76',
      'settimes rel/secret nofollow 0 0 8 errno=76', 'stat absfile follow errno=76',
      'readlink rel/secret 4 errno=76 n=0 text= after=****'],
    check: (w) => {
      outsideUntouched(w);
      assert.equal(readdirSync(w.root).sort(), ['abs', 'absfile', 'rel']);
    } },
  { name: 'the symlinks themselves are entries of the preopen: readable, renamable, removable',
    setup: escapes,
    script: ['readlink rel 64', 'rename rel moved', 'unlink abs', 'unlink absfile'],
    expect: ['readlink rel 64 errno=0 n=10 text=../outside after=****', 'rename rel moved errno=0',
      'unlink abs errno=0', 'unlink absfile errno=0'],
    check: (w) => {
      outsideUntouched(w);
      assert.equal(readdirSync(w.root), ['moved']);
    } },
  { name: 'symlinks that stay inside are followed where the call follows',
    setup: (w) => { dir(w, 'd'); file(w, 'd/f'); symlinkSync('d', join(w.root, 'ld')); symlinkSync('../d/f', join(w.root, 'd/up')); },
    script: ['mkdir ld/sub', 'unlink ld/f', 'stat d/up follow', 'rmdir ld/sub'],
    expect: ['mkdir ld/sub errno=0', 'unlink ld/f errno=0', 'stat d/up follow errno=44', 'rmdir ld/sub errno=0'],
    check: (w) => assert.equal(readdirSync(join(w.root, 'd')), ['up']) },
]);

// ---------------------------------------------------------------------------------------
const times = suite('timestamps and file descriptors');

table(times, [
  { name: 'path_filestat_set_times sets the symlink itself, or with SYMLINK_FOLLOW its target',
    setup: (w) => { file(w, 'f'); utimesSync(join(w.root, 'f'), 100, 100); symlinkSync('f', join(w.root, 'l')); },
    script: ['settimes l nofollow 0 5000000007 4', 'settimes l follow 0 7000000009 4', 'stat l', 'stat f'],
    expect: ['settimes l nofollow 0 5000000007 4 errno=0', 'settimes l follow 0 7000000009 4 errno=0',
      'stat l errno=0 type=7 size=1 nlink=1 mtim=5000000007', 'stat f errno=0 type=4 size=1 nlink=1 mtim=7000000009'] },
  { name: 'a time given both explicitly and as now is inval, and changes nothing',
    setup: (w) => { file(w, 'f'); utimesSync(join(w.root, 'f'), 100, 100); },
    script: ['settimes f nofollow 1 1 3', 'settimes f nofollow 1 1 12', 'settimes f nofollow 1 1 16',
      'openfile h f', 'fsettimes h 1 1 3', 'fsettimes h 1 1 12', 'stat f'],
    expect: ['settimes f nofollow 1 1 3 errno=28', 'settimes f nofollow 1 1 12 errno=28',
      'settimes f nofollow 1 1 16 errno=28', 'open h errno=0', 'fsettimes h 1 1 3 errno=28',
      'fsettimes h 1 1 12 errno=28', 'stat f errno=0 type=4 size=1 nlink=1 mtim=100000000000'] },
  { name: 'fd_filestat_set_times sets one time and leaves the other (UTIME_OMIT)',
    setup: (w) => { file(w, 'f'); utimesSync(join(w.root, 'f'), 100, 200); },
    script: ['openfile h f', 'fsettimes h 0 3000000001 4', 'size h', 'fsettimes h 42 0 1', 'size h'],
    expect: ['open h errno=0', 'fsettimes h 0 3000000001 4 errno=0',
      'size h errno=0 size=1 mtim=3000000001 atim=100000000000', 'fsettimes h 42 0 1 errno=0',
      'size h errno=0 size=1 mtim=3000000001 atim=42'] },
  { name: 'MTIM_NOW sets the modification time to the present',
    setup: (w) => { file(w, 'f'); utimesSync(join(w.root, 'f'), 100, 100); },
    script: ['settimes f nofollow 0 0 8'],
    expect: ['settimes f nofollow 0 0 8 errno=0'],
    check: (w) => assert.ok(Math.abs(statSync(join(w.root, 'f')).mtimeMs - Date.now()) < 60_000) },
  { name: 'fd_allocate grows a file and never shrinks it; fd_advise checks its advice',
    script: ['openfile h f', 'allocate h 0 100', 'allocate h 10 10', 'allocate h 90 20', 'size h',
      'advise h 0 50 0', 'advise h 0 50 4', 'advise h 0 50 6'],
    expect: ['open h errno=0', 'allocate h 0 100 errno=0', 'allocate h 10 10 errno=0', 'allocate h 90 20 errno=0',
      /^size h errno=0 size=110 mtim=\d+ atim=\d+$/, 'advise h 0 50 0 errno=0',
      'advise h 0 50 4 errno=0', 'advise h 0 50 6 errno=28'] },
  { name: 'fd_sync and fd_datasync flush a file; a directory has fd_sync but not fd_datasync',
    script: ['openfile h f', 'sync h', 'datasync h', 'opendir d .', 'sync d', 'datasync d'],
    expect: ['open h errno=0', 'sync h errno=0', 'datasync h errno=0', 'open d errno=0', 'sync d errno=0',
      'datasync d errno=76'] },
  { name: 'fd_renumber moves a descriptor onto another, closing it; both must be open',
    setup: (w) => { file(w, 'a'); dir(w, 'd'); },
    script: ['openfile h a', 'opendir d d', 'renumber h d', 'fdstat h', 'fdstat d', 'renumber d h', 'renumber d d'],
    expect: ['open h errno=0', 'open d errno=0', 'renumber h d errno=0', 'fdstat h errno=8',
      'fdstat d errno=0 type=4', 'renumber d h errno=8', 'renumber d d errno=0'] },
]);

times('no host descriptor is left open after a guest that renumbers, opens and reads directories', () => {
  const before = openFds();
  withWorld((w) => {
    file(w, 'a');
    run(w, ['opendir d .', 'readdir-all d 40', 'openfile h a', 'renumber h d', 'link a b', 'rename b c', 'unlink c']);
  });
  assert.equal(openFds(), before);
});

readdir.run();
names.run();
beneath.run();
times('fd_sync and fd_datasync reach the kernel: a pipe is inval and a file success, as fsync(2) and fdatasync(2) answer natively', () => {
  // A call that returned success without making the system call would pass the file case;
  // the pipe, where Linux answers EINVAL, tells the two apart.
  const c = new Caller();
  const [hostR, hostW] = hostPipe();
  try {
    const [r, w] = c.pipe();
    const dir = tempDir();
    try {
      const sandbox = new Caller({ preopens: { '/': dir } });
      try {
        const [p, n] = sandbox.str('f');
        assert.is(sandbox.wasi.path_open(3, 0, p, n, 1 /* CREAT */, 0x53n /* datasync, read, write, sync */, 0n, 0, Caller.RET), errno.success);
        const f = sandbox.u32(Caller.RET);
        assert.is(sandbox.wasi.fd_sync(f), errno.success);
        assert.is(sandbox.wasi.fd_datasync(f), errno.success);
      } finally { sandbox.close(); }
    } finally { rmSync(dir, { recursive: true, force: true }); }
    for (const [name, call, native] of [['fd_sync', c.wasi.fd_sync, libc.fsync], ['fd_datasync', c.wasi.fd_datasync, libc.fdatasync]] as const) {
      assert.is(native(hostW), -EINVAL, `${name}: natively`);
      assert.is(call(w), errno.inval, `${name} on a pipe's write end`);
      assert.is(call(r), errno.inval, `${name} on a pipe's read end`);
    }
  } finally {
    c.close();
    libc.close(hostR);
    libc.close(hostW);
  }
});

times('path calls hold no host descriptor once they return: a thousand lookups later the process holds what it held', () => {
  // Each lookup opens an O_PATH descriptor (or a directory, for fd_readdir) for the length of
  // one call. Kept until the sandbox closes, they would let a long-running guest make the host
  // hold descriptors in proportion to its calls.
  const dir = tempDir();
  const c = new Caller({ preopens: { '/': dir } });
  try {
    mkdirSync(join(dir, 'd'));
    writeFileSync(join(dir, 'd', 'f'), 'x');
    const [p, n] = c.str('d/f');
    const [q, m] = c.str('d/x', Caller.STR2);
    const call = (e: number, what: string) => assert.is(e, errno.success, what);
    call(c.wasi.path_filestat_get(3, 0, p, n, Caller.RET), 'warm-up');
    const before = openFds();
    for (let i = 0; i < 250; i++) {
      call(c.wasi.path_filestat_get(3, 0, p, n, Caller.RET), 'path_filestat_get');
      call(c.wasi.path_create_directory(3, q, m), 'path_create_directory');
      call(c.wasi.path_remove_directory(3, q, m), 'path_remove_directory');
      call(c.wasi.fd_readdir(3, 0x2000, 256, 0n, Caller.RET), 'fd_readdir');
    }
    assert.equal(openFds(), before);
  } finally {
    c.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

times.run();

// ---------------------------------------------------------------------------------------
// Offsets, differentially: the same steps on the same kind of file, in the sandbox and natively
// through lseek(2), pread(2) and pwrite(2). The official test suite covers some of this too, but
// it is not always present (test/wasi_testsuite.test.ts).
const offsets = suite('fd_seek, fd_tell, fd_pread and fd_pwrite against Linux');

offsets('every whence, a position before the start, and reads and writes at an offset answer as natively', () => {
  const dir = tempDir();
  const [nativePath, guestName] = [join(dir, 'native'), 'guest'];
  writeFileSync(nativePath, '0123456789');
  writeFileSync(join(dir, guestName), '0123456789');
  const nativeFd = openSync(nativePath, 'r+');
  const c = new Caller({ preopens: { '/': dir } });
  try {
    const [p, n] = c.str(guestName);
    const RIGHTS = 0x2n | 0x4n | 0x20n | 0x40n; // fd_read, fd_seek, fd_tell, fd_write
    assert.is(c.wasi.path_open(3, 0, p, n, 0, RIGHTS, 0n, 0, Caller.RET), errno.success);
    const fd = c.u32(Caller.RET);
    const IOV = 0x200, BUF = 0x400;
    const native = (r: number) => (r < 0 ? errnoName[fromLinux(-r)] : String(r));
    const guest = (e: number, value: () => bigint | number) => (e === 0 ? String(value()) : errnoName[e]);
    const iov = (len: number) => { c.dv.setUint32(IOV, BUF, true); c.dv.setUint32(IOV + 4, len, true); };
    const steps: [string, () => string, () => string][] = [];
    for (const [off, whence] of [[3, 0], [2, 1], [-4, 2], [0, 2], [-20, 1], [5, 2], [-1, 0]] as const) {
      steps.push([`seek ${off} ${['SET', 'CUR', 'END'][whence]}`,
        () => native(libc.lseek(nativeFd, BigInt(off), whence)),
        () => guest(c.wasi.fd_seek(fd, BigInt(off), whence, Caller.RET), () => c.dv.getBigUint64(Caller.RET, true))]);
    }
    steps.push(['seek 2 SET', () => native(libc.lseek(nativeFd, 2n, 0)),
      () => guest(c.wasi.fd_seek(fd, 2n, 0, Caller.RET), () => c.dv.getBigUint64(Caller.RET, true))]);
    const buf = Buffer.alloc(16);
    steps.push(['pread 4 at 6', () => { const r = libc.pread(nativeFd, buf, 4, 6n); return `${native(r)} ${buf.subarray(0, Math.max(r, 0))}`; },
      () => { iov(4); return `${guest(c.wasi.fd_pread(fd, IOV, 1, 6n, Caller.RET), () => c.u32(Caller.RET))} ${Buffer.from(c.u8.subarray(BUF, BUF + c.u32(Caller.RET)))}`; }]);
    steps.push(['pwrite AB at 8', () => native(libc.pwrite(nativeFd, Buffer.from('AB'), 2, 8n)),
      () => { c.str('AB', BUF); iov(2); return guest(c.wasi.fd_pwrite(fd, IOV, 1, 8n, Caller.RET), () => c.u32(Caller.RET)); }]);
    steps.push(['tell', () => native(libc.lseek(nativeFd, 0n, 1)),
      () => guest(c.wasi.fd_tell(fd, Caller.RET), () => c.dv.getBigUint64(Caller.RET, true))]);
    const differ = steps.map(([what, n, g]) => [what, n(), g()]).filter(([, a, b]) => a !== b);
    assert.equal(differ, []);
    assert.is(readFileSync(join(dir, guestName), 'utf8'), readFileSync(nativePath, 'utf8'));
    assert.is(readFileSync(nativePath, 'utf8'), '01234567AB', 'the native run itself');
  } finally {
    c.close();
    closeSync(nativeFd);
    rmSync(dir, { recursive: true, force: true });
  }
});

offsets.run();
