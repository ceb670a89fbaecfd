// The adversarial sandbox suite: every way out of a preopen we could think of, table-driven,
// each call made through the real import boundary (helpers/imports.ts). Each case expects the
// errno WASI gives, and after each one the world outside the preopen is checked: the canary
// has the same content, mtime, inode and link count, nothing appeared or vanished beside it,
// and every descriptor the guest gained refers to a file inside the preopen (compared by
// st_dev and st_ino of the host descriptor, which atime-free checks cannot fool).
//
// We run as root in CI, so no permission bit stands between a bug and the canary: only the
// sandbox's own capability checks do.
import { suite } from './helpers/suite.js';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import {
  closeSync, lstatSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { errno, errnoName } from '../host/index.js';
import { R } from '../host/sandbox/rights.js';
import { OFLAGS } from '../host/wasi/abi.js';
import { Caller } from './helpers/imports.js';
import { ComponentCaller } from './helpers/component_caller.js';
import { openFds, tempDir } from './helpers/guest.js';

const FOLLOW = 1;
/** The preopen under attack, and /proc/self, preopened too for the magic-link cases. */
const JAIL = 3, PROC = 4;
const READ = BigInt(R.FD_READ | R.FD_FILESTAT_GET);
const WRITE = BigInt(R.FD_READ | R.FD_WRITE | R.FD_FILESTAT_GET | R.FD_FILESTAT_SET_SIZE);
const DIR = BigInt(R.PATH_OPEN | R.FD_READDIR | R.PATH_FILESTAT_GET);
const { RET, STR2 } = Caller;

/**
 * How an escape attempt is refused, which each host answers in its own ABI's words: preview1's
 * `notcapable` (as the prebuilt wasi-testsuite binaries expect), and the WASI 0.2 host's
 * `not-permitted`, which the preview1 adapter turns into `perm`. The table says REFUSED; each
 * host's suite reads it as its own one errno (HOSTS below), never as "either".
 */
const REFUSAL = -1;
const REFUSED: number[] = [REFUSAL];
/** NUL inside a path: `ilseq` (interesting_paths.rs accepts INVAL or ILSEQ; wasmtime and we say ILSEQ). */
const BAD_NAME: number[] = [errno.ilseq];

interface World {
  top: string; jail: string; outside: string; canary: string;
  /** A host descriptor of the canary, held by this process: the target of /proc/self/fd/N. */
  canaryFd: number;
  canaryStat: { ino: bigint; mtimeNs: bigint };
}

function world(): World {
  const top = tempDir('wzc-esc-');
  const jail = join(top, 'jail'), outside = join(top, 'outside'), canary = join(outside, 'canary.txt');
  mkdirSync(join(jail, 'sub'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(canary, 'SECRET');
  writeFileSync(join(jail, 'file.txt'), 'inside');
  const canaryFd = openSync(canary, 'r');
  const links: Record<string, string> = {
    'abs-out': canary, 'rel-out': '../outside/canary.txt', 'rel-out-deep': 'sub/../../outside/canary.txt',
    'dir-out': '../outside', 'dir-out-abs': outside, dangling: 'nowhere',
    'dangling-out': '../outside/new', 'dangling-out-abs': join(outside, 'new'),
    'loop-a': 'loop-b', 'loop-b': 'loop-a', 'self-loop': 'self-loop',
    magic: '/proc/self/fd', 'magic-canary': `/proc/self/fd/${canaryFd}`,
    'proc-root': '/proc/self/root', 'proc-cwd': '/proc/self/cwd',
  };
  for (const [name, target] of Object.entries(links)) symlinkSync(target, join(jail, name));
  const st = statSync(canary, { bigint: true });
  return { top, jail, outside, canary, canaryFd, canaryStat: { ino: st.ino, mtimeNs: st.mtimeNs } };
}

function dispose(w: World): void {
  closeSync(w.canaryFd);
  rmSync(w.top, { recursive: true, force: true });
}

/** "dev:ino" of the preopen and of everything beneath it, symlinks not followed. */
function inodesBeneath(dir: string, into = new Set<string>()): Set<string> {
  const st = lstatSync(dir, { bigint: true });
  into.add(`${st.dev}:${st.ino}`);
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) inodesBeneath(p, into);
    else { const s = lstatSync(p, { bigint: true }); into.add(`${s.dev}:${s.ino}`); }
  }
  return into;
}

/** Every way the world outside was touched, or a guest descriptor leads out of the preopen. */
/** What the cases call: the preview1 imports (Caller), or the component host through them (ComponentCaller). */
type Calls = Pick<Caller, 'wasi' | 'str' | 'u32' | 'held' | 'close'>;
type MakeCaller = (options: { preopens: Record<string, string> }) => Calls;

function breaches(c: Calls, w: World, heldBefore: ReadonlySet<number>, inside = inodesBeneath(w.jail)): string[] {
  const why: string[] = [];
  const st = statSync(w.canary, { throwIfNoEntry: false, bigint: true });
  if (st === undefined) return ['the canary is gone'];
  if (readFileSync(w.canary, 'utf8') !== 'SECRET') why.push('the canary was written');
  if (st.mtimeNs !== w.canaryStat.mtimeNs) why.push('the canary\'s mtime changed');
  if (st.ino !== w.canaryStat.ino) why.push('the canary was replaced');
  if (st.nlink !== 1n) why.push(`the canary has ${st.nlink} links`);
  const out = readdirSync(w.outside), tops = readdirSync(w.top).sort();
  if (out.length !== 1) why.push(`outside holds ${JSON.stringify(out)}`);
  if (tops.join() !== 'jail,outside') why.push(`the parent holds ${JSON.stringify(tops)}`);
  for (const [fd, h] of c.held()) {
    if (!heldBefore.has(fd) && h.isFileOrDir && !inside.has(h.id)) why.push(`guest descriptor ${fd} is outside the preopen`);
  }
  return why;
}

// --- operations, each returning the errno of its last call -------------------------------

type Op = (c: Calls, w: World) => number;
type Path = string | ((w: World) => string);
const p = (path: Path, w: World): string => (typeof path === 'string' ? path : path(w));

interface OpenHow { follow?: boolean; oflags?: number; rights?: bigint; dir?: number }
const open = (path: Path, { follow = true, oflags = 0, rights = READ, dir = JAIL }: OpenHow = {}): Op => (c, w) => {
  const [a, l] = c.str(p(path, w));
  return c.wasi.path_open(dir, follow ? FOLLOW : 0, a, l, oflags, rights, rights, 0, RET);
};
const stat = (path: Path, follow = true, dir = JAIL): Op => (c, w) => {
  const [a, l] = c.str(p(path, w));
  return c.wasi.path_filestat_get(dir, follow ? FOLLOW : 0, a, l, 0x200);
};
const setTimes = (path: Path, follow = true, dir = JAIL): Op => (c, w) => {
  const [a, l] = c.str(p(path, w));
  return c.wasi.path_filestat_set_times(dir, follow ? FOLLOW : 0, a, l, 0n, 0n, 2 | 8 /* ATIM_NOW | MTIM_NOW */);
};
const readlink = (path: Path): Op => (c, w) => {
  const [a, l] = c.str(p(path, w));
  return c.wasi.path_readlink(JAIL, a, l, 0x400, 256, RET);
};
const named = (fn: 'path_create_directory' | 'path_remove_directory' | 'path_unlink_file', path: Path): Op => (c, w) => {
  const [a, l] = c.str(p(path, w));
  return c.wasi[fn](JAIL, a, l);
};
const mkdir = (path: Path) => named('path_create_directory', path);
const rmdir = (path: Path) => named('path_remove_directory', path);
const unlink = (path: Path) => named('path_unlink_file', path);
const rename = (from: Path, to: Path): Op => (c, w) => {
  const [a, l] = c.str(p(from, w)), [b, m] = c.str(p(to, w), STR2);
  return c.wasi.path_rename(JAIL, a, l, JAIL, b, m);
};
const link = (from: Path, to: Path, follow = false, fromDir = JAIL): Op => (c, w) => {
  const [a, l] = c.str(p(from, w)), [b, m] = c.str(p(to, w), STR2);
  return c.wasi.path_link(fromDir, follow ? FOLLOW : 0, a, l, JAIL, b, m);
};
const symlink = (target: Path, path: Path): Op => (c, w) => {
  const [t, tl] = c.str(p(target, w)), [a, l] = c.str(p(path, w), STR2);
  return c.wasi.path_symlink(t, tl, JAIL, a, l);
};
/** Setup steps that must succeed, then the step under test. */
const seq = (...ops: Op[]): Op => (c, w) => {
  for (const op of ops.slice(0, -1)) {
    const e = op(c, w);
    if (e !== errno.success) throw new Error(`a setup step failed with ${errnoName[e]}`);
  }
  return ops[ops.length - 1](c, w);
};
/** Opens `sub` as a directory, then `path` beneath that new descriptor. */
const fromSub = (path: string): Op => (c, w) => {
  assert.is(open('sub', { oflags: OFLAGS.DIRECTORY, rights: DIR })(c, w), errno.success);
  return open(path, { dir: c.u32(RET) })(c, w);
};
const magic = (w: World) => `fd/${w.canaryFd}`;
const abs = (rel: string) => (w: World) => join(w.top, rel);
const NUL = 'file.txt\0../outside/canary.txt';

const cases: [string, Op, number[]][] = [
  // `..` chains and absolute paths
  ['open ../outside/canary.txt', open('../outside/canary.txt'), REFUSED],
  ['open through a deeper .. chain', open('sub/../../outside/canary.txt'), REFUSED],
  ['open .. itself', open('..', { oflags: OFLAGS.DIRECTORY, rights: DIR }), REFUSED],
  ['open sub/../.. as a directory', open('sub/../..', { oflags: OFLAGS.DIRECTORY, rights: DIR }), REFUSED],
  ['open forty .. past the root', open(`sub/${'../'.repeat(40)}etc/passwd`), REFUSED],
  ['open an absolute path', open('/etc/passwd'), REFUSED],
  ['open / itself', open('/', { oflags: OFLAGS.DIRECTORY, rights: DIR }), REFUSED],
  ['open the canary by its absolute host path', open(abs('outside/canary.txt')), REFUSED],
  ['a subdirectory\'s descriptor is confined to it: ../file.txt beneath it', fromSub('../file.txt'), REFUSED],
  ['create ../outside/new', open('../outside/new', { oflags: OFLAGS.CREAT, rights: WRITE }), REFUSED],
  ['truncate ../outside/canary.txt', open('../outside/canary.txt', { oflags: OFLAGS.TRUNC, rights: WRITE }), REFUSED],
  ['stat ../outside/canary.txt', stat('../outside/canary.txt'), REFUSED],
  ['stat an absolute path', stat('/etc'), REFUSED],
  ['set times on ../outside/canary.txt', setTimes('../outside/canary.txt'), REFUSED],
  ['readlink ../outside/anything', readlink('../outside/canary.txt'), REFUSED],
  ['mkdir ../outside/new', mkdir('../outside/new'), REFUSED],
  ['mkdir at an absolute host path', mkdir(abs('outside/new')), REFUSED],
  ['rmdir ../outside', rmdir('../outside'), REFUSED],
  ['rmdir sub/../../outside', rmdir('sub/../../outside'), REFUSED],
  ['unlink ../outside/canary.txt', unlink('../outside/canary.txt'), REFUSED],
  ['unlink the canary by its absolute host path', unlink(abs('outside/canary.txt')), REFUSED],
  // symlinks out: absolute, relative, through directories, dangling, looping
  ['follow an absolute symlink out', open('abs-out'), REFUSED],
  ['follow a relative symlink out', open('rel-out'), REFUSED],
  ['follow a relative symlink out through a subdirectory', open('rel-out-deep'), REFUSED],
  ['walk through a relative symlinked directory', open('dir-out/canary.txt'), REFUSED],
  ['walk through an absolute symlinked directory', open('dir-out-abs/canary.txt'), REFUSED],
  ['open a symlinked directory outside as a directory', open('dir-out', { oflags: OFLAGS.DIRECTORY, rights: DIR }), REFUSED],
  ['open a symlink out without following it', open('abs-out', { follow: false }), [errno.loop]],
  ['a trailing slash follows a symlink even without SYMLINK_FOLLOW', open('dir-out/', { follow: false, rights: DIR }),
    REFUSED],
  ['follow a dangling symlink', open('dangling'), [errno.noent]],
  ['follow a dangling symlink out', open('dangling-out'), REFUSED],
  ['create through a dangling relative symlink out', open('dangling-out', { oflags: OFLAGS.CREAT, rights: WRITE }), REFUSED],
  ['create through a dangling absolute symlink out', open('dangling-out-abs', { oflags: OFLAGS.CREAT, rights: WRITE }), REFUSED],
  ['create exclusively through a dangling symlink out: O_EXCL never follows',
    open('dangling-out', { oflags: OFLAGS.CREAT | OFLAGS.EXCL, rights: WRITE }), [errno.exist]],
  ['create through a symlinked directory out', open('dir-out/new', { oflags: OFLAGS.CREAT, rights: WRITE }), REFUSED],
  ['truncate through a symlink out', open('abs-out', { oflags: OFLAGS.TRUNC, rights: WRITE }), REFUSED],
  ['follow a symlink loop', open('loop-a'), [errno.loop]],
  ['follow a symlink to itself', open('self-loop'), [errno.loop]],
  ['stat through a symlink out', stat('rel-out'), REFUSED],
  ['stat a symlink out without following it is allowed', stat('rel-out', false), [errno.success]],
  ['stat through a symlinked directory, not following the last component', stat('dir-out/canary.txt', false), REFUSED],
  ['set times through a symlink out', setTimes('abs-out'), REFUSED],
  ['set times through a symlinked directory', setTimes('dir-out/canary.txt', false), REFUSED],
  ['set the times of a symlink out itself touches only the link', setTimes('rel-out', false), [errno.success]],
  ['readlink through a symlinked directory', readlink('dir-out/canary.txt'), REFUSED],
  ['readlink of a symlink out reads only its text', readlink('abs-out'), [errno.success]],
  // magic links: through absolute symlinks in the preopen, and beneath a preopened /proc/self
  ['open /proc/self/fd/N through a symlink', open('magic-canary'), REFUSED],
  ['open /proc/self/fd through a symlink', open((w) => `magic/${w.canaryFd}`), REFUSED],
  ['open /proc/self/root through a symlink', open('proc-root/etc/passwd'), REFUSED],
  ['open /proc/self/cwd through a symlink', open('proc-cwd', { rights: DIR }), REFUSED],
  ['open fd/N beneath /proc/self', open(magic, { dir: PROC }), [errno.loop]],
  ['open fd/N beneath /proc/self without following', open(magic, { dir: PROC, follow: false }), [errno.loop]],
  ['truncate fd/N beneath /proc/self', open(magic, { dir: PROC, oflags: OFLAGS.TRUNC, rights: WRITE }), [errno.loop]],
  ['open root/etc/passwd beneath /proc/self', open('root/etc/passwd', { dir: PROC }), [errno.loop]],
  ['open cwd beneath /proc/self', open('cwd', { dir: PROC, rights: DIR }), [errno.loop]],
  ['open exe beneath /proc/self', open('exe', { dir: PROC }), [errno.loop]],
  ['stat fd/N beneath /proc/self', stat(magic, true, PROC), [errno.loop]],
  ['set times on fd/N beneath /proc/self', setTimes(magic, true, PROC), [errno.loop]],
  ['hard-link fd/N beneath /proc/self into the preopen', link(magic, 'stolen', true, PROC), [errno.loop]],
  // malformed names
  ['a NUL byte inside the path', open(NUL), BAD_NAME],
  ['a NUL byte after a symlink out', open('abs-out\0'), BAD_NAME],
  ['a NUL byte in a name to create', mkdir('new\0../../outside/x'), BAD_NAME],
  ['a NUL byte in a name to unlink', unlink('file.txt\0'), BAD_NAME],
  ['a NUL byte in a symlink\'s target', symlink('x\0/etc', 'l'), BAD_NAME],
  ['a NUL byte in a rename\'s new name', rename('file.txt', 'x\0../outside/y'), BAD_NAME],
  ['invalid UTF-8', (c) => {
    const [a, l] = c.str(new Uint8Array([0x66, 0xff, 0x66]));
    return c.wasi.path_open(JAIL, FOLLOW, a, l, 0, READ, 0n, 0, RET);
  }, [errno.ilseq]],
  ['a name of NAME_MAX bytes is only missing', open('a'.repeat(255)), [errno.noent]],
  ['a name of NAME_MAX + 1 bytes', open('a'.repeat(256)), [errno.nametoolong]],
  ['mkdir a name of NAME_MAX + 1 bytes', mkdir('a'.repeat(256)), [errno.nametoolong]],
  ['rename to a name of NAME_MAX + 1 bytes', rename('file.txt', 'a'.repeat(256)), [errno.nametoolong]],
  ['a path of PATH_MAX - 1 bytes is only missing', open(`${'a/'.repeat(2047)}a`), [errno.noent]],
  ['a path of PATH_MAX + 1 bytes', open(`${'a/'.repeat(2048)}a`), [errno.nametoolong]],
  ['unlink a path of PATH_MAX + 1 bytes', unlink(`${'a/'.repeat(2048)}a`), [errno.nametoolong]],
  ['a symlink target of PATH_MAX + 1 bytes', symlink(`${'a/'.repeat(2048)}a`, 'l'), [errno.nametoolong]],
  ['an empty path', open(''), [errno.noent]],
  ['mkdir an empty path', mkdir(''), [errno.noent]],
  ['unlink an empty path', unlink(''), [errno.noent]],
  // trailing slashes
  ['a trailing slash on a file', open('file.txt/'), [errno.notdir]],
  ['trailing slashes on a file', open('file.txt///'), [errno.notdir]],
  ['stat a file with a trailing slash', stat('file.txt/'), [errno.notdir]],
  ['unlink a file with a trailing slash', unlink('file.txt/'), [errno.notdir]],
  // unlinkat(2) does not follow the last component: the symlink itself is not a directory.
  ['unlink a symlink out with a trailing slash', unlink('dir-out/'), [errno.notdir]],
  ['rmdir a symlink out with a trailing slash', rmdir('dir-out/'), [errno.notdir]],
  ['rename a symlink out with a trailing slash', rename('dir-out/', 'moved'), [errno.notdir]],
  ['mkdir over a symlink out with a trailing slash', mkdir('dir-out/'), [errno.exist]],
  ['mkdir over a dangling symlink out with a trailing slash', mkdir('dangling-out/'), [errno.exist]],
  ['symlink over a dangling symlink out with a trailing slash', symlink('x', 'dangling-out/'),
    [errno.exist]],
  ['hard-link onto a dangling symlink out with a trailing slash', link('file.txt', 'dangling-out/'),
    [errno.exist]],
  // renames and links with one side outside
  ['rename a file to outside', rename('file.txt', '../outside/moved'), REFUSED],
  ['rename a directory to outside', rename('sub', '../outside/sub'), REFUSED],
  ['rename the canary in', rename('../outside/canary.txt', 'stolen'), REFUSED],
  ['rename the canary in through a symlinked directory', rename('dir-out/canary.txt', 'stolen'), REFUSED],
  ['rename over the canary through a symlinked directory', rename('file.txt', 'dir-out/canary.txt'), REFUSED],
  ['rename over the canary through an absolute symlinked directory', rename('file.txt', 'dir-out-abs/canary.txt'), REFUSED],
  ['rename the preopen itself', rename('.', 'moved'), [errno.busy]],
  ['rename the preopen\'s parent', rename('..', 'moved'), [errno.busy]],
  ['rename a symlink out moves only the link, and it still leads nowhere',
    seq(rename('dir-out', 'renamed'), open('renamed/canary.txt')), REFUSED],
  ['rmdir the preopen\'s parent', rmdir('..'), [errno.notempty]],
  ['unlink the preopen\'s parent', unlink('..'), [errno.isdir]],
  ['hard-link the canary in', link('../outside/canary.txt', 'hard'), REFUSED],
  ['hard-link the canary in by following an absolute symlink', link('abs-out', 'hard', true), REFUSED],
  ['hard-link the canary in by following a relative symlink', link('rel-out', 'hard', true), REFUSED],
  ['hard-link the canary in through a symlinked directory', link('dir-out/canary.txt', 'hard'), REFUSED],
  ['hard-link a file out', link('file.txt', '../outside/hard'), REFUSED],
  ['hard-link a file out through a symlinked directory', link('file.txt', 'dir-out/hard'), REFUSED],
  ['hard-link the preopen\'s parent', link('..', 'hard'), REFUSED],
  ['hard-link a symlink out links the link, which still leads nowhere', seq(link('abs-out', 'hl'), open('hl')), REFUSED],
  // symlinks the guest creates
  ['create an absolute symlink', symlink('/etc/passwd', 'newlink'), [errno.perm]],
  ['create a symlink outside', symlink('x', '../outside/newlink'), REFUSED],
  ['create a symlink through a symlinked directory', symlink('x', 'dir-out/newlink'), REFUSED],
  ['create a climbing symlink, then follow it', seq(symlink('../outside/canary.txt', 'climb'), open('climb')), REFUSED],
  ['create a symlink to .., then walk through it', seq(symlink('..', 'up'), open('up/outside/canary.txt')), REFUSED],
  ['create a symlink deep inside that climbs out, then walk through it',
    seq(symlink('../..', 'sub/up'), open('sub/up/outside/canary.txt')), REFUSED],
  ['mkdir through a created climbing symlink', seq(symlink('../outside', 'climb'), mkdir('climb/x')), REFUSED],
  ['unlink through a created climbing symlink', seq(symlink('../outside', 'climb'), unlink('climb/canary.txt')), REFUSED],
  ['rename through a created climbing symlink', seq(symlink('../outside', 'climb'), rename('climb/canary.txt', 'x')), REFUSED],
  ['set times through a created climbing symlink', seq(symlink('../outside', 'climb'), setTimes('climb/canary.txt')), REFUSED],
  ['truncate through a created climbing symlink',
    seq(symlink('../outside', 'climb'), open('climb/canary.txt', { oflags: OFLAGS.TRUNC, rights: WRITE })), REFUSED],
  ['hard-link through a created climbing symlink', seq(symlink('../outside/canary.txt', 'climb'), link('climb', 'h', true)), REFUSED],
  ['unlink a symlink out removes only the link', unlink('abs-out'), [errno.success]],
  ['rmdir a symlink to a directory outside', rmdir('dir-out'), [errno.notdir]],
];

// Both hosts face the same table and races: preview1's imports, and the WASI 0.2 host that
// components reach (each call as the preview1 adapter makes it; see helpers/component_caller.ts).
const HOSTS: [label: string, make: MakeCaller, refusal: number][] = [
  ['', (o) => new Caller(o), errno.notcapable],
  [' (component host)', (o) => new ComponentCaller(o), errno.perm],
];

const racesToRun: { run(): void }[] = [];
for (const [label, make, refusal] of HOSTS) {
  const refused = (list: number[]): number[] => list.map((e) => (e === REFUSAL ? refusal : e));
  // ---------------------------------------------------------------------------------------
  const escapes = suite(`escaping the preopen${label}`);
  const tally = { cases: 0, escapes: 0 };
  let fdsBefore: string[] = [];
  // Taken when this suite starts, not when the file loads: the runner loads every file first.
  escapes.before(() => { fdsBefore = openFds(); });

  for (const [name, op, table] of cases) {
    const expected = refused(table);
    escapes(`${name}: ${expected.map((e) => errnoName[e]).join(' or ')}`, () => {
      const w = world();
      const c = make({ preopens: { '/': w.jail, '/proc': '/proc/self' } });
      try {
        const heldBefore = new Set(c.held().keys());
        assert.equal([...heldBefore], [JAIL, PROC]);
        const e = op(c, w);
        tally.cases++;
        const why = breaches(c, w, heldBefore);
        if (why.length > 0) tally.escapes++;
        assert.equal(why, [], 'escaped');
        assert.ok(expected.includes(e), `got ${errnoName[e]}`);
      } finally {
        c.close();
        dispose(w);
      }
    });
  }

  escapes('every case ran, none escaped, and no host descriptor leaked', () => {
    console.log(`  sandbox escape${label}: ${tally.cases} cases, ${tally.escapes} escapes`);
    assert.is(tally.cases, cases.length);
    assert.is(tally.escapes, 0);
    assert.equal(openFds(), fdsBefore);
  });

  escapes.run();

  // ---------------------------------------------------------------------------------------
  // Races: another process renames things beneath the preopen while the guest resolves paths
  // through them, so that a host checking a path and then using it (a TOCTOU) would be caught
  // between the two. Each child says when it has started, then runs for RACE_MS; the guest
  // loops for as long, so that a slow start on a busy machine cannot leave the race empty.
  const races = suite(`races${label}`);
  const RACE_MS = 1200;
  /** The world of the race under way, removed after it whether it passed or not. */
  let raceWorldNow: World | null = null;
  races.after.each(() => {
    if (raceWorldNow !== null) dispose(raceWorldNow);
    raceWorldNow = null;
  });

  /**
   * Starts a Node child running `body` in a loop for RACE_MS, and resolves once it is running,
   * with a promise of its exit (wrapped: an async function would wait for a returned promise).
   */
  async function racer(body: string, vars: Record<string, string>): Promise<{ exited: Promise<void> }> {
    const child = spawn(process.execPath, ['-e', `
      const fs = require('fs'); const v = ${JSON.stringify(vars)};
      process.stdout.write('go');
      const end = Date.now() + ${RACE_MS};
      while (Date.now() < end) { try { ${body} } catch {} }`], { stdio: ['ignore', 'pipe', 'ignore'] });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      child.stdout!.once('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`the racing child exited (${code}) before it started`)));
    });
    return { exited };
  }

  function tallyErrno(seen: Map<string, Map<number, number>>, what: string, e: number): void {
    const m = seen.get(what) ?? new Map<number, number>();
    m.set(e, (m.get(e) ?? 0) + 1);
    seen.set(what, m);
  }
  const show = (seen: Map<string, Map<number, number>>) => JSON.stringify(Object.fromEntries(
    [...seen].map(([k, m]) => [k, Object.fromEntries([...m].map(([e, n]) => [errnoName[e], n]))])));

  /** Swaps jail/race between a real directory and a symlink to outside, four renames a turn. */
  const SWAP = `fs.renameSync(v.j + '/race', v.j + '/race-dir2'); fs.renameSync(v.j + '/race-link', v.j + '/race');
    fs.renameSync(v.j + '/race', v.j + '/race-link'); fs.renameSync(v.j + '/race-dir2', v.j + '/race');`;

  function raceWorld(): World {
    const w = world();
    raceWorldNow = w;
    mkdirSync(join(w.jail, 'race'));
    writeFileSync(join(w.jail, 'race', 'canary.txt'), 'decoy');
    symlinkSync(w.outside, join(w.jail, 'race-link'));
    return w;
  }

  races('opening through a directory swapped for a symlink to outside never reaches the canary', async () => {
    const w = raceWorld();
    const inside = inodesBeneath(w.jail); // taken before the child renames anything
    const { exited: done } = await racer(SWAP, { j: w.jail });
    const deadline = Date.now() + RACE_MS;
    const c = make({ preopens: { '/': w.jail } });
    const seen = new Map<string, Map<number, number>>();
    let why: string[] = [];
    try {
      while (Date.now() < deadline && why.length === 0) {
        const e = open('race/canary.txt')(c, w);
        tallyErrno(seen, 'open', e);
        why = breaches(c, w, new Set([JAIL]), inside);
        if (e === errno.success) c.wasi.fd_close(c.u32(RET));
      }
    } finally {
      await done;
      c.close();
    }
    why.push(...breaches(c, w, new Set([JAIL]), inside));
    console.log(`  race (open): ${show(seen)}, ${why.length} escapes`);
    assert.equal(why, [], 'escaped');
    const opens = seen.get('open')!;
    for (const e of opens.keys()) assert.ok([errno.success, errno.noent, refusal].includes(e), errnoName[e]);
    assert.ok((opens.get(errno.success) ?? 0) > 0 && opens.has(refusal),
      `the swap was never caught both ways, so the race proved nothing: ${show(seen)}`);
  });

  races('creating, removing, renaming and linking through a swapped directory never touch outside', async () => {
    const w = raceWorld();
    // Walking the tree while the child renames in it could fail; between turns the guest holds
    // only the preopen, so the set taken before the race serves.
    const inside = inodesBeneath(w.jail);
    const { exited: done } = await racer(SWAP, { j: w.jail });
    const deadline = Date.now() + RACE_MS;
    const c = make({ preopens: { '/': w.jail } });
    const ops: [string, Op][] = [
      ['create', (cc, ww) => {
        const e = open('race/new.txt', { oflags: OFLAGS.CREAT, rights: WRITE })(cc, ww);
        if (e === errno.success) cc.wasi.fd_close(cc.u32(RET));
        return e;
      }],
      ['unlink', unlink('race/new.txt')],
      ['mkdir', mkdir('race/d')], ['rmdir', rmdir('race/d')],
      ['symlink', symlink('x', 'race/s')], ['unlink symlink', unlink('race/s')],
      ['link', link('race/canary.txt', 'race/hl')], ['unlink link', unlink('race/hl')],
      ['rename', rename('race/canary.txt', 'race/canary2.txt')], ['rename back', rename('race/canary2.txt', 'race/canary.txt')],
      ['set times', setTimes('race/canary.txt')],
    ];
    const seen = new Map<string, Map<number, number>>();
    let why: string[] = [];
    try {
      while (Date.now() < deadline && why.length === 0) {
        for (const [what, op] of ops) tallyErrno(seen, what, op(c, w));
        why = breaches(c, w, new Set([JAIL]), inside);
      }
    } finally {
      await done;
      c.close();
    }
    why.push(...breaches(c, w, new Set([JAIL]), inside));
    console.log(`  race (names): ${show(seen)}, ${why.length} escapes`);
    assert.equal(why, [], 'escaped');
    assert.equal([...seen.keys()], ops.map(([what]) => what), 'every operation ran (a loop that never ran proves nothing)');
    for (const [what, m] of seen) {
      assert.ok(m.has(refusal), `${what} never met the symlink, so the race proved nothing: ${show(seen)}`);
    }
  });

  races('a symlink retargeted outside between resolving and using it is never followed out', async () => {
    const w = raceWorld();
    symlinkSync('file.txt', join(w.jail, 'flip'));
    const inside = inodesBeneath(w.jail);
    // Each turn points `flip` at file.txt, then at the canary, each time by an atomic rename.
    const { exited: done } = await racer(`fs.symlinkSync('file.txt', v.j + '/flip.tmp'); fs.renameSync(v.j + '/flip.tmp', v.j + '/flip');
      fs.symlinkSync('../outside/canary.txt', v.j + '/flip.tmp'); fs.renameSync(v.j + '/flip.tmp', v.j + '/flip');`,
    { j: w.jail });
    const deadline = Date.now() + RACE_MS;
    const c = make({ preopens: { '/': w.jail } });
    const ops: [string, Op][] = [
      ['link', link('flip', 'hl', true)], ['unlink link', unlink('hl')], ['open', open('flip', { rights: WRITE })],
      ['set times', setTimes('flip')], ['stat', stat('flip')],
    ];
    const seen = new Map<string, Map<number, number>>();
    const why: string[] = [];
    try {
      while (Date.now() < deadline && why.length === 0) {
        for (const [what, op] of ops) {
          const e = op(c, w);
          tallyErrno(seen, what, e);
          // Checked after each call: the next one (unlink, close) would remove the evidence.
          why.push(...breaches(c, w, new Set([JAIL]), inside));
          if (what === 'open' && e === errno.success) c.wasi.fd_close(c.u32(RET));
        }
      }
    } finally {
      await done;
      c.close();
    }
    why.push(...breaches(c, w, new Set([JAIL]), inside));
    console.log(`  race (symlink): ${show(seen)}, ${why.length} escapes`);
    assert.equal(why, [], 'escaped');
    assert.equal([...seen.keys()], ops.map(([what]) => what), 'every operation ran (a loop that never ran proves nothing)');
    for (const [what, m] of seen) {
      if (what === 'unlink link') continue;
      assert.ok((m.get(errno.success) ?? 0) > 0 && m.has(refusal),
        `${what} never met both targets, so the race proved nothing: ${show(seen)}`);
    }
  });

  races('a directory moved out of the preopen during a lookup never lets .. climb out', async () => {
    const w = raceWorld();
    mkdirSync(join(w.jail, 'mv', 'deep'), { recursive: true });
    writeFileSync(join(w.jail, 'canary.txt'), 'decoy');
    // Each turn ends with mv back inside, so the world is whole again when the child exits.
    const { exited: done } = await racer(`fs.renameSync(v.j + '/mv', v.o + '/mv'); fs.renameSync(v.o + '/mv', v.j + '/mv');`,
      { j: w.jail, o: w.outside });
    const deadline = Date.now() + RACE_MS;
    const c = make({ preopens: { '/': w.jail } });
    const canary = `${statSync(w.canary).dev}:${statSync(w.canary).ino}`;
    const outsideDir = `${statSync(w.outside).dev}:${statSync(w.outside).ino}`;
    const seen = new Map<string, Map<number, number>>();
    const wrong: string[] = [];
    try {
      while (Date.now() < deadline && wrong.length === 0) {
        for (const [what, op] of [['open', open('mv/deep/../../canary.txt')],
          ['open dir', open('mv/deep/../..', { oflags: OFLAGS.DIRECTORY, rights: DIR })]] as const) {
          const e = op(c, w);
          tallyErrno(seen, what, e);
          if (e !== errno.success) continue;
          const fd = c.u32(RET);
          const id = c.held().get(fd)!.id;
          if (id === canary || id === outsideDir) wrong.push(`${what} reached ${id === canary ? 'the canary' : 'outside'}`);
          c.wasi.fd_close(fd);
        }
      }
    } finally {
      await done;
      c.close();
    }
    const why = [...wrong, ...breaches(c, w, new Set([JAIL]))];
    console.log(`  race (..): ${show(seen)}, ${why.length} escapes`);
    assert.equal(why, [], 'escaped');
    assert.equal([...seen.keys()], ['open', 'open dir'], 'both lookups ran (a loop that never ran proves nothing)');
    for (const m of seen.values()) {
      for (const e of m.keys()) assert.ok([errno.success, errno.noent, errno.again, refusal].includes(e), errnoName[e]);
      assert.ok((m.get(errno.success) ?? 0) > 0 && (m.get(errno.noent) ?? 0) > 0,
        `the move was never caught both ways, so the race proved nothing: ${show(seen)}`);
    }
  });

  // The races run after both hosts' tables: their children's pipes may close a moment after
  // they exit, which the next table's descriptor snapshot must not see.
  racesToRun.push(races);
}
for (const races of racesToRun) races.run();
