// wasi:sockets, TCP: network, instance-network, tcp-create-socket, tcp and ip-name-lookup.
// (UDP is not provided yet: a component that imports wasi:sockets/udp cannot be instantiated.)
//
// Capabilities, not ambient authority:
// - Listeners come from the host (--listen, Sandbox's `listen`): a guest that binds to one of
//   their addresses gets that listener, already bound and listening; its listen succeeds.
//   Binding to any other address is `access-denied` unless the embedder granted it
//   (SandboxOptions.sockets.bind); connecting likewise (sockets.connect). A grant is
//   "HOST:PORT", "[IPv6]:PORT", with port 0 meaning any port.
// - Name lookup answers IP literals only: no resolver is consulted, so a guest learns nothing
//   from DNS and reaches no name it was not given (`name-unresolvable` otherwise).
// Sockets are non-blocking kernel descriptors in the sandbox's table; their streams are the
// same streams as files' (streams.ts), so output-stream.splice from a file is sendfile(2).
import * as libc from '../native/libc.js';
import { F, O } from '../native/platform.js';
import { check, fail, fromLinux } from '../sandbox/errno.js';
import type { Context } from '../sandbox/context.js';
import { closeEntry, type FdEntry } from '../sandbox/fd_table.js';
import { FILETYPE, SOCKET_RIGHTS } from '../sandbox/rights.js';
import { netError as netErrorOf, netFail, netResult } from './errors.js';
import { Pollable, POLLIN, POLLOUT } from './poll.js';
import { held, Resource } from './resources.js';
import { InputStream, IoError, OutputStream } from './streams.js';

const AF_INET = 2, AF_INET6 = 10, SOCK_STREAM = 1;
const SOL_SOCKET = 1, SO_ERROR = 4, SO_KEEPALIVE = 9, SO_RCVBUF = 8, SO_SNDBUF = 7, SO_ACCEPTCONN = 30;
const IPPROTO_TCP = 6, TCP_KEEPIDLE = 4, TCP_KEEPINTVL = 5, TCP_KEEPCNT = 6;
const IPPROTO_IP = 0, IP_TTL = 2, IPPROTO_IPV6 = 41, IPV6_UNICAST_HOPS = 16, IPV6_V6ONLY = 26;
const EINPROGRESS = 115, EAGAIN = 11;

type IpAddress = { tag: 'ipv4'; val: [number, number, number, number] } | { tag: 'ipv6'; val: number[] };
type IpSocketAddress =
  | { tag: 'ipv4'; val: { port: number; address: [number, number, number, number] } }
  | { tag: 'ipv6'; val: { port: number; flowInfo: number; address: number[]; scopeId: number } };

export interface SocketGrants {
  /** Addresses the guest may bind to, beyond the host's listeners. */
  bind?: readonly string[];
  /** Addresses the guest may connect to. */
  connect?: readonly string[];
}

/** The instance's network: one object for each call of instance-network (resources.ts: one handle an object). */
export class Network extends Resource {}

function sockaddr(a: IpSocketAddress): Buffer {
  if (a.tag === 'ipv4') {
    const b = Buffer.alloc(16);
    b.writeUInt16LE(AF_INET, 0);
    b.writeUInt16BE(a.val.port, 2);
    a.val.address.forEach((o, i) => b.writeUInt8(o & 0xff, 4 + i));
    return b;
  }
  const b = Buffer.alloc(28);
  b.writeUInt16LE(AF_INET6, 0);
  b.writeUInt16BE(a.val.port, 2);
  b.writeUInt32BE(a.val.flowInfo >>> 0, 4);
  a.val.address.forEach((g, i) => b.writeUInt16BE(g & 0xffff, 8 + i * 2));
  b.writeUInt32LE(a.val.scopeId >>> 0, 24);
  return b;
}

function fromSockaddr(b: Buffer): IpSocketAddress {
  if (b.readUInt16LE(0) === AF_INET) {
    return { tag: 'ipv4', val: { port: b.readUInt16BE(2), address: [b[4], b[5], b[6], b[7]] } };
  }
  return {
    tag: 'ipv6',
    val: {
      port: b.readUInt16BE(2), flowInfo: b.readUInt32BE(4), scopeId: b.readUInt32LE(24),
      address: Array.from({ length: 8 }, (_, i) => b.readUInt16BE(8 + i * 2)),
    },
  };
}

function addressOf(fd: number, peer: boolean): IpSocketAddress {
  const b = Buffer.alloc(28), len = Buffer.alloc(4);
  len.writeUInt32LE(28);
  check(peer ? libc.getpeername(fd, b, len) : libc.getsockname(fd, b, len));
  return fromSockaddr(b);
}

/** Parses an IP literal: dotted quad, or IPv6 (with ::); null if it is not one. */
export function parseIp(text: string): IpAddress | null {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (v4) {
    const o = v4.slice(1).map(Number);
    return o.every((n) => n <= 255) ? { tag: 'ipv4', val: o as [number, number, number, number] } : null;
  }
  const s = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  if (!/^[0-9a-fA-F:]+$/.test(s) || (s.match(/::/g)?.length ?? 0) > 1) return null;
  const [head, tail] = s.includes('::') ? s.split('::') : [s, null];
  const parts = (p: string) => (p === '' ? [] : p.split(':'));
  const h = parts(head), t = tail === null ? [] : parts(tail);
  const groups = tail === null ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  if (groups.length !== 8 || groups.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return null;
  return { tag: 'ipv6', val: groups.map((g) => parseInt(g, 16)) };
}

/** "HOST:PORT" / "[V6]:PORT" grants as addresses (port 0: any). */
function parseGrant(spec: string): IpSocketAddress {
  const m = /^\[(.+)\]:(\d+)$/.exec(spec) ?? /^([^:]+):(\d+)$/.exec(spec);
  const ip = m ? parseIp(m[1]) : null;
  if (m === null || ip === null || Number(m[2]) > 65535) throw new Error(`socket grant ${spec}: expected IPv4:PORT or [IPv6]:PORT`);
  return ip.tag === 'ipv4'
    ? { tag: 'ipv4', val: { port: Number(m[2]), address: ip.val } }
    : { tag: 'ipv6', val: { port: Number(m[2]), flowInfo: 0, address: ip.val, scopeId: 0 } };
}

function sameAddress(grant: IpSocketAddress, a: IpSocketAddress): boolean {
  return grant.tag === a.tag && (grant.val.port === 0 || grant.val.port === a.val.port) &&
    grant.val.address.every((x, i) => x === a.val.address[i]);
}

type State = 'unbound' | 'bound' | 'listening' | 'connecting' | 'connected' | 'closed';

export class TcpSocket extends Resource {
  dropped = false;
  private state: State;
  private pendingBind = false;
  private pendingListen = false;
  private backlog = 128;

  constructor(private readonly net: SocketHost, private fd: number, readonly family: 'ipv4' | 'ipv6', state: State) {
    super(net.ctx);
    this.state = state;
  }

  /** The table entry; `invalid-state` once dropped. */
  entry(): FdEntry {
    if (this.dropped) netFail('invalid-state');
    return this.net.ctx.fds.get(this.fd);
  }

  startBind(network: Network, local: IpSocketAddress): void {
    held(network, Network, 'network');
    netResult(() => {
      if (this.state !== 'unbound' || this.pendingBind) netFail('invalid-state');
      if (local.tag !== this.family) netFail('invalid-argument');
      const listener = this.net.listenerFor(local);
      if (listener !== null) {
        // The host's listener takes this socket's place: bound and listening already.
        closeEntry(this.net.ctx.fds.replace(this.fd, listener));
        this.state = 'listening';
        this.pendingBind = true;
        return;
      }
      if (!this.net.granted('bind', local)) netFail('access-denied');
      const addr = sockaddr(local);
      check(libc.bind_(this.entry().hostFd, addr, addr.length));
      this.pendingBind = true;
    });
  }

  finishBind(): void {
    if (!this.pendingBind) netFail('not-in-progress');
    this.pendingBind = false;
    if (this.state === 'unbound') this.state = 'bound';
  }

  startListen(): void {
    netResult(() => {
      if (this.state === 'listening' && !this.pendingListen) { this.pendingListen = true; return; }
      if (this.state !== 'bound') netFail('invalid-state');
      check(libc.listen(this.entry().hostFd, this.backlog));
      this.state = 'listening';
      this.pendingListen = true;
    });
  }

  finishListen(): void {
    if (!this.pendingListen) netFail('not-in-progress');
    this.pendingListen = false;
  }

  startConnect(network: Network, remote: IpSocketAddress): void {
    held(network, Network, 'network');
    netResult(() => {
      if (this.state !== 'unbound' && this.state !== 'bound') netFail('invalid-state');
      if (remote.tag !== this.family) netFail('invalid-argument');
      if (!this.net.granted('connect', remote)) netFail('access-denied');
      const addr = sockaddr(remote);
      const r = libc.connect(this.entry().hostFd, addr, addr.length);
      if (r < 0 && r !== -EINPROGRESS) check(r);
      this.state = 'connecting';
    });
  }

  finishConnect(): [InputStream, OutputStream] {
    return netResult(() => {
      if (this.state !== 'connecting') netFail('not-in-progress');
      const e = this.entry();
      if (!new Pollable(this.net.ctx, e.hostFd, POLLOUT).ready()) netFail('would-block');
      const v = Buffer.alloc(4), len = Buffer.alloc(4);
      len.writeUInt32LE(4);
      check(libc.getsockopt(e.hostFd, SOL_SOCKET, SO_ERROR, v, len));
      const err = v.readInt32LE(0);
      if (err !== 0) {
        this.state = 'closed';
        fail(fromLinux(err));
      }
      this.state = 'connected';
      return this.streams(e);
    });
  }

  accept(): [TcpSocket, InputStream, OutputStream] {
    return netResult(() => {
      if (this.state !== 'listening') netFail('invalid-state');
      const e = this.entry();
      const fds = this.net.ctx.fds;
      // The number is reserved first (new-socket-limit at the guest's limit, before a
      // connection is taken), and the socket is the table's the moment accept4 returns it.
      const slot = fds.reserve();
      const r = libc.accept4(e.hostFd, null, null, O.CLOEXEC | O.NONBLOCK);
      if (r >= 0) slot.entry.hostFd = r;
      else {
        fds.cancel(slot);
        if (r === -EAGAIN) netFail('would-block');
        check(r);
      }
      const n = fds.commit(slot, FILETYPE.SOCKET_STREAM, SOCKET_RIGHTS, 0);
      const s = new TcpSocket(this.net, n, this.family, 'connected');
      return [s, ...s.streams(slot.entry)];
    });
  }

  private streams(e: FdEntry): [InputStream, OutputStream] {
    return [new InputStream(this.net.ctx, e, null, this), new OutputStream(this.net.ctx, e, null, this)];
  }

  localAddress(): IpSocketAddress {
    return netResult(() => {
      if (this.state === 'unbound') netFail('invalid-state');
      return addressOf(this.entry().hostFd, false);
    });
  }

  remoteAddress(): IpSocketAddress {
    return netResult(() => {
      if (this.state !== 'connected') netFail('invalid-state');
      return addressOf(this.entry().hostFd, true);
    });
  }

  isListening(): boolean { return this.state === 'listening'; }
  addressFamily(): string { return this.family; }

  setListenBacklogSize(value: bigint): void {
    if (value === 0n) netFail('invalid-argument');
    this.backlog = value > 4096n ? 4096 : Number(value);
    if (this.state === 'listening') netResult(() => check(libc.listen(this.entry().hostFd, this.backlog)));
  }

  keepAliveEnabled(): boolean { return this.getInt(SOL_SOCKET, SO_KEEPALIVE) !== 0; }
  setKeepAliveEnabled(v: boolean): void { this.setInt(SOL_SOCKET, SO_KEEPALIVE, v ? 1 : 0); }
  keepAliveIdleTime(): bigint { return BigInt(this.getInt(IPPROTO_TCP, TCP_KEEPIDLE)) * 1_000_000_000n; }
  setKeepAliveIdleTime(ns: bigint): void { this.setInt(IPPROTO_TCP, TCP_KEEPIDLE, seconds(ns)); }
  keepAliveInterval(): bigint { return BigInt(this.getInt(IPPROTO_TCP, TCP_KEEPINTVL)) * 1_000_000_000n; }
  setKeepAliveInterval(ns: bigint): void { this.setInt(IPPROTO_TCP, TCP_KEEPINTVL, seconds(ns)); }
  keepAliveCount(): number { return this.getInt(IPPROTO_TCP, TCP_KEEPCNT); }
  setKeepAliveCount(n: number): void { this.setInt(IPPROTO_TCP, TCP_KEEPCNT, n); }
  hopLimit(): number { return this.family === 'ipv4' ? this.getInt(IPPROTO_IP, IP_TTL) : this.getInt(IPPROTO_IPV6, IPV6_UNICAST_HOPS); }
  setHopLimit(n: number): void {
    if (n === 0) netFail('invalid-argument');
    if (this.family === 'ipv4') this.setInt(IPPROTO_IP, IP_TTL, n); else this.setInt(IPPROTO_IPV6, IPV6_UNICAST_HOPS, n);
  }
  receiveBufferSize(): bigint { return BigInt(this.getInt(SOL_SOCKET, SO_RCVBUF)); }
  setReceiveBufferSize(n: bigint): void { this.setInt(SOL_SOCKET, SO_RCVBUF, clampInt(n)); }
  sendBufferSize(): bigint { return BigInt(this.getInt(SOL_SOCKET, SO_SNDBUF)); }
  setSendBufferSize(n: bigint): void { this.setInt(SOL_SOCKET, SO_SNDBUF, clampInt(n)); }

  subscribe(): Pollable {
    const e = this.entry();
    const events = this.state === 'connecting' ? POLLOUT : POLLIN;
    return new Pollable(this.net.ctx, e.hostFd, events);
  }

  shutdown(how: string): void {
    netResult(() => {
      if (this.state !== 'connected') netFail('invalid-state');
      check(libc.shutdown(this.entry().hostFd, how === 'receive' ? 0 : how === 'send' ? 1 : 2));
    });
  }

  private getInt(level: number, name: number): number {
    return netResult(() => {
      const v = Buffer.alloc(4), len = Buffer.alloc(4);
      len.writeUInt32LE(4);
      check(libc.getsockopt(this.entry().hostFd, level, name, v, len));
      return v.readInt32LE(0);
    });
  }

  private setInt(level: number, name: number, value: number): void {
    netResult(() => {
      if (value <= 0 && name !== SO_KEEPALIVE) netFail('invalid-argument');
      const v = Buffer.alloc(4);
      v.writeInt32LE(value);
      check(libc.setsockopt(this.entry().hostFd, level, name, v, 4));
    });
  }

  protected override released(): void {
    if (this.dropped) return;
    this.dropped = true;
    if (this.net.ctx.fds.has(this.fd)) closeEntry(this.net.ctx.fds.remove(this.fd));
  }
}

function seconds(ns: bigint): number {
  const s = ns / 1_000_000_000n;
  return s < 1n ? 1 : s > 0x7fffffffn ? 0x7fffffff : Number(s);
}
function clampInt(n: bigint): number {
  return n > 0x7fffffffn ? 0x7fffffff : Number(n);
}

class ResolveAddressStream extends Resource {
  constructor(ctx: Context, private addresses: IpAddress[]) {
    super(ctx);
  }
  resolveNextAddress(): IpAddress | undefined { return this.addresses.shift(); }
  subscribe(): Pollable { return new Pollable(this.ctx, -1, 0); }
}

export class SocketHost {
  private readonly grants: { bind: IpSocketAddress[]; connect: IpSocketAddress[] };
  constructor(readonly ctx: Context, grants: SocketGrants = {}) {
    this.grants = { bind: (grants.bind ?? []).map(parseGrant), connect: (grants.connect ?? []).map(parseGrant) };
  }

  granted(kind: 'bind' | 'connect', a: IpSocketAddress): boolean {
    return this.grants[kind].some((g) => sameAddress(g, a));
  }

  /**
   * The host's listener bound to `local` (a listening socket in the table, as --listen puts
   * them), made non-blocking and detached from the table for the socket that takes it; or null.
   */
  listenerFor(local: IpSocketAddress): FdEntry | null {
    for (const [n, e] of this.ctx.fds.list()) {
      if (e.filetype !== FILETYPE.SOCKET_STREAM || e.hostFd < 0 || !isListening(e.hostFd)) continue;
      let bound: IpSocketAddress;
      try { bound = addressOf(e.hostFd, false); } catch { continue; }
      const port = local.val.port === 0 || local.val.port === bound.val.port;
      if (bound.tag === local.tag && port && bound.val.address.every((x, i) => x === local.val.address[i])) {
        check(libc.fcntl(e.hostFd, F.SETFL, check(libc.fcntl(e.hostFd, F.GETFL, 0)) | O.NONBLOCK));
        return this.ctx.fds.remove(n);
      }
    }
    return null;
  }

  imports() {
    const ctx = this.ctx;
    return {
      'wasi:sockets/network': {
        Network,
        networkErrorCode: (err: IoError): string | undefined => netErrorOf(held(err, IoError, 'error').errno),
      },
      'wasi:sockets/instance-network': { instanceNetwork: () => new Network(ctx) },
      'wasi:sockets/tcp-create-socket': {
        createTcpSocket: (family: 'ipv4' | 'ipv6') => netResult(() => {
          // Reserved first (new-socket-limit at the guest's limit, before a socket exists); the
          // socket is the table's the moment socket(2) returns it.
          const slot = ctx.fds.reserve();
          const hostFd = libc.socket(family === 'ipv4' ? AF_INET : AF_INET6, SOCK_STREAM | O.CLOEXEC | O.NONBLOCK, 0);
          if (hostFd >= 0) slot.entry.hostFd = hostFd;
          else {
            ctx.fds.cancel(slot);
            check(hostFd);
          }
          const n = ctx.fds.commit(slot, FILETYPE.SOCKET_STREAM, SOCKET_RIGHTS, 0);
          if (family === 'ipv6') {
            const one = Buffer.alloc(4);
            one.writeInt32LE(1);
            libc.setsockopt(hostFd, IPPROTO_IPV6, IPV6_V6ONLY, one, 4); // 0.2 sockets are single-family
          }
          return new TcpSocket(this, n, family, 'unbound');
        }),
      },
      'wasi:sockets/tcp': { TcpSocket },
      'wasi:sockets/ip-name-lookup': {
        ResolveAddressStream,
        resolveAddresses: (network: Network, name: string) => {
          held(network, Network, 'network');
          const ip = parseIp(name);
          if (ip === null) netFail('name-unresolvable');
          return new ResolveAddressStream(ctx, [ip]);
        },
      },
    };
  }
}

function isListening(hostFd: number): boolean {
  const v = Buffer.alloc(4), len = Buffer.alloc(4);
  len.writeUInt32LE(4);
  return libc.getsockopt(hostFd, SOL_SOCKET, SO_ACCEPTCONN, v, len) === 0 && v.readInt32LE(0) === 1;
}
