// --trace: each call a guest makes, with its decoded arguments and the errno it got, one line
// on stderr, the way strace(1) prints system calls:
//   zerocopy.sendfile(out_fd=1, in_fd=4, offset=NULL, count=1048576, ret_sent=0x10010) = success
// A wrapper over the import objects (as browser_wasi_shim's strace.ts), so tracing costs
// nothing when it is off.
import { errnoName } from '../sandbox/errno.js';
import type { Imports } from './guard.js';
import { ProcExit } from '../sandbox/context.js';

/** Parameter names from the witx and docs/ABI.md; `*` marks a pointer (printed in hex, 0 as NULL). */
const PARAMS: Record<string, string> = {
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
  fd_renumber: 'fd to', fd_seek: 'fd offset whence *newoffset', fd_sync: 'fd', fd_tell: 'fd *offset',
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
};

function show(name: string, value: unknown): string {
  if (name.startsWith('*')) {
    const p = Number(value) >>> 0;
    return `${name.slice(1)}=${p === 0 ? 'NULL' : '0x' + p.toString(16)}`;
  }
  return `${name}=${typeof value === 'number' && /fd$|^fd_|^to$/.test(name) ? value >>> 0 : String(value)}`;
}

/** Reads a guest string for the trace; null when the pointer is bad (the call will say fault). */
export type StringReader = (ptr: number, len: number) => string | null;

/**
 * Wraps every function of an import module so that each call is written to `sink`. Paths are
 * printed as strings, read before the call (as strace decodes them).
 */
export function traced(module: string, imports: Imports, sink: (line: string) => void, read: StringReader): Imports {
  const prefix = module === 'wasi_snapshot_preview1' ? '' : `${module}.`;
  const out: Imports = {};
  for (const [name, fn] of Object.entries(imports)) {
    const params = (PARAMS[name] ?? '').split(' ').filter(Boolean);
    out[name] = (...args: unknown[]): number => {
      const shown = args.map((a, i) => {
        const p = params[i] ?? `arg${i}`;
        if (p.endsWith('path') && params[i + 1] === `${p.slice(1)}_len`) {
          const text = read(Number(a), Number(args[i + 1]));
          if (text !== null) return `${p.slice(1)}=${JSON.stringify(text)}`;
        }
        return show(p, a);
      });
      const call = `${prefix}${name}(${shown.join(', ')})`;
      try {
        const r = fn(...args);
        sink(`${call} = ${errnoName[r] ?? r}\n`);
        return r;
      } catch (e) {
        if (e instanceof ProcExit) sink(`${call} = exit ${e.code}\n`);
        throw e;
      }
    };
  }
  return out;
}
