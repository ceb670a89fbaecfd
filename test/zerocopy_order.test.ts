// The order of checks (docs/ABI.md, "Errors"), differentially: every zerocopy transfer call,
// for every pair of descriptor kinds a guest can hold, with no offset, a valid one and one
// outside memory, in the sandbox (through wasm trampolines, as a guest's calls arrive) and
// natively on the same kinds of host descriptors. The sandbox must answer what Linux answers,
// where a descriptor the guest does not hold, or holds without a right the call needs, is what
// Linux says of a descriptor number that is not open: its EBADF, at the same point, is `badf`
// for the first and `notcapable` for the second. A virtual file behaves as a pipe.
import { suite } from './helpers/suite.js';
import * as assert from 'uvu/assert';
import { closeSync, mkdirSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as libc from '../host/native/libc.js';
import { F, O } from '../host/native/platform.js';
import { errno, errnoName, fromLinux } from '../host/sandbox/errno.js';
import { R } from '../host/sandbox/rights.js';
import { Caller, tcpPair } from './helpers/imports.js';
import { openFds, tempDir } from './helpers/guest.js';

/**
 * r, w, a: a file opened for reading, writing, appending; dir: a directory; pr: a pipe's read
 * end holding bytes; pw: a pipe's write end with room; nb: the read end of an empty
 * non-blocking pipe; sock: a connected TCP socket; none: a number that is not open (the guest
 * holds no such descriptor); vin, vout: the sandbox's virtual stdin and stdout (JavaScript
 * streams), which must behave as pr and pw.
 */
const KINDS = ['r', 'w', 'a', 'dir', 'pr', 'pw', 'nb', 'sock', 'none', 'vin', 'vout'] as const;
type Kind = typeof KINDS[number];
/** What stands for a kind natively. */
const NATIVE: Record<Kind, Kind> = { ...Object.fromEntries(KINDS.map((k) => [k, k])), vin: 'pr', vout: 'pw' } as Record<Kind, Kind>;
/** Kinds whose native descriptor is open for reading (sendfile checks this before out_fd). */
const READABLE = new Set<Kind>(['r', 'dir', 'pr', 'nb', 'sock', 'vin']);

/** The rights the guest's descriptor of each kind has, and whether lseek(2) works on it. */
const RIGHTS: Record<Kind, number> = {
  r: R.FD_READ | R.FD_SEEK | R.FD_TELL, w: R.FD_WRITE | R.FD_SEEK | R.FD_TELL, a: R.FD_WRITE | R.FD_SEEK | R.FD_TELL,
  dir: R.FD_READDIR | R.PATH_OPEN, pr: -1, pw: -1, nb: -1, sock: -1, none: 0, vin: R.FD_READ, vout: R.FD_WRITE,
};
const SEEKABLE = new Set<Kind>(['r', 'w', 'a', 'dir']);

type Off = 'null' | 'valid' | 'bad';
const OFFS: Off[] = ['null', 'valid', 'bad'];
const COUNT = 4;

interface Case { call: 'sendfile' | 'splice' | 'tee' | 'copy_file_range'; inK: Kind; outK: Kind; offIn: Off; offOut: Off }
const cases: Case[] = [];
for (const inK of KINDS) {
  for (const outK of KINDS) {
    for (const offIn of OFFS) {
      cases.push({ call: 'sendfile', inK, outK, offIn, offOut: 'null' });
      for (const offOut of OFFS) {
        cases.push({ call: 'splice', inK, outK, offIn, offOut });
        cases.push({ call: 'copy_file_range', inK, outK, offIn, offOut });
      }
    }
    cases.push({ call: 'tee', inK, outK, offIn: 'null', offOut: 'null' });
  }
}
const key = (c: Case) => `${c.call}(in=${c.inK}, out=${c.outK}, off_in=${c.offIn}, off_out=${c.offOut})`;
// splice and tee with SPLICE_F_NONBLOCK: no case may wait (the TCP sockets are non-blocking too).
const FLAGS = 2;

/** What a call answered: the errno's name and, on success, the count. */
const show = (e: number, n: bigint | number) => (e === 0 ? `success ${n}` : errnoName[e]);

// --- native ------------------------------------------------------------------------------
const NOT_OPEN = 4242;

function runNative(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const make = (k: Kind, extra: number[]): number => {
    switch (k) {
      case 'r': return openSync(join(dir, 'src.txt'), 'r');
      case 'w': return openSync(join(dir, 'out.txt'), O.WRONLY);
      case 'a': return openSync(join(dir, 'out.txt'), O.WRONLY | O.APPEND);
      case 'dir': return openSync(join(dir, 'dir'), O.RDONLY | O.DIRECTORY);
      case 'none': return NOT_OPEN;
      case 'sock': { const [a, b] = tcpPair(); extra.push(b); return a; }
      default: {
        const fds = new Int32Array(2);
        assert.is(libc.pipe2(new Uint8Array(fds.buffer), O.CLOEXEC | (k === 'nb' ? O.NONBLOCK : 0)), 0);
        if (k === 'pr') { libc.write(fds[1], Buffer.from('abcdefgh'), 8); }
        extra.push(k === 'pw' ? fds[0] : fds[1]);
        return k === 'pw' ? fds[1] : fds[0];
      }
    }
  };
  assert.ok(libc.fcntl(NOT_OPEN, F.GETFD, 0) < 0, `descriptor ${NOT_OPEN} is open in the test process`);
  const offIn = new BigInt64Array(1), offOut = new BigInt64Array(1);
  const ptr = (o: Off, b: BigInt64Array) => (o === 'null' ? null : o === 'valid' ? new Uint8Array(b.buffer) : 8n);
  for (const c of cases) {
    if (c.inK.startsWith('v') || c.outK.startsWith('v')) continue;
    const extra: number[] = [];
    const i = make(c.inK, extra), o = make(c.outK, extra);
    offIn[0] = 0n; offOut[0] = 0n;
    let r: number;
    if (c.call === 'sendfile') r = libc.sendfile(o, i, ptr(c.offIn, offIn), COUNT);
    else if (c.call === 'splice') r = libc.splice(i, ptr(c.offIn, offIn), o, ptr(c.offOut, offOut), COUNT, FLAGS);
    else if (c.call === 'tee') r = libc.tee(i, o, COUNT, FLAGS);
    else r = libc.copy_file_range(i, ptr(c.offIn, offIn), o, ptr(c.offOut, offOut), COUNT, 0);
    out.set(key(c), r < 0 ? errnoName[fromLinux(-r)] : show(0, r));
    for (const fd of [i, o, ...extra]) if (fd !== NOT_OPEN) libc.close(fd);
  }
  return out;
}

// --- the sandbox -------------------------------------------------------------------------
const OFF_IN = 0x200, OFF_OUT = 0x208, RET = 0x210;
const BAD = Caller.PAGES * 65536 + 16;

function runSandbox(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const stdin = { read: (into: Uint8Array) => { into.fill(0x61); return into.length; } };
  const stdout = { write: (from: Uint8Array) => from.length };
  const c = new Caller({ preopens: { '/': dir }, stdin, stdout });
  try {
    const open = (name: string, rights: number, oflags = 0, fdflags = 0): number => {
      const [p, l] = c.str(name);
      assert.is(c.wasi.path_open(3, 0, p, l, oflags, BigInt(rights), 0n, fdflags, RET), errno.success, name);
      return c.u32(RET);
    };
    const make = (k: Kind, extra: number[], hostExtra: number[]): number => {
      switch (k) {
        case 'r': case 'w': return open(k === 'r' ? 'src.txt' : 'out.txt', RIGHTS[k]);
        case 'a': return open('out.txt', RIGHTS[k], 0, 1 /* APPEND */);
        case 'dir': return open('dir', RIGHTS[k], 2 /* DIRECTORY */);
        case 'none': return NOT_OPEN;
        case 'vin': return 0;
        case 'vout': return 1;
        case 'sock': {
          const [a, b] = tcpPair();
          hostExtra.push(a, b);
          return c.sandbox.grant(a);
        }
        default: {
          assert.is(c.zc.pipe(k === 'nb' ? 4 : 0, RET), errno.success);
          const [r, w] = [c.u32(RET), c.u32(RET + 4)];
          if (k === 'pr') libc.write(c.sandbox.fds.get(w).hostFd, Buffer.from('abcdefgh'), 8);
          extra.push(k === 'pw' ? r : w);
          return k === 'pw' ? w : r;
        }
      }
    };
    const ptr = (o: Off, at: number) => (o === 'null' ? 0 : o === 'valid' ? at : BAD);
    for (const k of cases) {
      const extra: number[] = [], hostExtra: number[] = [];
      const i = make(k.inK, extra, hostExtra), o = make(k.outK, extra, hostExtra);
      c.dv.setBigInt64(OFF_IN, 0n, true);
      c.dv.setBigInt64(OFF_OUT, 0n, true);
      let e: number;
      if (k.call === 'sendfile') e = c.zc.sendfile(o, i, ptr(k.offIn, OFF_IN), BigInt(COUNT), RET);
      else if (k.call === 'splice') e = c.zc.splice(i, ptr(k.offIn, OFF_IN), o, ptr(k.offOut, OFF_OUT), BigInt(COUNT), FLAGS, RET);
      else if (k.call === 'tee') e = c.zc.tee(i, o, BigInt(COUNT), FLAGS, RET);
      else e = c.zc.copy_file_range(i, ptr(k.offIn, OFF_IN), o, ptr(k.offOut, OFF_OUT), BigInt(COUNT), 0, RET);
      out.set(key(k), show(e, c.dv.getBigUint64(RET, true)));
      for (const fd of [i, o, ...extra]) if (fd > 2 && fd !== NOT_OPEN) assert.is(c.wasi.fd_close(fd), errno.success);
      for (const fd of hostExtra) libc.close(fd);
      // Bytes a call took from virtual stdin but did not move wait there for the next reader,
      // as in a pipe that still holds them: drop them, as each native case has a fresh pipe.
      c.sandbox.fds.get(0).pending = null;
    }
  } finally {
    c.close();
  }
  return out;
}

// --- what the sandbox must answer ----------------------------------------------------------
/** The sandbox's own answer for a descriptor, where the kernel's EBADF for it would come, or null. */
function refusal(k: Kind, role: 'in' | 'out', off: Off): string | null {
  if (k === 'none') return 'badf';
  const rights = RIGHTS[k];
  if (rights === -1) return null; // pipes and sockets have every right a transfer needs
  if ((rights & (role === 'in' ? R.FD_READ : R.FD_WRITE)) === 0) return 'notcapable';
  if (off !== 'null' && (rights & R.FD_SEEK) === 0 && SEEKABLE.has(k)) return 'notcapable';
  return null;
}

function expected(c: Case, native: Map<string, string>): string {
  const inR = refusal(c.inK, 'in', c.offIn), outR = refusal(c.outK, 'out', c.offOut);
  const inK = inR === null ? NATIVE[c.inK] : 'none', outK = outR === null ? NATIVE[c.outK] : 'none';
  const r = native.get(key({ ...c, inK, outK }))!;
  if (r !== 'badf' || (inR === null && outR === null)) return r;
  if (inR !== null) return inR;
  // sendfile checks in_fd's access mode before it looks up out_fd (do_sendfile).
  if (c.call === 'sendfile' && !READABLE.has(c.inK)) return 'badf';
  return outR!;
}

let native = new Map<string, string>();
let sandboxed = new Map<string, string>();
let fdsBefore: string[] = [];

const order = suite('the order of checks: the sandbox against Linux for every pair of descriptor kinds');
order.before(async () => {
  fdsBefore = openFds();
  const sides = [tempDir('wzc-order-n-'), tempDir('wzc-order-s-')];
  try {
    for (const d of sides) {
      writeFileSync(join(d, 'src.txt'), '0123456789abcdefghij');
      closeSync(openSync(join(d, 'out.txt'), 'w'));
      mkdirSync(join(d, 'dir'));
    }
    native = runNative(sides[0]);
    sandboxed = runSandbox(sides[1]);
  } finally {
    for (const d of sides) rmSync(d, { recursive: true, force: true });
  }
});

order('every case ran on both sides', () => {
  assert.is(sandboxed.size, cases.length);
  assert.is(native.size, cases.filter((c) => !c.inK.startsWith('v') && !c.outK.startsWith('v')).length);
});

for (const call of ['sendfile', 'splice', 'tee', 'copy_file_range'] as const) {
  order(`${call}: the sandbox answers as Linux, with its own answers where Linux says EBADF for a descriptor that is not open`, () => {
    const differ = cases.filter((c) => c.call === call)
      .map((c) => [key(c), sandboxed.get(key(c)), expected(c, native)] as const)
      .filter(([, got, want]) => got !== want)
      .map(([k, got, want]) => `${k}: sandbox ${got}, expected ${want}`);
    assert.equal(differ.slice(0, 20), [], `${differ.length} cases differ`);
  });
}

// The case of issue 8: Linux checks in_fd's mode and offset before it looks out_fd up.
order('sendfile from a pipe at an offset to a descriptor not held is spipe, as Linux answers ESPIPE', () => {
  const c: Case = { call: 'sendfile', inK: 'pr', outK: 'none', offIn: 'valid', offOut: 'null' };
  assert.is(native.get(key(c)), 'spipe');
  assert.is(sandboxed.get(key(c)), 'spipe');
});

order('the table holds every kind of answer: the kernel\'s, badf, notcapable and fault', () => {
  const answers = new Set(sandboxed.values());
  for (const a of ['badf', 'notcapable', 'fault', 'spipe', 'inval', 'again', `success ${COUNT}`]) assert.ok(answers.has(a), a);
});

order('no host descriptor is left open', () => {
  assert.equal(openFds(), fdsBefore);
});

order.run();
