// The preview1 path calls of the adversarial suite, made on the component host: each call is
// what the preview1 adapter does with it (wasi_snapshot_preview1 -> wasi:filesystem), a method
// of the WASI 0.2 descriptor the host gives jco's glue, with the error-code mapped back to the
// preview1 errno of the same name, as the adapter maps it. So the suite's table, written in
// preview1 terms, runs unchanged against host/wasi2.
import { fstatSync } from 'node:fs';
import * as libc from '../../host/native/libc.js';
import { AT, O } from '../../host/native/platform.js';
import { errno } from '../../host/sandbox/errno.js';
import type { Context } from '../../host/sandbox/context.js';
import { FdTable } from '../../host/sandbox/fd_table.js';
import { GuestMemory } from '../../host/sandbox/memory.js';
import { FILETYPE, R } from '../../host/sandbox/rights.js';
import { wasi2Imports } from '../../host/wasi2/imports.js';
import { DISPOSE } from '../../host/wasi2/host.js';
import type { Descriptor } from '../../host/wasi2/filesystem.js';
import type { InputStream, OutputStream } from '../../host/wasi2/streams.js';
import type { ImportFn } from './imports.js';

/** wasi:filesystem error-code -> preview1 errno, as the adapter's conversion. */
const ERRNO: Record<string, number> = {
  access: errno.acces, 'would-block': errno.again, already: errno.already, 'bad-descriptor': errno.badf,
  busy: errno.busy, deadlock: errno.deadlk, quota: errno.dquot, exist: errno.exist, 'file-too-large': errno.fbig,
  'illegal-byte-sequence': errno.ilseq, 'in-progress': errno.inprogress, interrupted: errno.intr,
  invalid: errno.inval, io: errno.io, 'is-directory': errno.isdir, loop: errno.loop, 'too-many-links': errno.mlink,
  'message-size': errno.msgsize, 'name-too-long': errno.nametoolong, 'no-device': errno.nodev,
  'no-entry': errno.noent, 'no-lock': errno.nolck, 'insufficient-memory': errno.nomem,
  'insufficient-space': errno.nospc, 'not-directory': errno.notdir, 'not-empty': errno.notempty,
  'not-recoverable': errno.notrecoverable, unsupported: errno.notsup, 'no-tty': errno.notty,
  'no-such-device': errno.nxio, overflow: errno.overflow, 'not-permitted': errno.perm, pipe: errno.pipe,
  'read-only': errno.rofs, 'invalid-seek': errno.spipe, 'text-file-busy': errno.txtbsy, 'cross-device': errno.xdev,
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

export class ComponentCaller {
  static readonly STR = 0x1000;
  static readonly STR2 = 0x9000;
  static readonly RET = 0x100;
  readonly fds = new FdTable();
  readonly ctx: Context;
  private readonly memory = new Uint8Array(64 * 1024);
  private readonly handles = new Map<number, Descriptor>();
  readonly wasi: Record<string, ImportFn>;

  constructor(options: { preopens?: Record<string, string> } = {}) {
    this.ctx = { mem: new GuestMemory(), fds: this.fds, args: [], env: [], stop: null, exitStatus: null };
    for (const [guest, host] of Object.entries(options.preopens ?? {})) {
      const fd = libc.openat(AT.FDCWD, host, O.RDONLY | O.DIRECTORY | O.CLOEXEC, 0);
      if (fd < 0) throw new Error(`cannot open ${host}`);
      this.fds.insert(this.fds.adopt(fd, guest, FILETYPE.DIRECTORY), 3);
    }
    const imports = wasi2Imports(this.ctx);
    const preopens = imports['wasi:filesystem/preopens'] as { getDirectories(): [Descriptor, string][] };
    for (const [d] of preopens.getDirectories()) this.handles.set(d.fd, d);
    this.wasi = this.calls();
  }

  str(s: string | Uint8Array, at = ComponentCaller.STR): [number, number] {
    const bytes = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
    this.memory.set(bytes, at);
    return [at, bytes.length];
  }

  u32(ptr: number): number {
    return new DataView(this.memory.buffer).getUint32(ptr, true);
  }

  held(): Map<number, { id: string; isFileOrDir: boolean }> {
    const out = new Map<number, { id: string; isFileOrDir: boolean }>();
    for (const [fd, e] of this.fds.list()) {
      if (e.hostFd < 0) continue;
      const st = fstatSync(e.hostFd, { bigint: true });
      out.set(fd, { id: `${st.dev}:${st.ino}`, isFileOrDir: st.isFile() || st.isDirectory() });
    }
    return out;
  }

  close(): void {
    this.fds.closeAll();
  }

  /** The string a (ptr, len) names; the canonical ABI only carries valid UTF-8 (else `ilseq`). */
  private string(ptr: number, len: number): string {
    return utf8.decode(this.memory.subarray(ptr, ptr + len));
  }

  private dir(fd: number): Descriptor {
    const d = this.handles.get(fd);
    if (d === undefined) throw 'bad-descriptor';
    return d;
  }

  private calls(): Record<string, ImportFn> {
    const call = (op: () => void): number => {
      try {
        op();
        return errno.success;
      } catch (e) {
        if (typeof e === 'string') return ERRNO[e] ?? errno.io;
        if (e instanceof TypeError) return errno.ilseq; // a path that is not UTF-8
        throw e;
      }
    };
    const follow = (flags: number) => ({ symlinkFollow: (flags & 1) !== 0 });
    const now = { tag: 'now' as const };
    return {
      path_open: (dir, dirflags, p, l, oflags, base) => call(() => {
        const rights = Number(BigInt(base) & 0xffffffffn);
        const d = this.dir(dir).openAt(follow(dirflags), this.string(p, l),
          { create: (oflags & 1) !== 0, directory: (oflags & 2) !== 0, exclusive: (oflags & 4) !== 0, truncate: (oflags & 8) !== 0 },
          { read: (rights & R.FD_READ) !== 0, write: (rights & R.FD_WRITE) !== 0 });
        this.handles.set(d.fd, d);
        new DataView(this.memory.buffer).setUint32(ComponentCaller.RET, d.fd, true);
      }),
      path_filestat_get: (dir, flags, p, l) => call(() => { this.dir(dir).statAt(follow(flags), this.string(p, l)); }),
      path_filestat_set_times: (dir, flags, p, l) => call(() => this.dir(dir).setTimesAt(follow(flags), this.string(p, l), now, now)),
      path_readlink: (dir, p, l) => call(() => { this.dir(dir).readlinkAt(this.string(p, l)); }),
      path_create_directory: (dir, p, l) => call(() => this.dir(dir).createDirectoryAt(this.string(p, l))),
      path_remove_directory: (dir, p, l) => call(() => this.dir(dir).removeDirectoryAt(this.string(p, l))),
      path_unlink_file: (dir, p, l) => call(() => this.dir(dir).unlinkFileAt(this.string(p, l))),
      path_rename: (d1, p1, l1, d2, p2, l2) => call(() => this.dir(d1).renameAt(this.string(p1, l1), this.dir(d2), this.string(p2, l2))),
      path_link: (d1, flags, p1, l1, d2, p2, l2) =>
        call(() => this.dir(d1).linkAt(follow(flags), this.string(p1, l1), this.dir(d2), this.string(p2, l2))),
      path_symlink: (t, tl, d, p, l) => call(() => this.dir(d).symlinkAt(this.string(t, tl), this.string(p, l))),
      fd_close: (fd) => call(() => {
        const d = this.dir(fd);
        this.handles.delete(fd);
        (d as unknown as Record<symbol, () => void>)[DISPOSE]();
      }),
    };
  }
}

/**
 * The WASI 0.2 imports over a fresh table with `dir` preopened as `/`, the file `f` in it opened
 * for reading, and a pipe from zerocopy.pipe(): the fixture of the zerocopy interface's tests.
 */
export function wasi2Host(dir: string) {
  const fds = new FdTable(64);
  const ctx: Context = { mem: new GuestMemory(), fds, args: [], env: [], stop: null, exitStatus: null };
  fds.insert(fds.adopt(libc.openat(AT.FDCWD, dir, O.RDONLY | O.DIRECTORY | O.CLOEXEC, 0), '/', FILETYPE.DIRECTORY), 3);
  const imports = wasi2Imports(ctx) as Record<string, Record<string, any>>;
  const [[root]] = imports['wasi:filesystem/preopens'].getDirectories() as [Descriptor, string][];
  const zerocopy = imports['wasm-zerocopy:zerocopy/zerocopy'];
  const file = root.openAt({}, 'f', {}, { read: true }) as Descriptor;
  const [pipeIn, pipeOut] = zerocopy.pipe() as [InputStream, OutputStream];
  return { ctx, dir: root, zerocopy, file, pipeIn, pipeOut, close: () => fds.closeAll() };
}
