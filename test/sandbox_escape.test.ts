// The adversarial sandbox suite: every way out of a preopen we could think of, table-driven.
// Each case gets the errno WASI expects, and a canary planted outside the preopen is checked
// afterwards: same content, same mtime, nothing new beside it, and no descriptor the guest
// got refers to it.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { errno } from '../host/index.js';
import { Caller } from './helpers/imports.js';
import { openFds, tempDir } from './helpers/guest.js';

const FOLLOW = 1;
const PREOPEN = 3;
const READ = 2n | (1n << 21n) /* fd_read, fd_filestat_get */, WRITE = 64n;
const { RET, STR, STR2 } = Caller;

interface World { top: string; jail: string; outside: string; canaryIno: number }

function world(): World {
  const top = tempDir('wzc-esc-');
  const jail = join(top, 'jail'), outside = join(top, 'outside');
  mkdirSync(join(jail, 'sub'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(outside, 'canary.txt'), 'SECRET');
  writeFileSync(join(jail, 'file.txt'), 'inside');
  symlinkSync(join(outside, 'canary.txt'), join(jail, 'abs-out'));
  symlinkSync('../outside/canary.txt', join(jail, 'rel-out'));
  symlinkSync('sub/../../outside/canary.txt', join(jail, 'rel-out-deep'));
  symlinkSync('../outside', join(jail, 'dir-out'));
  symlinkSync(outside, join(jail, 'dir-out-abs'));
  symlinkSync('nowhere', join(jail, 'dangling'));
  symlinkSync('loop-b', join(jail, 'loop-a'));
  symlinkSync('loop-a', join(jail, 'loop-b'));
  symlinkSync('/proc/self/fd', join(jail, 'magic'));
  symlinkSync('/proc/self/root', join(jail, 'proc-root'));
  symlinkSync('/proc/self/cwd', join(jail, 'proc-cwd'));
  return { top, jail, outside, canaryIno: statSync(join(outside, 'canary.txt')).ino };
}

type Op = (c: Caller, w: World) => number;

const open = (path: string, follow = true, rights = READ): Op => (c) => {
  const [p, l] = c.str(path);
  const e = c.wasi.path_open(PREOPEN, follow ? FOLLOW : 0, p, l, 0, rights, 0n, 0, RET);
  return e;
};
const nameOp = (fn: string, path: string): Op => (c) => {
  const [p, l] = c.str(path);
  return c.wasi[fn](PREOPEN, p, l);
};
const twoNames = (fn: 'path_rename' | 'path_link', from: string, to: string, follow = false): Op => (c) => {
  const [p, l] = c.str(from);
  const [q, m] = c.str(to, STR2);
  return fn === 'path_rename'
    ? c.wasi.path_rename(PREOPEN, p, l, PREOPEN, q, m)
    : c.wasi.path_link(PREOPEN, follow ? FOLLOW : 0, p, l, PREOPEN, q, m);
};
const stat = (path: string, follow = true): Op => (c) => {
  const [p, l] = c.str(path);
  return c.wasi.path_filestat_get(PREOPEN, follow ? FOLLOW : 0, p, l, 0x200);
};
const symlink = (target: string, path: string): Op => (c) => {
  const [t, tl] = c.str(target);
  const [p, l] = c.str(path, STR2);
  return c.wasi.path_symlink(t, tl, PREOPEN, p, l);
};
const readlink = (path: string): Op => (c) => {
  const [p, l] = c.str(path);
  return c.wasi.path_readlink(PREOPEN, p, l, 0x400, 256, RET);
};
const setTimes = (path: string, follow = true): Op => (c) => {
  const [p, l] = c.str(path);
  return c.wasi.path_filestat_set_times(PREOPEN, follow ? FOLLOW : 0, p, l, 0n, 0n, 2 | 8 /* ATIM_NOW|MTIM_NOW */);
};
/** Runs two ops; the result is the second's. */
const then = (a: Op, b: Op): Op => (c, w) => { a(c, w); return b(c, w); };

const NUL = 'file.txt\0../outside/canary.txt';
const cases: [string, Op, number[]][] = [
  // .. chains and absolute paths
  ['open through ..', open('../outside/canary.txt'), [errno.notcapable]],
  ['open through a deeper .. chain', open('sub/../../outside/canary.txt'), [errno.notcapable]],
  ['open .. itself', open('..'), [errno.notcapable]],
  ['open an absolute path', open('/etc/passwd'), [errno.notcapable]],
  ['open an absolute path to the canary', open('/../outside/canary.txt'), [errno.notcapable]],
  // symlinks
  ['follow an absolute symlink out', open('abs-out'), [errno.notcapable]],
  ['follow a relative symlink out', open('rel-out'), [errno.notcapable]],
  ['follow a relative symlink out through a subdirectory', open('rel-out-deep'), [errno.notcapable]],
  ['walk through a symlinked directory outside', open('dir-out/canary.txt'), [errno.notcapable]],
  ['walk through an absolute symlinked directory', open('dir-out-abs/canary.txt'), [errno.notcapable]],
  ['open a symlink without following it', open('abs-out', false), [errno.loop]],
  ['follow a dangling symlink', open('dangling'), [errno.noent]],
  ['follow a symlink loop', open('loop-a'), [errno.loop]],
  ['create through a symlink out', (c) => {
    const [p, l] = c.str('dir-out/new.txt');
    return c.wasi.path_open(PREOPEN, FOLLOW, p, l, 1 /* CREAT */, WRITE, 0n, 0, RET);
  }, [errno.notcapable]],
  // magic links
  ['open /proc/self/fd through a symlink', open('magic/0'), [errno.notcapable]],
  ['open /proc/self/root through a symlink', open('proc-root/etc/passwd'), [errno.notcapable]],
  ['open /proc/self/cwd through a symlink', open('proc-cwd'), [errno.notcapable]],
  // malformed names
  ['a NUL byte inside the path', open(NUL), [errno.ilseq]],
  ['a name longer than NAME_MAX', open('a'.repeat(256)), [errno.nametoolong]],
  ['a path longer than PATH_MAX', open('a/'.repeat(2049)), [errno.nametoolong]],
  ['a trailing slash on a file', open('file.txt/'), [errno.notdir]],
  ['an empty path', open(''), [errno.noent]],
  ['invalid UTF-8', (c) => {
    const [p, l] = c.str(new Uint8Array([0x66, 0xff, 0x66]));
    return c.wasi.path_open(PREOPEN, FOLLOW, p, l, 0, READ, 0n, 0, RET);
  }, [errno.ilseq]],
  // stat, readlink, times
  ['stat through ..', stat('../outside/canary.txt'), [errno.notcapable]],
  ['stat through a symlink out', stat('rel-out'), [errno.notcapable]],
  ['readlink outside', readlink('../outside/canary.txt'), [errno.notcapable]],
  ['readlink through a symlinked directory', readlink('dir-out/canary.txt'), [errno.notcapable]],
  ['set times through a symlink out', setTimes('abs-out'), [errno.notcapable]],
  ['set times through a symlinked directory', setTimes('dir-out/canary.txt', false), [errno.notcapable]],
  // names: unlink, mkdir, rmdir
  ['unlink through ..', nameOp('path_unlink_file', '../outside/canary.txt'), [errno.notcapable]],
  ['unlink through a symlinked directory', nameOp('path_unlink_file', 'dir-out/canary.txt'), [errno.notcapable]],
  ['unlink an absolute path', nameOp('path_unlink_file', '/etc/hostname'), [errno.notcapable]],
  ['mkdir through ..', nameOp('path_create_directory', '../outside/new'), [errno.notcapable]],
  ['mkdir through a symlinked directory', nameOp('path_create_directory', 'dir-out/new'), [errno.notcapable]],
  ['rmdir outside', nameOp('path_remove_directory', '../outside'), [errno.notcapable]],
  ['rmdir through a symlink to a directory outside', nameOp('path_remove_directory', 'dir-out'), [errno.notdir]],
  // renames and links with one side outside
  ['rename a file to outside', twoNames('path_rename', 'file.txt', '../outside/moved'), [errno.notcapable]],
  ['rename the canary in', twoNames('path_rename', '../outside/canary.txt', 'stolen'), [errno.notcapable]],
  ['rename the canary in through a symlinked directory', twoNames('path_rename', 'dir-out/canary.txt', 'stolen'), [errno.notcapable]],
  ['rename over the canary through a symlinked directory', twoNames('path_rename', 'file.txt', 'dir-out/canary.txt'), [errno.notcapable]],
  ['hard-link the canary in', twoNames('path_link', '../outside/canary.txt', 'hard'), [errno.notcapable]],
  ['hard-link the canary in by following a symlink', twoNames('path_link', 'abs-out', 'hard', true), [errno.notcapable]],
  ['hard-link a file out', twoNames('path_link', 'file.txt', '../outside/hard'), [errno.notcapable]],
  ['hard-link a file out through a symlinked directory', twoNames('path_link', 'file.txt', 'dir-out/hard'), [errno.notcapable]],
  // symlinks created by the guest
  ['create an absolute symlink', symlink('/etc/passwd', 'newlink'), [errno.perm]],
  ['create a symlink outside', symlink('x', '../outside/newlink'), [errno.notcapable]],
  ['create a climbing symlink, then follow it', then(symlink('../outside/canary.txt', 'climb'), open('climb')), [errno.notcapable]],
  ['unlink a symlink that points out removes only the link', nameOp('path_unlink_file', 'abs-out'), [errno.success]],
];

// ---------------------------------------------------------------------------------------
const escapes = suite('escaping the preopen');
let count = 0;
let fdsBefore: string[] = [];
// Taken when this suite starts, not when the file loads: the runner loads every file first.
escapes.before(() => { fdsBefore = openFds(); });

for (const [name, op, expected] of cases) {
  escapes(`${name}: ${expected.map((e) => Object.keys(errno).find((k) => (errno as any)[k] === e)).join(' or ')}`, () => {
    const w = world();
    const c = new Caller({ preopens: { '/': w.jail } });
    const mtime = statSync(join(w.outside, 'canary.txt')).mtimeMs;
    try {
      const e = op(c, w);
      count++;
      assert.ok(expected.includes(e), `got errno ${e}`);
      if (e === errno.success && name.startsWith('open')) {
        assert.is.not(statAfterOpen(c), w.canaryIno, 'the descriptor refers to the canary');
      }
      assert.is(readFileSync(join(w.outside, 'canary.txt'), 'utf8'), 'SECRET');
      assert.is(statSync(join(w.outside, 'canary.txt')).mtimeMs, mtime);
      assert.equal(readdirSync(w.outside), ['canary.txt']);
    } finally {
      c.close();
      rmSync(w.top, { recursive: true, force: true });
    }
  });
}

function statAfterOpen(c: Caller): number {
  assert.is(c.wasi.fd_filestat_get(c.u32(RET), 0x300), errno.success);
  return Number(c.dv.getBigUint64(0x300 + 8, true));
}

escapes('every case ran and no host descriptor leaked', () => {
  assert.is(count, cases.length);
  assert.equal(openFds(), fdsBefore);
  console.log(`  sandbox escape: ${count} cases, 0 escapes`);
});

escapes.run();

// ---------------------------------------------------------------------------------------
const races = suite('races');

races('a directory swapped for a symlink to outside between lookups never opens the canary', async () => {
  const w = world();
  mkdirSync(join(w.jail, 'race'));
  writeFileSync(join(w.jail, 'race', 'canary.txt'), 'inside');
  symlinkSync(w.outside, join(w.jail, 'race-link'));
  mkdirSync(join(w.jail, 'race-dir'));
  // A child swaps `race` between a real directory and a symlink to outside, as fast as it can.
  const swapper = spawn(process.execPath, ['-e', `
    const fs = require('fs'); const j = ${JSON.stringify(w.jail)};
    const end = Date.now() + 3000;
    while (Date.now() < end) {
      try { fs.renameSync(j + '/race', j + '/race-dir2'); fs.renameSync(j + '/race-link', j + '/race');
            fs.renameSync(j + '/race', j + '/race-link'); fs.renameSync(j + '/race-dir2', j + '/race'); } catch {}
    }`], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 100));
  const c = new Caller({ preopens: { '/': w.jail } });
  const seen = new Map<number, number>();
  try {
    for (let i = 0; i < 3000; i++) {
      const e = open('race/canary.txt')(c, w);
      seen.set(e, (seen.get(e) ?? 0) + 1);
      if (e === errno.success) {
        const fd = c.u32(RET);
        assert.is.not(statAfterOpen(c), w.canaryIno, `opened the canary on try ${i}`);
        c.wasi.fd_close(fd);
      }
    }
  } finally {
    swapper.kill();
    await new Promise((r) => swapper.once('exit', r));
    c.close();
  }
  for (const e of seen.keys()) assert.ok(([errno.success, errno.noent, errno.notcapable] as number[]).includes(e), `errno ${e}`);
  assert.ok((seen.get(errno.notcapable) ?? 0) > 0 && (seen.get(errno.success) ?? 0) > 0,
    `the swap was never caught both ways, so the test proved nothing: ${[...seen]}`);
  assert.is(readFileSync(join(w.outside, 'canary.txt'), 'utf8'), 'SECRET');
  console.log(`  race: 3000 opens while swapping, errnos ${JSON.stringify(Object.fromEntries(seen))}, 0 escapes`);
  rmSync(w.top, { recursive: true, force: true });
});

races.run();
