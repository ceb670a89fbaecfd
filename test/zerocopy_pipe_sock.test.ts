// zerocopy.pipe's host descriptors and result pointer, and the effect of sock_cork and
// sock_peername on real sockets, read back on the host (docs/ABI.md, "pipe", "sock_cork",
// "sock_peername"), each compared with what Linux answers for the same socket natively.
import { suite } from './helpers/suite.js';
import { socketPair, tcpListener } from './helpers/fds.js';
import * as assert from 'uvu/assert';
import * as libc from '../host/native/libc.js';
import { F, O } from '../host/native/platform.js';
import { errno, errnoName, fromLinux } from '../host/sandbox/errno.js';
import { Caller, tcpPair } from './helpers/imports.js';
import { openFds } from './helpers/guest.js';

const RET = 0x100;
const FD_CLOEXEC = 1, IPPROTO_TCP = 6, TCP_CORK = 3;

const ok = (r: number, what: string): number => { if (r < 0) throw new Error(`${what}: errno ${-r}`); return r; };
function corked(hostFd: number): number {
  const v = Buffer.alloc(4), len = Buffer.alloc(4);
  len.writeUInt32LE(4);
  ok(libc.getsockopt(hostFd, IPPROTO_TCP, TCP_CORK, v, len), 'getsockopt');
  return v.readInt32LE(0);
}
/** What Linux answers natively for setsockopt(TCP_CORK) on a host socket. */
function nativeCork(hostFd: number, on: number): string {
  const r = libc.setsockopt(hostFd, IPPROTO_TCP, TCP_CORK, new Uint8Array(new Int32Array([on]).buffer), 4);
  return r < 0 ? errnoName[fromLinux(-r)] : 'success';
}
function nativePeer(hostFd: number): string {
  const r = libc.getpeername(hostFd, Buffer.alloc(28), Buffer.from([28, 0, 0, 0]));
  return r < 0 ? errnoName[fromLinux(-r)] : 'success';
}

let fdsBefore: string[] = [];
function withCaller(body: (c: Caller, host: number[]) => void): void {
  const c = new Caller();
  const host: number[] = [];
  try {
    body(c, host);
  } finally {
    c.close();
    for (const fd of host) libc.close(fd);
  }
}

// ---------------------------------------------------------------------------------------
const pipes = suite('zerocopy.pipe');
pipes.before(async () => { fdsBefore = openFds(); });

pipes('both host ends are close-on-exec, non-blocking exactly when NONBLOCK is asked', () => withCaller((c) => {
  for (const fdflags of [0, 4]) {
    assert.is(c.zc.pipe(fdflags, RET), errno.success);
    for (const fd of [c.u32(RET), c.u32(RET + 4)]) {
      const host = c.sandbox.fds.get(fd).hostFd;
      assert.is(libc.fcntl(host, F.GETFD, 0) & FD_CLOEXEC, FD_CLOEXEC, `FD_CLOEXEC on guest ${fd}`);
      assert.is((libc.fcntl(host, F.GETFL, 0) & O.NONBLOCK) !== 0, fdflags === 4, `O_NONBLOCK on guest ${fd}`);
    }
  }
}));

pipes('a result pointer of 0 (NULL) is fault: guest bytes 0-7 stay and no descriptor is created', () => withCaller((c) => {
  c.u8.fill(0xab, 0, 8);
  const before = [...c.sandbox.fds.list()].length;
  assert.is(errnoName[c.zc.pipe(0, 0)], 'fault');
  assert.equal([...c.u8.subarray(0, 8)], Array(8).fill(0xab));
  assert.is([...c.sandbox.fds.list()].length, before);
}));

pipes('no host descriptor is left open', () => {
  assert.equal(openFds(), fdsBefore);
});
pipes.run();

// ---------------------------------------------------------------------------------------
const cork = suite('zerocopy.sock_cork and sock_peername on real sockets');

cork('sock_cork sets and clears TCP_CORK on a connected socket, as getsockopt reads back', () => withCaller((c, host) => {
  const [a, b] = tcpPair();
  host.push(a, b);
  const fd = c.sandbox.grant(a);
  const h = c.sandbox.fds.get(fd).hostFd;
  assert.is(corked(h), 0);
  assert.is(errnoName[c.zc.sock_cork(fd, 1)], 'success');
  assert.is(corked(h), 1);
  assert.is(corked(a), 1, 'the option belongs to the socket the guest was given');
  assert.is(errnoName[c.zc.sock_cork(fd, 0)], 'success');
  assert.is(corked(h), 0);
}));

cork('sock_cork on a Unix socket is notsup, as Linux answers EOPNOTSUPP', () => withCaller((c, host) => {
  const [a, b] = socketPair();
  host.push(a, b);
  assert.is(nativeCork(b, 1), 'notsup');
  assert.is(errnoName[c.zc.sock_cork(c.sandbox.grant(a), 1)], 'notsup');
}));

cork('sock_cork on a listening socket answers what Linux answers (it is not connected, and TCP_CORK is still set)', () => withCaller((c, host) => {
  const l = tcpListener().fd;
  host.push(l);
  const native = nativeCork(l, 1);
  assert.is(native, 'success');
  ok(libc.setsockopt(l, IPPROTO_TCP, TCP_CORK, new Uint8Array(4), 4), 'uncork');
  const fd = c.sandbox.grant(l);
  assert.is(errnoName[c.zc.sock_cork(fd, 1)], native);
  assert.is(corked(l), 1);
}));

/**
 * A connection to `listener` from `from` (four octets, all on loopback's 127.0.0.0/8) and
 * `port` (0: the kernel's choice); returns the accepted end, whose peer that is.
 */
function acceptedFrom(listener: { fd: number; port: number }, from: number[], port: number): [accepted: number, client: number] {
  const AF_INET = 2, SOCK_STREAM = 1;
  const client = ok(libc.socket(AF_INET, SOCK_STREAM | O.CLOEXEC, 0), 'socket');
  try {
    const addr = Buffer.alloc(16);
    addr.writeUInt16LE(AF_INET, 0);
    addr.writeUInt16BE(port, 2);
    addr.set(from, 4);
    // A four-digit port someone else holds: the next one (EADDRINUSE is 98).
    let r = libc.bind_(client, addr, 16);
    for (let p = port + 1; r === -98 && port !== 0 && p < 10000; p++) {
      addr.writeUInt16BE(p, 2);
      r = libc.bind_(client, addr, 16);
    }
    ok(r, `bind ${from.join('.')}:${port}`);
    addr.writeUInt16BE(listener.port, 2);
    addr.set([127, 0, 0, 1], 4);
    ok(libc.connect(client, addr, 16), 'connect');
    return [ok(libc.accept4(listener.fd, null, null, O.CLOEXEC), 'accept4'), client];
  } catch (e) {
    libc.close(client);
    throw e;
  }
}

/** The peer of a host socket as the kernel reports it, printed here: "a.b.c.d:port". */
function nativePeerText(hostFd: number): string {
  const addr = Buffer.alloc(28), len = Buffer.from([28, 0, 0, 0]);
  ok(libc.getpeername(hostFd, addr, len), 'getpeername');
  return `${[...addr.subarray(4, 8)].join('.')}:${addr.readUInt16BE(2)}`;
}

// Octets of one, two and three digits, 0 and 255 among them, and ports of four and five
// digits (lower ones need privileges): the text is written digit by digit (transfer.ts).
const PEERS: [from: number[], port: number][] = [
  [[127, 0, 0, 1], 0], [[127, 10, 200, 5], 0], [[127, 255, 99, 0], 0], [[127, 1, 2, 3], 1024 + (process.pid % 8000)],
  [[127, 4, 56, 78], 1024 + ((process.pid + 4000) % 8000)],
];

cork('sock_peername of an IPv4 peer is the address the kernel reports, byte for byte', () => withCaller((c, host) => {
  const listener = tcpListener(PEERS.length);
  host.push(listener.fd);
  for (const [from, port] of PEERS) {
    const [accepted, client] = acceptedFrom(listener, from, port);
    host.push(accepted, client);
    const expected = nativePeerText(accepted);
    if (port !== 0) assert.match(expected, /:\d{4}$/, 'a four-digit port');
    c.u8.fill(0xff, 0x400, 0x440);
    assert.is(errnoName[c.zc.sock_peername(c.sandbox.grant(accepted), 0x400, 64, RET)], 'success', expected);
    const len = c.u32(RET);
    assert.is(Buffer.from(c.u8.subarray(0x400, 0x400 + len)).toString('latin1'), expected);
    assert.is(c.u8[0x400 + len], 0xff, 'nothing is written past the text');
  }
}));

cork('sock_peername on a listening socket is notconn, as Linux answers ENOTCONN', () => withCaller((c, host) => {
  const l = tcpListener().fd;
  host.push(l);
  assert.is(nativePeer(l), 'notconn');
  assert.is(errnoName[c.zc.sock_peername(c.sandbox.grant(l), 0x400, 64, RET)], 'notconn');
}));

cork('sock_peername on a Unix socket is afnosupport: it has no address to print', () => withCaller((c, host) => {
  const [a, b] = socketPair();
  host.push(a, b);
  assert.is(nativePeer(a), 'success');
  assert.is(errnoName[c.zc.sock_peername(c.sandbox.grant(a), 0x400, 64, RET)], 'afnosupport');
}));

cork('sock_peername with a NULL buffer or result pointer is fault', () => withCaller((c, host) => {
  const [a, b] = tcpPair();
  host.push(a, b);
  const fd = c.sandbox.grant(a);
  assert.is(errnoName[c.zc.sock_peername(fd, 0, 64, RET)], 'fault');
  assert.is(errnoName[c.zc.sock_peername(fd, 0x400, 64, 0)], 'fault');
  assert.is(errnoName[c.zc.sock_peername(fd, 0x400, 64, RET)], 'success');
}));
cork.run();
