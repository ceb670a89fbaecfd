// Opening what a request names, beneath the docroot: one path_open relative to the docroot's
// preopen, then fd_filestat_get. The sandbox resolves the path with openat2(RESOLVE_BENEATH):
// a symlink inside the docroot is followed, one that leads out is `notcapable`, which is
// answered as if nothing were there (404).
import { path_open, fd_filestat_get, fd_close, filestat } from "bindings/wasi_snapshot_preview1";
import { errno } from "../zerocopy";
import * as log from "./log";

export const TYPE_DIRECTORY: u8 = 3, TYPE_REGULAR: u8 = 4;

const LOOKUP_SYMLINK_FOLLOW: u32 = 1;
/** fd_read and fd_seek (sendfile, pread), fd_readdir and path_filestat_get (listings), fd_filestat_get. */
const RIGHTS: u64 = (1 << 1) | (1 << 2) | (1 << 14) | (1 << 18) | (1 << 21);
/**
 * O_NONBLOCK, as nginx opens files: opening a FIFO someone left in the docroot must not wait
 * for a writer. It changes nothing for regular files (open(2)).
 */
const NONBLOCK: u16 = 4;

@final export class Opened {
  fd: i32 = -1;
  type: u8 = 0;
  size: u64 = 0;
  mtimeNs: u64 = 0;
}

const ret = memory.data(8);
const stat = memory.data(64);

/**
 * Opens path[0, len) (relative: no leading "/") beneath the directory `root`. Returns 0 and
 * fills `o` (the caller closes o.fd), or the errno.
 */
export function openBeneath(root: u32, path: usize, len: u32, o: Opened): u16 {
  const e = path_open(root, LOOKUP_SYMLINK_FOLLOW, path, len, 0, RIGHTS, 0, NONBLOCK, ret);
  if (e != 0) return e;
  const fd = load<u32>(ret);
  // filestat: dev u64, ino u64, filetype u8 @16, nlink u64 @24, size @32, atim @40, mtim @48.
  const e2 = fd_filestat_get(fd, changetype<filestat>(stat));
  if (e2 != 0) {
    fd_close(fd);
    return e2;
  }
  o.fd = <i32>fd;
  o.type = load<u8>(stat, 16);
  o.size = load<u64>(stat, 32);
  o.mtimeNs = load<u64>(stat, 48);
  return 0;
}

export function close(o: Opened): void {
  if (o.fd >= 0) fd_close(<u32>o.fd);
  o.fd = -1;
}

/**
 * The status for a failed open, as nginx's static module: not there (or not ours: a symlink
 * out of the docroot; or a name that is not UTF-8, which no WASI path can be) 404; refused
 * 403; anything else 500, said on stderr.
 */
export function openStatus(e: u16): u16 {
  if (e == errno.NOENT || e == errno.NOTDIR || e == errno.NAMETOOLONG || e == errno.NOTCAPABLE || e == errno.ILSEQ) return 404;
  if (e == errno.ACCES || e == errno.PERM || e == errno.LOOP) return 403;
  log.error("open: " + errno.name(e));
  return 500;
}
