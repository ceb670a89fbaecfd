// An interpreter of small filesystem scripts for test/wasi_fs.test.ts: each argument is one
// WASI preview1 call, and each call prints one line with the WASI errno it returned, so the
// test states the expected result of every call. Descriptors live in named slots; the slot
// `root` is the first preopen (descriptor 3). Paths are written as given; `<empty>` stands
// for the empty path.
//   mkdir P | rmdir P | unlink P | rename OLD NEW | symlink TARGET P
//   link OLD NEW [follow]               path_link, following the source when `follow`
//   readlink P LEN                      prints the bytes placed in a LEN-byte buffer
//   stat P [follow]                     path_filestat_get: type, size, nlink, mtim
//   settimes P nofollow|follow ATIM MTIM FSTFLAGS
//   opendir SLOT P | openfile SLOT P    path_open (a directory; a file created read-write)
//   fsettimes SLOT ATIM MTIM FSTFLAGS | advise SLOT OFF LEN ADVICE | allocate SLOT OFF LEN
//   sync SLOT | datasync SLOT | size SLOT | renumber FROM TO | fdstat SLOT | close SLOT
//   readdir SLOT BUFLEN COOKIE          one fd_readdir call: entries read whole, `used`, last d_next
//   readdir-all SLOT BUFLEN             fd_readdir until the end, resuming from the last
//                                       whole entry's d_next: names in order, and calls made
//   readdir-resume SLOT K               reads all, then again from the K-th entry's d_next
//   (entries print as NAME:TYPE, TYPE the WASI filetype number)
import {
  fd_advise, fd_allocate, fd_close, fd_datasync, fd_fdstat_get, fd_filestat_get, fd_filestat_set_times,
  fd_readdir, fd_renumber, fd_sync, fdstat, filestat, path_create_directory, path_filestat_get, path_filestat_set_times,
  path_link, path_open, path_readlink, path_remove_directory, path_rename, path_symlink, path_unlink_file,
} from "bindings/wasi_snapshot_preview1";

const FOLLOW: u32 = 1;
const OFLAGS_CREAT: u16 = 1, OFLAGS_DIRECTORY: u16 = 2;
const ALL_RIGHTS: u64 = (1 << 30) - 1;
/** fd_datasync, fd_write, fd_allocate, fd_filestat_set_size: a directory opened with them is EISDIR. */
const WRITE_RIGHTS: u64 = (1 << 0) | (1 << 6) | (1 << 8) | (1 << 22);
const DIRENT_SIZE: u32 = 24;
const slots = new Map<string, u32>();
slots.set("root", 3);
const ret = memory.data(8);
const stat = memory.data(64);
const buf = memory.data(8192);

function out(s: string): void { process.stdout.write(s + "\n"); }
function slot(name: string): u32 { return slots.has(name) ? slots.get(name) : 1000; }
function path(p: string): ArrayBuffer { return String.UTF8.encode(p == "<empty>" ? "" : p); }
function ptr(b: ArrayBuffer): usize { return changetype<usize>(b); }
function res(op: string, e: u16): string { return op + " errno=" + e.toString(); }
function text(p: usize, n: u32): string { return String.UTF8.decodeUnsafe(p, n); }

function open(name: string, p: string, oflags: u16): void {
  const b = path(p);
  const base = oflags & OFLAGS_DIRECTORY ? ALL_RIGHTS & ~WRITE_RIGHTS : ALL_RIGHTS;
  const e = path_open(3, 0, ptr(b), b.byteLength, oflags, base, ALL_RIGHTS, 0, ret);
  if (e == 0) slots.set(name, load<u32>(ret));
  out(res("open " + name, e));
}

/**
 * One fd_readdir call; appends the names read whole and their d_next cookies; returns the
 * last cookie (or the one given, if no entry was read whole).
 */
function readdirOnce(fd: u32, len: u32, cookie: u64, names: string[], cookies: u64[] = []): u64 {
  const e = fd_readdir(fd, buf, len, cookie, ret);
  lastErr = e;
  if (e != 0) { out(res("readdir", e)); lastUsed = 0; return cookie; }
  const used = load<u32>(ret);
  let at: u32 = 0, next = cookie;
  while (at + DIRENT_SIZE <= used) {
    const namlen = load<u32>(buf + at, 16);
    if (at + DIRENT_SIZE + namlen > used) break; // cut off by the end of the buffer
    names.push(text(buf + at + DIRENT_SIZE, namlen) + ":" + load<u8>(buf + at, 20).toString());
    next = load<u64>(buf + at);
    cookies.push(next);
    at += DIRENT_SIZE + namlen;
  }
  lastUsed = used;
  return next;
}
let lastUsed: u32 = 0, lastErr: u16 = 0;

const argv = process.argv;
for (let i = 1; i < argv.length; i++) {
  const a = argv[i].split(" ");
  const op = a[0];
  if (op == "mkdir" || op == "rmdir" || op == "unlink") {
    const b = path(a[1]);
    const e = op == "mkdir" ? path_create_directory(3, ptr(b), b.byteLength)
      : op == "rmdir" ? path_remove_directory(3, ptr(b), b.byteLength)
      : path_unlink_file(3, ptr(b), b.byteLength);
    out(res(op + " " + a[1], e));
  } else if (op == "rename") {
    const o = path(a[1]), n = path(a[2]);
    out(res(argv[i], path_rename(3, ptr(o), o.byteLength, 3, ptr(n), n.byteLength)));
  } else if (op == "symlink") {
    const t = path(a[1]), n = path(a[2]);
    out(res(argv[i], path_symlink(ptr(t), t.byteLength, 3, ptr(n), n.byteLength)));
  } else if (op == "link") {
    const o = path(a[1]), n = path(a[2]);
    const flags = a.length > 3 && a[3] == "follow" ? FOLLOW : 0;
    out(res(argv[i], path_link(3, flags, ptr(o), o.byteLength, 3, ptr(n), n.byteLength)));
  } else if (op == "readlink") {
    const b = path(a[1]);
    const len = U32.parseInt(a[2]);
    memory.fill(buf, 0x2a, len + 4);
    const e = path_readlink(3, ptr(b), b.byteLength, buf, len, ret);
    const n = e == 0 ? load<u32>(ret) : 0;
    // The bytes after the result must be untouched (still '*').
    out(res(argv[i], e) + " n=" + n.toString() + " text=" + text(buf, n) + " after=" + text(buf + n, 4));
  } else if (op == "stat") {
    const b = path(a[1]);
    const flags = a.length > 2 && a[2] == "follow" ? FOLLOW : 0;
    const e = path_filestat_get(3, flags, ptr(b), b.byteLength, changetype<filestat>(stat));
    out(res(argv[i], e) + (e != 0 ? "" : " type=" + load<u8>(stat, 16).toString() +
      " size=" + load<u64>(stat, 32).toString() + " nlink=" + load<u64>(stat, 24).toString() +
      " mtim=" + load<u64>(stat, 48).toString()));
  } else if (op == "settimes") {
    const b = path(a[1]);
    const flags = a[2] == "follow" ? FOLLOW : 0;
    out(res(argv[i], path_filestat_set_times(3, flags, ptr(b), b.byteLength,
      U64.parseInt(a[3]), U64.parseInt(a[4]), <u16>U32.parseInt(a[5]))));
  } else if (op == "opendir") {
    open(a[1], a[2], OFLAGS_DIRECTORY);
  } else if (op == "openfile") {
    open(a[1], a[2], OFLAGS_CREAT);
  } else if (op == "fsettimes") {
    out(res(argv[i], fd_filestat_set_times(slot(a[1]), U64.parseInt(a[2]), U64.parseInt(a[3]), <u16>U32.parseInt(a[4]))));
  } else if (op == "advise") {
    out(res(argv[i], fd_advise(slot(a[1]), U64.parseInt(a[2]), U64.parseInt(a[3]), <u8>U32.parseInt(a[4]))));
  } else if (op == "allocate") {
    out(res(argv[i], fd_allocate(slot(a[1]), U64.parseInt(a[2]), U64.parseInt(a[3]))));
  } else if (op == "sync") {
    out(res(argv[i], fd_sync(slot(a[1]))));
  } else if (op == "datasync") {
    out(res(argv[i], fd_datasync(slot(a[1]))));
  } else if (op == "size") {
    const e = fd_filestat_get(slot(a[1]), changetype<filestat>(stat));
    out(res(argv[i], e) + " size=" + (e == 0 ? load<u64>(stat, 32).toString() : "-") +
      " mtim=" + (e == 0 ? load<u64>(stat, 48).toString() : "-") + " atim=" + (e == 0 ? load<u64>(stat, 40).toString() : "-"));
  } else if (op == "renumber") {
    // Slots keep their numbers: TO now holds FROM's file, and FROM's number is free.
    out(res(argv[i], fd_renumber(slot(a[1]), slot(a[2]))));
  } else if (op == "fdstat") {
    const e = fd_fdstat_get(slot(a[1]), changetype<fdstat>(stat));
    out(res(argv[i], e) + (e == 0 ? " type=" + load<u8>(stat).toString() : ""));
  } else if (op == "close") {
    out(res(argv[i], fd_close(slot(a[1]))));
  } else if (op == "readdir") {
    const names = new Array<string>();
    const next = readdirOnce(slot(a[1]), U32.parseInt(a[2]), U64.parseInt(a[3]), names);
    if (lastErr == 0) out("readdir used=" + lastUsed.toString() + " entries=" + names.join(",") + " next=" + next.toString());
  } else if (op == "readdir-all") {
    const names = new Array<string>();
    const len = U32.parseInt(a[2]);
    let cookie: u64 = 0, calls = 0;
    do {
      cookie = readdirOnce(slot(a[1]), len, cookie, names);
      calls++;
    } while (lastUsed == len && calls < 10000);
    if (lastErr == 0) out("readdir-all calls=" + calls.toString() + " entries=" + names.join(","));
  } else if (op == "readdir-resume") {
    const all = new Array<string>(), cookies = new Array<u64>(), rest = new Array<string>();
    readdirOnce(slot(a[1]), 8192, 0, all, cookies);
    const k = I32.parseInt(a[2]);
    readdirOnce(slot(a[1]), 8192, cookies[k], rest);
    out("readdir-resume all=" + all.join(",") + " rest=" + rest.join(","));
  } else {
    out("unknown op " + op);
    process.exit(2);
  }
}
