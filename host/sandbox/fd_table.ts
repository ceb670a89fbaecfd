// The guest's descriptor table. Guest descriptor numbers are virtual: each maps to an entry
// holding the host descriptor it stands for (or a JavaScript object, for streams an embedder
// supplies), its WASI file type and its rights. A guest reaches only what is in its table.
import * as libc from '../native/libc.js';
import { F, S, STATX_BASIC_STATS, AT } from '../native/platform.js';
import { errno, fail } from './errno.js';
import { FILETYPE, TTY_RIGHTS, maxRights } from './rights.js';

/**
 * A stream that is not a kernel descriptor, such as stdout captured by an embedder. Calls
 * on it behave as on a pipe: read returns 0 at end of input; write may be short.
 */
export interface VirtualFile {
  /** Fills `into` from the start; returns the number of bytes read, 0 at end of input. */
  read?(into: Uint8Array): number;
  /** Consumes bytes from the start of `from`; returns how many it took. */
  write?(from: Uint8Array): number;
}

export class FdEntry {
  /** Rights the guest gave up with fd_fdstat_set_rights (for `notcapable` in zerocopy calls). */
  revoked = 0;
  /**
   * Set for inherited stdio: the open file description is shared with the host (and its
   * parent), so the guest's fd_fdstat_set_flags never changes its status flags.
   */
  sharedDescription = false;
  /**
   * Set while the guest has not asked for NONBLOCK on a shared description that is
   * non-blocking anyway (Node makes some pipes so): I/O waits instead of returning EAGAIN.
   */
  emulateBlocking = false;
  /**
   * Bytes taken from a stream that cannot be read again (a pipe, a virtual file) by a copying
   * transfer whose destination accepted fewer: they are delivered first by the next read or
   * transfer, so a short write never loses data.
   */
  pending: Uint8Array | null = null;
  constructor(
    /** The host descriptor this entry owns, or -1 for a virtual file. */
    readonly hostFd: number,
    public filetype: number,
    public rightsBase: number,
    public rightsInheriting: number,
    /** For preopened directories: the name the guest sees (fd_prestat_dir_name). */
    readonly preopen: string | null = null,
    readonly virtual: VirtualFile | null = null,
  ) {}
}

/** WASI file type of a host descriptor, from its st_mode. */
export function filetypeOf(hostFd: number): number {
  const stx = new Uint8Array(256);
  if (libc.statx(hostFd, '', AT.EMPTY_PATH, STATX_BASIC_STATS, stx) < 0) return FILETYPE.UNKNOWN;
  const mode = stx[28] | (stx[29] << 8);
  return (mode & S.IFMT) === S.IFSOCK ? socketFiletype(hostFd) : filetypeFromMode(mode);
}

/** A socket's WASI type from getsockopt(SO_TYPE): SOCK_DGRAM is socket_dgram; the rest stream. */
function socketFiletype(hostFd: number): number {
  const SOL_SOCKET = 1, SO_TYPE = 3, SOCK_DGRAM = 2; // asm-generic/socket.h, the same on x86-64 and arm64
  const val = Buffer.alloc(4), len = Buffer.alloc(4);
  len.writeUInt32LE(4);
  const r = libc.getsockopt(hostFd, SOL_SOCKET, SO_TYPE, val, len);
  return r === 0 && val.readInt32LE(0) === SOCK_DGRAM ? FILETYPE.SOCKET_DGRAM : FILETYPE.SOCKET_STREAM;
}

export function filetypeFromMode(mode: number): number {
  switch (mode & S.IFMT) {
    case S.IFREG: return FILETYPE.REGULAR_FILE;
    case S.IFDIR: return FILETYPE.DIRECTORY;
    case S.IFCHR: return FILETYPE.CHARACTER_DEVICE;
    case S.IFBLK: return FILETYPE.BLOCK_DEVICE;
    case S.IFLNK: return FILETYPE.SYMBOLIC_LINK;
    case S.IFSOCK: return FILETYPE.SOCKET_STREAM;
    default: return FILETYPE.UNKNOWN; // FIFOs: WASI preview1 has no type for them
  }
}

export class FdTable {
  private entries: (FdEntry | undefined)[] = [];

  /**
   * The entry for a guest descriptor that holds all of `rights`: `badf` if the guest holds
   * no such descriptor, `notcapable` if the descriptor lacks one of the rights.
   */
  get(fd: number, rights = 0): FdEntry {
    const e = this.entries[fd >>> 0];
    if (e === undefined) fail(errno.badf);
    if ((e.rightsBase & rights) !== rights) fail(errno.notcapable);
    return e;
  }

  /** Like get, but only the rights the guest itself revoked answer `notcapable`. */
  getUnrevoked(fd: number, rights: number): FdEntry {
    const e = this.entries[fd >>> 0];
    if (e === undefined) fail(errno.badf);
    if ((e.revoked & rights) !== 0) fail(errno.notcapable);
    return e;
  }

  /** The entry, or null: for hot paths that check everything else themselves. */
  entryOrNull(fd: number): FdEntry | null {
    return this.entries[fd >>> 0] ?? null;
  }

  has(fd: number): boolean {
    return this.entries[fd >>> 0] !== undefined;
  }

  /** Adds an entry at the lowest free number (at least `min`), as open(2) does. */
  insert(entry: FdEntry, min = 0): number {
    let fd = this.entries.indexOf(undefined, min);
    if (fd < 0) fd = Math.max(min, this.entries.length);
    while (this.entries.length < fd) this.entries.push(undefined); // no holes: indexOf skips them
    this.entries[fd] = entry;
    return fd;
  }

  /** Adds an entry at a given number; the number must be free. */
  insertAt(fd: number, entry: FdEntry): void {
    if (this.entries[fd] !== undefined) throw new Error(`guest descriptor ${fd} is already in use`);
    while (this.entries.length < fd) this.entries.push(undefined);
    this.entries[fd] = entry;
  }

  /** Wraps a host descriptor this table will own, with the most rights its type allows. */
  adopt(hostFd: number, preopen: string | null = null, filetype = filetypeOf(hostFd)): FdEntry {
    let [base, inheriting] = maxRights(filetype);
    if (filetype === FILETYPE.CHARACTER_DEVICE && libc.isatty(hostFd) === 1) base = TTY_RIGHTS;
    return new FdEntry(hostFd, filetype, base, inheriting, preopen);
  }

  /** Puts `entry` in place of what `fd` holds; returns the old entry for the caller to close. */
  replace(fd: number, entry: FdEntry): FdEntry {
    const old = this.get(fd);
    this.entries[fd >>> 0] = entry;
    return old;
  }

  /** Removes a guest descriptor and returns its entry; the caller closes the host side. */
  remove(fd: number): FdEntry {
    const e = this.get(fd);
    this.entries[fd >>> 0] = undefined;
    while (this.entries.length > 0 && this.entries[this.entries.length - 1] === undefined) this.entries.pop();
    return e;
  }

  /** Moves `from` onto `to`, closing what `to` held (fd_renumber). */
  renumber(from: number, to: number): void {
    const src = this.get(from);
    const dst = this.get(to);
    if (src === dst) return;
    closeEntry(dst);
    this.entries[to >>> 0] = src;
    this.remove(from);
  }

  /** Every entry with its guest number. */
  *list(): IterableIterator<[number, FdEntry]> {
    for (let i = 0; i < this.entries.length; i++) {
      const e = this.entries[i];
      if (e !== undefined) yield [i, e];
    }
  }

  /** Closes every host descriptor the table owns and empties it. */
  closeAll(): void {
    for (const e of this.entries) if (e !== undefined) closeEntry(e);
    this.entries = [];
  }
}

/** Closes the host side of an entry; returns the negative errno of close(2), or 0. */
export function closeEntry(e: FdEntry): number {
  return e.hostFd >= 0 ? Math.min(0, libc.close(e.hostFd)) : 0;
}

/** A close-on-exec duplicate of a host descriptor, for the table to own. */
export function dupCloexec(hostFd: number): number {
  const r = libc.fcntl(hostFd, F.DUPFD_CLOEXEC, 0);
  if (r < 0) throw new Error(`cannot duplicate host descriptor ${hostFd} (errno ${-r})`);
  return r;
}
