// An interpreter of small zerocopy scripts, for the differential conformance test: the same
// script runs here, inside the sandbox, and natively in the host through FFI
// (test/helpers/native_script.ts), and both must print the same lines.
//
// Each argument is one operation; descriptors live in named slots. Files are opened beneath
// the first preopen (descriptor 3).
//   open SLOT FILE r|w|rw|wo   r: read; w: write, create, truncate; rw: both, create; wo: write-only
//   pipe SLOT 0|4              slots SLOT.r and SLOT.w; 4 = NONBLOCK
//   write SLOT TEXT | fill SLOT | seek SLOT POS | close SLOT
//   sendfile OUT IN OFF|- COUNT
//   splice IN OFF|- OUT OFF|- LEN FLAGS
//   tee IN OUT LEN FLAGS
//   copy_file_range IN OFF|- OUT OFF|- LEN FLAGS
//   pos SLOT | readpipe SLOT N | readfile FILE
// Transfers print `errno=E n=N off=O [off_out=O]`, with E the WASI errno number.
import { path_open, fd_read, fd_write, fd_seek, fd_close } from "bindings/wasi_snapshot_preview1";
import * as raw from "../zerocopy/bindings";

const RIGHT_READ: u64 = 1 << 1, RIGHT_SEEK: u64 = 1 << 2, RIGHT_TELL: u64 = 1 << 5, RIGHT_WRITE: u64 = 1 << 6;
const slots = new Map<string, u32>();
const ret = memory.data(16);
const offIn = memory.data(8);
const offOut = memory.data(8);
const iov = memory.data(8);
const buf = memory.data(4096);

function out(s: string): void { process.stdout.write(s + "\n"); }
function slot(name: string): u32 {
  // An unknown slot stands for a descriptor the guest does not hold.
  return slots.has(name) ? slots.get(name) : 1000;
}
function setOffset(ptr: usize, v: string): usize {
  if (v == "-") return 0;
  store<i64>(ptr, I64.parseInt(v));
  return ptr;
}
function showOffset(ptr: usize): string { return ptr == 0 ? "-" : load<i64>(ptr).toString(); }
function hex(p: usize, n: u32): string {
  if (n == 0) return "empty";
  let s = "";
  for (let i: u32 = 0; i < n; i++) {
    const b = load<u8>(p + i);
    s += (b < 16 ? "0" : "") + b.toString(16);
  }
  return s;
}
function writeAll(fd: u32, p: usize, n: u32): u16 {
  store<u32>(iov, <u32>p);
  store<u32>(iov, n, 4);
  return fd_write(fd, iov, 1, ret);
}
function readSome(fd: u32, p: usize, n: u32): u32 {
  store<u32>(iov, <u32>p);
  store<u32>(iov, n, 4);
  return fd_read(fd, iov, 1, ret) == 0 ? load<u32>(ret) : 0;
}

function openFile(file: string, mode: string): u32 {
  let rights: u64 = RIGHT_SEEK | RIGHT_TELL, oflags: u16 = 0;
  if (mode == "r") rights |= RIGHT_READ;
  else if (mode == "w") { rights |= RIGHT_WRITE; oflags = 1 | 8; }
  else if (mode == "rw") { rights |= RIGHT_READ | RIGHT_WRITE; oflags = 1; }
  else rights |= RIGHT_WRITE;
  const p = String.UTF8.encode(file);
  const e = path_open(3, 0, changetype<usize>(p), p.byteLength, oflags, rights, 0, 0, ret);
  if (e != 0) { out("setup: open " + file + ": " + e.toString()); process.exit(2); }
  return load<u32>(ret);
}

const argv = process.argv;
for (let i = 1; i < argv.length; i++) {
  const a = argv[i].split(" ");
  const op = a[0];
  if (op == "open") {
    slots.set(a[1], openFile(a[2], a[3]));
  } else if (op == "pipe") {
    const e = raw.pipe(U32.parseInt(a[2]), ret);
    if (e == 0) { slots.set(a[1] + ".r", load<u32>(ret)); slots.set(a[1] + ".w", load<u32>(ret, 4)); }
    out("pipe errno=" + e.toString());
  } else if (op == "write") {
    const t = String.UTF8.encode(a[2]);
    writeAll(slot(a[1]), changetype<usize>(t), t.byteLength);
  } else if (op == "fill") {
    memory.fill(buf, 0x78, 4096);
    while (writeAll(slot(a[1]), buf, 4096) == 0) {}
    while (writeAll(slot(a[1]), buf, 1) == 0) {}
  } else if (op == "seek") {
    fd_seek(slot(a[1]), I64.parseInt(a[2]), 0, ret);
  } else if (op == "close") {
    fd_close(slot(a[1]));
  } else if (op == "pos") {
    const e = fd_seek(slot(a[1]), 0, 1, ret);
    out("pos " + a[1] + "=" + (e == 0 ? load<u64>(ret).toString() : "-"));
  } else if (op == "readpipe") {
    const want = U32.parseInt(a[2]);
    let got: u32 = 0;
    while (got < want) {
      const n = readSome(slot(a[1]), buf + got, want - got);
      if (n == 0) break;
      got += n;
    }
    out("read " + a[1] + "=" + hex(buf, got));
  } else if (op == "readfile") {
    const fd = openFile(a[1], "r");
    const n = readSome(fd, buf, 128);
    fd_close(fd);
    out("file " + a[1] + "=" + hex(buf, n));
  } else {
    let e: u16 = 0;
    let po: usize = 0, pi: usize = 0;
    if (op == "sendfile") {
      pi = setOffset(offIn, a[3]);
      e = raw.sendfile(slot(a[1]), slot(a[2]), pi, U64.parseInt(a[4]), ret);
    } else if (op == "splice") {
      pi = setOffset(offIn, a[2]);
      po = setOffset(offOut, a[4]);
      e = raw.splice(slot(a[1]), pi, slot(a[3]), po, U64.parseInt(a[5]), U32.parseInt(a[6]), ret);
    } else if (op == "tee") {
      e = raw.tee(slot(a[1]), slot(a[2]), U64.parseInt(a[3]), U32.parseInt(a[4]), ret);
    } else if (op == "copy_file_range") {
      pi = setOffset(offIn, a[2]);
      po = setOffset(offOut, a[4]);
      e = raw.copy_file_range(slot(a[1]), pi, slot(a[3]), po, U64.parseInt(a[5]), U32.parseInt(a[6]), ret);
    } else {
      out("unknown op " + op);
      process.exit(2);
    }
    out(op + " errno=" + e.toString() + " n=" + (e == 0 ? load<u64>(ret).toString() : "0") +
      " off=" + showOffset(pi) + (op == "splice" || op == "copy_file_range" ? " off_out=" + showOffset(po) : ""));
  }
}
