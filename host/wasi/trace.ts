// --trace: each call a guest makes, with its decoded arguments and the errno it got, one line
// on stderr, the way strace(1) prints system calls:
//   zerocopy.sendfile(out_fd=1, in_fd=4, offset=NULL, count=1048576, ret_sent=4096) = success
// A wrapper over the import objects (as browser_wasi_shim's strace.ts), so tracing costs
// nothing when it is off. Values print as the ABI's unsigned types (u32, u64), but for
// fd_seek's offset, a signed filedelta; a path argument prints as its string, read before the
// call. Results a call writes through a pointer print as strace prints them, after the call
// when it succeeded: `opened_fd=7`, `nwritten=13`, `ret_fds=[5, 6]`, fd_prestat_dir_name's
// path as its string, and an offset the kernel reads and advances as `offset=[0] => [4096]`;
// when the call failed they print as the pointer (nothing was written there).
import { writeSync } from 'node:fs';
import { errno, errnoName } from '../sandbox/errno.js';
import type { Imports } from './guard.js';
import { ProcExit } from '../sandbox/context.js';

/**
 * Parameter names, in order, from the witx and docs/ABI.md: `*` marks a pointer (printed in
 * hex, 0 as NULL), `-` a signed 64-bit value.
 */
export const TRACE_PARAMS: Readonly<Record<string, string>> = {
  args_get: '*argv *argv_buf', args_sizes_get: '*argc *argv_buf_size',
  environ_get: '*environ *environ_buf', environ_sizes_get: '*environc *environ_buf_size',
  clock_res_get: 'id *resolution', clock_time_get: 'id precision *time',
  fd_advise: 'fd offset len advice', fd_allocate: 'fd offset len', fd_close: 'fd', fd_datasync: 'fd',
  fd_fdstat_get: 'fd *stat', fd_fdstat_set_flags: 'fd flags',
  fd_fdstat_set_rights: 'fd fs_rights_base fs_rights_inheriting', fd_filestat_get: 'fd *buf',
  fd_filestat_set_size: 'fd size', fd_filestat_set_times: 'fd atim mtim fst_flags',
  fd_pread: 'fd *iovs iovs_len offset *nread', fd_prestat_get: 'fd *buf',
  fd_prestat_dir_name: 'fd *path path_len', fd_pwrite: 'fd *iovs iovs_len offset *nwritten',
  fd_read: 'fd *iovs iovs_len *nread', fd_readdir: 'fd *buf buf_len cookie *bufused',
  fd_renumber: 'fd to', fd_seek: 'fd -offset whence *newoffset', fd_sync: 'fd', fd_tell: 'fd *offset',
  fd_write: 'fd *iovs iovs_len *nwritten', path_create_directory: 'fd *path path_len',
  path_filestat_get: 'fd flags *path path_len *buf',
  path_filestat_set_times: 'fd flags *path path_len atim mtim fst_flags',
  path_link: 'old_fd old_flags *old_path old_path_len new_fd *new_path new_path_len',
  path_open: 'fd dirflags *path path_len oflags fs_rights_base fs_rights_inheriting fdflags *opened_fd',
  path_readlink: 'fd *path path_len *buf buf_len *bufused', path_remove_directory: 'fd *path path_len',
  path_rename: 'fd *old_path old_path_len new_fd *new_path new_path_len',
  path_symlink: '*old_path old_path_len fd *new_path new_path_len', path_unlink_file: 'fd *path path_len',
  poll_oneoff: '*in *out nsubscriptions *nevents', proc_exit: 'rval', proc_raise: 'sig',
  sched_yield: '', random_get: '*buf buf_len', sock_accept: 'fd flags *fd_out',
  sock_recv: 'fd *ri_data ri_data_len ri_flags *ro_datalen *ro_flags',
  sock_send: 'fd *si_data si_data_len si_flags *so_datalen', sock_shutdown: 'fd how',
  sendfile: 'out_fd in_fd *offset count *ret_sent',
  splice: 'fd_in *off_in fd_out *off_out len flags *ret_moved', tee: 'fd_in fd_out len flags *ret_copied',
  pipe: 'fdflags *ret_fds', copy_file_range: 'fd_in *off_in fd_out *off_out len flags *ret_copied',
  sock_cork: 'fd enable', sock_peername: 'fd *buf buf_len *ret_len',
  sock_connect: '*addr addr_len fdflags *ret_fd', sock_error: 'fd *ret_errno', pipe_set_size: 'fd size *ret_size',
};

/** Paths that are outputs: decoded after the call, from the buffer the call filled. */
const OUTPUT_PATHS = new Set(['fd_prestat_dir_name']);

/**
 * Results written through pointers (witx `@witx pointer` results, docs/ABI.md `ret_*`), by
 * function and parameter: their type, read after a successful call. `inout` is an i64 the
 * kernel reads and advances (loff_t); `fds` two u32 descriptors; `text` the bytes of the buffer
 * before it, as long as the u32 its `ret_len` received.
 */
type Out = 'u16' | 'u32' | 'u64' | 'inout' | 'fds' | 'text';
const OUTPUTS: Readonly<Record<string, Readonly<Record<string, Out>>>> = {
  args_sizes_get: { argc: 'u32', argv_buf_size: 'u32' }, environ_sizes_get: { environc: 'u32', environ_buf_size: 'u32' },
  clock_res_get: { resolution: 'u64' }, clock_time_get: { time: 'u64' },
  fd_pread: { nread: 'u32' }, fd_pwrite: { nwritten: 'u32' }, fd_read: { nread: 'u32' }, fd_write: { nwritten: 'u32' },
  fd_readdir: { bufused: 'u32' }, fd_seek: { newoffset: 'u64' }, fd_tell: { offset: 'u64' },
  path_open: { opened_fd: 'u32' }, path_readlink: { bufused: 'u32' }, poll_oneoff: { nevents: 'u32' },
  sock_accept: { fd_out: 'u32' }, sock_recv: { ro_datalen: 'u32', ro_flags: 'u16' }, sock_send: { so_datalen: 'u32' },
  sendfile: { offset: 'inout', ret_sent: 'u64' }, splice: { off_in: 'inout', off_out: 'inout', ret_moved: 'u64' },
  tee: { ret_copied: 'u64' }, pipe: { ret_fds: 'fds' },
  copy_file_range: { off_in: 'inout', off_out: 'inout', ret_copied: 'u64' }, sock_peername: { buf: 'text', ret_len: 'u32' },
  sock_connect: { ret_fd: 'u32' }, sock_error: { ret_errno: 'u16' }, pipe_set_size: { ret_size: 'u32' },
};

/** What the trace reads of guest memory (a GuestMemory); each read may throw (a bad pointer). */
export interface TraceMemory {
  string(ptr: number, len: number): string;
  /** A path argument, never decoded past PATH_MAX bytes (GuestMemory.path). */
  path(ptr: number, len: number): string;
  view(ptr: number, len: number): DataView;
}

function show(name: string, value: unknown): string {
  if (name.startsWith('*')) return `${name.slice(1)}=${(Number(value) >>> 0) === 0 ? 'NULL' : '0x' + (Number(value) >>> 0).toString(16)}`;
  if (name.startsWith('-')) return `${name.slice(1)}=${BigInt.asIntN(64, BigInt(value as bigint))}`;
  if (typeof value === 'bigint') return `${name}=${BigInt.asUintN(64, value)}`;
  if (typeof value === 'number') return `${name}=${value >>> 0}`;
  return `${name}=${String(value)}`;
}

/** Where trace lines go: a function, a stream-like sink (process.stderr), or true for stderr. */
export type TraceOption = boolean | ((line: string) => void) | { write(line: string): unknown };

/** The line writer for a Sandbox's `trace` option; undefined when tracing is off. */
export function traceSink(option: TraceOption | undefined): ((line: string) => void) | undefined {
  if (option === undefined || option === false) return undefined;
  // Synchronous, so that lines keep their order with what the guest itself writes to fd 2.
  if (option === true) return (line) => { writeSync(2, line); };
  if (typeof option === 'function') return option;
  return (line) => { option.write(line); };
}

/** Reads guest memory for the trace: null when the pointer is bad (the call will say fault). */
function attempt<T>(read: () => T): T | null {
  try { return read(); } catch { return null; }
}

function hex(ptr: number): string {
  return (ptr >>> 0) === 0 ? 'NULL' : `0x${(ptr >>> 0).toString(16)}`;
}

function readOut(mem: TraceMemory, type: Out, ptr: number, args: unknown[], params: string[]): string | null {
  const p = ptr >>> 0;
  switch (type) {
    case 'u16': return attempt(() => String(mem.view(p, 2).getUint16(p, true)));
    case 'u32': return attempt(() => String(mem.view(p, 4).getUint32(p, true)));
    case 'u64': case 'inout': return attempt(() => String(mem.view(p, 8).getBigUint64(p, true)));
    case 'fds': return attempt(() => { const v = mem.view(p, 8); return `[${v.getUint32(p, true)}, ${v.getUint32(p + 4, true)}]`; });
    case 'text': {
      const len = args[params.indexOf('*ret_len')];
      const n = attempt(() => mem.view(Number(len) >>> 0, 4).getUint32(Number(len) >>> 0, true));
      return n === null ? null : attempt(() => JSON.stringify(mem.string(p, n)));
    }
  }
}

/**
 * Wraps every function of an import module so that each call is written to `sink`, one line
 * per call: `name(arg=value, ...) = errno`, or `= exit N` for a call that ends the guest.
 */
export function traced(module: string, imports: Imports, sink: (line: string) => void, mem: TraceMemory): Imports {
  const prefix = module === 'wasi_snapshot_preview1' ? '' : `${module}.`;
  const out: Imports = {};
  for (const [name, fn] of Object.entries(imports)) {
    const params = (TRACE_PARAMS[name] ?? '').split(' ').filter(Boolean);
    const outputPath = OUTPUT_PATHS.has(name);
    const outputs = OUTPUTS[name] ?? {};
    out[name] = (...args: unknown[]): number => {
      const shown = (after: boolean, before?: string[]) => args.map((a, i) => {
        const p = params[i] ?? `arg${i}`;
        const bare = p.replace(/^[*-]/, '');
        if ((p.endsWith('path') || p === '*addr') && params[i + 1] === `${bare}_len` && (after || !outputPath)) {
          // A path (or sock_connect's address text) longer than any the kernel takes prints as
          // its pointer, never decoded.
          const text = attempt(() => mem.path(Number(a), Number(args[i + 1]) >>> 0));
          if (text !== null) return `${bare}=${JSON.stringify(text)}`;
        }
        const type = outputs[bare];
        if (type !== undefined && (Number(a) >>> 0) !== 0) {
          if (type === 'inout') {
            const value = readOut(mem, type, Number(a), args, params);
            if (value === null) return show(p, a);
            if (!after) return `${bare}=[${value}]`;
            return `${before![i]} => [${value}]`;
          }
          if (after) {
            const value = readOut(mem, type, Number(a), args, params);
            if (value !== null) return `${bare}=${value}`;
          }
        }
        return show(p, a);
      });
      const before = shown(false);
      try {
        const r = fn(...args);
        const call = r === errno.success ? shown(true, before) : before;
        sink(`${prefix}${name}(${call.join(', ')}) = ${errnoName[r] ?? r}\n`);
        return r;
      } catch (e) {
        if (e instanceof ProcExit) sink(`${prefix}${name}(${before.join(', ')}) = exit ${e.code}\n`);
        throw e;
      }
    };
  }
  return out;
}
