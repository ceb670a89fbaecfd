// zerocopy.sock_connect and sock_error (ABI v2): outbound connections as a capability. Only
// an address the host granted, byte for byte, is reached; a listener that counts what reaches
// it proves that nothing else leaves. The outcomes are Linux's, checked differentially with
// test/c/connect.c built natively and for wasm32-wasi.
import { suite } from './helpers/suite.js';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Sandbox, ZEROCOPY_ABI_VERSION, errno, run } from '../host/index.js';
import { boundPort, listenOn } from '../host/listen.js';
import * as libc from '../host/native/libc.js';
import { F, O } from '../host/native/platform.js';
import { GUESTS, ROOT, loadGuest, openFds, runGuest, tempDir } from './helpers/guest.js';
import { closedPort, fullListener } from './helpers/fds.js';
import { Caller } from './helpers/imports.js';

const SCRIPT = join(GUESTS, 'sock_script.wasm');
const NONBLOCK = 4, FD_CLOEXEC = 1;

/** Accepts (and closes) every connection queued on a listener; returns how many there were. */
function drainAccepts(listener: number): number {
  libc.fcntl(listener, F.SETFL, O.NONBLOCK); // accept4's flags are the new socket's: the listener must not wait
  let n = 0;
  for (;;) {
    const fd = libc.accept4(listener, null, null, O.CLOEXEC | O.NONBLOCK);
    if (fd < 0) return n;
    libc.close(fd);
    n++;
  }
}


/** sock_connect through the import, with the address's exact bytes; [errno, guest fd]. */
function connectRaw(c: Caller, text: string | Uint8Array, fdflags = 0): [number, number] {
  const [p, l] = c.str(text);
  const e = c.zc.sock_connect(p, l, fdflags, Caller.RET);
  return [e, e === errno.success ? c.u32(Caller.RET) : -1];
}

// ---------------------------------------------------------------------------------------
const grants = suite('sock_connect reaches granted addresses and nothing else');

grants('every other spelling or address is notcapable, creates nothing and sends no packet', () => {
  const granted = listenOn('127.0.0.1:0'), other = listenOn('127.0.0.1:0');
  const a = boundPort(granted), b = boundPort(other);
  const c = new Caller({ connect: [`127.0.0.1:${a}`] });
  const fdsBefore = openFds();
  try {
    const refused = [
      `127.0.0.1:${b}`, `localhost:${a}`, `127.0.0.01:${a}`, `127.1:${a}`, `2130706433:${a}`, `0x7f.0.0.1:${a}`,
      `127.0.0.1:0${a}`, `[::ffff:127.0.0.1]:${a}`, `[::1]:${a}`, ` 127.0.0.1:${a}`, `127.0.0.1:${a} `,
      `127.0.0.1:${a}\n`, `127.0.0.1:${a}\0`, `127.0.0.1:${a}`.slice(0, -1), `127.0.0.1:${a}0`, '', `127.0.0.1`,
    ];
    for (const text of refused) {
      assert.is(connectRaw(c, text)[0], errno.notcapable, JSON.stringify(text));
      assert.is(connectRaw(c, text, NONBLOCK)[0], errno.notcapable, JSON.stringify(text));
    }
    assert.equal(openFds(), fdsBefore, 'a refused connect left a host descriptor');
    assert.equal([...c.sandbox.fds.list()].map(([fd]) => fd), [], 'a refused connect added a guest descriptor');
    // Loopback completes the handshake before connect(2) returns: a SYN that had left would be
    // a connection queued on one of these listeners now.
    assert.is(drainAccepts(other), 0, 'a packet reached the address that was not granted');
    assert.is(drainAccepts(granted), 0, 'a packet reached the granted address through another spelling');
    const [e, fd] = connectRaw(c, `127.0.0.1:${a}`);
    assert.is(e, errno.success);
    assert.ok(fd >= 0);
    assert.is(drainAccepts(granted), 1, 'the granted address was not reached');
  } finally {
    c.close();
    libc.close(granted);
    libc.close(other);
  }
});

grants('a sandbox granted nothing reaches nothing', () => {
  const l = listenOn('127.0.0.1:0');
  const c = new Caller();
  try {
    assert.is(connectRaw(c, `127.0.0.1:${boundPort(l)}`)[0], errno.notcapable);
    assert.is(drainAccepts(l), 0);
  } finally {
    c.close();
    libc.close(l);
  }
});

grants('IPv6 grants work as IPv4 ones', () => {
  const l = listenOn('[::1]:0');
  const c = new Caller({ connect: [`[::1]:${boundPort(l)}`] });
  try {
    assert.is(connectRaw(c, `[0:0::1]:${boundPort(l)}`)[0], errno.notcapable);
    assert.is(connectRaw(c, `[::1]:${boundPort(l)}`)[0], errno.success);
    assert.is(drainAccepts(l), 1);
  } finally {
    c.close();
    libc.close(l);
  }
});

grants('a grant that is not an address is a one-line error from Sandbox and run(), naming no CLI flag, before anything starts', () => {
  for (const [bad, message] of [
    ['localhost:80', 'localhost:80: a host name is not an address; give an IP address, as 127.0.0.1:80 or [::1]:80'],
    ['999.0.0.1:80', '999.0.0.1:80: not an IPv4 address (a part is above 255)'],
    ['[::1:80', '[::1:80: expected IPv4:PORT or [IPv6]:PORT'],
    ['[1:2]:80', '[1:2]:80: not an IPv6 address'],
    ['127.0.0.1:0', '127.0.0.1:0: port 0 cannot be connected to'],
    ['127.0.0.1:65536', '127.0.0.1:65536: port 65536 is out of range (0 to 65535)'],
  ]) {
    const before = openFds();
    assert.throws(() => new Sandbox({ connect: [bad] }), (e: Error) => e.message === message, bad);
    assert.throws(() => run(loadGuest(SCRIPT), { connect: [bad] }), (e: Error) => e.message === message, bad);
    assert.equal(openFds(), before);
  }
});

grants('--trace shows the address a guest asked for, as text', () => {
  const lines: string[] = [];
  const c = new Caller({ connect: ['127.0.0.1:9'], trace: (l) => { lines.push(l); } });
  try {
    const [p, l] = c.str('127.0.0.2:80');
    assert.is(c.zc.sock_connect(p, l, 4, Caller.RET), errno.notcapable);
    assert.equal(lines, [`zerocopy.sock_connect(addr="127.0.0.2:80", addr_len=12, fdflags=4, ret_fd=0x${Caller.RET.toString(16)}) = notcapable\n`]);
  } finally {
    c.close();
  }
});

grants('the version query says 2, as the header and docs/ABI.md do, and v2\'s functions are there', () => {
  assert.is(ZEROCOPY_ABI_VERSION, 2);
  assert.is(/#define ZEROCOPY_ABI_VERSION (\d+)/.exec(readFileSync(join(ROOT, 'include', 'zerocopy.h'), 'utf8'))?.[1], '2');
  assert.is(/^# The `zerocopy` import module, ABI v(\d+)$/m.exec(readFileSync(join(ROOT, 'docs', 'ABI.md'), 'utf8'))?.[1], '2');
  const zc = new Sandbox({ stdin: null, stdout: null, stderr: null }).getImportObject().zerocopy as Record<string, unknown>;
  for (const name of ['sock_connect', 'sock_error', 'pipe_set_size']) assert.is(typeof zc[name], 'function', name);
});

grants.run();

// ---------------------------------------------------------------------------------------
const socket = suite('the socket sock_connect makes');

socket('is a stream socket, close-on-exec on the host, blocking unless NONBLOCK is asked', () => {
  const l = listenOn('127.0.0.1:0');
  const addr = `127.0.0.1:${boundPort(l)}`;
  const c = new Caller({ connect: [addr] });
  try {
    for (const fdflags of [0, NONBLOCK]) {
      const [e, fd] = connectRaw(c, addr, fdflags);
      assert.is(e, errno.success);
      const host = c.sandbox.fds.get(fd).hostFd;
      assert.is(libc.fcntl(host, F.GETFD, 0) & FD_CLOEXEC, FD_CLOEXEC, 'close-on-exec');
      assert.is(libc.fcntl(host, F.GETFL, 0) & O.NONBLOCK, fdflags ? O.NONBLOCK : 0, `host O_NONBLOCK, fdflags ${fdflags}`);
      assert.is(c.wasi.fd_fdstat_get(fd, 0x400), errno.success);
      assert.is(c.u8[0x400], 6, 'filetype socket_stream');
      assert.is(c.dv.getUint16(0x402, true), fdflags, 'fdflags as asked');
      assert.is(c.zc.sock_error(fd, 0x500), errno.success);
      assert.is(c.dv.getUint16(0x500, true), errno.success);
    }
    assert.is(c.zc.pipe(0, Caller.RET), errno.success);
    assert.is(c.zc.sock_error(c.u32(Caller.RET), 0x500), errno.notsock);
    assert.is(c.zc.sock_error(4242, 0x500), errno.badf);
  } finally {
    c.close();
    libc.close(l);
  }
});

socket('at the guest\'s descriptor limit it is mfile, creates no host socket and sends no SYN', () => {
  const l = listenOn('127.0.0.1:0');
  const addr = `127.0.0.1:${boundPort(l)}`;
  const c = new Caller({ connect: [addr], maxFds: 4 });
  try {
    let made = 0;
    while (c.sandbox.fds.size < 4) {
      assert.is(connectRaw(c, addr)[0], errno.success, `connect ${made + 1} of those that fit`);
      made++;
    }
    assert.ok(made >= 1, 'at least one connect fitted under the limit');
    const held = openFds();
    const [e, fd] = connectRaw(c, addr);
    assert.is(e, errno.mfile);
    assert.is(fd, -1);
    assert.equal(openFds(), held, 'no host descriptor left behind');
    assert.is(drainAccepts(l), made, 'only the connects that fitted reached the listener');
  } finally {
    c.close();
    libc.close(l);
  }
});

socket('the SDK connects, sends, and says notcapable and connrefused by errno', () => {
  const l = listenOn('127.0.0.1:0');
  const ok = `127.0.0.1:${boundPort(l)}`, refused = `127.0.0.1:${closedPort()}`;
  try {
    const r = runGuest(SCRIPT, { args: ['sock_script', `connect s ${ok}`, 'send s ping', 'sockerror s',
      `connect t 127.0.0.1:${boundPort(l) + 1}`, `connect u ${refused}`, `connect v ${ok} 4`, 'fdstat v'],
    connect: [ok, refused], stdin: null });
    assert.is(r.status, 0, r.stderr);
    assert.is(r.stdout, 'connect errno=0\nsend errno=0 n=4\nsockerror errno=0 pending=0\nconnect errno=76\n' +
      'connect errno=14\nconnect errno=0\nfdstat errno=0 type=6 flags=4\n');
    const fd = libc.accept4(l, null, null, O.CLOEXEC);
    const buf = Buffer.alloc(8);
    assert.is(libc.read(fd, buf, 8), 4);
    assert.is(buf.subarray(0, 4).toString(), 'ping');
    libc.close(fd);
  } finally {
    libc.close(l);
  }
});

socket('a blocking connect that never completes still ends when the guest is stopped', async () => {
  // A listener whose accept queue is full: connect(2) to it waits for minutes.
  const { fd: l, port, filler } = fullListener();
  const text = `127.0.0.1:${port}`;
  const dir = tempDir('wzc-conn-');
  const out = join(dir, 'out');
  const outFd = openSync(out, 'w');
  try {
    await new Promise((r) => setTimeout(r, 100));
    const running = run(loadGuest(SCRIPT), { args: ['sock_script', 'echo started', `connect s ${text}`, 'echo connected'],
      connect: [text], stdout: outFd, stdin: null });
    await new Promise((r) => setTimeout(r, 700));
    assert.is(readFileSync(out, 'utf8'), 'started\n', 'the guest should be waiting in sock_connect');
    const t0 = Date.now();
    // 143 = 128 + SIGTERM: stopped at the call. A connect that ignored the stop flag would be
    // terminated by run() after 2 s instead, reported as status 1 without a result.
    assert.equal(await running.stop(), [143]);
    assert.ok(Date.now() - t0 < 1500, `the stop took ${Date.now() - t0} ms`);
    assert.is(readFileSync(out, 'utf8'), 'started\n');
  } finally {
    closeSync(outFd);
    libc.close(filler);
    libc.close(l);
    rmSync(dir, { recursive: true, force: true });
  }
});

socket.run();

// ---------------------------------------------------------------------------------------
const differential = suite('connect.c: sock_connect and sock_error, the sandbox against native Linux');

const C_SRC = join(ROOT, 'test', 'c', 'connect.c');
const FIXTURE = join(ROOT, 'test', 'fixtures', 'c', 'connect.wasm');
let native: string[] = [];
let sandboxed: string[] = [];

differential.before(() => {
  const build = tempDir('wzc-cc-');
  const l = listenOn('127.0.0.1:0');
  try {
    const args = [`127.0.0.1:${boundPort(l)}`, `127.0.0.1:${closedPort()}`, '255.255.255.255:9'];
    const exe = join(build, 'connect');
    execFileSync('cc', ['-O2', '-I', join(ROOT, 'include'), C_SRC, '-o', exe], { stdio: 'pipe' });
    // stdout a file on both sides (Node's pipes are socketpairs, where SO_ERROR would succeed).
    const outFd = openSync(join(build, 'out'), 'w');
    try {
      execFileSync(exe, args, { stdio: ['ignore', outFd, 'pipe'] });
    } finally {
      closeSync(outFd);
    }
    native = readFileSync(join(build, 'out'), 'utf8').trimEnd().split('\n');
    const r = runGuest(FIXTURE, { args: ['connect', ...args], connect: args, stdin: null });
    assert.is(r.status, 0, r.stderr);
    sandboxed = r.stdout.trimEnd().split('\n');
  } finally {
    libc.close(l);
    rmSync(build, { recursive: true, force: true });
  }
});

differential('connect.wasm is built from the current connect.c and zerocopy.h', () => {
  const h = createHash('sha256');
  for (const f of [C_SRC, join(ROOT, 'include', 'zerocopy.h')]) h.update(readFileSync(f));
  assert.is(readFileSync(`${FIXTURE}.sha256`, 'utf8').trim(), h.digest('hex'), 'stale: run npm run build:c-fixtures');
});

differential('every case prints the same in the sandbox and natively', () => {
  assert.is(native.length, 9);
  assert.equal(sandboxed, native);
});

/** connect(2)'s and socket(7)'s expectations, on the sandboxed output. */
for (const line of [
  'a blocking connect to a listener: success',
  '  blocking: yes, sock_error: success -> success, send: 4',
  'a non-blocking connect to a listener: nonblock yes, polled ready, sock_error success -> success, then success',
  'a blocking connect to a port nobody listens on: connrefused',
  // EINPROGRESS, then the refusal through SO_ERROR, which reading clears.
  'a non-blocking connect to a port nobody listens on: nonblock yes, polled ready, sock_error success -> connrefused, then success',
  'a blocking connect to an unreachable address: netunreach',
  'a connect with an fdflag other than nonblock: inval',
  'sock_error on a file (stdout): notsock',
]) {
  differential(`the sandbox prints "${line.trim()}"`, () => assert.ok(sandboxed.includes(line), sandboxed.join('\n')));
}
differential.run();
