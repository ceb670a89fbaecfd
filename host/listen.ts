// TCP listeners granted by the host (--listen, Sandbox's `listen`). Created through FFI so the
// guest gets a plain kernel descriptor: SO_REUSEADDR, a deep backlog, close-on-exec.
import * as libc from './native/libc.js';
import { F, O } from './native/platform.js';

const FD_CLOEXEC = 1;

const AF_INET = 2, AF_INET6 = 10, SOCK_STREAM = 1;
const SOL_SOCKET = 1, SO_REUSEADDR = 2, SO_TYPE = 3, SO_ACCEPTCONN = 30; // asm-generic/socket.h: x86-64 and arm64
const IPPROTO_TCP = 6, TCP_NODELAY = 1;
/** The backlog asked for; the kernel caps it at net.core.somaxconn (listen(2)). */
const BACKLOG = 4096;

export interface ListenAddress { host: string; port: number; family: 4 | 6 }

/**
 * Parses HOST:PORT or [IPv6]:PORT, where HOST is an IP address (a name would need a resolver
 * and could mean several addresses); throws an Error with a one-line message naming `spec`.
 */
export function parseListen(spec: string): ListenAddress {
  const m = /^\[([^\]]*)\]:([^:]*)$/.exec(spec) ?? /^([^:[\]]*):([^:]*)$/.exec(spec);
  if (!m) throw new Error(`${spec}: expected IPv4:PORT or [IPv6]:PORT`);
  const [, host, portText] = m;
  const family = spec.startsWith('[') ? 6 : 4;
  if (!/^\d+$/.test(portText)) throw new Error(`${spec}: the port must be a number from 0 to 65535`);
  const port = Number(portText);
  if (port > 65535) throw new Error(`${spec}: port ${portText} is out of range (0 to 65535)`);
  if (family === 4) {
    if (/^[0-9.]*$/.test(host) && !/^\d{1,3}(\.\d{1,3}){3}$/.test(host)) throw new Error(`${spec}: not an IPv4 address`);
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(host)) {
      throw new Error(`${spec}: a host name is not an address; give an IP address, as 127.0.0.1:${portText} or [::1]:${portText}`);
    }
    if (host.split('.').some((o) => Number(o) > 255)) throw new Error(`${spec}: not an IPv4 address (a part is above 255)`);
  } else if (ipv6Bytes(host) === null) {
    throw new Error(`${spec}: not an IPv6 address`);
  }
  return { host, port, family };
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
  ipv6Bytes(a.host)!.copy(b, 8);
  return b;
}

/** The 16 bytes of an IPv6 address in text (RFC 4291 section 2.2, forms 1 and 2), or null. */
function ipv6Bytes(host: string): Buffer | null {
  const halves = host.split('::');
  if (halves.length > 2) return null;
  const parts = (s: string) => (s === '' ? [] : s.split(':'));
  const h = parts(halves[0]), t = halves.length === 2 ? parts(halves[1]) : [];
  if (halves.length === 2 && h.length + t.length > 7) return null;
  const groups = halves.length === 2 ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  if (groups.length !== 8 || groups.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return null;
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
  // Non-blocking on the host: a listener is shared (by run()'s workers, with the embedder), so
  // an accept must never wait in the kernel after another guest took the connection; each
  // guest sees it blocking, as a new listener is, and its waits are emulated (runtime.ts).
  const fd = libc.socket(a.family === 4 ? AF_INET : AF_INET6, SOCK_STREAM | O.CLOEXEC | O.NONBLOCK, 0);
  if (fd < 0) throw new Error(`cannot listen on ${spec}: ${libc.strerror(-fd).toLowerCase()}`);
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

/** Whether a host descriptor is a listening socket (getsockopt SO_ACCEPTCONN, socket(7)). */
export function isListening(hostFd: number): boolean {
  if (hostFd < 0) return false;
  const val = Buffer.alloc(4), len = Buffer.alloc(4);
  len.writeUInt32LE(4);
  return libc.getsockopt(hostFd, SOL_SOCKET, SO_ACCEPTCONN, val, len) === 0 && val.readInt32LE(0) === 1;
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
