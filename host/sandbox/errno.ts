// The one errno table: WASI preview1's errno values (witx `errno`, typenames.witx) and the
// translation of Linux's errno into them. Linux's numbers come from Node's table for this
// platform, so the mapping is by name: EBADF becomes `badf`, ESPIPE `spipe`, and so on.
import { constants } from 'node:os';

/** WASI preview1 errno, in the order of the witx enum. */
export const errno = {
  success: 0, '2big': 1, acces: 2, addrinuse: 3, addrnotavail: 4, afnosupport: 5, again: 6,
  already: 7, badf: 8, badmsg: 9, busy: 10, canceled: 11, child: 12, connaborted: 13,
  connrefused: 14, connreset: 15, deadlk: 16, destaddrreq: 17, dom: 18, dquot: 19, exist: 20,
  fault: 21, fbig: 22, hostunreach: 23, idrm: 24, ilseq: 25, inprogress: 26, intr: 27,
  inval: 28, io: 29, isconn: 30, isdir: 31, loop: 32, mfile: 33, mlink: 34, msgsize: 35,
  multihop: 36, nametoolong: 37, netdown: 38, netreset: 39, netunreach: 40, nfile: 41,
  nobufs: 42, nodev: 43, noent: 44, noexec: 45, nolck: 46, nolink: 47, nomem: 48, nomsg: 49,
  noprotoopt: 50, nospc: 51, nosys: 52, notconn: 53, notdir: 54, notempty: 55,
  notrecoverable: 56, notsock: 57, notsup: 58, notty: 59, nxio: 60, overflow: 61,
  ownerdead: 62, perm: 63, pipe: 64, proto: 65, protonosupport: 66, prototype: 67, range: 68,
  rofs: 69, spipe: 70, srch: 71, stale: 72, timedout: 73, txtbsy: 74, xdev: 75,
  notcapable: 76,
} as const;
export type Errno = number;

/** WASI errno number -> name, for traces and messages. */
export const errnoName: readonly string[] = Object.keys(errno);

/**
 * Linux errnos that have no WASI errno of the same name, mapped to the nearest meaning.
 * EWOULDBLOCK and EDEADLOCK are aliases of EAGAIN and EDEADLK and need no entry.
 */
const nearest: Record<string, keyof typeof errno> = {
  EOPNOTSUPP: 'notsup',    // the same number as ENOTSUP on Linux
  ENOTBLK: 'notsup',
  ENODATA: 'nomsg',        // "no data available" (e.g. xattrs)
  ENOSR: 'nobufs',
  ENOSTR: 'inval',
  ETIME: 'timedout',
  ESHUTDOWN: 'pipe',       // a write after shutdown(SHUT_WR), as EPIPE
  ETOOMANYREFS: 'mlink',
  EHOSTDOWN: 'hostunreach',
  ESOCKTNOSUPPORT: 'protonosupport',
  EPFNOSUPPORT: 'afnosupport',
  ENOTUNIQ: 'inval',
  EUSERS: 'nfile',
  EREMOTEIO: 'io',
  ENOMEDIUM: 'nodev',
  EMEDIUMTYPE: 'nodev',
  EKEYEXPIRED: 'acces',
  EKEYREJECTED: 'acces',
  EKEYREVOKED: 'acces',
  ENOKEY: 'acces',
  ERFKILL: 'netdown',
  EHWPOISON: 'io',
};

/**
 * Linux errnos that Node's table leaves out. The numbers are asm-generic's, which x86-64 and
 * arm64 share (include/uapi/asm-generic/errno.h).
 */
const missingFromNode: Record<string, number> = {
  ENOTBLK: 15, ENOTUNIQ: 76, EUSERS: 87, ESOCKTNOSUPPORT: 94, EPFNOSUPPORT: 96,
  ESHUTDOWN: 108, ETOOMANYREFS: 109, EHOSTDOWN: 112, EREMOTEIO: 121, ENOMEDIUM: 123,
  EMEDIUMTYPE: 124, ENOKEY: 126, EKEYEXPIRED: 127, EKEYREVOKED: 128, EKEYREJECTED: 129,
  EOWNERDEAD: 130, ENOTRECOVERABLE: 131, ERFKILL: 132, EHWPOISON: 133,
};

const fromLinuxTable: Uint8Array = (() => {
  const table = new Uint8Array(4096).fill(errno.io);
  for (const [name, linux] of Object.entries({ ...missingFromNode, ...constants.errno })) {
    const wasi = (nearest[name] ?? name.slice(1).toLowerCase()) as keyof typeof errno;
    if (wasi in errno && linux > 0 && linux < table.length) table[linux] = errno[wasi];
  }
  return table;
})();

/**
 * Translates a Linux errno into WASI's. An errno Linux may add later, with no name in Node's
 * table yet, becomes `io` rather than a success or a number the guest cannot decode.
 */
export function fromLinux(linuxErrno: number): Errno {
  return linuxErrno > 0 && linuxErrno < fromLinuxTable.length ? fromLinuxTable[linuxErrno] : errno.io;
}

/**
 * A WASI error raised inside the host. It does not extend Error on purpose: no stack is
 * captured, so raising it on a hot path (EAGAIN) costs little. The import boundary turns it
 * back into the errno it carries; it never reaches the guest as an exception.
 */
export class WasiError {
  constructor(readonly errno: Errno) {}
}

/** Throws the WASI translation of a negative raw syscall result; returns it otherwise. */
export function check(r: number): number {
  if (r < 0) throw new WasiError(fromLinux(-r));
  return r;
}

export function fail(e: Errno): never {
  throw new WasiError(e);
}
