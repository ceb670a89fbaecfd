// Conditional requests (RFC 9110 section 13): entity-tags, the four preconditions, and the
// order in which they are evaluated (13.2.2). Pure: header values in, a status out.
import { H, Method, Request } from "./parser";
import { parseHttpDate } from "./date";

/**
 * A strong ETag from the file's modification time (nanoseconds) and size, as nginx's
 * "mtime-size" in hexadecimal; `suffix` tells precompressed variants apart, which are other
 * representations (RFC 9110 8.8.3: a strong validator changes with the representation).
 * Written into etag[0, 64); returns the length.
 */
export function formatEtag(etag: usize, mtimeNs: u64, size: u64, suffix: string): u32 {
  let p = etag;
  store<u8>(p++, 0x22);
  p = hex(p, mtimeNs);
  store<u8>(p++, 0x2d);
  p = hex(p, size);
  for (let i = 0; i < suffix.length; i++) store<u8>(p++, <u8>suffix.charCodeAt(i));
  store<u8>(p++, 0x22);
  return <u32>(p - etag);
}

function hex(p: usize, v: u64): usize {
  let n: usize = 1;
  for (let t = v; t >= 16; t >>= 4) n++;
  let q = p + n;
  do { const d = <u8>(v & 15); store<u8>(--q, d < 10 ? 0x30 + d : 0x57 + d); v >>= 4; } while (v != 0);
  return p + n;
}

function isSpace(c: u32): bool { return c == 0x20 || c == 0x09; }

/**
 * Whether the list of entity-tags base[s, e) (If-Match, If-None-Match: "*" or
 * 1#entity-tag) matches our strong tag etag[0, elen). Weak comparison ignores W/ on both
 * sides; strong comparison never matches a weak tag (RFC 9110 8.8.3.2). A malformed list
 * matches nothing.
 */
export function listMatches(base: usize, s: u32, e: u32, etag: usize, elen: u32, weak: bool): bool {
  let i = s;
  while (i < e) {
    while (i < e && (isSpace(load<u8>(base + i)) || load<u8>(base + i) == 0x2c)) i++;
    if (i >= e) break;
    if (load<u8>(base + i) == 0x2a) { // "*": any current representation
      i++;
      while (i < e && isSpace(load<u8>(base + i))) i++;
      if (i >= e || load<u8>(base + i) == 0x2c) return true;
      return false;
    }
    let isWeak = false;
    if (e - i >= 2 && load<u8>(base + i) == 0x57 && load<u8>(base + i + 1) == 0x2f) { isWeak = true; i += 2; }
    if (i >= e || load<u8>(base + i) != 0x22) return false;
    const ts = i++;
    while (i < e && load<u8>(base + i) != 0x22) i++;
    if (i >= e) return false;
    const te = ++i; // past the closing quote
    while (i < e && isSpace(load<u8>(base + i))) i++;
    if (i < e && load<u8>(base + i) != 0x2c) return false; // not a list element: malformed
    if ((weak || !isWeak) && te - ts == elen && memory.compare(base + ts, etag, elen) == 0) return true;
  }
  return false;
}

/** Whether any line of header `id` matches (lists may be split over several lines). */
function anyLineMatches(r: Request, base: usize, id: H, etag: usize, elen: u32, weak: bool): bool {
  for (let k = r.find(id); k >= 0; k = r.find(id, k + 1)) {
    if (listMatches(base, r.valueStart(k), r.valueEnd(k), etag, elen, weak)) return true;
  }
  return false;
}

/** A date header's value, or -1 when absent, repeated or not an HTTP-date (then it is ignored). */
export function dateHeader(r: Request, base: usize, id: H, now: i64): i64 {
  const k = r.find(id);
  if (k < 0 || r.find(id, k + 1) >= 0) return -1;
  return parseHttpDate(base + r.valueStart(k), r.valueEnd(k) - r.valueStart(k), now);
}

/**
 * Evaluates the preconditions of a GET or HEAD on an existing file in the order of RFC 9110
 * 13.2.2; returns 0 to go on (to ranges), 304 or 412. `mtime` is Last-Modified in seconds.
 */
export function preconditions(r: Request, base: usize, etag: usize, elen: u32, mtime: i64, now: i64): u16 {
  // 1. If-Match, strong comparison; 2. else If-Unmodified-Since.
  if (r.find(H.IF_MATCH) >= 0) {
    if (!anyLineMatches(r, base, H.IF_MATCH, etag, elen, false)) return 412;
  } else {
    const ius = dateHeader(r, base, H.IF_UNMODIFIED_SINCE, now);
    if (ius >= 0 && mtime > ius) return 412;
  }
  // 3. If-None-Match, weak comparison: a match is 304 for GET and HEAD;
  // 4. else If-Modified-Since: not modified since is 304.
  if (r.find(H.IF_NONE_MATCH) >= 0) {
    if (anyLineMatches(r, base, H.IF_NONE_MATCH, etag, elen, true)) return r.method == Method.GET || r.method == Method.HEAD ? 304 : 412;
  } else {
    const ims = dateHeader(r, base, H.IF_MODIFIED_SINCE, now);
    if (ims >= 0 && mtime <= ims) return 304;
  }
  return 0;
}

/**
 * If-Range (RFC 9110 13.1.5): whether the Range applies. An entity-tag must match strongly;
 * a date must equal Last-Modified exactly. Absent, it is true; malformed, false.
 */
export function ifRangeHolds(r: Request, base: usize, etag: usize, elen: u32, mtime: i64, now: i64): bool {
  const k = r.find(H.IF_RANGE);
  if (k < 0) return true;
  const s = r.valueStart(k), e = r.valueEnd(k);
  if (e > s && (load<u8>(base + e - 1) == 0x22)) {
    return e - s == elen && memory.compare(base + s, etag, elen) == 0;
  }
  const d = parseHttpDate(base + s, e - s, now);
  return d >= 0 && d == mtime;
}
