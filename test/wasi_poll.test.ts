// poll_oneoff and proc_raise, driven by a guest (assembly/guests/poll_script.ts) that prints
// each event, and, where only the import boundary can say it (pointers, every signal), by
// calling the imports directly. Times are asserted only from below: a clock must never fire
// early, but a loaded machine may always be late.
import { suite } from './helpers/suite.js';
import * as assert from 'uvu/assert';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import * as libc from '../host/native/libc.js';
import { Sandbox, errno } from '../host/index.js';
import { ProcExit } from '../host/sandbox/context.js';
import { GUESTS, openFds, runCli, runGuest, tempDir } from './helpers/guest.js';
import { Caller } from './helpers/imports.js';

const SCRIPT = join(GUESTS, 'poll_script.wasm');
const MS = 1_000_000n;

interface Poll { errno: number; events: string[]; elapsed: bigint }

/** The polls a script printed, in order: errno, event lines, and the time each took. */
function polls(stdout: string): Poll[] {
  const out: Poll[] = [];
  for (const line of stdout.split('\n')) {
    const p = /^poll errno=(\d+)/.exec(line);
    if (p) out.push({ errno: Number(p[1]), events: [], elapsed: -1n });
    else if (line.startsWith('event ')) out[out.length - 1].events.push(line.slice(6));
    else if (line.startsWith('elapsed_ns=')) out[out.length - 1].elapsed = BigInt(line.slice(11));
  }
  return out;
}

function script(ops: string[], options: Parameters<typeof runGuest>[1] = {}, setup?: (sb: Sandbox) => void): Poll[] {
  const r = runGuest(SCRIPT, { args: ['poll_script', ...ops], ...options }, setup);
  assert.is(r.status, 0, r.stdout + r.stderr);
  return polls(r.stdout);
}

/** `u=U type=T error=E nbytes=N flags=F`, as the guest prints an event. */
const ev = (u: number, type: number, error = 0, nbytes = 0, flags = 0) =>
  `u=${u} type=${type} error=${error} nbytes=${nbytes} flags=${flags}`;
const CLOCK = 0, READ = 1, WRITE = 2;

// ---------------------------------------------------------------------------------------
const clocks = suite('poll_oneoff: clocks');

clocks('a relative monotonic clock fires, and no earlier than its timeout', () => {
  const [p] = script(['poll rel:monotonic:30000000']);
  assert.equal(p.events, [ev(1, CLOCK)]);
  assert.ok(p.elapsed >= 30n * MS, `woke after ${p.elapsed} ns`);
});

for (const spec of ['rel:realtime', 'abs:monotonic', 'abs:realtime']) {
  clocks(`a ${spec.replace(':', ' ')} clock of 20 ms fires no earlier than 20 ms`, () => {
    const [p] = script([`poll ${spec}:20000000`]);
    assert.equal(p.events, [ev(1, CLOCK)]);
    assert.ok(p.elapsed >= 20n * MS, `woke after ${p.elapsed} ns`);
  });
}

clocks('of several clocks the earliest ends the wait, and only it is reported', () => {
  const [p] = script(['poll rel:monotonic:10000000000 rel:monotonic:20000000 abs:realtime:10000000000']);
  assert.equal(p.events, [ev(2, CLOCK)]);
  assert.ok(p.elapsed >= 20n * MS, `woke after ${p.elapsed} ns`);
});

clocks('clocks already due fire together at once', () => {
  const [p] = script(['poll rel:monotonic:0 abs:monotonic:0 abs:realtime:0 rel:monotonic:10000000000']);
  assert.equal(p.events, [ev(1, CLOCK), ev(2, CLOCK), ev(3, CLOCK)]);
});

clocks('CPU-time clocks and unknown clock ids are events with error inval, not a wait', () => {
  const [p] = script(['poll rel:process:1 rel:thread:1 rel:4:1 rel:4294967295:1 rel:monotonic:10000000000']);
  assert.equal(p.events, [ev(1, CLOCK, errno.inval), ev(2, CLOCK, errno.inval), ev(3, CLOCK, errno.inval), ev(4, CLOCK, errno.inval)]);
});

clocks('a clock due later in the present second is not reported when a ready pipe ends the call first', () => {
  const c = new Caller();
  try {
    const monotonic = (): bigint => {
      assert.is(c.wasi.clock_time_get(1, 0n, Caller.RET), errno.success);
      return c.dv.getBigUint64(Caller.RET, true);
    };
    assert.is(c.zc.pipe(0, Caller.RET), errno.success);
    const r = c.u32(Caller.RET), w = c.u32(Caller.RET + 4);
    assert.is(libc.write(c.sandbox.fds.get(w).hostFd, Buffer.from('x'), 1), 1);
    // The deadline: the last nanosecond of the present second, at least half a second away,
    // so that seconds alone would call it due and only the nanoseconds say it is not.
    let t = monotonic();
    if (t % 1_000_000_000n > 500_000_000n) {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number((1_000_000_000n - t % 1_000_000_000n) / MS) + 1);
      t = monotonic();
    }
    const deadline = t - t % 1_000_000_000n + 999_999_999n;
    const SUBS = 0x2000, EVENTS = 0x3000, dv = c.dv;
    new Uint8Array(c.memory.buffer, SUBS, 96).fill(0);
    dv.setBigUint64(SUBS, 1n, true);
    dv.setUint8(SUBS + 8, READ);
    dv.setUint32(SUBS + 16, r, true);
    dv.setBigUint64(SUBS + 48, 2n, true);
    dv.setUint8(SUBS + 48 + 8, CLOCK);
    dv.setUint32(SUBS + 48 + 16, 1 /* monotonic */, true);
    dv.setBigUint64(SUBS + 48 + 24, deadline, true);
    dv.setUint16(SUBS + 48 + 40, 1 /* ABSTIME */, true);
    assert.is(c.wasi.poll_oneoff(SUBS, EVENTS, 2, Caller.RET), errno.success);
    const reported = Array.from({ length: c.u32(Caller.RET) }, (_, k) => c.dv.getBigUint64(EVENTS + k * 32, true));
    const after = monotonic();
    if (after < deadline) assert.equal(reported, [1n], 'the clock was reported before it was due');
    else assert.ok(reported.includes(1n), 'the ready pipe was not reported'); // a stall of half a second
  } finally { c.close(); }
});

clocks.run();

// ---------------------------------------------------------------------------------------
const fds = suite('poll_oneoff: descriptors');

fds('an empty pipe waits for the clock; a readable one is reported with its byte count, before a 10 s clock', () => {
  const [empty, readable] = script(['pipe p', 'poll r:p.r rel:monotonic:25000000', 'write p.w hello', 'poll r:p.r rel:monotonic:10000000000']);
  assert.equal(empty.events, [ev(2, CLOCK)]);
  assert.ok(empty.elapsed >= 25n * MS, `woke after ${empty.elapsed} ns`);
  assert.equal(readable.events, [ev(1, READ, 0, 5)]);
});

fds('a pipe whose writer closed is readable with the hangup flag and keeps its byte count', () => {
  const [p, q] = script(['pipe p', 'write p.w abc', 'close p.w', 'poll r:p.r', 'read p.r 3', 'poll r:p.r']);
  assert.equal(p.events, [ev(1, READ, 0, 3, 1)]);
  assert.equal(q.events, [ev(1, READ, 0, 0, 1)]);
});

fds('a pipe with room is ready for writing; read and write subscriptions report together', () => {
  const [p] = script(['pipe p', 'write p.w xy', 'poll w:p.w r:p.r rel:monotonic:10000000000']);
  assert.equal(p.events, [ev(1, WRITE), ev(2, READ, 0, 2)]);
});

fds('a regular file is always ready, with the bytes from its position to its end', () => {
  const dir = tempDir();
  try {
    writeFileSync(join(dir, 'f'), '0123456789');
    // Opened with fd_read alone: poll_fd_readwrite is not demanded unless the guest dropped it.
    const [p] = script(['open f f', 'read f 3', 'poll r:f w:f rel:monotonic:10000000000'], { preopens: { '/': dir } });
    assert.equal(p.events, [ev(1, READ, 0, 7), ev(2, WRITE)]);
  } finally { rmSync(dir, { recursive: true }); }
});

fds('a socket reports the bytes queued (FIONREAD), and the hangup flag once its peer is gone', () => {
  for (const closePeer of [false, true]) {
    const pair = Buffer.alloc(8);
    assert.is(libc.socketpair(1 /* AF_UNIX */, 1 /* SOCK_STREAM */ | 0o2000000, 0, pair), 0);
    const [mine, theirs] = [pair.readInt32LE(0), pair.readInt32LE(4)];
    try {
      assert.is(libc.write(mine, Buffer.from('12345'), 5), 5);
      if (closePeer) libc.close(mine);
      const [p] = script(['fd s 3', 'poll r:s rel:monotonic:10000000000'], { stdin: null, grant: [theirs] });
      assert.equal(p.events, [ev(1, READ, 0, 5, closePeer ? 1 : 0)], closePeer ? 'peer closed' : 'peer open');
    } finally {
      if (!closePeer) libc.close(mine);
      libc.close(theirs);
    }
  }
});

fds('a virtual stdin is always ready', () => {
  const [p] = script(['fd in 0', 'poll r:in rel:monotonic:10000000000'], { stdin: { read: () => 0 } });
  assert.equal(p.events, [ev(1, READ)]);
});

fds('a descriptor the guest does not hold is an event with badf, and ready ones come with it', () => {
  const [p] = script(['pipe p', 'write p.w z', 'poll r:nothing w:nothing r:p.r rel:monotonic:10000000000']);
  assert.equal(p.events, [ev(1, READ, errno.badf), ev(2, WRITE, errno.badf), ev(3, READ, 0, 1)]);
});

fds('a descriptor whose poll right the guest dropped is an event with notcapable', () => {
  const [p] = script(['pipe p', 'revoke p.r', 'poll r:p.r rel:monotonic:10000000000']);
  assert.equal(p.events, [ev(1, READ, errno.notcapable)]);
});

fds('an unknown event type is an event with inval; no subscriptions at all is inval', () => {
  const [p, none] = script(['poll type:3 type:255', 'poll0']);
  assert.equal(p.events, [ev(1, 3, errno.inval), ev(2, 255, errno.inval)]);
  assert.is(none.errno, errno.inval);
});

fds('one call watches 2000 pipes and reports exactly the readable ones', () => {
  const before = openFds();
  // 4000 pipe ends: past the default descriptor limit of 1024.
  const r = runGuest(SCRIPT, { args: ['poll_script', 'many 2000 3'], maxFds: 4096 });
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout, 'many errno=0 events=667 wrong=0\n');
  assert.equal(openFds(), before);
});

fds('Sandbox.stop ends a guest blocked in poll_oneoff', () => {
  // The guest blocks this thread, so another thread raises the flag, as run() does.
  const stopFlag = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(
    'const { workerData: f } = require("node:worker_threads"); Atomics.wait(f, 0, 0, 150); Atomics.store(f, 0, 15);',
    { eval: true, workerData: stopFlag });
  try {
    const r = runGuest(SCRIPT, { args: ['poll_script', 'pipe p', 'poll r:p.r rel:monotonic:20000000000', 'echo'], stopFlag });
    assert.is(r.status, 128 + 15, 'not stopped: the 20 s guard clock fired instead');
    assert.is(r.stdout, '');
  } finally {
    void worker.terminate();
  }
});

fds.run();

// ---------------------------------------------------------------------------------------
const boundary = suite('poll_oneoff and proc_raise at the import boundary');

boundary('subscriptions or events not wholly in memory are fault, before anything waits', () => {
  const c = new Caller();
  try {
    const end = c.memory.buffer.byteLength;
    assert.is(c.wasi.poll_oneoff(end - 48, 0x2000, 2, Caller.RET), errno.fault);
    assert.is(c.wasi.poll_oneoff(0x2000, end - 32, 2, Caller.RET), errno.fault);
    assert.is(c.wasi.poll_oneoff(0x2000, 0x4000, 1, end - 2), errno.fault);
    assert.is(c.wasi.poll_oneoff(end - 48 * 10, 0x2000, 11, Caller.RET), errno.fault);
    // A count past RLIMIT_NOFILE is inval before memory is looked at (wasi_poll_set.test.ts).
  } finally { c.close(); }
});

/** WASI's signal enum (witx `signal`) with each signal's Linux number and default action (signal(7)). */
const SIGNALS: [name: string, linux: number, ends: boolean][] = [
  ['hup', 1, true], ['int', 2, true], ['quit', 3, true], ['ill', 4, true], ['trap', 5, true], ['abrt', 6, true],
  ['bus', 7, true], ['fpe', 8, true], ['kill', 9, true], ['usr1', 10, true], ['segv', 11, true], ['usr2', 12, true],
  ['pipe', 13, true], ['alrm', 14, true], ['term', 15, true], ['chld', 17, false], ['cont', 18, false],
  ['stop', 19, false], ['tstp', 20, false], ['ttin', 21, false], ['ttou', 22, false], ['urg', 23, false],
  ['xcpu', 24, true], ['xfsz', 25, true], ['vtalrm', 26, true], ['prof', 27, true], ['winch', 28, false],
  ['poll', 29, true], ['pwr', 30, true], ['sys', 31, true],
];

SIGNALS.forEach(([name, linux, ends], i) => {
  const sig = i + 1;
  boundary(`proc_raise(${name}) ${ends ? `ends the guest with status ${128 + linux}` : 'does nothing'}`, () => {
    const c = new Caller();
    try {
      if (ends) assert.throws(() => c.wasi.proc_raise(sig), (e: unknown) => e instanceof ProcExit && e.code === 128 + linux);
      else assert.is(c.wasi.proc_raise(sig), errno.success);
    } finally { c.close(); }
  });
});

boundary('proc_raise of signal 0 or past the enum is inval', () => {
  const c = new Caller();
  try {
    for (const sig of [0, 31, 255]) assert.is(c.wasi.proc_raise(sig), errno.inval, `signal ${sig}`);
  } finally { c.close(); }
});

boundary('a guest that raises abrt exits 134, the status of a trap, and runs no further', () => {
  const r = runCli(['run', SCRIPT, 'raise 16', 'raise 6', 'echo after']);
  assert.is(r.status, 134, r.stderr);
  assert.is(r.stdout, 'raise returned 0\n');
});

boundary.run();
