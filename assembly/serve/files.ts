// Opening what a request names, beneath the docroot, with a cache of open files that is
// validated on every request (so it is never stale).
//
// A miss is path_open relative to the docroot's preopen, then fd_filestat_get. The sandbox
// resolves the path with openat2(RESOLVE_BENEATH): a symlink inside the docroot is followed,
// one that leads out is `notcapable`, which is answered as if nothing were there (404).
//
// A hit costs one host call instead of four (open, stat, read, close): path_filestat_get on
// the same path, resolved beneath the docroot the same way, must find the same file (device
// and inode) unchanged (size, modification and change times); else the entry is dropped and
// the path opened again. So a file replaced, changed, deleted or swapped for a symlink that
// leads out is seen at once, as without a cache: the check is the same lookup an open makes.
//
// One check serves every request of a turn of the server's loop (server.ts): the loop first
// reads what arrived on every ready connection, then calls newTurn() and answers. A check
// made after newTurn() is later than the arrival of every request answered in that turn, so
// it is as fresh for each of them as a check of its own (a change made before a request was
// sent is seen by it); a busy server checks a popular file once a turn instead of once a
// request.
//
// The first SMALL_FILE bytes of a regular file are kept with it once read (the whole of a
// small file), so that a response's head and the start of its body leave in one send.
//
// Entries are shared by responses in flight (reference counts): one dropped while a response
// still sends from it is closed when that response ends. The cache is direct-mapped by a
// hash of the path, so it holds at most SLOTS descriptors.
import { path_open, path_filestat_get, fd_filestat_get, fd_close, fd_pread, filestat } from "bindings/wasi_snapshot_preview1";
import { errno } from "../zerocopy";
import * as log from "./log";

export const TYPE_DIRECTORY: u8 = 3, TYPE_REGULAR: u8 = 4;
/** Files up to this size keep their contents in memory once read; larger ones keep this much of their start. */
export const SMALL_FILE: u64 = 16384;

const LOOKUP_SYMLINK_FOLLOW: u32 = 1;
/** fd_read and fd_seek (sendfile, pread), fd_readdir and path_filestat_get (listings), fd_filestat_get. */
const RIGHTS: u64 = (1 << 1) | (1 << 2) | (1 << 14) | (1 << 18) | (1 << 21);
/**
 * O_NONBLOCK, as nginx opens files: opening a FIFO someone left in the docroot must not wait
 * for a writer. It changes nothing for regular files (open(2)).
 */
const NONBLOCK: u16 = 4;
const SLOTS = 256;

@final export class File {
  fd: i32 = -1;
  type: u8 = 0;
  size: u64 = 0;
  mtimeNs: u64 = 0;
  ctimeNs: u64 = 0;
  dev: u64 = 0;
  ino: u64 = 0;
  /** Its first min(size, SMALL_FILE) bytes once read (heap), else 0. */
  body: usize = 0;
  /** The turn of the server's loop in which it was last found unchanged. */
  checked: u32 = 0;
  /** Holders: the cache's slot counts one, and each response using it one. */
  refs: i32 = 0;
  /** The path it was opened by (heap copy), for the cache's comparisons. */
  key: usize = 0;
  keyLen: u32 = 0;
}

const slots = new StaticArray<File | null>(SLOTS);
const ret = memory.data(8);
const stat = memory.data(64);
const iov = memory.data(16);

/** The errno of the last acquire() that returned null. */
export let lastError: u16 = 0;

/** The current turn: a check made in it stands for the requests answered in it. */
let turn: u32 = 1;
/** Starts a turn: call once every request answered next has been read. */
export function newTurn(): void { turn++; }

// filestat: dev u64 @0, ino @8, filetype u8 @16, nlink @24, size @32, atim @40, mtim @48, ctim @56.
function fill(f: File): void {
  f.dev = load<u64>(stat);
  f.ino = load<u64>(stat, 8);
  f.type = load<u8>(stat, 16);
  f.size = load<u64>(stat, 32);
  f.mtimeNs = load<u64>(stat, 48);
  f.ctimeNs = load<u64>(stat, 56);
}

function unchanged(f: File): bool {
  return f.dev == load<u64>(stat) && f.ino == load<u64>(stat, 8) && f.size == load<u64>(stat, 32) &&
    f.mtimeNs == load<u64>(stat, 48) && f.ctimeNs == load<u64>(stat, 56) && f.type == load<u8>(stat, 16);
}

function hash(p: usize, n: u32): u32 {
  let h: u32 = 2166136261; // FNV-1a
  for (let i: u32 = 0; i < n; i++) h = (h ^ load<u8>(p + i)) * 16777619;
  return h;
}

function destroy(f: File): void {
  if (f.fd >= 0) fd_close(<u32>f.fd);
  f.fd = -1;
  if (f.body != 0) heap.free(f.body);
  f.body = 0;
  if (f.key != 0) heap.free(f.key);
  f.key = 0;
}

/** Gives up one hold on `f`; the last one closes it. */
export function release(f: File): void {
  if (--f.refs == 0) destroy(f);
}

function drop(slot: i32): void {
  const f = unchecked(slots[slot]);
  if (f === null) return;
  unchecked(slots[slot] = null);
  release(f);
}

/**
 * The file at path[0, len) (relative: no leading "/") beneath the directory `root`, held for
 * the caller (who calls release() when done), or null with lastError set.
 */
export function acquire(root: u32, path: usize, len: u32): File | null {
  const slot = <i32>(hash(path, len) & (SLOTS - 1));
  const cached = unchecked(slots[slot]);
  if (cached !== null && cached.keyLen == len && memory.compare(cached.key, path, len) == 0) {
    if (cached.checked == turn) {
      cached.refs++;
      return cached;
    }
    const e = path_filestat_get(root, LOOKUP_SYMLINK_FOLLOW, path, len, changetype<filestat>(stat));
    if (e == 0 && unchanged(cached)) {
      cached.checked = turn;
      cached.refs++;
      return cached;
    }
    drop(slot);
    if (e != 0) { lastError = e; return null; }
  }
  const e = path_open(root, LOOKUP_SYMLINK_FOLLOW, path, len, 0, RIGHTS, 0, NONBLOCK, ret);
  if (e != 0) { lastError = e; return null; }
  const fd = load<u32>(ret);
  const e2 = fd_filestat_get(fd, changetype<filestat>(stat));
  if (e2 != 0) {
    fd_close(fd);
    lastError = e2;
    return null;
  }
  const f = new File();
  f.fd = <i32>fd;
  fill(f);
  f.checked = turn;
  f.refs = 1;
  // Regular files and directories are kept; anything else (a FIFO, a device) is not served anyway.
  if (f.type == TYPE_REGULAR || f.type == TYPE_DIRECTORY) {
    drop(slot);
    f.key = heap.alloc(len);
    memory.copy(f.key, path, len);
    f.keyLen = len;
    f.refs++;
    unchecked(slots[slot] = f);
  }
  return f;
}

/** How many of the file's first bytes contents() keeps. */
export function keptLength(f: File): u64 { return f.size < SMALL_FILE ? f.size : SMALL_FILE; }

/**
 * The file's first keptLength() bytes, read once; 0 if they could not be read whole (it
 * shrank), or for an empty file.
 */
export function contents(f: File): usize {
  if (f.body != 0 || f.size == 0) return f.body;
  const kept = keptLength(f);
  const body = heap.alloc(<usize>kept);
  let p = body, n = kept, offset: u64 = 0;
  while (n > 0) {
    store<u32>(iov, <u32>p);
    store<u32>(iov, <u32>n, 4);
    if (fd_pread(<u32>f.fd, iov, 1, offset, iov + 8) != 0 || load<u32>(iov, 8) == 0) { heap.free(body); return 0; }
    const got = <u64>load<u32>(iov, 8);
    p += <usize>got;
    n -= got;
    offset += got;
  }
  f.body = body;
  return body;
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
