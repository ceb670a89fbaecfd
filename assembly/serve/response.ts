// From a parsed request to a planned response, in nginx's order of small steps: the target
// (target.ts), the file beneath the docroot (files.ts), a directory's redirect, index.html or
// listing (listing.ts), a precompressed variant, the preconditions (conditional.ts), the
// ranges (range.ts), then the head. The plan is a list of segments, memory or a range of the
// open file, which the server sends (server.ts): the file's bytes with sendfile, never through
// guest memory, except its first 16 KiB, kept by the file cache (files.ts), which leave with
// the head in one send: a small file in one host call, a larger one's head and the start of
// its body in the same packets without TCP_CORK (two host calls fewer than cork, send,
// uncork), the rest with sendfile; past CORK_ABOVE, corked until the first sendfile.
import { H, Method, Request, MAX_HEAD } from "./parser";
import { normalizePath } from "./target";
import { File, acquire, release, contents, keptLength, lastError, openStatus, TYPE_DIRECTORY, TYPE_REGULAR } from "./files";
import { acceptedEncodings, BR, GZIP } from "./encoding";
import { formatEtag, preconditions, ifRangeHolds } from "./conditional";
import { Ranges, RangeResult, parseRange, MAX_RANGES } from "./range";
import { contentType } from "./mime";
import { Out } from "./out";
import { statusLine, endHead, errorPage, errorPageLength } from "./head";
import { writeHttpDate } from "./date";
import { wallNow } from "./clock";
import { buildListing, listingLength, urlEncode } from "./listing";
import * as log from "./log";

/** Room for the head: a Location may be a whole target percent-encoded. */
export const HEAD_CAP: usize = 4096 + 3 * MAX_HEAD;
export const MAX_SEGS = 2 * MAX_RANGES + 2;
export const SEG_MEM: u8 = 0, SEG_FILE: u8 = 1;
/**
 * A response whose file part after the kept start is larger than this is corked until its
 * first sendfile (CORK_START): the head and the kept start then wait for the file's bytes and
 * leave in full packets, where uncorked they go at once as a short packet of their own
 * (TCP_NODELAY). Uncorked, 1 MiB files to wrk (16 connections) cost the client twice the CPU
 * per response, at 0.75x the requests per second. Below it, the two host calls saved win.
 *
 * The cork goes after that first sendfile, not at the end of the response: held while
 * sendfile refills a socket that a fast client drains (a 1 GiB download over loopback,
 * spliced to /dev/null), it cost 35-40% more CPU at both ends and 1.35x the time, in this
 * guest and in a plain C sendfile loop alike (nginx's tcp_nopush pays it too; Bun, which never
 * corks, does not), while on 1 MiB files, and with curl reading the 1 GiB, lifting it after
 * the first sendfile changed nothing measurable (bench (h)).
 */
const CORK_ABOVE: u64 = 256 * 1024;
/** How long a response keeps its connection corked (Response.cork). */
export const CORK_NONE: u8 = 0, CORK_START: u8 = 1, CORK_WHOLE: u8 = 2;

@final export class Response {
  status: u16 = 0;
  keepAlive: bool = true;
  /** The head (and an error page after it). */
  readonly buf: usize = heap.alloc(HEAD_CAP);
  /** The file the FILE segments read from and MEM segments may point into, held until release(). */
  file: File | null = null;
  /** A heap block the MEM segments point into (a listing, multipart headers), freed by release(). */
  extra: usize = 0;
  nseg: i32 = 0;
  cur: i32 = 0;
  readonly kind: StaticArray<u8> = new StaticArray<u8>(MAX_SEGS);
  /** Per segment: a memory address or a file offset, and the bytes still to send. */
  readonly pos: StaticArray<u64> = new StaticArray<u64>(MAX_SEGS);
  readonly left: StaticArray<u64> = new StaticArray<u64>(MAX_SEGS);
  headLen: u64 = 0;
  /** Bytes sent so far, head included. */
  sent: u64 = 0;
  /**
   * Whether the connection is corked (tcp(7) TCP_CORK, nginx's tcp_nopush) so that the head
   * shares full packets with the file: CORK_START until the first sendfile has queued file
   * bytes behind the head (see CORK_ABOVE for why not longer), CORK_WHOLE to the end of the
   * response (multipart: small part headers sit between the file ranges).
   */
  cork: u8 = CORK_NONE;
  /** It cannot be sent (the file changed under it): the connection is closed instead. */
  abort: bool = false;

  mem(p: usize, n: u64): void {
    if (n == 0) return;
    const i = this.nseg++;
    unchecked(this.kind[i] = SEG_MEM);
    unchecked(this.pos[i] = <u64>p);
    unchecked(this.left[i] = n);
  }

  fileRange(offset: u64, n: u64): void {
    if (n == 0) return;
    const i = this.nseg++;
    unchecked(this.kind[i] = SEG_FILE);
    unchecked(this.pos[i] = offset);
    unchecked(this.left[i] = n);
  }

  /** Bytes of body sent, for the log ($body_bytes_sent). */
  get bodySent(): u64 { return this.sent > this.headLen ? this.sent - this.headLen : 0; }

  release(): void {
    const f = this.file;
    if (f !== null) { release(f); this.file = null; }
    if (this.extra != 0) heap.free(this.extra);
    this.extra = 0;
  }

  reset(): void {
    this.release();
    this.status = 0;
    this.nseg = 0;
    this.cur = 0;
    this.headLen = 0;
    this.sent = 0;
    this.cork = CORK_NONE;
    this.abort = false;
  }
}

// The server's settings (options.ts fills them).
export let docroot: u32 = 0;
export let listDirectories = false;
export function configure(root: u32, list: bool): void { docroot = root; listDirectories = list; }

/** The decoded path, with room for "index.html" or ".br" after it. */
const PATH_CAP: u32 = MAX_HEAD + 16;
const path = heap.alloc(PATH_CAP + 16);
const etag = memory.data(64);
let etagLen: u32 = 0;
const out = new Out();
const ranges = new Ranges();
/** Where each multipart part's header starts in the response's block, and the closing boundary. */
const partStarts = new StaticArray<usize>(MAX_RANGES + 1);
let boundarySeed: u64 = 0;
let boundaryCount: u64 = 0;
export function seedBoundary(seed: u64): void { boundarySeed = seed; }

/** Plans the response to request `r`, whose head is in `base`. */
export function respond(res: Response, r: Request, base: usize): void {
  res.reset();
  res.keepAlive = r.keepAlive;
  out.reset(res.buf, HEAD_CAP);
  if (r.error != 0) { simple(res, r, r.error); return; }
  if (r.method == Method.OTHER) { simple(res, r, 405); return; }
  const n = normalizePath(base + r.targetStart, r.targetEnd - r.targetStart, path, PATH_CAP);
  if (n < 0) { simple(res, r, 400); return; }
  let plen = <u32>n;
  let f = open(plen);
  if (f === null) { simple(res, r, openStatus(lastError)); return; }
  if (f.type == TYPE_DIRECTORY) {
    if (load<u8>(path + plen - 1) != 0x2f) {
      release(f);
      redirect(res, r, base, plen);
      return;
    }
    // "/dir/": its index.html, else the listing (--list) or 403.
    const indexName = "index.html";
    for (let i = 0; i < indexName.length; i++) store<u8>(path + plen + i, <u8>indexName.charCodeAt(i));
    const index = open(plen + indexName.length);
    if (index !== null && index.type == TYPE_REGULAR) {
      release(f);
      f = index;
      plen += indexName.length;
    } else {
      const ie = index === null ? lastError : 0;
      if (index !== null) release(index);
      if (ie != 0 && openStatus(ie) != 404) { release(f); simple(res, r, openStatus(ie)); return; }
      if (!listDirectories) { release(f); simple(res, r, 403); return; }
      listing(res, r, f, plen);
      return;
    }
  }
  if (f.type != TYPE_REGULAR) { release(f); simple(res, r, 404); return; }
  serveFile(res, r, base, f, plen);
}

/** The file at path[0, len) beneath the docroot, held: "/" is the docroot itself. */
function open(len: u32): File | null {
  if (len == 1) { store<u8>(path + 1, 0x2e); return acquire(docroot, path + 1, 1); }
  return acquire(docroot, path + 1, len - 1);
}

/** An error or redirect page: the status line, its own fields, the page. */
function simple(res: Response, r: Request, status: u16): void {
  res.status = status;
  // A malformed head leaves the connection's framing in doubt: it is closed (RFC 9112 9.6).
  if (status == 400 || status == 431 || status == 505 || status == 408) res.keepAlive = false;
  statusLine(out, status);
  if (status == 405) out.str("Allow: GET, HEAD\r\n");
  finishPage(res, r, status);
}

function finishPage(res: Response, r: Request, status: u16): void {
  out.str("Content-Type: text/html; charset=utf-8\r\nContent-Length: ").dec(errorPageLength(status)).crlf();
  endHead(out, res.keepAlive, r.minor);
  res.headLen = out.length;
  if (r.method != Method.HEAD) errorPage(out, status);
  finish(res);
}

/** The whole of `out` as the response's one memory segment. */
function finish(res: Response): void {
  if (!out.ok) { res.abort = true; return; }
  res.mem(out.start, out.length);
}

/** 301 to the directory's URL with a "/" (nginx's static module), keeping the query. */
function redirect(res: Response, r: Request, base: usize, plen: u32): void {
  res.status = 301;
  statusLine(out, 301);
  out.str("Location: ");
  urlEncode(out, path, plen, true);
  out.byte(0x2f);
  for (let i = r.targetStart; i < r.targetEnd; i++) {
    if (load<u8>(base + i) == 0x3f) { out.bytes(base + i, r.targetEnd - i); break; }
  }
  out.crlf();
  if (!out.ok) { out.reset(res.buf, HEAD_CAP); simple(res, r, 414); return; }
  finishPage(res, r, 301);
}

function listing(res: Response, r: Request, dir: File, plen: u32): void {
  const page = buildListing(<u32>dir.fd, path, plen);
  release(dir);
  if (page == 0) { simple(res, r, 500); return; }
  res.extra = page;
  res.status = 200;
  statusLine(out, 200);
  out.str("Content-Type: text/html; charset=utf-8\r\nContent-Length: ").dec(listingLength).crlf();
  endHead(out, res.keepAlive, r.minor);
  res.headLen = out.length;
  finish(res);
  if (r.method != Method.HEAD) res.mem(page, listingLength);
}

/** Last-Modified, ETag, Accept-Ranges (not on a 304: nothing follows it to take a range of), the encoding. */
function fileFields(res: Response, mtime: i64, encoding: u32): void {
  out.str("Last-Modified: ");
  writeHttpDate(out, mtime);
  out.str("\r\nETag: ").bytes(etag, etagLen).crlf();
  if (res.status != 304) out.str("Accept-Ranges: bytes\r\n");
  if (encoding != 0) out.str(encoding == BR ? "Content-Encoding: br\r\n" : "Content-Encoding: gzip\r\n");
  if (encoding != 0) out.str("Vary: Accept-Encoding\r\n");
}

function serveFile(res: Response, r: Request, base: usize, file: File, plen: u32): void {
  // A precompressed FILE.br / FILE.gz beside FILE, when the client takes it.
  let f = file;
  let encoding: u32 = 0;
  const accepted = r.find(H.ACCEPT_ENCODING) >= 0 ? acceptedEncodings(r, base) : 0;
  for (let k: u32 = 0; k < 2; k++) {
    const enc = (accepted >> (2 * k)) & 3;
    if (enc == 0) break;
    store<u8>(path + plen, 0x2e);
    if (enc == BR) { store<u8>(path + plen + 1, 0x62); store<u8>(path + plen + 2, 0x72); }
    else { store<u8>(path + plen + 1, 0x67); store<u8>(path + plen + 2, 0x7a); }
    const v = open(plen + 3);
    if (v !== null && v.type == TYPE_REGULAR) {
      release(f);
      f = v;
      encoding = enc;
      break;
    }
    if (v !== null) release(v);
  }
  res.file = f; // held by the response from here on, released with it
  const ctype = contentType(path, plen);
  const size = f.size;
  etagLen = formatEtag(etag, f.mtimeNs, size, encoding == BR ? "-br" : encoding == GZIP ? "-gz" : "");
  const mtime = <i64>(f.mtimeNs / 1_000_000_000);

  const pre = preconditions(r, base, etag, etagLen, mtime, wallNow);
  if (pre == 304) {
    res.status = 304;
    statusLine(out, 304);
    fileFields(res, mtime, encoding);
    endHead(out, res.keepAlive, r.minor);
    res.headLen = out.length;
    finish(res);
    return;
  }
  if (pre != 0) { simple(res, r, pre); return; }

  // Ranges apply to GET only (RFC 9110 14.2), when If-Range allows; a repeated Range is ignored.
  let rr = RangeResult.IGNORE;
  const k = r.method == Method.GET ? r.find(H.RANGE) : -1;
  if (k >= 0 && r.find(H.RANGE, k + 1) < 0 && ifRangeHolds(r, base, etag, etagLen, mtime, wallNow)) {
    rr = parseRange(base, r.valueStart(k), r.valueEnd(k), size, ranges);
  }
  if (rr == RangeResult.UNSATISFIABLE) {
    res.status = 416;
    statusLine(out, 416);
    out.str("Content-Range: bytes */").dec(size).crlf();
    finishPage(res, r, 416);
    return;
  }
  if (rr == RangeResult.OK && ranges.count > 1) { multipart(res, r, ctype, size, mtime, encoding); return; }

  let start: u64 = 0, length = size;
  res.status = 200;
  if (rr == RangeResult.OK) { start = unchecked(ranges.starts[0]); length = unchecked(ranges.ends[0]) - start; res.status = 206; }
  statusLine(out, res.status);
  out.str("Content-Type: ").str(ctype).str("\r\nContent-Length: ").dec(length).crlf();
  if (res.status == 206) out.str("Content-Range: bytes ").dec(start).byte(0x2d).dec(start + length - 1).byte(0x2f).dec(size).crlf();
  fileFields(res, mtime, encoding);
  endHead(out, res.keepAlive, r.minor);
  res.headLen = out.length;
  if (!out.ok) { res.abort = true; return; }
  finish(res);
  if (r.method == Method.HEAD || length == 0) return;
  const kept = keptLength(f);
  if (start < kept) {
    // The kept start of the file goes with the head in one send; the rest with sendfile.
    const body = contents(f);
    if (body == 0) { res.abort = true; return; }
    const n = length < kept - start ? length : kept - start;
    res.mem(body + <usize>start, n);
    res.fileRange(start + n, length - n);
    if (length - n > CORK_ABOVE) res.cork = CORK_START;
    return;
  }
  res.cork = CORK_START;
  res.fileRange(start, length);
}

/** 206 multipart/byteranges (RFC 9110 14.6): each part's header, then its bytes with sendfile. */
function multipart(res: Response, r: Request, ctype: string, size: u64, mtime: i64, encoding: u32): void {
  res.status = 206;
  res.cork = CORK_WHOLE;
  const boundaryDigits = 20;
  const b = boundarySeed + boundaryCount++;
  // "\r\n--" B "\r\nContent-Type: " T "\r\nContent-Range: bytes " a "-" b "/" size "\r\n\r\n", and the end "\r\n--" B "--\r\n".
  const per: usize = 4 + boundaryDigits + 16 + <usize>ctype.length + 23 + 3 * 20 + 6;
  const cap = per * <usize>ranges.count + 32;
  const block = heap.alloc(cap);
  res.extra = block;
  const parts = new Out().reset(block, cap);
  // Segments: head, then per part its header and its bytes, then the closing boundary.
  let body: u64 = 0;
  for (let i = 0; i < ranges.count; i++) {
    const s = unchecked(ranges.starts[i]), e = unchecked(ranges.ends[i]);
    unchecked(partStarts[i] = parts.pos);
    parts.str("\r\n--").dec0(b, boundaryDigits).str("\r\nContent-Type: ").str(ctype)
      .str("\r\nContent-Range: bytes ").dec(s).byte(0x2d).dec(e - 1).byte(0x2f).dec(size).str("\r\n\r\n");
    body += e - s;
  }
  unchecked(partStarts[ranges.count] = parts.pos);
  parts.str("\r\n--").dec0(b, boundaryDigits).str("--\r\n");
  if (!parts.ok) { res.abort = true; return; }
  body += parts.length;
  statusLine(out, 206);
  out.str("Content-Type: multipart/byteranges; boundary=").dec0(b, boundaryDigits).str("\r\nContent-Length: ").dec(body).crlf();
  fileFields(res, mtime, encoding);
  endHead(out, res.keepAlive, r.minor);
  res.headLen = out.length;
  finish(res);
  for (let i = 0; i < ranges.count; i++) {
    const s = unchecked(ranges.starts[i]), e = unchecked(ranges.ends[i]);
    res.mem(unchecked(partStarts[i]), unchecked(partStarts[i + 1]) - unchecked(partStarts[i]));
    res.fileRange(s, e - s);
  }
  res.mem(unchecked(partStarts[ranges.count]), parts.pos - unchecked(partStarts[ranges.count]));
}
