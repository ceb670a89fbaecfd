// Calling a Sandbox's imports as a guest's calls arrive, without writing a guest per case.
//
// The test lays out arguments in a memory attached with Sandbox.attachMemory, and calls each
// import through a small wasm module built here: it imports every function of both modules
// with its exact wasm signature and exports one trampoline per function. So every argument
// crosses a real wasm-to-JavaScript boundary: an i32 reaches the host as a signed number
// (0xfffffff0 arrives as -16, as from any guest), an i64 as a BigInt in [-2^63, 2^63), and
// whatever the host returns is converted back to an i32 (a non-number result would trap).
// Used by the adversarial and input-validation suites.
import { fstatSync } from 'node:fs';
import { Sandbox, type SandboxOptions } from '../../host/index.js';
import * as libc from '../../host/native/libc.js';
import { F, O } from '../../host/native/platform.js';

export type ImportFn = (...args: any[]) => number;

/**
 * Wasm signatures from wasi_snapshot_preview1.witx and docs/ABI.md, one letter per
 * parameter: f a descriptor, p a pointer, n the length or count belonging to the pointer
 * before it, i any other i32 (flags, enums), I an i64 (a BigInt). Every function returns an
 * errno (i32) except proc_exit, which returns nothing.
 */
export const SIGNATURES: Readonly<Record<'wasi_snapshot_preview1' | 'zerocopy', Readonly<Record<string, string>>>> = {
  wasi_snapshot_preview1: {
    args_get: 'p p', args_sizes_get: 'p p', environ_get: 'p p', environ_sizes_get: 'p p',
    clock_res_get: 'i p', clock_time_get: 'i I p', fd_advise: 'f I I i', fd_allocate: 'f I I',
    fd_close: 'f', fd_datasync: 'f', fd_fdstat_get: 'f p', fd_fdstat_set_flags: 'f i',
    fd_fdstat_set_rights: 'f I I', fd_filestat_get: 'f p', fd_filestat_set_size: 'f I',
    fd_filestat_set_times: 'f I I i', fd_pread: 'f p n I p', fd_prestat_get: 'f p',
    fd_prestat_dir_name: 'f p n', fd_pwrite: 'f p n I p', fd_read: 'f p n p', fd_readdir: 'f p n I p',
    fd_renumber: 'f f', fd_seek: 'f I i p', fd_sync: 'f', fd_tell: 'f p', fd_write: 'f p n p',
    path_create_directory: 'f p n', path_filestat_get: 'f i p n p', path_filestat_set_times: 'f i p n I I i',
    path_link: 'f i p n f p n', path_open: 'f i p n i I I i p', path_readlink: 'f p n p n p',
    path_remove_directory: 'f p n', path_rename: 'f p n f p n', path_symlink: 'p n f p n',
    path_unlink_file: 'f p n', poll_oneoff: 'p p n p', proc_exit: 'i', proc_raise: 'i', sched_yield: '',
    random_get: 'p n', sock_accept: 'f i p', sock_recv: 'f p n i p p', sock_send: 'f p n i p', sock_shutdown: 'f i',
  },
  zerocopy: {
    sendfile: 'f f p I p', splice: 'f p f p I i p', tee: 'f f I i p', pipe: 'i p',
    copy_file_range: 'f p f p I i p', sock_cork: 'f i', sock_peername: 'f p n p',
    sock_connect: 'p n i p', sock_error: 'f p', pipe_set_size: 'f i p',
  },
};

export type Module = keyof typeof SIGNATURES;
export type Kind = 'f' | 'p' | 'n' | 'i' | 'I';

export function kindsOf(module: Module, name: string): Kind[] {
  return SIGNATURES[module][name].split(' ').filter(Boolean) as Kind[];
}

// --- the trampoline module (WebAssembly core spec, binary format, section 5) ---------------

function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}
const name = (s: string): number[] => { const b = [...Buffer.from(s, 'utf8')]; return [...leb(b.length), ...b]; };
const vec = (items: number[][]): number[] => [...leb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...leb(body.length), ...body];

let compiled: WebAssembly.Module | null = null;
const FUNCTIONS = (Object.keys(SIGNATURES) as Module[]).flatMap((m) => Object.keys(SIGNATURES[m]).map((n) => [m, n] as const));

function trampolines(): WebAssembly.Module {
  if (compiled !== null) return compiled;
  const I32 = 0x7f, I64 = 0x7e;
  const types = FUNCTIONS.map(([m, n]) => {
    const params = kindsOf(m, n).map((k) => [k === 'I' ? I64 : I32]);
    return [0x60, ...vec(params), ...(n === 'proc_exit' ? [0] : [1, I32])];
  });
  const imports = FUNCTIONS.map(([m, n], i) => [...name(m), ...name(n), 0x00, ...leb(i)]);
  const funcs = FUNCTIONS.map((_, i) => leb(i));
  const exports = FUNCTIONS.map(([m, n], i) => [...name(`${m}/${n}`), 0x00, ...leb(FUNCTIONS.length + i)]);
  const bodies = FUNCTIONS.map(([m, n], i) => {
    // (local.get 0) ... (local.get k) (call $import_i) end
    const body = [0x00, ...kindsOf(m, n).flatMap((_, j) => [0x20, ...leb(j)]), 0x10, ...leb(i), 0x0b];
    return [...leb(body.length), ...body];
  });
  const bytes = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types)), ...section(2, vec(imports)), ...section(3, vec(funcs)),
    ...section(7, vec(exports)), ...section(10, vec(bodies))];
  compiled = new WebAssembly.Module(new Uint8Array(bytes));
  return compiled;
}

// ---------------------------------------------------------------------------------------

export class Caller {
  static readonly PAGES = 4;
  readonly sandbox: Sandbox;
  readonly memory = new WebAssembly.Memory({ initial: Caller.PAGES });
  /** The imports, called through wasm trampolines. */
  readonly wasi: Record<string, ImportFn> = {};
  readonly zc: Record<string, ImportFn> = {};
  /** Scratch areas for strings; results go to RET. */
  static readonly STR = 0x1000;
  static readonly STR2 = 0x9000;
  static readonly RET = 0x100;

  constructor(options: SandboxOptions = {}) {
    this.sandbox = new Sandbox({ stdin: null, stdout: null, stderr: null, ...options });
    this.sandbox.attachMemory(this.memory);
    const host = this.sandbox.getImportObject();
    const exports = new WebAssembly.Instance(trampolines(), host).exports;
    for (const [m, n] of FUNCTIONS) (m === 'zerocopy' ? this.zc : this.wasi)[n] = exports[`${m}/${n}`] as ImportFn;
  }

  get dv(): DataView { return new DataView(this.memory.buffer); }
  get u8(): Uint8Array { return new Uint8Array(this.memory.buffer); }

  /** Places a string (bytes, NULs and all) at `at`; returns [ptr, len]. */
  str(s: string | Uint8Array, at = Caller.STR): [number, number] {
    const bytes = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
    this.u8.set(bytes, at);
    return [at, bytes.length];
  }

  u32(ptr: number): number { return this.dv.getUint32(ptr, true); }

  /** A new pipe through the guest's zerocopy.pipe: [read end, write end]; results at `at`. */
  pipe(nonblock = false, at = Caller.RET): [number, number] {
    const e = this.zc.pipe(nonblock ? 4 : 0, at);
    if (e !== 0) throw new Error(`zerocopy.pipe: errno ${e}`);
    return [this.u32(at), this.u32(at + 4)];
  }

  /**
   * "dev:ino" of the host file behind each guest descriptor, read on the host side (fstat of
   * the entry's host descriptor), so that a descriptor without fd_filestat_get is seen too.
   */
  held(): Map<number, { id: string; isFileOrDir: boolean }> {
    const out = new Map<number, { id: string; isFileOrDir: boolean }>();
    for (const [fd, e] of this.sandbox.fds.list()) {
      if (e.hostFd < 0) continue;
      const st = fstatSync(e.hostFd, { bigint: true });
      out.set(fd, { id: `${st.dev}:${st.ino}`, isFileOrDir: st.isFile() || st.isDirectory() });
    }
    return out;
  }

  close(): void { this.sandbox.close(); }
}

/**
 * A connected pair of non-blocking TCP sockets on 127.0.0.1, as host descriptors the caller
 * closes: [server side, client side].
 */
export function tcpPair(): [number, number] {
  // SOCK_NONBLOCK and SOCK_CLOEXEC are O_NONBLOCK and O_CLOEXEC (socket(2)).
  const AF_INET = 2, SOCK_STREAM = 1;
  const addr = Buffer.alloc(16);
  addr.writeUInt16LE(AF_INET, 0);
  addr.set([127, 0, 0, 1], 4);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(16);
  const ok = (r: number, what: string): number => { if (r < 0) throw new Error(`${what}: errno ${-r}`); return r; };
  const listener = ok(libc.socket(AF_INET, SOCK_STREAM | O.CLOEXEC, 0), 'socket');
  try {
    ok(libc.bind_(listener, addr, 16), 'bind');
    ok(libc.listen(listener, 1), 'listen');
    ok(libc.getsockname(listener, addr, len), 'getsockname');
    const client = ok(libc.socket(AF_INET, SOCK_STREAM | O.CLOEXEC, 0), 'socket');
    try {
      ok(libc.connect(client, addr, 16), 'connect');
      ok(libc.fcntl(client, F.SETFL, O.NONBLOCK), 'fcntl');
      return [ok(libc.accept4(listener, null, null, O.CLOEXEC | O.NONBLOCK), 'accept4'), client];
    } catch (e) {
      libc.close(client);
      throw e;
    }
  } finally {
    libc.close(listener);
  }
}
