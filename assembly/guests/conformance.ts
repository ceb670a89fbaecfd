// The zerocopy ABI v1 conformance cases, run in the sandbox through the guest SDK
// (assembly/zerocopy). test/helpers/native.ts performs the same cases on real host
// descriptors through FFI and prints the same lines; test/conformance.test.ts compares the
// two and checks the man pages' expectations on top.
//
// The first preopen (descriptor 3) holds the fixtures: src.txt (20 bytes,
// "0123456789abcdefghij"), ro.txt ("readonly"), big.bin (100000 bytes). Each case writes only
// to its own `<case>.out`. One line per case, after the call has returned:
//
//   CASE ret=N errno=NAME off=O off_out=O pos_in=P pos_out=P data=D rest=R
//
// ret is the count (-1 on error, as the raw syscall); off / off_out the Offset values after
// the call (- for null); pos_* the file positions of the two descriptors (- where there is
// none: a pipe, or a descriptor not held); data what reached the destination (the whole .out
// file, or what a pipe's read end holds); rest what the source pipe still holds (- for a file).
// Byte strings print as hex, "empty", or LENb:fnv=HASH beyond 32 bytes.
//
// The cases after "--- sandbox only" have no native counterpart (fault, notcapable, a
// descriptor not held, fdflags other than NONBLOCK): the test checks them against the spec.
import {
  path_open, fd_read, fd_write, fd_seek, fd_close, fd_fdstat_get, fd_fdstat_set_flags, fd_fdstat_set_rights, fdstat,
} from "bindings/wasi_snapshot_preview1";
import * as raw from "../zerocopy/bindings";
import {
  errno, Offset, Pipe, pipe, sendfile, splice, tee, copy_file_range, sendAll, spliceAll, SPLICE_F_NONBLOCK,
} from "../zerocopy";

const R_READ: u64 = 1 << 1, R_SEEK: u64 = 1 << 2, R_TELL: u64 = 1 << 5, R_WRITE: u64 = 1 << 6;
const O_CREAT: u16 = 1, O_TRUNC: u16 = 8;
const FD_APPEND: u16 = 1, FD_NONBLOCK: u16 = 4;
/** A descriptor number the guest does not hold. */
const NOT_HELD: u32 = 1000;
/** 2^62: far above MAX_RW_COUNT, still a positive ssize_t. */
const HUGE: u64 = 0x4000_0000_0000_0000;

const ret = memory.data(24);
const iov = memory.data(8);
const CHUNK: u32 = 4096;
const buf = memory.data(4096);
/** Descriptors of the running case, closed after it. */
const held = new Array<u32>();

function fatal(what: string, e: u16): void {
  process.stdout.write("setup failed: " + what + ": " + errno.name(e) + "\n");
  process.exit(2);
}

/**
 * r: read-only; w: write-only, created and truncated; a: the same, appending;
 * rw: read-write, created and truncated; wo: write-only, as it is.
 */
function open(name: string, mode: string): u32 {
  let rights: u64 = R_SEEK | R_TELL, oflags: u16 = 0, fdflags: u16 = 0;
  if (mode == "r") rights |= R_READ;
  else if (mode == "w" || mode == "a") { rights |= R_WRITE; oflags = O_CREAT | O_TRUNC; }
  else if (mode == "rw") { rights |= R_READ | R_WRITE; oflags = O_CREAT | O_TRUNC; }
  else rights |= R_WRITE;
  if (mode == "a") fdflags = FD_APPEND;
  const p = String.UTF8.encode(name);
  const e = path_open(3, 0, changetype<usize>(p), p.byteLength, oflags, rights, 0, fdflags, ret);
  if (e != 0) fatal("open " + name, e);
  const fd = load<u32>(ret);
  held.push(fd);
  return fd;
}

function newPipe(nonblock: bool = false): Pipe {
  const p = new Pipe();
  const e = pipe(p, nonblock);
  if (e != 0) fatal("pipe", e);
  held.push(p.readFd);
  held.push(p.writeFd);
  return p;
}

function close(fd: u32): void {
  fd_close(fd);
  const i = held.indexOf(fd);
  if (i >= 0) held.splice(i, 1);
}

function writeRaw(fd: u32, p: usize, n: u32): u16 {
  store<u32>(iov, <u32>p);
  store<u32>(iov, n, 4);
  return fd_write(fd, iov, 1, ret);
}

function write(fd: u32, text: string): void {
  const t = String.UTF8.encode(text);
  const e = writeRaw(fd, changetype<usize>(t), t.byteLength);
  if (e != 0) fatal("write", e);
}

/** Fills a non-blocking pipe to the last byte: pages until EAGAIN, then single bytes. */
function fill(fd: u32): void {
  memory.fill(buf, 0x78, CHUNK);
  while (writeRaw(fd, buf, CHUNK) == 0) {}
  while (writeRaw(fd, buf, 1) == 0) {}
}

function setNonblock(fd: u32, on: bool): void {
  const e = fd_fdstat_set_flags(fd, on ? FD_NONBLOCK : 0);
  if (e != 0) fatal("fd_fdstat_set_flags", e);
}

function seek(fd: u32, pos: i64): void {
  const e = fd_seek(fd, pos, 0, ret);
  if (e != 0) fatal("seek", e);
}

function pos(fd: u32): string {
  return fd_seek(fd, 0, 1, ret) == 0 ? load<u64>(ret).toString() : "-";
}

/** Gives up one right, as a guest may with fd_fdstat_set_rights. */
function dropRight(fd: u32, right: u64): void {
  let e = fd_fdstat_get(fd, changetype<fdstat>(ret));
  if (e == 0) e = fd_fdstat_set_rights(fd, load<u64>(ret, 8) & ~right, load<u64>(ret, 16));
  if (e != 0) fatal("fd_fdstat_set_rights", e);
}

// --- what a descriptor delivered: hex up to 32 bytes, else length and FNV-1a -------------

let dLen: u64 = 0, dHash: u32 = 0, dHead = "";

function digestReset(): void { dLen = 0; dHash = 0x811c9dc5; dHead = ""; }
function digest(p: usize, n: u32): void {
  for (let i: u32 = 0; i < n; i++) {
    const b = load<u8>(p + i);
    dHash = (dHash ^ b) * 16777619;
    if (dLen < 32) dHead += (b < 16 ? "0" : "") + b.toString(16);
    dLen++;
  }
}
function digestText(): string {
  if (dLen == 0) return "empty";
  if (dLen <= 32) return dHead;
  return dLen.toString() + "b:fnv=" + dHash.toString(16).padStart(8, "0");
}

function readInto(fd: u32): u16 {
  while (true) {
    store<u32>(iov, <u32>buf);
    store<u32>(iov, CHUNK, 4);
    const e = fd_read(fd, iov, 1, ret);
    if (e != 0) return e;
    const n = load<u32>(ret);
    if (n == 0) return 0;
    digest(buf, n);
  }
}

/** The whole content of a fixture-directory file, read through a fresh descriptor. */
function fileData(name: string): string {
  digestReset();
  const fd = open(name, "r");
  readInto(fd);
  close(fd);
  return digestText();
}

/** What a pipe holds now: its read end is made non-blocking and drained. */
function pipeData(readFd: u32): string {
  digestReset();
  setNonblock(readFd, true);
  readInto(readFd);
  return digestText();
}

// --- reporting -----------------------------------------------------------------------------

function showOff(o: Offset | null): string { return o === null ? "-" : o.value.toString(); }

function report(name: string, r: i64, off: Offset | null, offOut: Offset | null, inFd: u32, outFd: u32,
  data: () => string, rest: () => string): void {
  const line = name + " ret=" + (r < 0 ? "-1" : r.toString()) +
    " errno=" + errno.name(r < 0 ? <u16>(-r) : errno.SUCCESS) +
    " off=" + showOff(off) + " off_out=" + showOff(offOut) +
    " pos_in=" + pos(inFd) + " pos_out=" + pos(outFd) +
    " data=" + data() + " rest=" + rest();
  process.stdout.write(line + "\n");
  while (held.length > 0) close(held[held.length - 1]);
}

const none = (): string => "-";
/** A raw binding's result, in the SDK's convention. */
function rawResult(e: u16): i64 { return e == 0 ? load<i64>(ret) : -(<i64>e); }

// Closures cannot capture locals in AssemblyScript: the case's names live here.
let outName = "", pr: u32 = 0, qr: u32 = 0;
const outData = (): string => fileData(outName);
const pipeOut = (): string => pipeData(pr);
const pipeOut2 = (): string => pipeData(qr);
const pipeRest = (): string => pipeData(pr);

function file(name: string): u32 { outName = name + ".out"; return open(outName, "w"); }

// --- sendfile(2) ---------------------------------------------------------------------------

function sendfileCase(name: string, offset: Offset | null, seekTo: i64, count: u64): void {
  const inFd = open("src.txt", "r"), outFd = file(name);
  if (seekTo >= 0) seek(inFd, seekTo);
  report(name, sendfile(outFd, inFd, offset, count), offset, null, inFd, outFd, outData, none);
}

sendfileCase("sendfile-offset", new Offset(5), -1, 4);
sendfileCase("sendfile-position", null, 3, 4);
sendfileCase("sendfile-zero-offset", new Offset(5), -1, 0);
sendfileCase("sendfile-zero-position", null, 3, 0);
sendfileCase("sendfile-short", new Offset(15), -1, 100);
sendfileCase("sendfile-short-position", null, 15, 100);
sendfileCase("sendfile-eof", new Offset(20), -1, 100);
sendfileCase("sendfile-past-eof", new Offset(999), -1, 100);
sendfileCase("sendfile-eof-position", null, 20, 100);
sendfileCase("sendfile-negative-offset", new Offset(-1), -1, 4);
// The ABI's counts are i64; the kernel reads the same 64 bits as size_t and clamps them.
sendfileCase("sendfile-huge-count", new Offset(2), -1, HUGE);
sendfileCase("sendfile-negative-count", new Offset(2), -1, u64.MAX_VALUE);
{
  const inFd = open("src.txt", "r");
  outName = "sendfile-append-destination.out";
  const outFd = open(outName, "a");
  report("sendfile-append-destination", sendfile(outFd, inFd, null, 4), null, null, inFd, outFd, outData, none);
}
{
  const inFd = open("src.txt", "r"), p = newPipe();
  close(p.readFd);
  report("sendfile-to-closed-pipe", sendfile(p.writeFd, inFd, null, 4), null, null, inFd, p.writeFd, none, none);
}
{
  const inFd = open("src.txt", "wo"), outFd = file("sendfile-write-only-source"), off = new Offset(0);
  report("sendfile-write-only-source", sendfile(outFd, inFd, off, 4), off, null, inFd, outFd, outData, none);
}
{
  const inFd = open("src.txt", "r"), outFd = open("ro.txt", "r");
  outName = "ro.txt";
  report("sendfile-read-only-destination", sendfile(outFd, inFd, null, 4), null, null, inFd, outFd, outData, none);
}
{
  const inFd = open("src.txt", "r"), p = newPipe();
  pr = p.readFd;
  const off = new Offset(6);
  report("sendfile-to-pipe", sendfile(p.writeFd, inFd, off, 8), off, null, inFd, p.writeFd, pipeOut, none);
}
{
  const inFd = open("src.txt", "r"), p = newPipe(true);
  pr = p.readFd;
  fill(p.writeFd);
  const off = new Offset(0);
  report("sendfile-full-pipe", sendfile(p.writeFd, inFd, off, 10), off, null, inFd, p.writeFd, pipeOut, none);
}
{
  const inFd = open("src.txt", "r"), p = newPipe(true);
  pr = p.readFd;
  fill(p.writeFd);
  report("sendfile-full-pipe-position", sendfile(p.writeFd, inFd, null, 10), null, null, inFd, p.writeFd, pipeOut, none);
}

// --- splice(2) ---------------------------------------------------------------------------

/** splice from src.txt (opened as `mode`) into an empty pipe. */
function toPipe(name: string, mode: string, offIn: Offset | null, offOut: Offset | null, seekTo: i64, len: u64): void {
  const inFd = open("src.txt", mode), p = newPipe();
  pr = p.readFd;
  if (seekTo >= 0) seek(inFd, seekTo);
  report(name, splice(inFd, offIn, p.writeFd, offOut, len), offIn, offOut, inFd, p.writeFd, pipeOut, none);
}
toPipe("splice-file-offset-to-pipe", "r", new Offset(2), null, -1, 5);
toPipe("splice-file-position-to-pipe", "r", null, null, 4, 5);
toPipe("splice-file-eof", "r", new Offset(20), null, -1, 5);
toPipe("splice-offset-on-output-pipe", "r", null, new Offset(0), -1, 3);
toPipe("splice-huge-count", "r", new Offset(7), null, -1, HUGE);
toPipe("splice-negative-count", "r", new Offset(7), null, -1, u64.MAX_VALUE);
toPipe("splice-negative-offset", "r", new Offset(-1), null, -1, 3);
toPipe("splice-write-only-source", "wo", null, null, -1, 3);

/** splice from a pipe holding "XYZ" into `<name>.out`. */
function fromPipe(name: string, offIn: Offset | null, offOut: Offset | null, len: u64, flags: u32): void {
  const p = newPipe(), outFd = file(name);
  pr = p.readFd;
  write(p.writeFd, "XYZ");
  report(name, splice(p.readFd, offIn, outFd, offOut, len, flags), offIn, offOut, p.readFd, outFd, outData, pipeRest);
}
fromPipe("splice-pipe-to-file", null, null, 3, 0);
fromPipe("splice-pipe-to-file-offset", null, new Offset(2), 3, 0);
fromPipe("splice-short", null, null, 100, 0);
fromPipe("splice-zero", null, null, 0, 0);
fromPipe("splice-offset-on-input-pipe", new Offset(0), null, 3, 0);
fromPipe("splice-unknown-flag", null, null, 3, 256);
{
  const p = newPipe(), outFd = file("splice-eof");
  pr = p.readFd;
  close(p.writeFd);
  report("splice-eof", splice(p.readFd, null, outFd, null, 3), null, null, p.readFd, outFd, outData, pipeRest);
}
{
  const inFd = open("src.txt", "r"), outFd = file("splice-two-files");
  report("splice-two-files", splice(inFd, null, outFd, null, 3), null, null, inFd, outFd, outData, none);
}
{
  const p = newPipe(), q = newPipe();
  pr = q.readFd;
  write(p.writeFd, "XYZ");
  report("splice-two-pipes", splice(p.readFd, null, q.writeFd, null, 100), null, null, p.readFd, q.writeFd, pipeOut, none);
}
{
  // A blocking pipe: only SPLICE_F_NONBLOCK stands between the call and waiting forever.
  const p = newPipe(), outFd = file("splice-empty-pipe-nonblock");
  pr = p.readFd;
  report("splice-empty-pipe-nonblock", splice(p.readFd, null, outFd, null, 3, SPLICE_F_NONBLOCK), null, null, p.readFd, outFd, outData, pipeRest);
}
{
  const inFd = open("src.txt", "r"), p = newPipe(true);
  pr = p.readFd;
  fill(p.writeFd);
  setNonblock(p.writeFd, false);
  const off = new Offset(0);
  report("splice-full-pipe-nonblock", splice(inFd, off, p.writeFd, null, 10, SPLICE_F_NONBLOCK), off, null, inFd, p.writeFd, pipeOut, none);
}

// --- tee(2) --------------------------------------------------------------------------------

function teeCase(name: string, len: u64, flags: u32, text: string): void {
  const p = newPipe(), q = newPipe();
  pr = p.readFd; qr = q.readFd;
  if (text.length > 0) write(p.writeFd, text);
  report(name, tee(p.readFd, q.writeFd, len, flags), null, null, p.readFd, q.writeFd, pipeOut2, pipeRest);
}
teeCase("tee-duplicates", 100, 0, "hello");
teeCase("tee-short", 3, 0, "hello");
teeCase("tee-zero", 0, 0, "hello");
teeCase("tee-empty-pipe-nonblock", 5, SPLICE_F_NONBLOCK, "");
teeCase("tee-unknown-flag", 5, 256, "hello");
{
  const p = newPipe(), q = newPipe();
  pr = p.readFd; qr = q.readFd;
  close(p.writeFd);
  report("tee-eof", tee(p.readFd, q.writeFd, 5), null, null, p.readFd, q.writeFd, pipeOut2, pipeRest);
}
{
  const inFd = open("src.txt", "r"), q = newPipe();
  qr = q.readFd;
  report("tee-file-source", tee(inFd, q.writeFd, 5), null, null, inFd, q.writeFd, pipeOut2, none);
}
{
  const p = newPipe(), outFd = file("tee-file-destination");
  pr = p.readFd;
  write(p.writeFd, "hello");
  report("tee-file-destination", tee(p.readFd, outFd, 5), null, null, p.readFd, outFd, outData, pipeRest);
}
{
  const p = newPipe();
  pr = p.readFd;
  write(p.writeFd, "hello");
  report("tee-same-pipe", tee(p.readFd, p.writeFd, 5), null, null, p.readFd, p.writeFd, none, pipeRest);
}

// --- copy_file_range(2) --------------------------------------------------------------------

function copyCase(name: string, offIn: Offset | null, offOut: Offset | null, seekTo: i64, len: u64, flags: u32): void {
  const inFd = open("src.txt", "r"), outFd = file(name);
  if (seekTo >= 0) seek(inFd, seekTo);
  report(name, copy_file_range(inFd, offIn, outFd, offOut, len, flags), offIn, offOut, inFd, outFd, outData, none);
}
copyCase("copy-offsets", new Offset(3), new Offset(2), -1, 5, 0);
copyCase("copy-positions", null, null, 4, 6, 0);
copyCase("copy-input-offset-only", new Offset(10), null, 2, 4, 0);
copyCase("copy-short", new Offset(18), null, -1, 10, 0);
copyCase("copy-eof", new Offset(20), null, -1, 10, 0);
copyCase("copy-zero", new Offset(3), new Offset(0), -1, 0, 0);
copyCase("copy-flags", new Offset(0), null, -1, 5, 1);
copyCase("copy-negative-offset", new Offset(-1), null, -1, 5, 0);
copyCase("copy-huge-count", new Offset(12), null, -1, HUGE, 0);
copyCase("copy-negative-count", new Offset(12), null, -1, u64.MAX_VALUE, 0);
{
  const fd = file("copy-same-file-overlap");
  close(fd);
  const a = open(outName, "rw");
  write(a, "0123456789");
  const off = new Offset(0), offOut = new Offset(5);
  report("copy-same-file-overlap", copy_file_range(a, off, a, offOut, 10), off, offOut, a, a, outData, none);
}
{
  const p = newPipe(), outFd = file("copy-pipe-source");
  pr = p.readFd;
  write(p.writeFd, "abc");
  report("copy-pipe-source", copy_file_range(p.readFd, null, outFd, null, 3), null, null, p.readFd, outFd, outData, pipeRest);
}
{
  const inFd = open("src.txt", "r"), outFd = open("ro.txt", "r");
  outName = "ro.txt";
  report("copy-read-only-destination", copy_file_range(inFd, null, outFd, null, 3), null, null, inFd, outFd, outData, none);
}
{
  const inFd = open("src.txt", "wo"), outFd = file("copy-write-only-source");
  report("copy-write-only-source", copy_file_range(inFd, null, outFd, null, 3), null, null, inFd, outFd, outData, none);
}

// --- the SDK's loops -----------------------------------------------------------------------

{
  const inFd = open("src.txt", "r"), outFd = file("sendall-to-eof");
  const off = new Offset(4);
  report("sendall-to-eof", sendAll(outFd, inFd, off, u64.MAX_VALUE), off, null, inFd, outFd, outData, none);
}
{
  const inFd = open("big.bin", "r"), outFd = file("sendall-big");
  report("sendall-big", sendAll(outFd, inFd, null, 100000), null, null, inFd, outFd, outData, none);
}
{
  // More than a pipe holds: the first call fills it, the next is EAGAIN, and the progress
  // stays visible in the Offset.
  const inFd = open("big.bin", "r"), p = newPipe(true);
  pr = p.readFd;
  const off = new Offset(0);
  report("sendall-again", sendAll(p.writeFd, inFd, off, 100000), off, null, inFd, p.writeFd, pipeOut, none);
}
{
  const p = newPipe(), outFd = file("spliceall-to-eof");
  pr = p.readFd;
  write(p.writeFd, "hello");
  write(p.writeFd, " world");
  close(p.writeFd);
  report("spliceall-to-eof", spliceAll(p.readFd, null, outFd, null, u64.MAX_VALUE), null, null, p.readFd, outFd, outData, pipeRest);
}
{
  const p = newPipe(), outFd = file("spliceall-again");
  pr = p.readFd;
  write(p.writeFd, "hello");
  const off = new Offset(1);
  report("spliceall-again", spliceAll(p.readFd, null, outFd, off, 1000, SPLICE_F_NONBLOCK), null, off, p.readFd, outFd, outData, pipeRest);
}

// --- the errno names, for the host's table -------------------------------------------------

{
  let names = "";
  for (let e: u16 = 0; e <= 77; e++) names += (e > 0 ? "," : "") + errno.name(e);
  process.stdout.write("errno-names " + names + "\n");
}

// --- sandbox only: checked against the spec (docs/ABI.md, "Errors") ------------------------

process.stdout.write("--- sandbox only\n");
/**
 * The first address past guest memory, read right inside each call's arguments: any
 * allocation in between could grow memory and turn "past the end" into live heap.
 */
function end(): usize { return <usize>memory.size() << 16; }

{
  const inFd = open("src.txt", "r"), outFd = file("fault-offset-straddles-end");
  report("fault-offset-straddles-end", rawResult(raw.sendfile(outFd, inFd, end() - 4, 4, ret)), null, null, inFd, outFd, outData, none);
}
{
  const inFd = open("src.txt", "r"), outFd = file("fault-offset-far");
  report("fault-offset-far", rawResult(raw.sendfile(outFd, inFd, 0xfffffff0, 4, ret)), null, null, inFd, outFd, outData, none);
}
{
  // Had the call run, the file position would have advanced: fault is decided before it.
  const inFd = open("src.txt", "r"), outFd = file("fault-sendfile-result");
  report("fault-sendfile-result", rawResult(raw.sendfile(outFd, inFd, 0, 4, end() - 4)), null, null, inFd, outFd, outData, none);
}
{
  const inFd = open("src.txt", "r"), p = newPipe();
  pr = p.readFd;
  report("fault-splice-offset", rawResult(raw.splice(inFd, end(), p.writeFd, 0, 4, 0, ret)), null, null, inFd, p.writeFd, pipeOut, none);
}
{
  const p = newPipe(), outFd = file("fault-splice-result");
  pr = p.readFd;
  write(p.writeFd, "XYZ");
  report("fault-splice-result", rawResult(raw.splice(p.readFd, 0, outFd, 0, 3, 0, end() - 1)), null, null, p.readFd, outFd, outData, pipeRest);
}
{
  const p = newPipe(), q = newPipe();
  pr = p.readFd; qr = q.readFd;
  write(p.writeFd, "hello");
  report("fault-tee-result", rawResult(raw.tee(p.readFd, q.writeFd, 5, 0, end() - 7)), null, null, p.readFd, q.writeFd, pipeOut2, pipeRest);
}
{
  const inFd = open("src.txt", "r"), outFd = file("fault-copy-result");
  report("fault-copy-result", rawResult(raw.copy_file_range(inFd, 0, outFd, 0, 4, 0, end() - 1)), null, null, inFd, outFd, outData, none);
}

/** pipe with a bad argument: the errno, and how many descriptors appeared meanwhile. */
function pipeCase(name: string, fdflags: u32, pastEnd: bool): void {
  const before = open("src.txt", "r");
  close(before);
  const e = raw.pipe(fdflags, pastEnd ? end() - 4 : ret);
  const after = open("src.txt", "r");
  outName = (<i64>after - <i64>before).toString();
  report(name, e == 0 ? 0 : -(<i64>e), null, null, NOT_HELD, NOT_HELD, (): string => "new-fds:" + outName, none);
}
pipeCase("fault-pipe-result", 0, true);
pipeCase("pipe-unknown-fdflag", 1, false);

function notHeld(name: string, which: i32): void {
  const inFd = open("src.txt", "r"), outFd = file(name), p = newPipe();
  let r: i64 = 0;
  if (which == 0) r = sendfile(outFd, NOT_HELD, null, 4);
  else if (which == 1) r = sendfile(NOT_HELD, inFd, null, 4);
  else if (which == 2) r = splice(NOT_HELD, null, p.writeFd, null, 4);
  else if (which == 3) r = tee(p.readFd, NOT_HELD, 4);
  else r = copy_file_range(inFd, null, NOT_HELD, null, 4);
  report(name, r, null, null, inFd, outFd, outData, none);
}
notHeld("badf-sendfile-source-not-held", 0);
notHeld("badf-sendfile-destination-not-held", 1);
notHeld("badf-splice-not-held", 2);
notHeld("badf-tee-not-held", 3);
notHeld("badf-copy-not-held", 4);

{
  const inFd = open("src.txt", "r"), outFd = file("notcapable-sendfile-without-read");
  dropRight(inFd, R_READ);
  report("notcapable-sendfile-without-read", sendfile(outFd, inFd, null, 4), null, null, inFd, outFd, outData, none);
}
{
  const inFd = open("src.txt", "r"), outFd = file("notcapable-sendfile-offset-without-seek");
  dropRight(inFd, R_SEEK);
  const off = new Offset(2);
  report("notcapable-sendfile-offset-without-seek", sendfile(outFd, inFd, off, 4), off, null, inFd, outFd, outData, none);
}
{
  // fd_seek guards offsets only: the file position of the same descriptor still works.
  const inFd = open("src.txt", "r"), outFd = file("sendfile-position-without-seek");
  dropRight(inFd, R_SEEK);
  report("sendfile-position-without-seek", sendfile(outFd, inFd, null, 4), null, null, inFd, outFd, outData, none);
}
{
  const p = newPipe(), outFd = file("notcapable-splice-without-write");
  pr = p.readFd;
  write(p.writeFd, "XYZ");
  dropRight(outFd, R_WRITE);
  report("notcapable-splice-without-write", splice(p.readFd, null, outFd, null, 3), null, null, p.readFd, outFd, outData, pipeRest);
}
{
  const p = newPipe(), q = newPipe();
  pr = p.readFd; qr = q.readFd;
  write(p.writeFd, "hello");
  dropRight(q.writeFd, R_WRITE);
  report("notcapable-tee-without-write", tee(p.readFd, q.writeFd, 5), null, null, p.readFd, q.writeFd, pipeOut2, pipeRest);
}
{
  const inFd = open("src.txt", "r"), outFd = file("notcapable-copy-without-write");
  dropRight(outFd, R_WRITE);
  report("notcapable-copy-without-write", copy_file_range(inFd, null, outFd, null, 4), null, null, inFd, outFd, outData, none);
}
