// poll_oneoff, proc_raise and the sock_* calls, driven through the import object the way a
// guest's calls arrive: arguments are pointers into a memory the test lays out itself.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { closeSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as libc from '../host/native/libc.js';
import { Sandbox, errno } from '../host/index.js';
import { ProcExit } from '../host/sandbox/context.js';
import { openFds, tempDir } from './helpers/guest.js';

type Fn = (...a: any[]) => number;
interface Harness { sb: Sandbox; w: Record<string, Fn>; z: Record<string, Fn>; dv: DataView; u8: Uint8Array }

function harness(): Harness {
  const sb = new Sandbox({ stdin: null, stdout: null, stderr: null });
  const memory = new WebAssembly.Memory({ initial: 2 });
  sb.attachMemory(memory);
  const imports = sb.getImportObject() as Record<string, Record<string, Fn>>;
  return { sb, w: imports.wasi_snapshot_preview1, z: imports.zerocopy, dv: new DataView(memory.buffer), u8: new Uint8Array(memory.buffer) };
}

const SUBS = 0x1000, EVENTS = 0x8000, NEVENTS = 0x10, PIPE = 0x20, RET = 0x30;
function clockSub(dv: DataView, i: number, userdata: bigint, ns: bigint): void {
  const s = SUBS + i * 48;
  dv.setBigUint64(s, userdata, true);
  dv.setUint8(s + 8, 0);
  dv.setUint32(s + 16, 1, true); // monotonic
  dv.setBigUint64(s + 24, ns, true);
  dv.setUint16(s + 40, 0, true);
}
function fdSub(dv: DataView, i: number, userdata: bigint, type: 1 | 2, fd: number): void {
  const s = SUBS + i * 48;
  dv.setBigUint64(s, userdata, true);
  dv.setUint8(s + 8, type);
  dv.setUint32(s + 16, fd, true);
}
const event = (dv: DataView, i: number) => ({
  userdata: dv.getBigUint64(EVENTS + i * 32, true), error: dv.getUint16(EVENTS + i * 32 + 8, true),
  type: dv.getUint8(EVENTS + i * 32 + 10), nbytes: dv.getBigUint64(EVENTS + i * 32 + 16, true),
  flags: dv.getUint16(EVENTS + i * 32 + 24, true),
});
function pipe(h: Harness, flags = 0): [number, number] {
  assert.is(h.z.pipe(flags, PIPE), errno.success);
  return [h.dv.getUint32(PIPE, true), h.dv.getUint32(PIPE + 4, true)];
}
function write(h: Harness, fd: number, text: string): number {
  h.u8.set(Buffer.from(text), 0x400);
  h.dv.setUint32(0x300, 0x400, true);
  h.dv.setUint32(0x304, Buffer.byteLength(text), true);
  return h.w.fd_write(fd, 0x300, 1, RET);
}

// ---------------------------------------------------------------------------------------
const poll = suite('poll_oneoff');

poll('a relative clock fires no earlier than its timeout', () => {
  const h = harness();
  try {
    clockSub(h.dv, 0, 7n, 30_000_000n);
    const t0 = process.hrtime.bigint();
    assert.is(h.w.poll_oneoff(SUBS, EVENTS, 1, NEVENTS), errno.success);
    assert.ok(process.hrtime.bigint() - t0 >= 30_000_000n, 'returned before the timeout');
    assert.is(h.dv.getUint32(NEVENTS, true), 1);
    assert.equal(event(h.dv, 0), { userdata: 7n, error: 0, type: 0, nbytes: 0n, flags: 0 });
  } finally { h.sb.close(); }
});

poll('a readable pipe is reported with its byte count, before a later clock', () => {
  const h = harness();
  try {
    const [r, w] = pipe(h);
    write(h, w, 'hello');
    fdSub(h.dv, 0, 1n, 1, r);
    clockSub(h.dv, 1, 2n, 10_000_000_000n);
    assert.is(h.w.poll_oneoff(SUBS, EVENTS, 2, NEVENTS), errno.success);
    assert.is(h.dv.getUint32(NEVENTS, true), 1);
    assert.equal(event(h.dv, 0), { userdata: 1n, error: 0, type: 1, nbytes: 5n, flags: 0 });
  } finally { h.sb.close(); }
});

poll('an empty pipe waits for the clock, and a closed writer is a hangup', () => {
  const h = harness();
  try {
    const [r, w] = pipe(h);
    fdSub(h.dv, 0, 1n, 1, r);
    clockSub(h.dv, 1, 2n, 5_000_000n);
    assert.is(h.w.poll_oneoff(SUBS, EVENTS, 2, NEVENTS), errno.success);
    assert.equal(event(h.dv, 0).userdata, 2n);
    assert.is(h.w.fd_close(w), errno.success);
    assert.is(h.w.poll_oneoff(SUBS, EVENTS, 1, NEVENTS), errno.success);
    assert.is(event(h.dv, 0).flags, 1, 'hangup');
  } finally { h.sb.close(); }
});

poll('a descriptor the guest does not hold is an event with badf; no subscriptions is inval', () => {
  const h = harness();
  try {
    fdSub(h.dv, 0, 9n, 1, 4242);
    assert.is(h.w.poll_oneoff(SUBS, EVENTS, 1, NEVENTS), errno.success);
    assert.equal(event(h.dv, 0), { userdata: 9n, error: errno.badf, type: 1, nbytes: 0n, flags: 0 });
    assert.is(h.w.poll_oneoff(SUBS, EVENTS, 0, NEVENTS), errno.inval);
    assert.is(h.w.poll_oneoff(0x1fff0, EVENTS, 2, NEVENTS), errno.fault);
  } finally { h.sb.close(); }
});

poll('a regular file is always ready, with the bytes left to read', () => {
  const dir = tempDir();
  const h = harness();
  try {
    writeFileSync(join(dir, 'f'), '0123456789');
    const hostFd = openSync(join(dir, 'f'), 'r');
    const fd = h.sb.grant(hostFd);
    closeSync(hostFd);
    fdSub(h.dv, 0, 3n, 1, fd);
    fdSub(h.dv, 1, 4n, 2, fd);
    assert.is(h.w.poll_oneoff(SUBS, EVENTS, 2, NEVENTS), errno.success);
    assert.is(h.dv.getUint32(NEVENTS, true), 2);
    assert.is(event(h.dv, 0).nbytes, 10n);
  } finally { h.sb.close(); rmSync(dir, { recursive: true }); }
});

poll('one call watches a thousand pipes', () => {
  const h = harness();
  try {
    const n = 1000;
    for (let i = 0; i < n; i++) {
      const [r, w] = pipe(h);
      if (i % 2 === 0) write(h, w, 'x');
      fdSub(h.dv, i, BigInt(i), 1, r);
    }
    assert.is(h.w.poll_oneoff(SUBS, EVENTS, n, NEVENTS), errno.success);
    const got = h.dv.getUint32(NEVENTS, true);
    assert.is(got, n / 2);
    for (let i = 0; i < got; i++) assert.is(event(h.dv, i).userdata % 2n, 0n);
  } finally { h.sb.close(); }
});

poll('proc_raise of a terminating signal ends the guest with 128 + its number', () => {
  const h = harness();
  try {
    assert.throws(() => h.w.proc_raise(6), (e: unknown) => e instanceof ProcExit && e.code === 134);
    assert.is(h.w.proc_raise(16), errno.success, 'SIGCHLD is ignored by default');
    assert.is(h.w.proc_raise(0), errno.inval);
  } finally { h.sb.close(); }
});
poll.run();

// ---------------------------------------------------------------------------------------
const sock = suite('sock_*');

/** A listener on 127.0.0.1 and a connected client, both host descriptors. */
function loopback(): { listener: number; client: number } {
  const listener = libc.socket(2, 1 | 0o2000000, 0);
  const addr = Buffer.alloc(16);
  addr.writeUInt16LE(2, 0);
  addr.writeUInt32BE(0x7f000001, 4);
  assert.is(libc.bind_(listener, addr, 16), 0);
  assert.is(libc.listen(listener, 8), 0);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(16);
  libc.getsockname(listener, addr, len);
  const client = libc.socket(2, 1 | 0o2000000, 0);
  assert.is(libc.connect(client, addr, 16), 0);
  return { listener, client };
}

sock('accept, send, recv with PEEK, shutdown: a whole conversation', () => {
  const before = openFds();
  const h = harness();
  const { listener, client } = loopback();
  try {
    const l = h.sb.grant(listener);
    assert.is(h.w.sock_accept(l, 0, RET), errno.success);
    const conn = h.dv.getUint32(RET, true);
    assert.is(h.w.fd_fdstat_get(conn, 0x200), errno.success);
    assert.is(h.dv.getUint8(0x200), 6, 'socket_stream');

    h.u8.set(Buffer.from('ping'), 0x400);
    h.dv.setUint32(0x300, 0x400, true);
    h.dv.setUint32(0x304, 4, true);
    assert.is(h.w.sock_send(conn, 0x300, 1, 0, RET), errno.success);
    const got = Buffer.alloc(16);
    assert.is(libc.read(client, got, 16), 4);
    assert.is(got.subarray(0, 4).toString(), 'ping');

    libc.write(client, Buffer.from('pong'), 4);
    h.dv.setUint32(0x300, 0x500, true);
    h.dv.setUint32(0x304, 16, true);
    assert.is(h.w.sock_recv(conn, 0x300, 1, 1 /* PEEK */, RET, RET + 4), errno.success);
    assert.is(h.dv.getUint32(RET, true), 4);
    assert.is(h.w.sock_recv(conn, 0x300, 1, 0, RET, RET + 4), errno.success);
    assert.is(Buffer.from(h.u8.subarray(0x500, 0x504)).toString(), 'pong', 'PEEK left the data for the next recv');

    assert.is(h.w.sock_shutdown(conn, 2 /* WR */), errno.success);
    assert.is(libc.read(client, got, 16), 0, 'the peer sees end of stream');
    assert.is(h.w.sock_shutdown(conn, 0), errno.inval);
    assert.is(h.w.sock_accept(l, 1 /* APPEND */, RET), errno.inval);
  } finally {
    h.sb.close();
    libc.close(listener);
    libc.close(client);
  }
  assert.equal(openFds(), before);
});

sock('sending to a peer that hung up is pipe or connreset, never a signal', () => {
  const h = harness();
  const { listener, client } = loopback();
  try {
    assert.is(h.w.sock_accept(h.sb.grant(listener), 0, RET), errno.success);
    const conn = h.dv.getUint32(RET, true);
    libc.close(client);
    h.dv.setUint32(0x300, 0x400, true);
    h.dv.setUint32(0x304, 4096, true);
    const results = new Set<number>();
    for (let i = 0; i < 4; i++) results.add(h.w.sock_send(conn, 0x300, 1, 0, RET));
    assert.ok([...results].some((e) => e === errno.pipe || e === errno.connreset), `got ${[...results]}`);
  } finally {
    h.sb.close();
    libc.close(listener);
  }
});

sock('sock_* on something that is not a socket is notsock; on nothing, badf', () => {
  const h = harness();
  try {
    const [r] = pipe(h);
    assert.is(h.w.sock_shutdown(r, 3), errno.notsock);
    assert.is(h.w.sock_accept(r, 0, RET), errno.notsock);
    assert.is(h.w.sock_shutdown(4242, 3), errno.badf);
  } finally { h.sb.close(); }
});
sock.run();
