// TCP listeners granted by the host (--listen, Sandbox's `listen`). Created through FFI so the
// guest gets a plain kernel descriptor: SO_REUSEADDR, a deep backlog, close-on-exec.
import * as libc from './native/libc.js';
import { O } from './native/platform.js';

const AF_INET = 2, AF_INET6 = 10, SOCK_STREAM = 1;
const SOL_SOCKET = 1, SO_REUSEADDR = 2, SO_ACCEPTCONN = 30; // asm-generic/socket.h: x86-64 and arm64
/** The backlog asked for; the kernel caps it at net.core.somaxconn (listen(2)). */
const BACKLOG = 4096;

export interface ListenAddress { host: string; port: number; family: 4 | 6 }

/** Parses HOST:PORT or [IPv6]:PORT; throws an Error with a one-line message. */
export function parseListen(spec: string): ListenAddress {
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d+)$/.exec(spec) ?? /^([0-9.]+):(\d+)$/.exec(spec);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new Error(`--listen ${spec}: expected IPv4:PORT or [IPv6]:PORT`);
  const family = spec.startsWith('[') ? 6 : 4;
  if (family === 4 && !/^(\d{1,3})(\.\d{1,3}){3}$/.test(m[1])) throw new Error(`--listen ${spec}: not an IPv4 address`);
  return { host: m[1], port, family };
}

function sockaddr(a: ListenAddress): Buffer {
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

function ipv6Bytes(host: string): Buffer {
  const [head, tail] = host.includes('::') ? host.split('::') : [host, null];
  const parts = (s: string) => (s === '' ? [] : s.split(':'));
  const h = parts(head), t = tail === null ? [] : parts(tail);
  const groups = tail === null ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  if (groups.length !== 8 || groups.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) {
    throw new Error(`--listen [${host}]: not an IPv6 address`);
  }
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), i * 2));
  return b;
}

/** A listening socket's host descriptor; the caller owns it. */
export function listenOn(spec: string): number {
  const a = parseListen(spec);
  const fd = libc.socket(a.family === 4 ? AF_INET : AF_INET6, SOCK_STREAM | O.CLOEXEC, 0);
  if (fd < 0) throw new Error(`cannot listen on ${spec}: ${libc.strerror(-fd)}`);
  const one = Buffer.alloc(4);
  one.writeInt32LE(1);
  const addr = sockaddr(a);
  const r = Math.min(libc.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, one, 4), 0) ||
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
