// poll_oneoff's persistent interest set (host/wasi/poll_set.ts): what a guest sees when its
// descriptors change between two calls (closed, renumbered, reused, rights dropped, no longer
// subscribed), and the bound on the number of subscriptions. Subscriptions are laid out in
// memory by hand and the import is called as a guest calls it (test/helpers/imports.ts), so
// that two calls can carry byte-identical subscriptions while the table changed under them.
import { suite } from './helpers/suite.js';
import * as assert from 'uvu/assert';
import { openSync, closeSync } from 'node:fs';
import * as libc from '../host/native/libc.js';
import { F } from '../host/native/platform.js';
import { errno } from '../host/index.js';
import { openFds } from './helpers/guest.js';
import { Caller } from './helpers/imports.js';
import { hostPipe } from './helpers/fds.js';
import { FdEntry, FdTable } from '../host/sandbox/fd_table.js';
import { WasiError } from '../host/sandbox/errno.js';
import { FDFLAGS } from '../host/wasi/abi.js';
import type { PollSet } from '../host/wasi/poll_set.js';

const SUBS = 0x10000, EVENTS = 0x20000;
const CLOCK = 0, READ = 1, WRITE = 2, MONOTONIC = 1;
const MS = 1_000_000;

interface Ev { u: number; type: number; error: number; nbytes: number; flags: number }
type Sub = [userdata: number, type: number, fdOrNs: number];

/** Lays out the subscriptions, calls poll_oneoff, and returns its errno and events. */
function poll(c: Caller, subs: Sub[], at = SUBS): { errno: number; events: Ev[]; ms: number; cpuMs: number } {
  const dv = c.dv;
  new Uint8Array(c.memory.buffer, at, subs.length * 48).fill(0);
  subs.forEach(([u, type, x], i) => {
    const s = at + i * 48;
    dv.setBigUint64(s, BigInt(u), true);
    dv.setUint8(s + 8, type);
    if (type === CLOCK) {
      dv.setUint32(s + 16, MONOTONIC, true);
      dv.setBigUint64(s + 24, BigInt(x), true);
    } else {
      dv.setUint32(s + 16, x, true);
    }
  });
  const t0 = process.hrtime.bigint(), cpu0 = process.cpuUsage();
  const e = c.wasi.poll_oneoff(at, EVENTS, subs.length, Caller.RET);
  const cpu = process.cpuUsage(cpu0), ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const events: Ev[] = [];
  if (e === 0) {
    for (let k = 0; k < c.u32(Caller.RET); k++) {
      const o = EVENTS + k * 32;
      events.push({ u: Number(dv.getBigUint64(o, true)), error: dv.getUint16(o + 8, true), type: dv.getUint8(o + 10),
        nbytes: Number(dv.getBigUint64(o + 16, true)), flags: dv.getUint16(o + 24, true) });
    }
  }
  return { errno: e, events, ms, cpuMs: (cpu.user + cpu.system) / 1000 };
}

const ev = (u: number, type: number, error = 0, nbytes = 0, flags = 0): Ev => ({ u, type, error, nbytes, flags });

/** A pipe made by the guest (zerocopy.pipe): [read end, write end] as guest numbers. */
function pipe(c: Caller): [number, number] {
  assert.is(c.zc.pipe(0, Caller.RET), 0);
  return [c.u32(Caller.RET), c.u32(Caller.RET + 4)];
}

/** Writes `text` to a guest descriptor from the host side. */
function put(c: Caller, fd: number, text: string): void {
  const b = Buffer.from(text);
  assert.is(libc.write(c.sandbox.fds.get(fd).hostFd, b, b.length), b.length);
}

/** A connected AF_UNIX stream pair, as host descriptors the caller closes. */
function socketpair(): [number, number] {
  const pair = Buffer.alloc(8);
  assert.is(libc.socketpair(1 /* AF_UNIX */, 1 /* SOCK_STREAM */ | 0o2000000, 0, pair), 0);
  return [pair.readInt32LE(0), pair.readInt32LE(4)];
}

// ---------------------------------------------------------------------------------------
const between = suite('poll_oneoff: descriptors that change between calls');

let fdsBefore: string[] = [];
between.before.each(() => { fdsBefore = openFds(); });
between.after.each(() => { assert.equal(openFds(), fdsBefore, 'a descriptor leaked (the epoll instance?)'); });

between('a closed descriptor whose open file description the host still holds never reports again', () => {
  const [mine, theirs] = socketpair();
  const c = new Caller();
  try {
    const g = c.sandbox.grant(mine); // the guest's is a duplicate: the description outlives it
    assert.equal(poll(c, [[7, READ, g], [1, CLOCK, 10 * MS]]).events, [ev(1, CLOCK)]);
    assert.is(c.wasi.fd_close(g), 0);
    assert.is(libc.write(theirs, Buffer.from('late'), 4), 4); // the description is readable now
    // Two calls, so that new registrations take whatever slot the closed one left.
    for (const u of [11, 12]) {
      const [r] = pipe(c);
      const p = poll(c, [[u, READ, r], [2, CLOCK, 30 * MS]]);
      assert.equal(p.events, [ev(2, CLOCK)], 'an event of the closed descriptor, or of the empty pipe');
      assert.ok(p.ms >= 30, `returned after ${p.ms} ms`);
      assert.ok(p.cpuMs < 20, `${p.cpuMs} ms of CPU for a 30 ms sleep: woken by the closed descriptor`);
    }
  } finally {
    c.close();
    libc.close(mine);
    libc.close(theirs);
  }
});

between('a forgotten registration whose description lives on in a descriptor the guest never saw (a fork\'s) names nothing, though its slot is reused', () => {
  const c = new Caller();
  let held = -1;
  try {
    const [r1, w1] = pipe(c); // the sandbox made it: closing it needs no EPOLL_CTL_DEL (poll_set.ts)
    held = libc.fcntl(c.sandbox.fds.get(r1).hostFd, F.DUPFD_CLOEXEC, 0); // as a fork about to exec holds it
    assert.ok(held >= 0);
    put(c, w1, 'x');
    assert.equal(poll(c, [[1, READ, r1], [2, CLOCK, 10 * MS]]).events, [ev(1, READ, 0, 1)]);
    // Closed without a DEL: the duplicate keeps the description in the epoll set, readable,
    // so each wait reports it again under the registration's old data.
    assert.is(c.wasi.fd_close(r1), 0);
    const [r2] = pipe(c);
    assert.equal(poll(c, [[3, READ, r2], [4, CLOCK, 30 * MS]]).events, [ev(4, CLOCK)],
      'the empty new pipe, in the freed slot, was reported ready by the old one\'s event');
  } finally {
    c.close();
    if (held >= 0) libc.close(held);
  }
});

between('a number reused by a new descriptor is polled afresh: not ready while empty, ready once written', () => {
  const c = new Caller();
  try {
    const [r1, w1] = pipe(c);
    put(c, w1, 'abc');
    const subs: Sub[] = [[5, READ, r1], [1, CLOCK, 20 * MS]];
    assert.equal(poll(c, subs).events, [ev(5, READ, 0, 3)]);
    assert.is(c.wasi.fd_close(r1), 0);
    const [r2, w2] = pipe(c);
    assert.is(r2, r1, 'the new pipe did not take the freed number');
    assert.equal(poll(c, subs).events, [ev(1, CLOCK)], 'the old pipe\'s readiness was reported for the new one');
    put(c, w2, 'hello');
    assert.equal(poll(c, [[5, READ, r1], [1, CLOCK, 5000 * MS]]).events, [ev(5, READ, 0, 5)]);
    assert.is(c.wasi.fd_close(w1), 0);
  } finally { c.close(); }
});

between('after memory.grow between two calls, the subscriptions are read from the grown memory and the events written there', () => {
  const c = new Caller();
  try {
    const [r, w] = pipe(c);
    const subs: Sub[] = [[5, READ, r], [1, CLOCK, 20 * MS]];
    assert.equal(poll(c, subs).events, [ev(1, CLOCK)]);
    c.memory.grow(1); // detaches the buffer every view of memory was made over
    put(c, w, 'abc');
    assert.equal(poll(c, subs).events, [ev(5, READ, 0, 3)], 'the same subscriptions, in the new buffer');
    assert.equal(poll(c, [[6, READ, r], [1, CLOCK, 20 * MS]]).events, [ev(6, READ, 0, 3)], 'a changed userdata is seen');
  } finally { c.close(); }
});

between('a renumbered descriptor answers under its new number, and its old number is badf', () => {
  const c = new Caller();
  try {
    const [r1, w1] = pipe(c);
    const [r2] = pipe(c);
    put(c, w1, 'xy');
    assert.equal(poll(c, [[1, READ, r1]]).events, [ev(1, READ, 0, 2)]);
    assert.is(c.wasi.fd_renumber(r1, r2), 0);
    assert.equal(poll(c, [[1, READ, r1], [2, READ, r2]]).events, [ev(1, READ, errno.badf), ev(2, READ, 0, 2)]);
  } finally { c.close(); }
});

between('dropping poll_fd_readwrite between calls turns the same subscription into notcapable', () => {
  const c = new Caller();
  try {
    const [r, w] = pipe(c);
    put(c, w, 'z');
    const subs: Sub[] = [[3, READ, r]];
    assert.equal(poll(c, subs).events, [ev(3, READ, 0, 1)]);
    assert.is(c.wasi.fd_fdstat_set_rights(r, BigInt(1 << 1), 0n), 0); // fd_read alone
    assert.equal(poll(c, subs).events, [ev(3, READ, errno.notcapable)]);
  } finally { c.close(); }
});

between('a descriptor no longer subscribed does not wake the call: the wait sleeps, it does not spin', () => {
  const c = new Caller();
  try {
    const [r, w] = pipe(c);
    const [mine, theirs] = socketpair();
    const s = c.sandbox.grant(mine);
    try {
      assert.equal(poll(c, [[1, READ, r], [2, READ, s], [3, WRITE, s], [9, CLOCK, 5 * MS]]).events, [ev(3, WRITE)]);
      put(c, w, 'ready');
      assert.is(libc.write(theirs, Buffer.from('ready'), 5), 5);
      // Both descriptors are readable now, but the guest asks only for the clock.
      const p = poll(c, [[9, CLOCK, 100 * MS]]);
      assert.equal(p.events, [ev(9, CLOCK)]);
      assert.ok(p.ms >= 100, `returned after ${p.ms} ms`);
      assert.ok(p.cpuMs < 50, `${p.cpuMs} ms of CPU for a 100 ms sleep: woken by descriptors it no longer watches`);
    } finally {
      libc.close(mine);
      libc.close(theirs);
    }
  } finally { c.close(); }
});

between('read and write on one socket in one call are both reported, each with its own userdata', () => {
  const [mine, theirs] = socketpair();
  const c = new Caller();
  try {
    const s = c.sandbox.grant(mine);
    assert.is(libc.write(theirs, Buffer.from('1234'), 4), 4);
    assert.equal(poll(c, [[1, READ, s], [2, WRITE, s], [3, READ, s]]).events, [ev(1, READ, 0, 4), ev(2, WRITE), ev(3, READ, 0, 4)]);
    libc.close(theirs);
    assert.equal(poll(c, [[2, WRITE, s], [1, READ, s]]).events, [ev(2, WRITE, 0, 0, 1), ev(1, READ, 0, 4, 1)]);
  } finally {
    c.close();
    libc.close(mine);
  }
});

between('of 300 pipes watched call after call, exactly those readable now are reported, with the userdata of this call', () => {
  const c = new Caller();
  try {
    const pipes = Array.from({ length: 300 }, () => pipe(c));
    const subs = (salt: number): Sub[] => pipes.map(([r], i) => [i * 10 + salt, READ, r]);
    for (const [k, [, w]] of pipes.entries()) if (k % 3 === 0) put(c, w, 'x');
    assert.equal(poll(c, subs(0)).events.map((e) => e.u), pipes.flatMap((_, k) => (k % 3 === 0 ? [k * 10] : [])));
    const drain = Buffer.alloc(16);
    for (const [k, [r]] of pipes.entries()) if (k % 3 === 0) libc.read(c.sandbox.fds.get(r).hostFd, drain, 16);
    for (const [k, [, w]] of pipes.entries()) if (k % 7 === 0) put(c, w, 'yy');
    // The same subscriptions but for the userdata of every fifth: the rest is taken from the cache.
    const second = subs(0).map((s, k): Sub => (k % 5 === 0 ? [k * 10 + 1, s[1], s[2]] : s));
    assert.equal(poll(c, second).events.map((e) => [e.u, e.nbytes]),
      pipes.flatMap((_, k) => (k % 7 === 0 ? [[k * 10 + (k % 5 === 0 ? 1 : 0), 2]] : [])));
  } finally { c.close(); }
});

between('bytes a short copy left pending on a watched pipe make it readable at once, though the kernel pipe is empty', () => {
  // stdout takes 2 bytes of each write: splice moves 5 out of the pipe, and the 3 it could not
  // deliver are kept on the pipe's entry (FdEntry.pending), to be read first.
  const c = new Caller({ stdout: { write: (b: Uint8Array) => Math.min(2, b.length) } });
  try {
    const [r, w] = pipe(c);
    put(c, w, 'hello');
    assert.equal(poll(c, [[1, READ, r], [2, CLOCK, 5000 * MS]]).events, [ev(1, READ, 0, 5)]);
    assert.is(c.zc.splice(r, 0, 1, 0, 5n, 0, Caller.RET), 0);
    assert.is(c.u32(Caller.RET), 2);
    const p = poll(c, [[1, READ, r], [2, CLOCK, 5000 * MS]]);
    assert.equal(p.events, [ev(1, READ, 0, 3)], 'the pending bytes were not reported');
  } finally { c.close(); }
});

between('a descriptor epoll refuses (/dev/null has no poll) is always ready, as poll(2) reports it', () => {
  const dn = openSync('/dev/null', 'r+');
  const c = new Caller();
  try {
    const g = c.sandbox.grant(dn);
    assert.equal(poll(c, [[1, READ, g], [2, WRITE, g], [3, CLOCK, 5000 * MS]]).events, [ev(1, READ), ev(2, WRITE)]);
    assert.equal(poll(c, [[1, READ, g], [2, WRITE, g], [3, CLOCK, 5000 * MS]]).events, [ev(1, READ), ev(2, WRITE)]);
  } finally {
    c.close();
    closeSync(dn);
  }
});

between('a shared description reopened as the guest\'s own (NONBLOCK), then closed, is badf: never the shared one\'s readiness', () => {
  // The host keeps its end of the pipe, so the shared description outlives the guest's
  // descriptor, in epoll too unless the replaced entry left the set.
  const [r, w] = hostPipe();
  const c = new Caller();
  try {
    const g = c.sandbox.grant(r);
    const subs: Sub[] = [[1, READ, g], [2, CLOCK, 10 * MS]];
    assert.equal(poll(c, subs).events, [ev(2, CLOCK)]);
    const shared = c.sandbox.fds.get(g);
    assert.is(c.wasi.fd_fdstat_set_flags(g, FDFLAGS.NONBLOCK), 0);
    assert.is.not(c.sandbox.fds.get(g), shared, 'the description was not reopened as the guest\'s own');
    assert.is(libc.write(w, Buffer.from('abc'), 3), 3);
    assert.equal(poll(c, subs).events, [ev(1, READ, 0, 3)], 'the reopened description is watched');
    assert.is(c.wasi.fd_close(g), 0);
    assert.equal(poll(c, subs).events, [ev(1, READ, errno.badf)]);
  } finally {
    c.close();
    closeSync(r);
    closeSync(w);
  }
});

between.run();

// ---------------------------------------------------------------------------------------
const table = suite('the descriptor table: numbers, limit, reservations and what the poll set is told');

/** An observer that records what the table tells it. */
function recorder(fds: FdTable): string[] {
  const seen: string[] = [];
  const name = (e: FdEntry) => String(e.hostFd);
  fds.observer = {
    unmapped: (e, closing) => { seen.push(`unmapped ${name(e)}${closing ? ' closing' : ''}`); },
    changed: (e) => { seen.push(`changed ${name(e)}`); },
    closed: () => { seen.push('closed'); },
  };
  return seen;
}

/** A virtual-file-like entry standing for host descriptor `id` (never closed: ids are not real). */
const entry = (id: number) => new FdEntry(-1 - id, 0, 0, 0);
const numbers = (fds: FdTable) => [...fds.list()].map(([n]) => n);

table('insert takes the lowest free number, passing over reserved ones, and answers mfile at the limit', () => {
  const fds = new FdTable(6);
  for (let i = 0; i < 3; i++) assert.is(fds.insert(entry(i)), i);
  const slot = fds.reserve();
  assert.is(slot.fd, 3);
  assert.is(fds.insert(entry(4)), 4, 'a reserved number was given out again');
  fds.remove(1);
  assert.is(fds.insert(entry(5)), 1, 'a freed number below the others was not reused first');
  assert.is(fds.insert(entry(6)), 5);
  assert.throws(() => fds.insert(entry(7)), (e: unknown) => e instanceof WasiError && e.errno === errno.mfile);
  assert.throws(() => fds.reserve(), (e: unknown) => e instanceof WasiError && e.errno === errno.mfile);
  fds.cancel(slot);
  assert.is(fds.insert(entry(8)), 3, 'a cancelled reservation\'s number was not free again');
  fds.remove(0);
  fds.remove(4);
  assert.is(fds.insert(entry(9), 2), 4, 'min was not respected');
  assert.is(fds.insert(entry(10)), 0);
  assert.equal(numbers(fds), [0, 1, 2, 3, 4, 5]);
  assert.equal([...fds.owned], [-11, -6, -3, -9, -10, -7, -1], 'the shared mirror is out of step (last slot: the table\'s own)');
});

table('the observer is told of a reservation committed or given back, a renumber, a replace and closing everything', () => {
  const fds = new FdTable(16);
  const seen = recorder(fds);
  const a = fds.reserve();
  a.entry.hostFd = -100;
  fds.commit(a, 0, 0, 0);
  const b = fds.reserve();
  b.entry.hostFd = -200;
  fds.cancel(b);
  fds.insert(entry(2));
  fds.renumber(0, 1);
  fds.replace(1, entry(4));
  fds.closeAll();
  assert.equal(seen, ['changed -100', 'unmapped -200 closing', 'unmapped -3 closing', 'unmapped -100', 'unmapped -100 closing', 'closed']);
});

table.run();

// ---------------------------------------------------------------------------------------
const bound = suite('poll_oneoff: the number of subscriptions is bounded');

const RLIMIT_NOFILE = 7;

/** Runs `f` with the soft RLIMIT_NOFILE lowered to `soft`, restoring it after. */
function withNofile<T>(soft: number, f: () => T): T {
  const saved = Buffer.alloc(16);
  assert.is(libc.getrlimit(RLIMIT_NOFILE, saved), 0);
  const lowered = Buffer.from(saved);
  lowered.writeBigUInt64LE(BigInt(soft), 0);
  assert.is(libc.setrlimit(RLIMIT_NOFILE, lowered), 0);
  try {
    return f();
  } finally {
    assert.is(libc.setrlimit(RLIMIT_NOFILE, saved), 0);
  }
}

bound('a count of 2^26 subscriptions is inval at once, before memory is read or anything allocated for it', () => {
  const c = new Caller();
  try {
    c.dv.setUint32(Caller.RET, 0xdeadbeef, true);
    // Today a guest with 3 GiB of memory can hold this many; the host must refuse the count itself.
    assert.is(c.wasi.poll_oneoff(SUBS, EVENTS, 1 << 26, Caller.RET), errno.inval);
    assert.is(c.wasi.poll_oneoff(SUBS, EVENTS, -1, Caller.RET), errno.inval);
    assert.is(c.u32(Caller.RET), 0xdeadbeef, 'nevents was written');
  } finally { c.close(); }
});

bound('the bound is RLIMIT_NOFILE, as poll(2) bounds nfds: one more subscription is inval, that many are served', () => {
  const c = new Caller();
  try {
    // 2001 subscriptions at 0x8000 end at 0x1f730, below the events at 0x20000.
    const subs: Sub[] = Array.from({ length: 2001 }, (_, i) => [i, 9 /* an unknown type: an inval event */, 0]);
    withNofile(2000, () => {
      assert.is(poll(c, subs, 0x8000).errno, errno.inval);
      const served = poll(c, subs.slice(0, 2000), 0x8000);
      assert.is(served.errno, 0);
      assert.is(served.events.length, 2000);
      assert.equal(served.events[1999], ev(1999, 9, errno.inval));
    });
  } finally { c.close(); }
});

bound('a guest that tells the table 100,000 times between two calls that a watched pipe changed leaves one decoding pending, not 100,000', () => {
  const c = new Caller();
  try {
    const [r] = pipe(c);
    const subs: Sub[] = [[1, READ, r], [2, CLOCK, 0]];
    assert.equal(poll(c, subs).events, [ev(2, CLOCK)], 'the empty pipe is watched, the clock fires');
    const set = c.sandbox.fds.observer as PollSet;
    assert.is(set.pendingCount, 1, 'the clock, decoded on every call');
    assert.is(c.wasi.fd_fdstat_get(r, 0x200), 0);
    const base = c.dv.getBigUint64(0x208, true), inheriting = c.dv.getBigUint64(0x210, true);
    // Narrowing to the same rights changes nothing, yet the table tells the poll set each time.
    for (let k = 0; k < 100_000; k++) assert.is(c.wasi.fd_fdstat_set_rights(r, base, inheriting), 0);
    assert.is(set.pendingCount, 2, 'the pipe\'s subscription is listed once');
    assert.equal(poll(c, subs).events, [ev(2, CLOCK)], 'decoded again, still not ready');
    assert.is(set.pendingCount, 1);
  } finally { c.close(); }
});

bound.run();
