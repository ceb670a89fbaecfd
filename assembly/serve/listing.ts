// The directory listing of --list: an HTML page with the entries' names (escaped, as text
// and as links), their sizes, sorted byte-wise; names starting with "." are left out, as
// nginx's autoindex does, and so are entries the sandbox will not stat (a symlink that leads
// out of the docroot). Rare, so it may allocate; the page is built in a heap block the
// response frees once sent.
import { fd_readdir, path_filestat_get, filestat } from "bindings/wasi_snapshot_preview1";
import { Out } from "./out";
import { TYPE_DIRECTORY } from "./files";

/** No page lists more entries than this (the rest are counted, not shown). */
const MAX_ENTRIES = 10000;

class Entry {
  constructor(public name: ArrayBuffer, public dir: bool, public size: u64) {}
}

function compareNames(a: Entry, b: Entry): i32 {
  const n = min(a.name.byteLength, b.name.byteLength);
  const c = memory.compare(changetype<usize>(a.name), changetype<usize>(b.name), n);
  return c != 0 ? c : a.name.byteLength - b.name.byteLength;
}

const DIRENT = 24; // next u64, ino u64, namlen u32, type u8, padding
const stat = memory.data(64);

/** Text for HTML: & < > " ' as entities. */
function html(out: Out, p: usize, n: u32): void {
  for (let i: u32 = 0; i < n; i++) {
    const c = <u32>load<u8>(p + i);
    if (c == 0x26) out.str("&amp;");
    else if (c == 0x3c) out.str("&lt;");
    else if (c == 0x3e) out.str("&gt;");
    else if (c == 0x22) out.str("&quot;");
    else if (c == 0x27) out.str("&#39;");
    else out.byte(c);
  }
}

/** A path segment for a URL: every byte but RFC 3986's unreserved ones percent-encoded. */
export function urlEncode(out: Out, p: usize, n: u32, keepSlash: bool): void {
  for (let i: u32 = 0; i < n; i++) {
    const c = <u32>load<u8>(p + i);
    const l = c | 0x20;
    if ((l >= 0x61 && l <= 0x7a) || (c >= 0x30 && c <= 0x39) || c == 0x2d || c == 0x2e || c == 0x5f || c == 0x7e ||
      (keepSlash && c == 0x2f)) out.byte(c);
    else {
      const h = c >> 4, lo = c & 15;
      out.byte(0x25).byte(h < 10 ? 0x30 + h : 0x37 + h).byte(lo < 10 ? 0x30 + lo : 0x37 + lo);
    }
  }
}

/**
 * Builds the listing of directory `fd`, whose URL path is path[0, len) (ending in "/"), in a
 * new heap block. Returns the block (the caller frees it) and sets `listingLength`; 0 when
 * the directory cannot be read.
 */
export let listingLength: u32 = 0;
export function buildListing(fd: u32, path: usize, len: u32): usize {
  const entries = new Array<Entry>();
  let more = 0;
  const bufSize: usize = 65536;
  const buf = heap.alloc(bufSize);
  const used = memory.data(8);
  let cookie: u64 = 0;
  let failed = false;
  while (true) {
    if (fd_readdir(fd, buf, bufSize, cookie, used) != 0) { failed = true; break; }
    const n = <usize>load<u32>(used);
    let p: usize = 0;
    let progressed = false;
    // A record cut off at the buffer's end is read again from its cookie (fd_readdir's contract).
    while (p + DIRENT <= n) {
      const namlen = <usize>load<u32>(buf + p, 16);
      if (p + DIRENT + namlen > n) break;
      cookie = load<u64>(buf + p);
      progressed = true;
      const name = buf + p + DIRENT;
      p += <usize>DIRENT + namlen;
      if (namlen == 0 || load<u8>(name) == 0x2e) continue;
      if (path_filestat_get(fd, 1, name, namlen, changetype<filestat>(stat)) != 0) continue;
      if (entries.length == MAX_ENTRIES) { more++; continue; }
      const copy = new ArrayBuffer(<i32>namlen);
      memory.copy(changetype<usize>(copy), name, namlen);
      entries.push(new Entry(copy, load<u8>(stat, 16) == TYPE_DIRECTORY, load<u64>(stat, 32)));
    }
    if (n < bufSize || !progressed) break;
  }
  heap.free(buf);
  if (failed) return 0;
  entries.sort(compareNames);

  // Each entry costs at most 9 bytes per name byte (3 for the link, 6 for the text) plus markup.
  let cap: usize = 1024 + 12 * <usize>len;
  for (let i = 0; i < entries.length; i++) cap += 128 + 9 * <usize>entries[i].name.byteLength;
  const page = heap.alloc(cap);
  const out = new Out().reset(page, cap);
  out.str("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Index of ");
  html(out, path, len);
  out.str("</title></head>\n<body><h1>Index of ");
  html(out, path, len);
  out.str("</h1><table>\n");
  if (len > 1) out.str("<tr><td><a href=\"../\">../</a></td><td></td></tr>\n");
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    const p = changetype<usize>(e.name), n = <u32>e.name.byteLength;
    out.str("<tr><td><a href=\"");
    urlEncode(out, p, n, false);
    if (e.dir) out.byte(0x2f);
    out.str("\">");
    html(out, p, n);
    if (e.dir) out.byte(0x2f);
    out.str("</a></td><td>");
    if (e.dir) out.byte(0x2d);
    else out.dec(e.size);
    out.str("</td></tr>\n");
  }
  out.str("</table>");
  if (more > 0) out.str("<p>").dec(more).str(" more entries not shown</p>");
  out.str("</body></html>\n");
  listingLength = out.length;
  return page;
}
