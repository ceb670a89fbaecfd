// The guest's descriptor table. Guest descriptor numbers are virtual: each maps to an entry
// holding the host descriptor it stands for (or a JavaScript object, for streams an embedder
// supplies), its WASI file type and its rights. A guest reaches only what is in its table.
import * as libc from '../native/libc.js';
import { AT, F, S, STATX_BASIC_STATS } from '../native/platform.js';
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
   * Set while the guest has asked for NONBLOCK on a shared description that stays blocking
   * (a socket, which cannot be reopened as a description of its own): calls that would wait
   * answer EAGAIN instead (MSG_DONTWAIT where the call takes it, io.ts, sock.ts).
   */
  emulateNonblock = false;
  /**
   * Bytes taken from a stream that cannot be read again (a pipe, a virtual file) by a copying
   * transfer whose destination accepted fewer: they are delivered first by the next read or
   * transfer, so a short write never loses data.
   */
  pending: Uint8Array | null = null;
  constructor(
    /**
     * The host descriptor this entry owns, or -1 for a virtual file. Set once, by whoever
     * creates the descriptor, the moment the system call returns (see FdTable.reserve).
     */
    public hostFd: number,
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

/** RLIMIT_NOFILE's usual soft limit (getrlimit(2)), the default number of guest descriptors. */
export const DEFAULT_FD_LIMIT = 1024;

/**
 * A guest number reserved for a descriptor about to be created. `entry.hostFd` is set by the
 * creator the moment the system call returns, with nothing in between that could throw, so a
 * call cut short at any point (a stack overflow inside it) leaves the descriptor owned by the
 * table, which closes it.
 */
export class Reservation {
  constructor(readonly fd: number, readonly entry: FdEntry) {}
}

export class FdTable {
  private entries: (FdEntry | undefined)[] = [];
  /** Host descriptors a call holds only while it runs (an O_PATH lookup, a directory read). */
  private temporaries: FdEntry[] = [];
  /**
   * The host descriptor of each guest number, or -1, in shared memory: a thread that ran the
   * guest in a worker it had to terminate (a guest computing without calls ignores a stop)
   * closes what the dead worker owned from it, since no code of the worker runs any more.
   * Cleared before each close, so that it never names a number the process has reused.
   */
  readonly owned: Int32Array;

  /**
   * `limit`: guest descriptors are numbered below it, as open(2)'s below RLIMIT_NOFILE.
   * `owned`: where to mirror the host descriptors (see above), `limit` slots; made if not given.
   */
  constructor(readonly limit = DEFAULT_FD_LIMIT, owned?: Int32Array) {
    if (!Number.isInteger(limit) || limit < 3 || limit > 1 << 20) {
      throw new RangeError(`the descriptor limit must be an integer from 3 to ${1 << 20}, not ${limit}`);
    }
    if (owned !== undefined && owned.length < limit) throw new RangeError('the shared descriptor list is shorter than the limit');
    this.owned = (owned ?? new Int32Array(new SharedArrayBuffer(4 * limit))).fill(-1);
  }

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

  /** How many guest descriptors are open. */
  get size(): number {
    let n = 0;
    for (const e of this.entries) if (e !== undefined) n++;
    return n;
  }

  /**
   * Adds an entry at the lowest free number (at least `min`), as open(2) does; `mfile` when
   * that number is not below the limit (open(2), EMFILE).
   */
  insert(entry: FdEntry, min = 0): number {
    let fd = this.entries.indexOf(undefined, min);
    if (fd < 0) fd = Math.max(min, this.entries.length);
    if (fd >= this.limit) fail(errno.mfile);
    while (this.entries.length < fd) this.entries.push(undefined); // no holes: indexOf skips them
    this.entries[fd] = entry;
    this.owned[fd] = entry.hostFd;
    return fd;
  }

  /** Adds an entry at a given number; the number must be free. */
  insertAt(fd: number, entry: FdEntry): void {
    if (this.entries[fd] !== undefined) throw new Error(`guest descriptor ${fd} is already in use`);
    if (fd >= this.limit) fail(errno.mfile);
    while (this.entries.length < fd) this.entries.push(undefined);
    this.entries[fd] = entry;
    this.owned[fd] = entry.hostFd;
  }

  /**
   * Reserves the lowest free number for a descriptor about to be created: `mfile` past the
   * limit, before anything exists. The creator stores the host descriptor in `entry.hostFd`
   * as soon as the system call returns, then calls commit, or cancel on failure.
   */
  reserve(min = 0): Reservation {
    const entry = new FdEntry(-1, FILETYPE.UNKNOWN, 0, 0);
    return new Reservation(this.insert(entry, min), entry);
  }

  /** Completes a reservation whose host descriptor exists; returns its guest number. */
  commit(r: Reservation, filetype: number, rightsBase: number, rightsInheriting: number): number {
    const e = r.entry;
    e.filetype = filetype;
    e.rightsBase = rightsBase;
    e.rightsInheriting = rightsInheriting;
    this.owned[r.fd] = e.hostFd;
    return r.fd;
  }

  /** Gives a reserved number back, closing the host descriptor if it was created. */
  cancel(r: Reservation): void {
    if (this.entries[r.fd] !== r.entry) return;
    this.remove(r.fd);
    closeEntry(r.entry);
  }

  /**
   * A holder for a host descriptor that one call uses and closes (see Reservation): the
   * creator sets its hostFd; release closes it. Not counted against the limit: a native
   * program needs no descriptor for what these stand for (a path lookup, a directory read).
   */
  temporary(): FdEntry {
    const t = new FdEntry(-1, FILETYPE.UNKNOWN, 0, 0);
    this.temporaries.push(t);
    return t;
  }

  /** Makes a temporary a guest descriptor's entry: the caller has put it in the table. */
  keep(t: FdEntry): void {
    const i = this.temporaries.lastIndexOf(t);
    if (i >= 0) this.temporaries.splice(i, 1);
  }

  release(t: FdEntry): void {
    const i = this.temporaries.lastIndexOf(t);
    if (i >= 0) this.temporaries.splice(i, 1);
    closeEntry(t);
    t.hostFd = -1;
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
    this.owned[fd >>> 0] = entry.hostFd;
    return old;
  }

  /** Removes a guest descriptor and returns its entry; the caller closes the host side. */
  remove(fd: number): FdEntry {
    const e = this.get(fd);
    this.entries[fd >>> 0] = undefined;
    this.owned[fd >>> 0] = -1;
    while (this.entries.length > 0 && this.entries[this.entries.length - 1] === undefined) this.entries.pop();
    return e;
  }

  /** Moves `from` onto `to`, closing what `to` held (fd_renumber). */
  renumber(from: number, to: number): void {
    const src = this.get(from);
    const dst = this.get(to);
    if (src === dst) return;
    this.owned[to >>> 0] = -1;
    closeEntry(dst);
    this.entries[to >>> 0] = src;
    this.owned[to >>> 0] = src.hostFd;
    this.remove(from);
  }

  /** Every entry with its guest number. */
  *list(): IterableIterator<[number, FdEntry]> {
    for (let i = 0; i < this.entries.length; i++) {
      const e = this.entries[i];
      if (e !== undefined) yield [i, e];
    }
  }

  /** Closes every host descriptor the table owns, temporaries too, and empties it. */
  closeAll(): void {
    const all = new Set([...this.entries, ...this.temporaries]); // a temporary may be kept halfway
    this.entries = [];
    this.temporaries = [];
    this.owned.fill(-1);
    for (const e of all) if (e !== undefined) closeEntry(e);
  }
}

/**
 * Closes what a terminated worker's table still owned (FdTable.owned), from another thread:
 * the worker is gone, so nothing races with this.
 */
export function closeOwned(owned: Int32Array): void {
  for (let i = 0; i < owned.length; i++) {
    const hostFd = Atomics.exchange(owned, i, -1);
    if (hostFd >= 0) libc.close(hostFd);
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
