// Host descriptors for tests, made through FFI as a native program would make them: pipes,
// socket pairs, a TCP listener on an ephemeral port and a connection to it. All close-on-exec;
// the caller closes them (libc.close) when done.
import * as libc from '../../host/native/libc.js';
import { F, O } from '../../host/native/platform.js';

const AF_UNIX = 1, AF_INET = 2, SOCK_STREAM = 1;
/** fcntl(2) F_SETPIPE_SZ (include/uapi/linux/fcntl.h: F_LINUX_SPECIFIC_BASE + 7). */
const F_SETPIPE_SZ = 1031;

function ok(r: number, what: string): number {
  if (r < 0) throw new Error(`${what}: ${libc.strerror(-r)}`);
  return r;
}

export interface PipeOptions {
  /** Make the read end non-blocking. */
  nonblockRead?: boolean;
  /** Make both ends non-blocking (pipe2's O_NONBLOCK). */
  nonblock?: boolean;
  /** The pipe's capacity in bytes (F_SETPIPE_SZ; the kernel rounds up to a page). */
  size?: number;
}

/** pipe2(2): [read end, write end]. */
export function hostPipe(options: PipeOptions = {}): [number, number] {
  const fds = new Int32Array(2);
  ok(libc.pipe2(new Uint8Array(fds.buffer), O.CLOEXEC | (options.nonblock ? O.NONBLOCK : 0)), 'pipe2');
  if (options.nonblockRead) ok(libc.fcntl(fds[0], F.SETFL, O.NONBLOCK), 'fcntl(F_SETFL)');
  if (options.size !== undefined && ok(libc.fcntl(fds[0], F_SETPIPE_SZ, options.size), 'F_SETPIPE_SZ') < options.size) {
    throw new Error(`F_SETPIPE_SZ: the pipe holds less than ${options.size} bytes`);
  }
  return [fds[0], fds[1]];
}

/** socketpair(2) in AF_UNIX, SOCK_STREAM unless `type` says otherwise (SOCK_DGRAM is 2). */
export function socketPair(type = SOCK_STREAM): [number, number] {
  const fds = new Int32Array(2);
  ok(libc.socketpair(AF_UNIX, type | O.CLOEXEC, 0, new Uint8Array(fds.buffer)), 'socketpair');
  return [fds[0], fds[1]];
}

/** A listening TCP socket on 127.0.0.1 and an ephemeral port, blocking. */
export function tcpListener(backlog = 8): { fd: number; port: number } {
  const fd = ok(libc.socket(AF_INET, SOCK_STREAM | O.CLOEXEC, 0), 'socket');
  const addr = Buffer.alloc(16);
  addr.writeUInt16LE(AF_INET, 0);
  addr.writeUInt32BE(0x7f000001, 4);
  try {
    ok(libc.bind_(fd, addr, 16), 'bind');
    ok(libc.listen(fd, backlog), 'listen');
    const len = Buffer.alloc(4);
    len.writeUInt32LE(16);
    ok(libc.getsockname(fd, addr, len), 'getsockname');
  } catch (e) {
    libc.close(fd);
    throw e;
  }
  return { fd, port: addr.readUInt16BE(2) };
}

/** A port on 127.0.0.1 with nothing listening on it: bound and listening, then closed. */
export function closedPort(): number {
  const { fd, port } = tcpListener();
  libc.close(fd);
  return port;
}

/**
 * A listener on 127.0.0.1 whose accept queue is full: backlog 0 and one connection (`filler`,
 * non-blocking, never accepted) queued on it. Linux then drops further SYNs
 * (tcp_conn_request), so a connect(2) to `port` neither completes nor fails for minutes.
 */
export function fullListener(): { fd: number; port: number; filler: number } {
  const { fd, port } = tcpListener(0);
  const filler = libc.socket(AF_INET, SOCK_STREAM | O.CLOEXEC | O.NONBLOCK, 0);
  if (filler < 0) {
    libc.close(fd);
    throw new Error(`socket: ${libc.strerror(-filler)}`);
  }
  const addr = Buffer.alloc(16);
  addr.writeUInt16LE(AF_INET, 0);
  addr.writeUInt16BE(port, 2);
  addr.writeUInt32BE(0x7f000001, 4);
  libc.connect(filler, addr, 16); // EINPROGRESS: the handshake completes into the queue
  return { fd, port, filler };
}

/**
 * A blocking TCP connection to 127.0.0.1:port, as a raw descriptor that nothing reads unless
 * asked (a Node socket reads ahead even when paused). Loopback completes the handshake
 * without an accept.
 */
export function tcpConnect(port: number): number {
  const fd = ok(libc.socket(AF_INET, SOCK_STREAM | O.CLOEXEC, 0), 'socket');
  const addr = Buffer.alloc(16);
  addr.writeUInt16LE(AF_INET, 0);
  addr.writeUInt16BE(port, 2);
  addr.writeUInt32BE(0x7f000001, 4);
  const r = libc.connect(fd, addr, 16);
  if (r < 0) {
    libc.close(fd);
    throw new Error(`connect to 127.0.0.1:${port}: ${libc.strerror(-r)}`);
  }
  return fd;
}
