// The rights the zerocopy calls need (docs/ABI.md, "Errors"): fd_read on the input, fd_write
// on the output, fd_seek on a side given an offset. Every call x every right it needs, both
// never granted (path_open without it) and given up later (fd_fdstat_set_rights): the answer
// is `notcapable`, and nothing moves. Each table row runs once with every right first, so that
// the right alone is what makes it fail. And path_open opens the host file with the access
// the *granted* rights allow, so the host descriptor cannot do what the guest may not.
import { suite } from './helpers/suite.js';
import * as assert from 'uvu/assert';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as libc from '../host/native/libc.js';
import { F, O } from '../host/native/platform.js';
import { errno, errnoName } from '../host/sandbox/errno.js';
import { ALL_RIGHTS, R } from '../host/sandbox/rights.js';
import { Caller } from './helpers/imports.js';
import { openFds, tempDir } from './helpers/guest.js';

const RET = 0x100, OFF_IN = 0x200, OFF_OUT = 0x208, IOV = 0x300, BUF = 0x400;
const READ = R.FD_READ | R.FD_SEEK | R.FD_TELL, WRITE = R.FD_WRITE | R.FD_SEEK | R.FD_TELL;

interface World { dir: string; c: Caller }
function world(): World {
  const dir = tempDir('wzc-rights-');
  writeFileSync(join(dir, 'src.txt'), '0123456789');
  writeFileSync(join(dir, 'out.txt'), 'untouched');
  return { dir, c: new Caller({ preopens: { '/': dir } }) };
}
function dispose(w: World): void {
  w.c.close();
  rmSync(w.dir, { recursive: true, force: true });
}
function open(c: Caller, name: string, rights: number): number {
  const [p, l] = c.str(name);
  assert.is(errnoName[c.wasi.path_open(3, 0, p, l, 0, BigInt(rights), 0n, 0, RET)], 'success', `open ${name}`);
  return c.u32(RET);
}
function write(c: Caller, fd: number, text: string): void {
  c.str(text, BUF);
  c.dv.setUint32(IOV, BUF, true);
  c.dv.setUint32(IOV + 4, text.length, true);
  assert.is(c.wasi.fd_write(fd, IOV, 1, RET), errno.success);
}
/** What a non-blocking pipe's read end holds now (drained). */
function drain(c: Caller, fd: number): string {
  c.dv.setUint32(IOV, BUF, true);
  c.dv.setUint32(IOV + 4, 256, true);
  const e = c.wasi.fd_read(fd, IOV, 1, RET);
  return e === errno.again ? '' : Buffer.from(c.u8.subarray(BUF, BUF + c.u32(RET))).toString();
}
function drop(c: Caller, fd: number, right: number): void {
  assert.is(c.wasi.fd_fdstat_get(fd, RET), errno.success);
  const base = c.dv.getBigUint64(RET + 8, true), inheriting = c.dv.getBigUint64(RET + 16, true);
  assert.ok((base & BigInt(right)) !== 0n, 'the right to drop is held');
  assert.is(c.wasi.fd_fdstat_set_rights(fd, base & ~BigInt(right), inheriting), errno.success);
}

/** One call with its descriptors; `side`'s descriptor lacks `right` unless `right` is 0. */
interface Row { call: string; side: 'in' | 'out'; right: number; rightName: string; pipeSide?: boolean }
interface Outcome { errno: string; moved: string }

/**
 * Runs `row` in a fresh world. `how`: 'all' gives every right; 'never' opens the side without
 * the right; 'dropped' opens it with every right and gives the right up before the call.
 * Returns the errno and what moved (the destination's content and the source's state).
 */
function attempt(row: Row, how: 'all' | 'never' | 'dropped'): Outcome {
  const w = world();
  const { c } = w;
  try {
    const rights = (side: 'in' | 'out', full: number) =>
      (how === 'never' && row.side === side ? full & ~row.right : full);
    const after = (fd: number, side: 'in' | 'out') => { if (how === 'dropped' && row.side === side) drop(c, fd, row.right); };
    c.dv.setBigInt64(OFF_IN, 2n, true);
    c.dv.setBigInt64(OFF_OUT, 3n, true);
    const fileOut = () => readFileSync(join(w.dir, 'out.txt'), 'utf8');
    let e: number;
    let moved: () => string;
    switch (row.call) {
      case 'sendfile': {
        const seek = row.right === R.FD_SEEK;
        const inFd = open(c, 'src.txt', rights('in', READ)), outFd = open(c, 'out.txt', rights('out', WRITE));
        after(inFd, 'in'); after(outFd, 'out');
        e = c.zc.sendfile(outFd, inFd, seek ? OFF_IN : 0, 4n, RET);
        moved = () => `${fileOut()} off=${c.dv.getBigInt64(OFF_IN, true)}`;
        break;
      }
      case 'splice': {
        if (row.side === 'in') { // file -> pipe
          const inFd = open(c, 'src.txt', rights('in', READ)), [pr, pw] = c.pipe(true);
          after(inFd, 'in');
          e = c.zc.splice(inFd, row.right === R.FD_SEEK ? OFF_IN : 0, pw, 0, 4n, 0, RET);
          moved = () => `pipe=${drain(c, pr)} off=${c.dv.getBigInt64(OFF_IN, true)}`;
        } else if (row.pipeSide) { // file -> pipe, the pipe's write end gave up fd_write
          const inFd = open(c, 'src.txt', READ), [pr, pw] = c.pipe(true);
          after(pw, 'out');
          e = c.zc.splice(inFd, 0, pw, 0, 4n, 0, RET);
          moved = () => `pipe=${drain(c, pr)}`;
        } else { // pipe -> file
          const [pr, pw] = c.pipe(true), outFd = open(c, 'out.txt', rights('out', WRITE));
          write(c, pw, 'XYZ');
          after(outFd, 'out');
          e = c.zc.splice(pr, 0, outFd, row.right === R.FD_SEEK ? OFF_OUT : 0, 3n, 0, RET);
          moved = () => `${fileOut()} pipe=${drain(c, pr)} off=${c.dv.getBigInt64(OFF_OUT, true)}`;
        }
        break;
      }
      case 'tee': {
        const [pr, pw] = c.pipe(true), [qr, qw] = c.pipe(true);
        write(c, pw, 'hello');
        after(pr, 'in'); after(qw, 'out');
        e = c.zc.tee(pr, qw, 5n, 2, RET);
        moved = () => `copy=${drain(c, qr)}`;
        break;
      }
      default: { // copy_file_range, offsets where fd_seek is the right in question
        const inFd = open(c, 'src.txt', rights('in', READ)), outFd = open(c, 'out.txt', rights('out', WRITE));
        after(inFd, 'in'); after(outFd, 'out');
        const seek = row.right === R.FD_SEEK;
        e = c.zc.copy_file_range(inFd, seek && row.side === 'in' ? OFF_IN : 0, outFd,
          seek && row.side === 'out' ? OFF_OUT : 0, 4n, 0, RET);
        moved = () => `${fileOut()} off_in=${c.dv.getBigInt64(OFF_IN, true)} off_out=${c.dv.getBigInt64(OFF_OUT, true)}`;
      }
    }
    return { errno: errnoName[e], moved: moved() };
  } finally {
    dispose(w);
  }
}

const rows: Row[] = [
  { call: 'sendfile', side: 'in', right: R.FD_READ, rightName: 'fd_read' },
  { call: 'sendfile', side: 'in', right: R.FD_SEEK, rightName: 'fd_seek' },
  { call: 'sendfile', side: 'out', right: R.FD_WRITE, rightName: 'fd_write' },
  { call: 'splice', side: 'in', right: R.FD_READ, rightName: 'fd_read' },
  { call: 'splice', side: 'in', right: R.FD_SEEK, rightName: 'fd_seek' },
  { call: 'splice', side: 'out', right: R.FD_WRITE, rightName: 'fd_write' },
  { call: 'splice', side: 'out', right: R.FD_SEEK, rightName: 'fd_seek' },
  { call: 'splice', side: 'out', right: R.FD_WRITE, rightName: 'fd_write', pipeSide: true },
  { call: 'tee', side: 'in', right: R.FD_READ, rightName: 'fd_read' },
  { call: 'tee', side: 'out', right: R.FD_WRITE, rightName: 'fd_write' },
  { call: 'copy_file_range', side: 'in', right: R.FD_READ, rightName: 'fd_read' },
  { call: 'copy_file_range', side: 'in', right: R.FD_SEEK, rightName: 'fd_seek' },
  { call: 'copy_file_range', side: 'out', right: R.FD_WRITE, rightName: 'fd_write' },
  { call: 'copy_file_range', side: 'out', right: R.FD_SEEK, rightName: 'fd_seek' },
];

let fdsBefore: string[] = [];
const table = suite('every zerocopy call x every right it needs');
table.before(async () => { fdsBefore = openFds(); });

for (const row of rows) {
  const what = `${row.call} ${row.side === 'in' ? 'from' : 'into'} a ${row.pipeSide || row.call === 'tee' ? 'pipe end' : 'file'}` +
    `${row.right === R.FD_SEEK ? ' at an offset' : ''}`;
  table(`${what} moves bytes with every right, and is notcapable without ${row.rightName}, never granted or given up`, () => {
    const all = attempt(row, 'all');
    assert.is(all.errno, 'success', 'with every right the call succeeds');
    for (const how of ['never', 'dropped'] as const) {
      if (how === 'never' && (row.call === 'tee' || row.pipeSide)) continue; // pipe() grants every right
      const got = attempt(row, how);
      assert.is(got.errno, 'notcapable', `${how}: ${got.moved}`);
      assert.is.not(got.moved, all.moved, `${how}: nothing may move`);
    }
  });
}

table('no host descriptor is left open', () => {
  assert.equal(openFds(), fdsBefore);
});
table.run();

// ---------------------------------------------------------------------------------------
const mode = suite('path_open opens with the access the granted rights allow');

/** The host descriptor's access mode (O_RDONLY, O_WRONLY, O_RDWR) behind a guest descriptor. */
const accessOf = (c: Caller, fd: number) => libc.fcntl(c.sandbox.fds.get(fd).hostFd, F.GETFL, 0) & O.ACCMODE;

mode('a preopen that cannot pass fd_write on opens read-write requests read-only, and no call writes', () => {
  const w = world();
  const { c } = w;
  try {
    assert.is(c.wasi.fd_fdstat_get(3, RET), errno.success);
    const base = c.dv.getBigUint64(RET + 8, true);
    assert.is(c.wasi.fd_fdstat_set_rights(3, base, BigInt(ALL_RIGHTS & ~R.FD_WRITE)), errno.success);
    const fd = open(c, 'out.txt', R.FD_READ | R.FD_WRITE | R.FD_SEEK);
    assert.is(accessOf(c, fd), O.RDONLY);
    const [pr, pw] = c.pipe(true);
    write(c, pw, 'XYZ');
    assert.is(errnoName[c.zc.splice(pr, 0, fd, 0, 3n, 0, RET)], 'notcapable');
    assert.is(errnoName[c.wasi.fd_write(fd, IOV, 1, RET)], 'notcapable');
    c.dv.setBigInt64(OFF_IN, 0n, true);
    assert.is(errnoName[c.zc.copy_file_range(open(c, 'src.txt', READ), 0, fd, 0, 4n, 0, RET)], 'notcapable');
    assert.is(readFileSync(join(w.dir, 'out.txt'), 'utf8'), 'untouched');
  } finally {
    dispose(w);
  }
});

mode('fd_read with fd_datasync opens read-only, and fd_datasync works on it', () => {
  const w = world();
  try {
    const fd = open(w.c, 'src.txt', R.FD_READ | R.FD_DATASYNC);
    assert.is(accessOf(w.c, fd), O.RDONLY);
    assert.is(errnoName[w.c.wasi.fd_datasync(fd)], 'success');
  } finally {
    dispose(w);
  }
});

mode('each access mode follows the rights asked for', () => {
  const w = world();
  try {
    assert.is(accessOf(w.c, open(w.c, 'src.txt', R.FD_READ)), O.RDONLY);
    assert.is(accessOf(w.c, open(w.c, 'src.txt', R.FD_WRITE)), O.WRONLY);
    assert.is(accessOf(w.c, open(w.c, 'src.txt', R.FD_READ | R.FD_WRITE)), O.RDWR);
    assert.is(accessOf(w.c, open(w.c, 'src.txt', R.FD_READ | R.FD_FILESTAT_SET_SIZE)), O.RDWR);
    assert.is(accessOf(w.c, open(w.c, 'src.txt', R.FD_SEEK | R.FD_TELL)), O.RDONLY);
  } finally {
    dispose(w);
  }
});
mode.run();
