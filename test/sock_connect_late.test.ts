// A non-blocking sock_connect that fails after it began (docs/ABI.md, sock_connect and
// sock_error): the call succeeds (connect(2) said EINPROGRESS), poll_oneoff then reports the
// socket writable with fd_readwrite_hangup (POLLERR | POLLHUP), and sock_error gives the errno,
// once (reading SO_ERROR clears it, socket(7)). The proxy guest's `connected()` relies on each
// step (assembly/guests/proxy.ts; its side is in test/proxy_calls.test.ts).
//
// Why this is deterministic on loopback, with nothing but an unprivileged socket: connect(2)
// holds the socket's lock while it sends the SYN (inet_stream_connect: lock_sock ...
// release_sock). On loopback the SYN is answered at once by a RST (no listener: tcp(7)), but a
// segment for a socket its owner holds is queued on the socket's backlog (tcp_v4_rcv,
// sock_owned_by_user) and processed only at release_sock(), after __inet_stream_connect() has
// already chosen EINPROGRESS for a non-blocking socket (its timeout is 0, so it does not wait).
// So a refusal is never synchronous for a non-blocking connect, on loopback or elsewhere; the
// first test shows it natively, 200 times in a row, before the sandbox is held to the same.
import { suite } from './helpers/suite.js';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { parseListen, sockaddr } from '../host/listen.js';
import * as libc from '../host/native/libc.js';
import { O } from '../host/native/platform.js';
import { errno, fromLinux } from '../host/sandbox/errno.js';
import { closedPort } from './helpers/fds.js';
import { GUESTS, runGuest } from './helpers/guest.js';

const SCRIPT = join(GUESTS, 'sock_script.wasm');
const AF_INET = 2, SOCK_STREAM = 1, SOL_SOCKET = 1, SO_ERROR = 4;
const EINPROGRESS = 115, ECONNREFUSED = 111;
const POLLOUT = 0x4, POLLERR = 0x8, POLLHUP = 0x10;
const ROUNDS = 200;


function soError(fd: number): number {
  const val = Buffer.alloc(4), len = Buffer.alloc(4);
  len.writeUInt32LE(4);
  const r = libc.getsockopt(fd, SOL_SOCKET, SO_ERROR, val, len);
  if (r < 0) throw new Error(`getsockopt(SO_ERROR): ${libc.strerror(-r)}`);
  return val.readInt32LE(0);
}

/**
 * The same steps natively (connect(2), poll(2) for POLLOUT, SO_ERROR twice), printed as
 * sock_script prints them: connect(2)'s EINPROGRESS is sock_connect's success with NONBLOCK
 * (docs/ABI.md), POLLERR or POLLHUP is fd_readwrite_hangup, errnos go through the host's table.
 */
function native(addr: string): { lines: string[]; connect: number; revents: number } {
  const sa = sockaddr(parseListen(addr));
  const fd = libc.socket(AF_INET, SOCK_STREAM | O.CLOEXEC | O.NONBLOCK, 0);
  if (fd < 0) throw new Error(`socket: ${libc.strerror(-fd)}`);
  try {
    const r = libc.connect(fd, sa, sa.length);
    if (r < 0 && r !== -EINPROGRESS) return { lines: [`connect errno=${fromLinux(-r)}`], connect: r, revents: 0 };
    const pfd = Buffer.alloc(8);
    pfd.writeInt32LE(fd, 0);
    pfd.writeInt16LE(POLLOUT, 4);
    const n = libc.poll(pfd, 1, 5000);
    const revents = pfd.readInt16LE(6);
    const [first, second] = [soError(fd), soError(fd)].map((e) => (e === 0 ? errno.success : fromLinux(e)));
    return {
      connect: r, revents,
      lines: ['connect errno=0', `waitwrite errno=0 ready=${n === 1 ? 'yes' : 'no'} error=0 hangup=${revents & (POLLERR | POLLHUP) ? 'yes' : 'no'}`,
        `sockerror errno=0 pending=${first}`, `sockerror errno=0 pending=${second}`],
    };
  } finally {
    libc.close(fd);
  }
}

// ---------------------------------------------------------------------------------------
const late = suite('a non-blocking connect refused after it began');

late(`natively, connect(2) says EINPROGRESS and poll(2) then reports the refusal, ${ROUNDS} times of ${ROUNDS}`, () => {
  const addr = `127.0.0.1:${closedPort()}`;
  for (let i = 0; i < ROUNDS; i++) {
    const r = native(addr);
    assert.is(r.connect, -EINPROGRESS, `round ${i}: connect(2) returned ${r.connect}, not -EINPROGRESS`);
    assert.is(r.revents, POLLOUT | POLLERR | POLLHUP, `round ${i}: revents 0x${r.revents.toString(16)}`);
    assert.equal(r.lines.slice(2), [`sockerror errno=0 pending=${fromLinux(ECONNREFUSED)}`, 'sockerror errno=0 pending=0'], `round ${i}`);
  }
});

late(`in the sandbox, sock_connect succeeds, poll_oneoff says hangup and sock_error says connrefused once, as natively, ${ROUNDS / 10} times`, () => {
  const port = closedPort();
  const addr = `127.0.0.1:${port}`;
  const rounds = ROUNDS / 10;
  const args = ['sock_script'];
  for (let i = 0; i < rounds; i++) args.push(`connect s${i} ${addr} 4`, `waitwrite s${i} 5000`, `sockerror s${i}`, `sockerror s${i}`, `close s${i}`);
  const r = runGuest(SCRIPT, { args, connect: [addr], stdin: null });
  assert.is(r.status, 0, r.stderr + r.stdout);
  const expected = native(addr).lines;
  assert.equal(expected, ['connect errno=0', 'waitwrite errno=0 ready=yes error=0 hangup=yes',
    `sockerror errno=0 pending=${errno.connrefused}`, 'sockerror errno=0 pending=0']);
  assert.equal(r.stdout.trimEnd().split('\n'), Array.from({ length: rounds }, () => [...expected, 'close errno=0']).flat());
});

late.run();
