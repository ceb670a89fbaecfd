// Errors of WASI 0.2: wasi:filesystem/types `error-code` and wasi:sockets/network `error-code`,
// both enums of names, carried to the guest by throwing the name (jco's glue lowers a thrown
// value into the `err` case of a `result`). They come from the one errno table
// (sandbox/errno.ts): a Linux errno becomes a preview1 errno there, and that errno becomes the
// 0.2 case of the same meaning here, so both ABIs answer one failure the same way.
import { errnoName, WasiError } from '../sandbox/errno.js';

/**
 * preview1 errno name -> wasi:filesystem `error-code` (types.wit). Errnos the enum has no case
 * for become `io`. `notcapable` (a path leaving its directory, a right not held) is
 * `not-permitted`, as wasmtime answers. For sockets, `mfile` is `new-socket-limit` (network.wit).
 */
const FS: Record<string, string> = {
  acces: 'access', again: 'would-block', already: 'already', badf: 'bad-descriptor', busy: 'busy',
  deadlk: 'deadlock', dquot: 'quota', exist: 'exist', fbig: 'file-too-large', ilseq: 'illegal-byte-sequence',
  inprogress: 'in-progress', intr: 'interrupted', inval: 'invalid', io: 'io', isdir: 'is-directory', loop: 'loop',
  mlink: 'too-many-links', msgsize: 'message-size', nametoolong: 'name-too-long', nodev: 'no-device',
  noent: 'no-entry', nolck: 'no-lock', nomem: 'insufficient-memory', nospc: 'insufficient-space',
  notdir: 'not-directory', notempty: 'not-empty', notrecoverable: 'not-recoverable', notsup: 'unsupported',
  notty: 'no-tty', nxio: 'no-such-device', overflow: 'overflow', perm: 'not-permitted', pipe: 'pipe',
  rofs: 'read-only', spipe: 'invalid-seek', txtbsy: 'text-file-busy', xdev: 'cross-device',
  notcapable: 'not-permitted',
  // The guest holds as many descriptors as the sandbox allows (maxFds; EMFILE, or ENFILE from
  // the kernel): the enum has no case for it; insufficient-memory is the one for a resource
  // the host has run out of (the adapter gives preview1 programs ENOMEM).
  mfile: 'insufficient-memory', nfile: 'insufficient-memory',
};

/** preview1 errno name -> wasi:sockets `error-code` (network.wit); the rest are `unknown`. */
const NET: Record<string, string> = {
  acces: 'access-denied', perm: 'access-denied', notcapable: 'access-denied', notsup: 'not-supported',
  inval: 'invalid-argument', nomem: 'out-of-memory', nobufs: 'out-of-memory', timedout: 'timeout',
  again: 'would-block', inprogress: 'would-block', already: 'concurrency-conflict', isconn: 'invalid-state',
  notconn: 'invalid-state', addrinuse: 'address-in-use', addrnotavail: 'address-not-bindable',
  netunreach: 'remote-unreachable', hostunreach: 'remote-unreachable', connrefused: 'connection-refused',
  connreset: 'connection-reset', connaborted: 'connection-aborted', pipe: 'connection-reset',
  msgsize: 'datagram-too-large', afnosupport: 'not-supported', mfile: 'new-socket-limit', nfile: 'new-socket-limit',
};

const fsCode: string[] = errnoName.map((n) => FS[n] ?? 'io');
const netCode: string[] = errnoName.map((n) => NET[n] ?? 'unknown');

/** The filesystem error-code for a preview1 errno. */
export function fsError(e: number): string {
  return fsCode[e] ?? 'io';
}

/** The sockets error-code for a preview1 errno. */
export function netError(e: number): string {
  return netCode[e] ?? 'unknown';
}

/**
 * Runs `op`, turning a WasiError into the thrown error-code name (the `err` of the result the
 * guest receives). Anything else propagates: a host bug traps the guest rather than lying to it.
 */
export function fsResult<T>(op: () => T): T {
  try {
    return op();
  } catch (e) {
    if (e instanceof WasiError) throw fsError(e.errno);
    throw e;
  }
}

export function netResult<T>(op: () => T): T {
  try {
    return op();
  } catch (e) {
    if (e instanceof WasiError) throw netError(e.errno);
    throw e;
  }
}

/** A sockets error raised directly by the host, by its error-code name. */
export function netFail(code: string): never {
  throw code;
}

