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
   * A shared description the guest sees blocking (it starts so when the description is
   * blocking, and fd_fdstat_set_flags without NONBLOCK sets it): where the host answers EAGAIN
   * anyway, the description being non-blocking (Node makes some pipes so), I/O waits instead.
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
  /**
   * Set where this sandbox created the open file description (accept, open, pipe) and no
   * other descriptor refers to it, so that closing the host descriptor ends it: epoll then
   * needs no EPOLL_CTL_DEL (poll_set.ts). Left false for anything duplicated from the host.
   */
  exclusive = false;
  /**
   * The interest set this entry is registered with, if any: told when bytes become pending on
   * it where no table is at hand (the copying path of either ABI).
   */
  watcher: TableObserver | null = null;
  /** Its registration's slot in that set (poll_set.ts), so that finding it costs no lookup. */
  watchSlot = -1;
  /**
   * Handed to the guest by the host before it ran, ahead of the preopens (SandboxOptions.grant):
   * fd_prestat_get answers it as it answers a listener, so that wasi-libc's scan for preopens
   * passes over it (docs/ABI.md, "Listeners, grants and preopens").
   */
  granted = false;
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
/** The most guest descriptors a table takes (Linux's default fs.nr_open). */
export const MAX_FD_LIMIT = 1 << 20;
/** The length of FdTable.owned for a limit: a slot per guest number and one for the table's own. */
export function ownedSlots(limit: number): number {
  return limit + 1;
}

/**
 * A guest number reserved for a descriptor about to be created. `entry.hostFd` is set by the
 * creator the moment the system call returns, with nothing in between that could throw, so a
 * call cut short at any point (a stack overflow inside it) leaves the descriptor owned by the
 * table, which closes it.
 */
export class Reservation {
  constructor(public fd: number, readonly entry: FdEntry) {}
}

/**
 * Told of every change to the table that a cache keyed on its entries must see: poll_oneoff's
 * persistent interest set (host/wasi/poll_set.ts) removes a descriptor from its epoll set
 * before the descriptor is closed, since epoll keys on the open file description, which may
 * outlive the descriptor (a duplicate held by the host) and go on reporting events.
 */
export interface TableObserver {
  /**
   * `entry` no longer has the number it had (removed, replaced or renumbered); it is still
   * open, and `closing` says whether it is about to be closed.
   */
  unmapped(entry: FdEntry, closing: boolean): void;
  /** Something poll_oneoff reads changed: the rights the guest dropped, or bytes left pending. */
  changed(entry: FdEntry): void;
  /** The table is closing every descriptor. */
  closed(): void;
}

export class FdTable {
  private entries: (FdEntry | undefined)[] = [];
  /** Host descriptors a call holds only while it runs (an O_PATH lookup, a directory read). */
  private temporaries: FdEntry[] = [];
  /**
   * The host descriptor of each guest number, or -1, in shared memory: a thread that ran the
   * guest in a worker it had to terminate (a guest computing without calls ignores a stop)
   * closes what the dead worker owned from it, since no code of the worker runs any more.
   * Cleared before each close, so that it never names a number the process has reused. One
   * slot more than the limit, at index `limit`: the table's own descriptor, poll_oneoff's
   * epoll instance (see holdOwn), which the guest never sees.
   */
  readonly owned: Int32Array;
  /** A reservation given back before its descriptor existed, reused by reserve (see cancel). */
  private spare: Reservation | null = null;
  /** At most one: poll_oneoff's interest set, once the guest has polled. */
  observer: TableObserver | null = null;
  /**
   * No free number lies below this one: insert searches from here, so that a server holding
   * thousands of descriptors does not scan them all for each one it accepts.
   */
  private lowestFree = 0;

  /**
   * `limit`: guest descriptors are numbered below it, as open(2)'s below RLIMIT_NOFILE.
   * `owned`: where to mirror the host descriptors (see above), `limit + 1` slots (ownedSlots);
   * made if not given.
   */
  constructor(readonly limit = DEFAULT_FD_LIMIT, owned?: Int32Array) {
    if (!Number.isInteger(limit) || limit < 3 || limit > MAX_FD_LIMIT) {
      throw new RangeError(`the descriptor limit must be an integer from 3 to ${MAX_FD_LIMIT}, not ${limit}`);
    }
    if (owned !== undefined && owned.length < ownedSlots(limit)) throw new RangeError('the shared descriptor list is shorter than the limit');
    this.owned = (owned ?? new Int32Array(new SharedArrayBuffer(4 * ownedSlots(limit)))).fill(-1);
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
    const from = Math.max(min, this.lowestFree);
    let fd = from < this.entries.length ? this.entries.indexOf(undefined, from) : -1;
    if (fd < 0) fd = Math.max(from, this.entries.length);
    if (fd >= this.limit) fail(errno.mfile);
    while (this.entries.length < fd) this.entries.push(undefined); // no holes: indexOf skips them
    this.entries[fd] = entry;
    this.owned[fd] = entry.hostFd;
    if (from === this.lowestFree) this.lowestFree = fd + 1; // nothing was free in [from, fd)
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
    const spare = this.spare;
    const entry = spare !== null ? spare.entry : new FdEntry(-1, FILETYPE.UNKNOWN, 0, 0);
    const fd = this.insert(entry, min);
    this.spare = null;
    if (spare === null) return new Reservation(fd, entry);
    spare.fd = fd;
    return spare;
  }

  /** Completes a reservation whose host descriptor exists; returns its guest number. */
  commit(r: Reservation, filetype: number, rightsBase: number, rightsInheriting: number): number {
    const e = r.entry;
    e.filetype = filetype;
    e.rightsBase = rightsBase;
    e.rightsInheriting = rightsInheriting;
    this.owned[r.fd] = e.hostFd;
    this.observer?.changed(e); // a number poll_oneoff saw reserved (a call cut short) is decoded again
    return r.fd;
  }

  /** Gives a reserved number back, closing the host descriptor if it was created. */
  cancel(r: Reservation): void {
    if (this.entries[r.fd] !== r.entry) return;
    this.remove(r.fd);
    if (r.entry.hostFd >= 0) {
      closeEntry(r.entry);
    } else {
      // Nothing was created: kept for the next reserve, so that a server's accept at EAGAIN,
      // its steady state, allocates nothing (an FdEntry costs a few hundred instructions).
      r.entry.exclusive = false;
      this.spare = r;
    }
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
    this.observer?.unmapped(old, true); // the caller closes it
    this.entries[fd >>> 0] = entry;
    this.owned[fd >>> 0] = entry.hostFd;
    return old;
  }

  /**
   * Removes a guest descriptor and returns its entry; the caller closes the host side, unless
   * `closing` is false (the entry moves to another number).
   */
  remove(fd: number, closing = true): FdEntry {
    const e = this.get(fd);
    this.observer?.unmapped(e, closing);
    this.entries[fd >>> 0] = undefined;
    this.owned[fd >>> 0] = -1;
    if ((fd >>> 0) < this.lowestFree) this.lowestFree = fd >>> 0;
    while (this.entries.length > 0 && this.entries[this.entries.length - 1] === undefined) this.entries.pop();
    return e;
  }

  /** Moves `from` onto `to`, closing what `to` held (fd_renumber). */
  renumber(from: number, to: number): void {
    const src = this.get(from);
    const dst = this.get(to);
    if (src === dst) return;
    this.observer?.unmapped(dst, true); // before it is closed; src is told by remove(from)
    this.owned[to >>> 0] = -1;
    closeEntry(dst);
    this.entries[to >>> 0] = src;
    this.owned[to >>> 0] = src.hostFd;
    this.remove(from, false);
  }

  /** Every entry with its guest number. */
  *list(): IterableIterator<[number, FdEntry]> {
    for (let i = 0; i < this.entries.length; i++) {
      const e = this.entries[i];
      if (e !== undefined) yield [i, e];
    }
  }

  /** Tells the observer that `entry` changed in a way poll_oneoff must see (see TableObserver). */
  touch(entry: FdEntry): void {
    this.observer?.changed(entry);
  }

  /**
   * Records the table's own descriptor (poll_oneoff's epoll instance) in the slot past the
   * guest numbers, so that closeOwned closes it after a terminated worker; -1 forgets it
   * (before it is closed). Set the moment the system call returns, as a reservation's.
   */
  holdOwn(hostFd: number): void {
    this.owned[this.limit] = hostFd;
  }

  /** Closes every host descriptor the table owns, temporaries too, and empties it. */
  closeAll(): void {
    this.observer?.closed(); // its epoll instance first, before the descriptors it watches
    this.observer = null;
    this.lowestFree = 0;
    const own = this.owned[this.limit]; // still set only where making the observer was cut short
    this.owned[this.limit] = -1;
    if (own >= 0) libc.close(own);
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
