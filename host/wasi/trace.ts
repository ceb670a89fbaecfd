// --trace: each call a guest makes, with its decoded arguments and the errno it got, one line
// on stderr, the way strace(1) prints system calls:
//   zerocopy.sendfile(out_fd=1, in_fd=4, offset=NULL, count=1048576, ret_sent=0x10010) = success
// A wrapper over the import objects (as browser_wasi_shim's strace.ts), so tracing costs
// nothing when it is off. Values print as the ABI's unsigned types (u32, u64), but for
// fd_seek's offset, a signed filedelta; a path argument prints as its string, read before the
// call; fd_prestat_dir_name's path is an output, printed after the call when it succeeded.
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

function show(name: string, value: unknown): string {
  if (name.startsWith('*')) return `${name.slice(1)}=${(Number(value) >>> 0) === 0 ? 'NULL' : '0x' + (Number(value) >>> 0).toString(16)}`;
  if (name.startsWith('-')) return `${name.slice(1)}=${BigInt.asIntN(64, BigInt(value as bigint))}`;
  if (typeof value === 'bigint') return `${name}=${BigInt.asUintN(64, value)}`;
  if (typeof value === 'number') return `${name}=${value >>> 0}`;
  return `${name}=${String(value)}`;
}

/** Reads a guest string for the trace; null when the pointer is bad (the call will say fault). */
export type StringReader = (ptr: number, len: number) => string | null;

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

/**
 * Wraps every function of an import module so that each call is written to `sink`, one line
 * per call: `name(arg=value, ...) = errno`, or `= exit N` for a call that ends the guest.
 */
export function traced(module: string, imports: Imports, sink: (line: string) => void, read: StringReader): Imports {
  const prefix = module === 'wasi_snapshot_preview1' ? '' : `${module}.`;
  const out: Imports = {};
  for (const [name, fn] of Object.entries(imports)) {
    const params = (TRACE_PARAMS[name] ?? '').split(' ').filter(Boolean);
    const outputPath = OUTPUT_PATHS.has(name);
    out[name] = (...args: unknown[]): number => {
      const shown = (after: boolean) => args.map((a, i) => {
        const p = params[i] ?? `arg${i}`;
        if ((p.endsWith('path') || p === '*addr') && params[i + 1] === `${p.slice(1)}_len` && (after || !outputPath)) {
          const text = read(Number(a), Number(args[i + 1]) >>> 0);
          if (text !== null) return `${p.slice(1)}=${JSON.stringify(text)}`;
        }
        return show(p, a);
      }).join(', ');
      const before = shown(false);
      try {
        const r = fn(...args);
        const call = outputPath && r === errno.success ? shown(true) : before;
        sink(`${prefix}${name}(${call}) = ${errnoName[r] ?? r}\n`);
        return r;
      } catch (e) {
        if (e instanceof ProcExit) sink(`${prefix}${name}(${before}) = exit ${e.code}\n`);
        throw e;
      }
    };
  }
  return out;
}
