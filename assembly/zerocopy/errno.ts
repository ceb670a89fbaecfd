// WASI preview1 errno values (typenames.witx `errno`), as the zerocopy calls return them: the
// numbers of host/sandbox/errno.ts, where Linux's errno is translated by name (EAGAIN -> AGAIN).
// The SDK's transfers return them negated (-errno.AGAIN), as a raw Linux system call does.
export namespace errno {
  // @ts-ignore: decorator
  @inline export const SUCCESS: u16 = 0;
  // @ts-ignore: decorator
  @inline export const _2BIG: u16 = 1;
  // @ts-ignore: decorator
  @inline export const ACCES: u16 = 2;
  // @ts-ignore: decorator
  @inline export const ADDRINUSE: u16 = 3;
  // @ts-ignore: decorator
  @inline export const ADDRNOTAVAIL: u16 = 4;
  // @ts-ignore: decorator
  @inline export const AFNOSUPPORT: u16 = 5;
  // @ts-ignore: decorator
  @inline export const AGAIN: u16 = 6;
  // @ts-ignore: decorator
  @inline export const ALREADY: u16 = 7;
  // @ts-ignore: decorator
  @inline export const BADF: u16 = 8;
  // @ts-ignore: decorator
  @inline export const BADMSG: u16 = 9;
  // @ts-ignore: decorator
  @inline export const BUSY: u16 = 10;
  // @ts-ignore: decorator
  @inline export const CANCELED: u16 = 11;
  // @ts-ignore: decorator
  @inline export const CHILD: u16 = 12;
  // @ts-ignore: decorator
  @inline export const CONNABORTED: u16 = 13;
  // @ts-ignore: decorator
  @inline export const CONNREFUSED: u16 = 14;
  // @ts-ignore: decorator
  @inline export const CONNRESET: u16 = 15;
  // @ts-ignore: decorator
  @inline export const DEADLK: u16 = 16;
  // @ts-ignore: decorator
  @inline export const DESTADDRREQ: u16 = 17;
  // @ts-ignore: decorator
  @inline export const DOM: u16 = 18;
  // @ts-ignore: decorator
  @inline export const DQUOT: u16 = 19;
  // @ts-ignore: decorator
  @inline export const EXIST: u16 = 20;
  // @ts-ignore: decorator
  @inline export const FAULT: u16 = 21;
  // @ts-ignore: decorator
  @inline export const FBIG: u16 = 22;
  // @ts-ignore: decorator
  @inline export const HOSTUNREACH: u16 = 23;
  // @ts-ignore: decorator
  @inline export const IDRM: u16 = 24;
  // @ts-ignore: decorator
  @inline export const ILSEQ: u16 = 25;
  // @ts-ignore: decorator
  @inline export const INPROGRESS: u16 = 26;
  // @ts-ignore: decorator
  @inline export const INTR: u16 = 27;
  // @ts-ignore: decorator
  @inline export const INVAL: u16 = 28;
  // @ts-ignore: decorator
  @inline export const IO: u16 = 29;
  // @ts-ignore: decorator
  @inline export const ISCONN: u16 = 30;
  // @ts-ignore: decorator
  @inline export const ISDIR: u16 = 31;
  // @ts-ignore: decorator
  @inline export const LOOP: u16 = 32;
  // @ts-ignore: decorator
  @inline export const MFILE: u16 = 33;
  // @ts-ignore: decorator
  @inline export const MLINK: u16 = 34;
  // @ts-ignore: decorator
  @inline export const MSGSIZE: u16 = 35;
  // @ts-ignore: decorator
  @inline export const MULTIHOP: u16 = 36;
  // @ts-ignore: decorator
  @inline export const NAMETOOLONG: u16 = 37;
  // @ts-ignore: decorator
  @inline export const NETDOWN: u16 = 38;
  // @ts-ignore: decorator
  @inline export const NETRESET: u16 = 39;
  // @ts-ignore: decorator
  @inline export const NETUNREACH: u16 = 40;
  // @ts-ignore: decorator
  @inline export const NFILE: u16 = 41;
  // @ts-ignore: decorator
  @inline export const NOBUFS: u16 = 42;
  // @ts-ignore: decorator
  @inline export const NODEV: u16 = 43;
  // @ts-ignore: decorator
  @inline export const NOENT: u16 = 44;
  // @ts-ignore: decorator
  @inline export const NOEXEC: u16 = 45;
  // @ts-ignore: decorator
  @inline export const NOLCK: u16 = 46;
  // @ts-ignore: decorator
  @inline export const NOLINK: u16 = 47;
  // @ts-ignore: decorator
  @inline export const NOMEM: u16 = 48;
  // @ts-ignore: decorator
  @inline export const NOMSG: u16 = 49;
  // @ts-ignore: decorator
  @inline export const NOPROTOOPT: u16 = 50;
  // @ts-ignore: decorator
  @inline export const NOSPC: u16 = 51;
  // @ts-ignore: decorator
  @inline export const NOSYS: u16 = 52;
  // @ts-ignore: decorator
  @inline export const NOTCONN: u16 = 53;
  // @ts-ignore: decorator
  @inline export const NOTDIR: u16 = 54;
  // @ts-ignore: decorator
  @inline export const NOTEMPTY: u16 = 55;
  // @ts-ignore: decorator
  @inline export const NOTRECOVERABLE: u16 = 56;
  // @ts-ignore: decorator
  @inline export const NOTSOCK: u16 = 57;
  // @ts-ignore: decorator
  @inline export const NOTSUP: u16 = 58;
  // @ts-ignore: decorator
  @inline export const NOTTY: u16 = 59;
  // @ts-ignore: decorator
  @inline export const NXIO: u16 = 60;
  // @ts-ignore: decorator
  @inline export const OVERFLOW: u16 = 61;
  // @ts-ignore: decorator
  @inline export const OWNERDEAD: u16 = 62;
  // @ts-ignore: decorator
  @inline export const PERM: u16 = 63;
  // @ts-ignore: decorator
  @inline export const PIPE: u16 = 64;
  // @ts-ignore: decorator
  @inline export const PROTO: u16 = 65;
  // @ts-ignore: decorator
  @inline export const PROTONOSUPPORT: u16 = 66;
  // @ts-ignore: decorator
  @inline export const PROTOTYPE: u16 = 67;
  // @ts-ignore: decorator
  @inline export const RANGE: u16 = 68;
  // @ts-ignore: decorator
  @inline export const ROFS: u16 = 69;
  // @ts-ignore: decorator
  @inline export const SPIPE: u16 = 70;
  // @ts-ignore: decorator
  @inline export const SRCH: u16 = 71;
  // @ts-ignore: decorator
  @inline export const STALE: u16 = 72;
  // @ts-ignore: decorator
  @inline export const TIMEDOUT: u16 = 73;
  // @ts-ignore: decorator
  @inline export const TXTBSY: u16 = 74;
  // @ts-ignore: decorator
  @inline export const XDEV: u16 = 75;
  // @ts-ignore: decorator
  @inline export const NOTCAPABLE: u16 = 76;

  /**
   * The WASI name of an errno ("again", "badf", ...), as the host's table spells it, for
   * messages; "unknown" for a number outside the table. No allocation: the names are static.
   */
  export function name(e: u16): string {
    switch (e) {
      case SUCCESS: return "success";
      case _2BIG: return "2big";
      case ACCES: return "acces";
      case ADDRINUSE: return "addrinuse";
      case ADDRNOTAVAIL: return "addrnotavail";
      case AFNOSUPPORT: return "afnosupport";
      case AGAIN: return "again";
      case ALREADY: return "already";
      case BADF: return "badf";
      case BADMSG: return "badmsg";
      case BUSY: return "busy";
      case CANCELED: return "canceled";
      case CHILD: return "child";
      case CONNABORTED: return "connaborted";
      case CONNREFUSED: return "connrefused";
      case CONNRESET: return "connreset";
      case DEADLK: return "deadlk";
      case DESTADDRREQ: return "destaddrreq";
      case DOM: return "dom";
      case DQUOT: return "dquot";
      case EXIST: return "exist";
      case FAULT: return "fault";
      case FBIG: return "fbig";
      case HOSTUNREACH: return "hostunreach";
      case IDRM: return "idrm";
      case ILSEQ: return "ilseq";
      case INPROGRESS: return "inprogress";
      case INTR: return "intr";
      case INVAL: return "inval";
      case IO: return "io";
      case ISCONN: return "isconn";
      case ISDIR: return "isdir";
      case LOOP: return "loop";
      case MFILE: return "mfile";
      case MLINK: return "mlink";
      case MSGSIZE: return "msgsize";
      case MULTIHOP: return "multihop";
      case NAMETOOLONG: return "nametoolong";
      case NETDOWN: return "netdown";
      case NETRESET: return "netreset";
      case NETUNREACH: return "netunreach";
      case NFILE: return "nfile";
      case NOBUFS: return "nobufs";
      case NODEV: return "nodev";
      case NOENT: return "noent";
      case NOEXEC: return "noexec";
      case NOLCK: return "nolck";
      case NOLINK: return "nolink";
      case NOMEM: return "nomem";
      case NOMSG: return "nomsg";
      case NOPROTOOPT: return "noprotoopt";
      case NOSPC: return "nospc";
      case NOSYS: return "nosys";
      case NOTCONN: return "notconn";
      case NOTDIR: return "notdir";
      case NOTEMPTY: return "notempty";
      case NOTRECOVERABLE: return "notrecoverable";
      case NOTSOCK: return "notsock";
      case NOTSUP: return "notsup";
      case NOTTY: return "notty";
      case NXIO: return "nxio";
      case OVERFLOW: return "overflow";
      case OWNERDEAD: return "ownerdead";
      case PERM: return "perm";
      case PIPE: return "pipe";
      case PROTO: return "proto";
      case PROTONOSUPPORT: return "protonosupport";
      case PROTOTYPE: return "prototype";
      case RANGE: return "range";
      case ROFS: return "rofs";
      case SPIPE: return "spipe";
      case SRCH: return "srch";
      case STALE: return "stale";
      case TIMEDOUT: return "timedout";
      case TXTBSY: return "txtbsy";
      case XDEV: return "xdev";
      case NOTCAPABLE: return "notcapable";
    }
    return "unknown";
  }
}
