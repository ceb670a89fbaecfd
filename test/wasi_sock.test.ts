// sock_accept, sock_recv, sock_send and sock_shutdown on real sockets the test hands the guest
// (assembly/guests/sock_script.ts prints the errno of every call). A guest blocks this thread
// while it runs, so whatever must happen during its run (a client that talks back) is a child
// process; whatever may happen before it (a connect, a datagram, a peer's close) is done here.
import { suite } from './helpers/suite.js';
import { socketPair, tcpConnect, tcpListener } from './helpers/fds.js';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as libc from '../host/native/libc.js';
import { F, O } from '../host/native/platform.js';
import { errno } from '../host/index.js';
import { GUESTS, openFds, runGuest, tempDir } from './helpers/guest.js';
import { Caller } from './helpers/imports.js';

const SCRIPT = join(GUESTS, 'sock_script.wasm');
const SOCK_STREAM = 1, SOCK_DGRAM = 2;
const SOCKET_DGRAM = 5, SOCKET_STREAM = 6, NONBLOCK = 4;

/** Runs the script with `fds` granted at 3, 4, ... (stdin closed); returns its output lines. */
function script(fds: number[], ops: string[]): string[] {
  const r = runGuest(SCRIPT, { args: ['sock_script', ...ops], stdin: null, grant: fds });
  assert.is(r.status, 0, r.stdout + r.stderr);
  return r.stdout.split('\n').slice(0, -1);
}

// ---------------------------------------------------------------------------------------
const accept = suite('sock_accept');

accept('accepts a connection from a granted listener as a blocking socket_stream, leaking nothing', () => {
  const before = openFds();
  const l = tcpListener();
  const client = tcpConnect(l.port);
  try {
    assert.equal(script([l.fd], ['fd l 3', 'fdstat l', 'accept c l', 'fdstat c', 'send c hi']), [
      `fdstat errno=0 type=${SOCKET_STREAM} flags=0`,
      'accept errno=0',
      `fdstat errno=0 type=${SOCKET_STREAM} flags=0`,
      'send errno=0 n=2',
    ]);
    const got = Buffer.alloc(8);
    assert.is(libc.read(client, got, 8), 2);
    assert.is(got.subarray(0, 2).toString(), 'hi');
  } finally {
    libc.close(client);
    libc.close(l.fd);
  }
  assert.equal(openFds(), before);
});

accept('the accepted descriptor is close-on-exec and joins the guest table with the socket rights', () => {
  const l = tcpListener();
  const client = tcpConnect(l.port);
  const c = new Caller({ grant: [l.fd] });
  try {
    assert.is(c.wasi.sock_accept(3, 0, Caller.RET), errno.success);
    const fd = c.u32(Caller.RET);
    assert.is(fd, 0, 'the lowest free number (this sandbox has no stdio)');
    const hostFd = c.sandbox.fds.get(fd).hostFd;
    assert.is(libc.fcntl(hostFd, F.GETFD, 0) & 1, 1, 'FD_CLOEXEC');
    assert.is(c.wasi.fd_fdstat_get(fd, 0x200), errno.success);
    const rights = c.dv.getBigUint64(0x208, true);
    for (const [name, bit] of [['fd_read', 1n], ['fd_write', 6n], ['poll_fd_readwrite', 27n], ['sock_shutdown', 28n]] as const) {
      assert.ok(rights & (1n << bit), `${name} missing from ${rights.toString(2)}`);
    }
    assert.is(rights & (1n << 2n), 0n, 'no fd_seek on a socket');
  } finally {
    c.close();
    libc.close(client);
    libc.close(l.fd);
  }
});

accept('NONBLOCK: a non-blocking listener with nothing pending is again; fd_fdstat_set_flags sets and clears it', () => {
  const idle = tcpListener();
  const busy = tcpListener();
  const client = tcpConnect(busy.port);
  try {
    assert.equal(script([idle.fd, busy.fd], [
      'fd idle 3', 'fd busy 4',
      `setflags idle ${NONBLOCK}`, 'fdstat idle', 'accept x idle',
      `accept c busy ${NONBLOCK}`, 'fdstat c', 'recv c 8 -',
      'setflags c 0', 'fdstat c', `setflags c ${NONBLOCK}`, 'fdstat c',
    ]), [
      'setflags errno=0', `fdstat errno=0 type=${SOCKET_STREAM} flags=${NONBLOCK}`, `accept errno=${errno.again}`,
      'accept errno=0', `fdstat errno=0 type=${SOCKET_STREAM} flags=${NONBLOCK}`, `recv errno=${errno.again} n=0 roflags=0 data=`,
      'setflags errno=0', `fdstat errno=0 type=${SOCKET_STREAM} flags=0`, 'setflags errno=0', `fdstat errno=0 type=${SOCKET_STREAM} flags=${NONBLOCK}`,
    ]);
  } finally {
    libc.close(client);
    libc.close(idle.fd);
    libc.close(busy.fd);
  }
});

accept('flags other than NONBLOCK are inval; a descriptor not held is badf', () => {
  const l = tcpListener();
  try {
    assert.equal(script([l.fd], ['fd l 3', 'accept c l 1', 'accept c l 5', 'accept c l 16', 'accept c nothing']), [
      `accept errno=${errno.inval}`, `accept errno=${errno.inval}`, `accept errno=${errno.inval}`, `accept errno=${errno.badf}`,
    ]);
  } finally { libc.close(l.fd); }
});

accept.run();

// ---------------------------------------------------------------------------------------
const io = suite('sock_recv and sock_send');

/**
 * A client in a child process: it sends "abc", waits for one byte, then after 200 ms sends
 * "def"; at end of stream it prints all it received and closes.
 */
const CLIENT = `
const s = require('node:net').connect(Number(process.argv[1]), '127.0.0.1', () => s.write('abc'));
let got = '';
s.on('data', (d) => { got += d; if (got === '1') setTimeout(() => s.write('def'), 200); });
s.on('end', () => { process.stdout.write(got); s.end(); });
s.on('error', (e) => { process.stdout.write('error ' + e.code); process.exit(1); });`;

io('a conversation: PEEK leaves data queued, WAITALL waits for all it asked, shutdown WR is the peer\'s end of stream', async () => {
  const l = tcpListener();
  const child = spawn(process.execPath, ['-e', CLIENT, String(l.port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let heard = '';
  child.stdout.on('data', (d) => { heard += d; });
  try {
    assert.equal(script([l.fd], [
      'fd l 3', 'waitread l 20000', 'accept c l',
      'recv c 16 peek', 'recv c 16 peek', 'send c 1', 'recv c 6 waitall',
      'send c hello', 'shutdown c 2', 'recv c 16 -',
    ]), [
      'waitread errno=0 ready=yes', 'accept errno=0',
      'recv errno=0 n=3 roflags=0 data=abc', 'recv errno=0 n=3 roflags=0 data=abc', 'send errno=0 n=1',
      'recv errno=0 n=6 roflags=0 data=abcdef',
      'send errno=0 n=5', 'shutdown errno=0', 'recv errno=0 n=0 roflags=0 data=',
    ]);
    const [code] = await once(child, 'close'); // not 'exit': its stdout may not all be read yet
    assert.is(heard, '1hello');
    assert.is(code, 0);
  } finally {
    child.kill();
    libc.close(l.fd);
  }
});

io('recv scatters into several buffers, and WAITALL fills them all', () => {
  const [mine, theirs] = socketPair(SOCK_STREAM);
  try {
    libc.write(mine, Buffer.from('0123456789'), 10);
    assert.equal(script([theirs], ['fd s 3', 'recv s 4 waitall 3', 'recv s 2 - 8']), [
      'recv errno=0 n=7 roflags=0 data=0123456', 'recv errno=0 n=3 roflags=0 data=789',
    ]);
  } finally { libc.close(mine); libc.close(theirs); }
});

io('a datagram longer than the buffer is cut, with RECV_DATA_TRUNCATED; the socket is socket_dgram', () => {
  const [mine, theirs] = socketPair(SOCK_DGRAM);
  try {
    for (const d of ['datagram-1', 'datagram-2', 'datagram-3']) libc.write(mine, Buffer.from(d), d.length);
    assert.equal(script([theirs], ['fd s 3', 'fdstat s', 'recv s 4 -', 'recv s 16 peek', 'recv s 16 -', 'recv s 5 - 5']), [
      `fdstat errno=0 type=${SOCKET_DGRAM} flags=0`,
      'recv errno=0 n=4 roflags=1 data=data',
      'recv errno=0 n=10 roflags=0 data=datagram-2', 'recv errno=0 n=10 roflags=0 data=datagram-2',
      'recv errno=0 n=10 roflags=0 data=datagram-3',
    ]);
  } finally { libc.close(mine); libc.close(theirs); }
});

io('fd_filestat_get and fd_fdstat_get agree on the socket type: socket_dgram and socket_stream', () => {
  for (const [type, want] of [[SOCK_DGRAM, SOCKET_DGRAM], [SOCK_STREAM, SOCKET_STREAM]]) {
    const [mine, theirs] = socketPair(type);
    const c = new Caller({ grant: [theirs] });
    try {
      assert.is(c.wasi.fd_fdstat_get(3, 0x200), 0);
      assert.is(c.u8[0x200], want, 'fdstat');
      assert.is(c.wasi.fd_filestat_get(3, 0x200), 0);
      assert.is(c.u8[0x200 + 16], want, 'filestat'); // filestat.filetype, after dev and ino
    } finally { c.close(); libc.close(mine); libc.close(theirs); }
  }
});

io('riflags other than PEEK and WAITALL are inval, and so is any siflags bit', () => {
  const [mine, theirs] = socketPair(SOCK_STREAM);
  try {
    libc.write(mine, Buffer.from('x'), 1);
    assert.equal(script([theirs], ['fd s 3', 'recv s 4 4', 'recv s 4 65535', 'sendflags s 1', 'sendflags s 32768', 'recv s 4 -']), [
      `recv errno=${errno.inval} n=0 roflags=0 data=`, `recv errno=${errno.inval} n=0 roflags=0 data=`,
      `sendflags errno=${errno.inval}`, `sendflags errno=${errno.inval}`,
      'recv errno=0 n=1 roflags=0 data=x',
    ]);
  } finally { libc.close(mine); libc.close(theirs); }
});

/**
 * A peer in a child process on `peer` (its stdin and stdout): after 200 ms it either writes
 * "late" (for a recv that waits) or reads to end of stream and prints the byte count (for a
 * send that waits for room), so that the guest's call, which blocks this thread, finds its
 * peer only after waiting.
 */
function latePeer(peer: number, role: 'writes' | 'reads') {
  const code = role === 'writes'
    ? 'setTimeout(() => require("node:fs").writeSync(1, "late"), 200)'
    : 'setTimeout(() => { let n = 0; process.stdin.on("data", (d) => { n += d.length; }).on("end", () => process.stderr.write(String(n))); }, 200)';
  const child = spawn(process.execPath, ['-e', code], { stdio: [peer, peer, 'pipe'] });
  let said = '';
  child.stderr!.on('data', (d) => { said += d; });
  return { child, said: () => said };
}

io('over a non-blocking host socket the guest sees blocking: sock_recv waits for data and sock_send for room, and each then moves bytes', async () => {
  const BUF = 0x10000, IOV = 0x200;
  for (const op of ['recv', 'send'] as const) {
    const [mine, peer] = socketPair(SOCK_STREAM | O.NONBLOCK);
    const c = new Caller();
    let peerProc: ReturnType<typeof latePeer> | null = null;
    let mineOpen = true;
    try {
      const g = c.sandbox.grant(mine);
      assert.is(c.wasi.fd_fdstat_set_flags(g, 0), errno.success, 'the guest clears NONBLOCK: its calls now wait');
      let filled = 0;
      if (op === 'send') {
        // The socket's buffer full: the first sendmsg is EAGAIN, and only the peer's reads make room.
        const chunk = Buffer.alloc(65536, 'f');
        for (let n; (n = libc.write(mine, chunk, chunk.length)) > 0;) filled += n;
      }
      peerProc = latePeer(peer, op === 'recv' ? 'writes' : 'reads');
      c.dv.setUint32(IOV, BUF, true);
      c.dv.setUint32(IOV + 4, 65536, true);
      if (op === 'recv') {
        assert.is(c.wasi.sock_recv(g, IOV, 1, 0, Caller.RET, Caller.RET + 4), errno.success, 'recv waited');
        assert.is(Buffer.from(c.u8.subarray(BUF, BUF + c.u32(Caller.RET))).toString(), 'late');
      } else {
        assert.is(c.wasi.sock_send(g, IOV, 1, 0, Caller.RET), errno.success, 'send waited');
        const sent = c.u32(Caller.RET);
        assert.ok(sent > 0 && sent <= 65536, `sent ${sent}`);
        c.close(); // the guest's duplicate, then ours: the peer reads end of stream
        libc.close(mine);
        mineOpen = false;
        // 'close', not 'exit': a child's exit can be seen before what it wrote to stderr is read.
        await once(peerProc.child, 'close');
        assert.is(Number(peerProc.said()), filled + sent, 'the peer read what was queued and what the guest sent');
      }
    } finally {
      peerProc?.child.kill();
      c.close();
      if (mineOpen) libc.close(mine);
      libc.close(peer);
    }
  }
});

io('sending to a peer that hung up is pipe or connreset, never a signal, and the guest goes on', () => {
  const l = tcpListener();
  const client = tcpConnect(l.port);
  libc.close(client);
  try {
    const lines = script([l.fd], ['fd l 3', 'accept c l', 'sendloop c', 'send c again', 'echo alive']);
    assert.is(lines[0], 'accept errno=0');
    assert.match(lines[1], new RegExp(`^sendloop errno=(${errno.pipe}|${errno.connreset})$`));
    assert.match(lines[2], new RegExp(`^send errno=(${errno.pipe}|${errno.connreset}) n=0$`));
    assert.is(lines[3], 'alive');
  } finally { libc.close(l.fd); }
});

io.run();

// ---------------------------------------------------------------------------------------
const shutdown = suite('sock_shutdown');

// sdflags -> what the guest then sees: RD ends its receiving (recv returns 0 at once), WR its
// sending (send is pipe, and the peer reads end of stream).
const SHUTDOWN: [how: number, name: string, rd: boolean, wr: boolean][] = [
  [1, 'RD', true, false], [2, 'WR', false, true], [3, 'RD|WR', true, true],
];
for (const [how, name, rd, wr] of SHUTDOWN) {
  shutdown(`sdflags ${name} shuts down ${rd && wr ? 'both directions' : rd ? 'receiving only' : 'sending only'}`, () => {
    const [mine, theirs] = socketPair(SOCK_STREAM);
    try {
      if (!rd) libc.write(mine, Buffer.from('q'), 1);
      assert.equal(script([theirs], ['fd s 3', `shutdown s ${how}`, 'recv s 4 -', 'send s z']), [
        'shutdown errno=0',
        rd ? 'recv errno=0 n=0 roflags=0 data=' : 'recv errno=0 n=1 roflags=0 data=q',
        wr ? `send errno=${errno.pipe} n=0` : 'send errno=0 n=1',
      ]);
      const got = Buffer.alloc(4);
      assert.is(libc.read(mine, got, 4), wr ? 0 : 1, wr ? 'the peer reads end of stream' : 'the peer got the byte');
    } finally { libc.close(mine); libc.close(theirs); }
  });
}

shutdown('sdflags 0 and past RD|WR are inval', () => {
  const [mine, theirs] = socketPair(SOCK_STREAM);
  try {
    assert.equal(script([theirs], ['fd s 3', 'shutdown s 0', 'shutdown s 4', 'shutdown s 255']),
      [`shutdown errno=${errno.inval}`, `shutdown errno=${errno.inval}`, `shutdown errno=${errno.inval}`]);
  } finally { libc.close(mine); libc.close(theirs); }
});

shutdown('a right the guest dropped is notcapable', () => {
  const [mine, theirs] = socketPair(SOCK_STREAM);
  const c = new Caller({ grant: [theirs] });
  try {
    assert.is(c.wasi.fd_fdstat_get(3, 0x200), errno.success);
    const base = c.dv.getBigUint64(0x208, true);
    assert.is(c.wasi.fd_fdstat_set_rights(3, base & ~(1n << 28n), 0n), errno.success);
    assert.is(c.wasi.sock_shutdown(3, 3), errno.notcapable);
    assert.is(c.wasi.sock_send(3, 0x300, 0, 0, Caller.RET), errno.success, 'the other rights stay');
  } finally { c.close(); libc.close(mine); libc.close(theirs); }
});

shutdown.run();

// ---------------------------------------------------------------------------------------
const notsock = suite('sock_* on what is not a socket');

const NOT_SOCKETS: [what: string, make: () => number][] = [
  ['a regular file', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'f'), 'data');
    const fd = openSync(join(dir, 'f'), 'r+');
    rmSync(dir, { recursive: true });
    return fd;
  }],
  ['a pipe', () => {
    const fds = Buffer.alloc(8);
    assert.is(libc.pipe2(fds, 0o2000000), 0);
    libc.close(fds.readInt32LE(4));
    return fds.readInt32LE(0);
  }],
];
for (const [what, make] of NOT_SOCKETS) {
  notsock(`on ${what}, every sock_* call is notsock, as the kernel answers`, () => {
    const fd = make();
    try {
      assert.equal(script([fd], ['fd f 3', 'accept c f', 'recv f 4 -', 'send f x', 'shutdown f 3']), [
        `accept errno=${errno.notsock}`, `recv errno=${errno.notsock} n=0 roflags=0 data=`,
        `send errno=${errno.notsock} n=0`, `shutdown errno=${errno.notsock}`,
      ]);
    } finally { closeSync(fd); }
  });
}

notsock('on a descriptor the guest does not hold, every sock_* call is badf', () => {
  assert.equal(script([], ['accept c x', 'recv x 4 -', 'send x y', 'shutdown x 3']), [
    `accept errno=${errno.badf}`, `recv errno=${errno.badf} n=0 roflags=0 data=`,
    `send errno=${errno.badf} n=0`, `shutdown errno=${errno.badf}`,
  ]);
});

notsock.run();
