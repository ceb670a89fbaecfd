// From a request target to a path beneath the docroot (RFC 9112 3.2, RFC 3986 5.2.4): the
// path of an origin-form or absolute-form target, percent-decoded, with empty, "." and ".."
// segments resolved. Pure: bytes in, bytes out, no allocation, no trap.
//
// This is only a first line: the sandbox is the last word. Files are opened beneath the
// docroot's preopen with openat2(RESOLVE_BENEATH), so even a path this code let through could
// not leave it; a symlink that leads out is refused by the kernel (notcapable).

/** Why a target is refused: every one is 400. */
export const BAD_TARGET: i32 = -400;

function hexValue(c: u32): i32 {
  if (c >= 0x30 && c <= 0x39) return <i32>c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return <i32>l - 0x57;
  return -1;
}

/** Where the path of the target src[0, len) starts: after "http://authority" in absolute-form. */
function pathStart(src: usize, len: u32): i32 {
  if (len > 0 && load<u8>(src) == 0x2f) return 0; // origin-form
  // absolute-form (RFC 9112 3.2.2): a server MUST accept it; the authority is not used.
  let i: u32 = 0;
  const scheme = "https";
  while (i < len && i < 5 && <u32>(load<u8>(src + i) | 0x20) == <u32>scheme.charCodeAt(i)) i++;
  if (i < 4 || len - i < 3 || load<u8>(src + i) != 0x3a || load<u8>(src + i + 1) != 0x2f || load<u8>(src + i + 2) != 0x2f) return -1;
  i += 3;
  while (i < len && load<u8>(src + i) != 0x2f && load<u8>(src + i) != 0x3f) i++;
  return <i32>i;
}

/**
 * Writes the decoded, normalized path of target src[0, len) to dst (at most `cap` bytes):
 * always starting with "/", no empty, "." or ".." segment, a trailing "/" kept. Returns its
 * length, or BAD_TARGET for: a form other than origin or absolute, a bad percent escape, an
 * encoded NUL, a "#", a path that climbs above the root, or one longer than `cap`. The query
 * is ignored.
 */
export function normalizePath(src: usize, len: u32, dst: usize, cap: u32): i32 {
  const ps = pathStart(src, len);
  if (ps < 0 || cap < 1) return BAD_TARGET;
  store<u8>(dst, 0x2f);
  let o: u32 = 1; // dst[0, o) is the output so far; it always ends at a segment boundary + "/"
  let i = <u32>ps;
  // A segment is decoded into dst at o, then resolved when its end is reached.
  let segStart = o;
  let dotsOnly = true, dots = 0;
  while (true) {
    let c: u32 = 0;
    let end = i >= len;
    let escaped = false;
    if (!end) {
      c = load<u8>(src + i);
      if (c == 0x3f) end = true; // the query is ignored
      else if (c == 0x23) return BAD_TARGET; // a fragment has no place in a request
    }
    if (!end && c == 0x25) {
      if (len - i < 3) return BAD_TARGET;
      const h = hexValue(load<u8>(src + i + 1)), l = hexValue(load<u8>(src + i + 2));
      if (h < 0 || l < 0) return BAD_TARGET;
      c = <u32>(h << 4 | l);
      if (c == 0) return BAD_TARGET;
      i += 3;
      escaped = true;
    } else if (!end) i++;
    // An encoded "/" separates segments too, as in nginx: the file system knows no other meaning.
    if (end || c == 0x2f) {
      const seglen = o - segStart;
      if (dotsOnly && seglen > 0 && dots == seglen && seglen <= 2) {
        // "." or "..": drop it, and for ".." the segment before it too.
        o = segStart;
        if (seglen == 2) {
          if (o == 1) return BAD_TARGET; // above the root
          o--; // the "/" that ended the previous segment
          while (o > 1 && load<u8>(dst + o - 1) != 0x2f) o--;
        }
      } else if (seglen > 0) {
        if (!end) {
          if (o >= cap) return BAD_TARGET;
          store<u8>(dst + o++, 0x2f);
        }
      }
      // An empty segment ("//") adds nothing; a trailing "/" is already in place.
      if (end) break;
      segStart = o;
      dotsOnly = true;
      dots = 0;
      continue;
    }
    if (o >= cap) return BAD_TARGET;
    store<u8>(dst + o++, <u8>c);
    if (c == 0x2e) dots++;
    else dotsOnly = false;
    if (escaped) { /* a decoded "." counts as one: %2e%2e is ".." (RFC 3986 6.2.2.2) */ }
  }
  return <i32>o;
}
