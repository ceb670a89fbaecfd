// wasi:filesystem/types and wasi:filesystem/preopens over the sandbox's descriptor table.
//
// A `descriptor` is a guest descriptor number in the same FdTable as preview1's, and every
// call goes through preview1's meaning functions (wasi/fd.ts, wasi/path.ts, wasi/path_ops.ts):
// the same openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS) lookups, the same parent-directory
// operations, the same errno table. WASI 0.2's descriptor-flags become preview1 rights on the
// new entry (read, write, mutate-directory), which is how a directory opened without
// mutate-directory refuses to create or remove (`not-permitted`).
import * as libc from '../native/libc.js';
import { AT, O, STATX_BASIC_STATS, S } from '../native/platform.js';
import { check, errno, fail } from '../sandbox/errno.js';
import type { Context } from '../sandbox/context.js';
import { closeEntry, type FdEntry } from '../sandbox/fd_table.js';
import { ALL_RIGHTS, FILETYPE, R } from '../sandbox/rights.js';
import { FDFLAGS, FSTFLAGS, LOOKUP_SYMLINK_FOLLOW, OFLAGS } from '../wasi/abi.js';
import * as fd from '../wasi/fd.js';
import * as path from '../wasi/path.js';
import * as pathOps from '../wasi/path_ops.js';
import { statFd, type Filestat } from '../wasi/stat.js';
import { fsError, fsResult } from './errors.js';
import { held, Resource } from './resources.js';
import { IoError, InputStream, OutputStream } from './streams.js';

/** descriptor-flags as bits, for what get-flags reports and open-at grants. */
const DF = { READ: 1, WRITE: 2, FILE_SYNC: 4, DATA_SYNC: 8, REQUESTED_SYNC: 16, MUTATE: 32 } as const;

/** Rights every descriptor has; reading, writing and changing a directory add their own. */
const COMMON = R.FD_SEEK | R.FD_TELL | R.FD_FDSTAT_SET_FLAGS | R.FD_SYNC | R.FD_ADVISE | R.FD_FILESTAT_GET |
  R.POLL_FD_READWRITE | R.PATH_OPEN | R.PATH_FILESTAT_GET | R.PATH_READLINK | R.FD_FILESTAT_SET_TIMES |
  R.PATH_FILESTAT_SET_TIMES;
const READ = R.FD_READ | R.FD_READDIR;
const WRITE = R.FD_WRITE | R.FD_DATASYNC | R.FD_ALLOCATE | R.FD_FILESTAT_SET_SIZE;
const MUTATE = R.PATH_CREATE_DIRECTORY | R.PATH_CREATE_FILE | R.PATH_LINK_SOURCE | R.PATH_LINK_TARGET |
  R.PATH_RENAME_SOURCE | R.PATH_RENAME_TARGET | R.PATH_SYMLINK | R.PATH_REMOVE_DIRECTORY | R.PATH_UNLINK_FILE |
  R.PATH_FILESTAT_SET_SIZE;

export interface DescriptorFlags {
  read?: boolean; write?: boolean; fileIntegritySync?: boolean; dataIntegritySync?: boolean;
  requestedWriteSync?: boolean; mutateDirectory?: boolean;
}
interface PathFlags { symlinkFollow?: boolean }
interface OpenFlags { create?: boolean; directory?: boolean; exclusive?: boolean; truncate?: boolean }
interface Datetime { seconds: bigint; nanoseconds: number }
type NewTimestamp = { tag: 'no-change' } | { tag: 'now' } | { tag: 'timestamp'; val: Datetime };

const ADVICE = ['normal', 'sequential', 'random', 'will-need', 'dont-need', 'no-reuse'];

/** descriptor-type from st_mode, which (unlike preview1's filetype) names FIFOs. */
export function descriptorType(hostFd: number): string {
  const stx = new Uint8Array(256);
  if (libc.statx(hostFd, '', AT.EMPTY_PATH, STATX_BASIC_STATS, stx) < 0) return 'unknown';
  return typeFromMode(stx[28] | (stx[29] << 8));
}

function typeFromMode(mode: number): string {
  switch (mode & S.IFMT) {
    case S.IFREG: return 'regular-file';
    case S.IFDIR: return 'directory';
    case S.IFCHR: return 'character-device';
    case S.IFBLK: return 'block-device';
    case S.IFLNK: return 'symbolic-link';
    case S.IFSOCK: return 'socket';
    case S.IFIFO: return 'fifo';
    default: return 'unknown';
  }
}

const FILETYPE_NAMES: Record<number, string> = {
  [FILETYPE.BLOCK_DEVICE]: 'block-device', [FILETYPE.CHARACTER_DEVICE]: 'character-device',
  [FILETYPE.DIRECTORY]: 'directory', [FILETYPE.REGULAR_FILE]: 'regular-file', [FILETYPE.SOCKET_DGRAM]: 'socket',
  [FILETYPE.SOCKET_STREAM]: 'socket', [FILETYPE.SYMBOLIC_LINK]: 'symbolic-link',
};

function datetime(ns: bigint): Datetime {
  return { seconds: ns / 1_000_000_000n, nanoseconds: Number(ns % 1_000_000_000n) };
}

function toStat(st: Filestat, type: string) {
  return {
    type, linkCount: st.nlink, size: st.size,
    dataAccessTimestamp: datetime(st.atim), dataModificationTimestamp: datetime(st.mtim),
    statusChangeTimestamp: datetime(st.ctim),
  };
}

/** new-timestamp pairs as preview1's (atim, mtim, fstflags). */
function times(atime: NewTimestamp, mtime: NewTimestamp): [bigint, bigint, number] {
  const ns = (t: NewTimestamp) => (t.tag === 'timestamp' ? t.val.seconds * 1_000_000_000n + BigInt(t.val.nanoseconds) : 0n);
  const flags = (atime.tag === 'timestamp' ? FSTFLAGS.ATIM : atime.tag === 'now' ? FSTFLAGS.ATIM_NOW : 0) |
    (mtime.tag === 'timestamp' ? FSTFLAGS.MTIM : mtime.tag === 'now' ? FSTFLAGS.MTIM_NOW : 0);
  return [ns(atime), ns(mtime), flags];
}

const dirflags = (f: PathFlags): number => (f.symlinkFollow ? LOOKUP_SYMLINK_FOLLOW : 0);

export class Descriptor extends Resource {
  dropped = false;
  constructor(
    ctx: Context,
    /** The guest descriptor number in ctx.fds. */
    readonly fd: number,
    readonly flags: number,
    /** Preopens are held by the sandbox: dropping the handle does not close them. */
    private readonly owned: boolean,
  ) {
    super(ctx);
  }

  private entry(): FdEntry {
    if (this.dropped) fail(errno.badf);
    return this.ctx.fds.get(this.fd);
  }

  readViaStream(offset: bigint): InputStream {
    return fsResult(() => new InputStream(this.ctx, this.kernel(), offset, this));
  }

  writeViaStream(offset: bigint): OutputStream {
    return fsResult(() => new OutputStream(this.ctx, this.kernel(), offset, this));
  }

  appendViaStream(): OutputStream {
    return fsResult(() => {
      const s = new OutputStream(this.ctx, this.kernel(), 0n, this);
      s.append = true;
      return s;
    });
  }

  private kernel(): FdEntry {
    const e = this.entry();
    if (e.hostFd < 0) fail(errno.badf);
    if (e.filetype === FILETYPE.DIRECTORY) fail(errno.isdir);
    return e;
  }

  advise(offset: bigint, length: bigint, advice: string): void {
    fsResult(() => fd.fd_advise(this.ctx, this.live(), offset, length, ADVICE.indexOf(advice)));
  }

  syncData(): void { fsResult(() => fd.fd_datasync(this.ctx, this.live())); }
  sync(): void { fsResult(() => fd.fd_sync(this.ctx, this.live())); }

  getFlags(): DescriptorFlags {
    return fsResult(() => {
      const e = this.entry();
      const o = check(libc.fcntl(e.hostFd, 3 /* F_GETFL */, 0));
      const acc = o & O.ACCMODE;
      return {
        read: acc === O.RDONLY || acc === O.RDWR ? (this.flags & DF.READ) !== 0 || e.filetype === FILETYPE.DIRECTORY : false,
        write: acc === O.WRONLY || acc === O.RDWR,
        fileIntegritySync: (o & O.SYNC) === O.SYNC,
        dataIntegritySync: (o & O.DSYNC) !== 0,
        requestedWriteSync: (this.flags & DF.REQUESTED_SYNC) !== 0,
        mutateDirectory: (this.flags & DF.MUTATE) !== 0,
      };
    });
  }

  getType(): string {
    return fsResult(() => descriptorType(this.entry().hostFd));
  }

  setSize(size: bigint): void { fsResult(() => fd.fd_filestat_set_size(this.ctx, this.live(), size)); }

  setTimes(atime: NewTimestamp, mtime: NewTimestamp): void {
    fsResult(() => fd.fd_filestat_set_times(this.ctx, this.live(), ...times(atime, mtime)));
  }

  read(length: bigint, offset: bigint): [Uint8Array, boolean] {
    return fsResult(() => {
      const e = this.kernel();
      const n = length > 1n << 20n ? 1 << 20 : Number(length);
      const buf = new Uint8Array(n);
      const r = check(libc.pread(e.hostFd, buf, n, offset));
      return [buf.subarray(0, r), r < n];
    });
  }

  write(buffer: Uint8Array, offset: bigint): bigint {
    return fsResult(() => BigInt(check(libc.pwrite(this.kernel().hostFd, buffer, buffer.length, offset))));
  }

  readDirectory(): DirectoryEntryStream {
    return fsResult(() => {
      const e = this.ctx.fds.get(this.live(), R.FD_READDIR);
      if (e.filetype !== FILETYPE.DIRECTORY) fail(errno.notdir);
      // A descriptor of its own, so the guest descriptor's offset never moves; it joins the
      // table (with no rights) so that the sandbox closes it even if the guest never drops it.
      // Its number is reserved first (at the guest's limit, before anything is opened), and it
      // is the table's the moment openat returns it (FdTable.reserve).
      const slot = this.ctx.fds.reserve();
      const r = libc.openat(e.hostFd, '.', O.RDONLY | O.DIRECTORY | O.CLOEXEC, 0);
      if (r >= 0) slot.entry.hostFd = r;
      else {
        this.ctx.fds.cancel(slot);
        check(r);
      }
      return new DirectoryEntryStream(this.ctx, this.ctx.fds.commit(slot, FILETYPE.DIRECTORY, 0, 0), r);
    });
  }

  createDirectoryAt(p: string): void { fsResult(() => pathOps.path_create_directory(this.ctx, this.live(), p)); }
  removeDirectoryAt(p: string): void { fsResult(() => pathOps.path_remove_directory(this.ctx, this.live(), p)); }
  unlinkFileAt(p: string): void { fsResult(() => pathOps.path_unlink_file(this.ctx, this.live(), p)); }
  symlinkAt(oldPath: string, newPath: string): void {
    fsResult(() => pathOps.path_symlink(this.ctx, oldPath, this.live(), newPath));
  }
  renameAt(oldPath: string, newDir: Descriptor, newPath: string): void {
    held(newDir, Descriptor, 'descriptor');
    fsResult(() => pathOps.path_rename(this.ctx, this.live(), oldPath, newDir.live(), newPath));
  }
  linkAt(oldFlags: PathFlags, oldPath: string, newDir: Descriptor, newPath: string): void {
    held(newDir, Descriptor, 'descriptor');
    fsResult(() => pathOps.path_link(this.ctx, this.live(), dirflags(oldFlags), oldPath, newDir.live(), newPath));
  }

  stat() {
    return fsResult(() => {
      const e = this.entry();
      if (e.hostFd < 0) return toStat(fd.fd_filestat_get(this.ctx, this.fd), FILETYPE_NAMES[e.filetype] ?? 'unknown');
      return toStat(statFd(e.hostFd), descriptorType(e.hostFd));
    });
  }

  statAt(flags: PathFlags, p: string) {
    return fsResult(() => path.withPath(this.ctx, this.live(), R.PATH_FILESTAT_GET, dirflags(flags), p,
      (h) => toStat(statFd(h), descriptorType(h))));
  }

  setTimesAt(flags: PathFlags, p: string, atime: NewTimestamp, mtime: NewTimestamp): void {
    fsResult(() => pathOps.path_filestat_set_times(this.ctx, this.live(), dirflags(flags), p, ...times(atime, mtime)));
  }

  openAt(pathFlags: PathFlags, p: string, openFlags: OpenFlags, flags: DescriptorFlags): Descriptor {
    return fsResult(() => {
      const dir = this.live();
      let bits = (flags.read ? DF.READ : 0) | (flags.write ? DF.WRITE : 0) | (flags.fileIntegritySync ? DF.FILE_SYNC : 0) |
        (flags.dataIntegritySync ? DF.DATA_SYNC : 0) | (flags.requestedWriteSync ? DF.REQUESTED_SYNC : 0) |
        (flags.mutateDirectory ? DF.MUTATE : 0);
      // A descriptor gets no more than its directory had: writing or changing beneath a
      // directory without mutate-directory is not permitted (types.wit, open-at). A directory
      // opened beneath one that has it may change too, asked or not, as in wasmtime: the flag
      // is the preopen's grant, carried down.
      if ((bits & (DF.WRITE | DF.MUTATE)) && !(this.flags & DF.MUTATE)) fail(errno.perm);
      bits |= this.flags & DF.MUTATE;
      const base = COMMON | (bits & DF.READ ? READ : 0) | (bits & DF.WRITE ? WRITE : 0) | (bits & DF.MUTATE ? MUTATE : 0);
      const inheriting = bits & DF.MUTATE ? ALL_RIGHTS : ALL_RIGHTS & ~(WRITE | MUTATE);
      const fdflags = (bits & DF.FILE_SYNC ? FDFLAGS.SYNC : 0) | (bits & DF.DATA_SYNC ? FDFLAGS.DSYNC : 0) |
        (bits & DF.REQUESTED_SYNC ? FDFLAGS.RSYNC : 0);
      const oflags = (openFlags.create ? OFLAGS.CREAT : 0) | (openFlags.directory ? OFLAGS.DIRECTORY : 0) |
        (openFlags.exclusive ? OFLAGS.EXCL : 0) | (openFlags.truncate ? OFLAGS.TRUNC : 0);
      const n = path.path_open(this.ctx, dir, { dirflags: dirflags(pathFlags), path: p, oflags, rightsBase: base, rightsInheriting: inheriting, fdflags });
      // A directory is read through its own descriptor (read-directory), which is open for
      // reading whatever flags were asked: reading a directory is the preopen's grant, as in wasmtime.
      const e = this.ctx.fds.get(n);
      if (e.filetype === FILETYPE.DIRECTORY) {
        e.rightsBase |= R.FD_READDIR;
        bits |= DF.READ;
      }
      return new Descriptor(this.ctx, n, bits, true);
    });
  }

  readlinkAt(p: string): string {
    return fsResult(() => path.withPath(this.ctx, this.live(), R.PATH_READLINK, 0, p, (link) => {
      const buf = Buffer.alloc(4096);
      const r = libc.readlinkat(link, '', buf, buf.length);
      if (r === -2 /* ENOENT: not a symlink */) fail(errno.inval);
      return buf.subarray(0, check(r)).toString('utf8');
    }));
  }

  isSameObject(other: Descriptor): boolean {
    held(other, Descriptor, 'descriptor');
    try {
      const a = statFd(this.entry().hostFd), b = statFd(other.entry().hostFd);
      return a.dev === b.dev && a.ino === b.ino;
    } catch {
      return false;
    }
  }

  /** The device and inode themselves: equal exactly when the objects are (types.wit allows any hash). */
  metadataHash() {
    return fsResult(() => {
      const st = statFd(this.entry().hostFd);
      return { lower: st.ino, upper: st.dev };
    });
  }

  metadataHashAt(flags: PathFlags, p: string) {
    return fsResult(() => path.withPath(this.ctx, this.live(), R.PATH_FILESTAT_GET, dirflags(flags), p, (h) => {
      const st = statFd(h);
      return { lower: st.ino, upper: st.dev };
    }));
  }

  /** The guest number, after checking that this handle is still live. */
  live(): number {
    this.entry();
    return this.fd;
  }

  protected override released(): void {
    if (this.dropped) return;
    this.dropped = true;
    if (this.owned && this.ctx.fds.has(this.fd)) closeEntry(this.ctx.fds.remove(this.fd));
  }
}

/** read-directory: the entries but `.` and `..` (types.wit), read with getdents64(2). */
export class DirectoryEntryStream extends Resource {
  private buf = Buffer.alloc(16 * 1024);
  private at = 0;
  private end = 0;
  constructor(ctx: Context, private readonly fd: number, private dirFd: number) {
    super(ctx);
  }

  readDirectoryEntry(): { type: string; name: string } | undefined {
    return fsResult(() => {
      for (;;) {
        if (this.dirFd < 0) return undefined;
        if (this.at >= this.end) {
          this.end = check(libc.getdents64(this.dirFd, this.buf, this.buf.length));
          this.at = 0;
          if (this.end === 0) {
            this.close();
            return undefined;
          }
        }
        const at = this.at;
        this.at += this.buf.readUInt16LE(at + 16);
        const nameEnd = this.buf.indexOf(0, at + 19);
        const name = this.buf.toString('utf8', at + 19, nameEnd);
        if (name === '.' || name === '..') continue;
        const dtype = this.buf[at + 18];
        let type = dtype === 0 ? 'unknown' : typeFromMode(dtype << 12);
        if (dtype === 0) {
          const stx = new Uint8Array(256);
          if (libc.statx(this.dirFd, name, AT.SYMLINK_NOFOLLOW, STATX_BASIC_STATS, stx) === 0) type = typeFromMode(stx[28] | (stx[29] << 8));
        }
        return { type, name };
      }
    });
  }

  private close(): void {
    if (this.dirFd >= 0 && this.ctx.fds.has(this.fd)) closeEntry(this.ctx.fds.remove(this.fd));
    this.dirFd = -1;
  }

  protected override released(): void {
    this.close();
  }
}

export function filesystem(ctx: Context) {
  return {
    'wasi:filesystem/types': {
      Descriptor, DirectoryEntryStream,
      filesystemErrorCode: (err: IoError): string | undefined => fsError(held(err, IoError, 'error').errno),
    },
    'wasi:filesystem/preopens': {
      getDirectories: (): [Descriptor, string][] => {
        const out: [Descriptor, string][] = [];
        for (const [n, e] of ctx.fds.list()) {
          if (e.preopen !== null) out.push([new Descriptor(ctx, n, DF.READ | DF.MUTATE, false), e.preopen]);
        }
        return out;
      },
    },
  };
}
