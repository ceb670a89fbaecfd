// TCP listeners granted by the host (--listen, Sandbox's `listen`). Created through FFI so the
// guest gets a plain kernel descriptor: SO_REUSEADDR, a deep backlog, close-on-exec.
import * as libc from './native/libc.js';
import { F, O } from './native/platform.js';

const FD_CLOEXEC = 1;

const AF_INET = 2, AF_INET6 = 10, SOCK_STREAM = 1;
const SOL_SOCKET = 1, SO_REUSEADDR = 2, SO_TYPE = 3, SO_ACCEPTCONN = 30;
const IPPROTO_TCP = 6, TCP_NODELAY = 1;
/** The backlog asked for; the kernel caps it at net.core.somaxconn (listen(2)). */
const BACKLOG = 4096;

export interface ListenAddress { host: string; port: number; family: 4 | 6 }

/**
 * Parses HOST:PORT or [IPv6]:PORT; throws an Error with a one-line message naming `flag`
 * (the option the address came from: --listen, --connect).
 */
export function parseListen(spec: string, flag = '--listen'): ListenAddress {
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d+)$/.exec(spec) ?? /^([0-9.]+):(\d+)$/.exec(spec);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new Error(`${flag} ${spec}: expected IPv4:PORT or [IPv6]:PORT`);
  const family = spec.startsWith('[') ? 6 : 4;
  // Each octet at most 255: "999.0.0.1" must not quietly become 231.0.0.1.
  if (family === 4 && !/^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/.test(m[1])) {
    throw new Error(`${flag} ${spec}: not an IPv4 address`);
  }
  if (family === 6) ipv6Bytes(m[1], flag);
  return { host: m[1], port, family };
}

/** struct sockaddr_in or sockaddr_in6 (ip(7), ipv6(7)) for a parsed address. */
export function sockaddr(a: ListenAddress): Buffer {
  if (a.family === 4) {
    const b = Buffer.alloc(16);
    b.writeUInt16LE(AF_INET, 0);
    b.writeUInt16BE(a.port, 2);
    a.host.split('.').forEach((o, i) => b.writeUInt8(Number(o) & 0xff, 4 + i));
    return b;
  }
  const b = Buffer.alloc(28);
  b.writeUInt16LE(AF_INET6, 0);
  b.writeUInt16BE(a.port, 2);
  ipv6Bytes(a.host).copy(b, 8);
  return b;
}

function ipv6Bytes(host: string, flag = '--listen'): Buffer {
  const [head, tail] = host.includes('::') ? host.split('::') : [host, null];
  const parts = (s: string) => (s === '' ? [] : s.split(':'));
  const h = parts(head), t = tail === null ? [] : parts(tail);
  const groups = tail === null ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  if (groups.length !== 8 || groups.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) {
    throw new Error(`${flag} [${host}]: not an IPv6 address`);
  }
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), i * 2));
  return b;
}

export interface ListenOptions {
  /**
   * TCP_NODELAY on the listener, which accepted sockets inherit on Linux: a response to a
   * pipelined or quick second request leaves at once instead of waiting for the ACK of the one
   * before (Nagle, tcp(7)); nginx sets it on keep-alive connections (tcp_nodelay on).
   */
  noDelay?: boolean;
}

/** A listening socket's host descriptor; the caller owns it. */
export function listenOn(spec: string, options: ListenOptions = {}): number {
  const a = parseListen(spec);
  const fd = libc.socket(a.family === 4 ? AF_INET : AF_INET6, SOCK_STREAM | O.CLOEXEC, 0);
  if (fd < 0) throw new Error(`cannot listen on ${spec}: ${libc.strerror(-fd)}`);
  const one = Buffer.alloc(4);
  one.writeInt32LE(1);
  const addr = sockaddr(a);
  const r = Math.min(libc.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, one, 4), 0) ||
    (options.noDelay ? Math.min(libc.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, one, 4), 0) : 0) ||
    Math.min(libc.bind_(fd, addr, addr.length), 0) || Math.min(libc.listen(fd, BACKLOG), 0);
  if (r < 0) {
    libc.close(fd);
    throw new Error(`cannot listen on ${spec}: ${libc.strerror(-r).toLowerCase()}`);
  }
  return fd;
}

/** The port a listener is bound to (for port 0). */
export function boundPort(fd: number): number {
  const addr = Buffer.alloc(28);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(28);
  if (libc.getsockname(fd, addr, len) < 0) return 0;
  return addr.readUInt16BE(2);
}

/** A listener's bound address as HOST:PORT or [IPv6]:PORT, or null if it is not an IP socket. */
export function boundAddress(fd: number): string | null {
  const addr = Buffer.alloc(28);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(28);
  if (libc.getsockname(fd, addr, len) < 0) return null;
  const family = addr.readUInt16LE(0), port = addr.readUInt16BE(2);
  if (family === AF_INET) return `${[...addr.subarray(4, 8)].join('.')}:${port}`;
  if (family !== AF_INET6) return null;
  const groups = Array.from({ length: 8 }, (_, i) => addr.readUInt16BE(8 + 2 * i).toString(16));
  // The longest run of zero groups (two or more) becomes "::" (RFC 5952 4.2).
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j > i ? j : i + 1;
  }
  const text = best < 0 ? groups.join(':')
    : `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
  return `[${text}]:${port}`;
}

/**
 * Listeners handed over by systemd socket activation (sd_listen_fds(3)): LISTEN_PID must be
 * this process and LISTEN_FDS the count of descriptors from 3 on. Each must be a listening
 * stream socket; it is made close-on-exec, and the variables are removed from `env` so that
 * child processes do not take the descriptors for theirs. Throws an Error with a one-line
 * message when there are none or one is not a listener.
 */
export function systemdListeners(env: NodeJS.ProcessEnv = process.env, pid = process.pid): number[] {
  const count = env.LISTEN_FDS, owner = env.LISTEN_PID;
  if (count === undefined || owner === undefined) {
    throw new Error('--listen systemd: no sockets were passed (LISTEN_FDS and LISTEN_PID are not set)');
  }
  if (!/^\d+$/.test(owner) || Number(owner) !== pid) {
    throw new Error(`--listen systemd: the sockets are for process ${owner}, not this one (${pid})`);
  }
  const n = /^\d+$/.test(count) ? Number(count) : 0;
  if (n < 1 || n > 1024) throw new Error(`--listen systemd: LISTEN_FDS=${count}: expected a count from 1 to 1024`);
  const fds = Array.from({ length: n }, (_, i) => 3 + i);
  const val = Buffer.alloc(4), len = Buffer.alloc(4);
  for (const fd of fds) {
    len.writeUInt32LE(4);
    const isStream = libc.getsockopt(fd, SOL_SOCKET, SO_TYPE, val, len) === 0 && val.readInt32LE(0) === SOCK_STREAM;
    len.writeUInt32LE(4);
    const listening = isStream && libc.getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, val, len) === 0 && val.readInt32LE(0) === 1;
    if (!listening) throw new Error(`--listen systemd: descriptor ${fd} is not a listening stream socket`);
    libc.fcntl(fd, F.SETFD, FD_CLOEXEC);
  }
  delete env.LISTEN_FDS;
  delete env.LISTEN_PID;
  delete env.LISTEN_FDNAMES;
  return fds;
}
