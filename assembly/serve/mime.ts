// Content-Type by file extension, from the table scripts/gen-mime.js generates out of mime-db.
// The lookup compares the path's bytes in place (lowercased), so it allocates nothing.
import { EXTENSIONS, TYPE_OF, TYPES } from "./mime_table";

export const DEFAULT_TYPE = "application/octet-stream";

/** -1, 0 or 1 as the extension path[s, e), lowercased, sorts before, equal to or after `ext`. */
function compare(path: usize, s: u32, e: u32, ext: string): i32 {
  const n = <u32>ext.length;
  const m = e - s;
  for (let i: u32 = 0; i < m && i < n; i++) {
    let c = <u32>load<u8>(path + s + i);
    if (c >= 0x41 && c <= 0x5a) c |= 0x20;
    const d = <u32>ext.charCodeAt(i);
    if (c != d) return c < d ? -1 : 1;
  }
  return m == n ? 0 : m < n ? -1 : 1;
}

/** The Content-Type for the file named path[0, len): by its last extension, else octet-stream. */
export function contentType(path: usize, len: u32): string {
  let dot: i32 = -1;
  for (let i = <i32>len - 1; i >= 0; i--) {
    const c = load<u8>(path + i);
    if (c == 0x2f) break;
    if (c == 0x2e) { dot = i; break; }
  }
  if (dot < 0 || <u32>dot + 1 >= len) return DEFAULT_TYPE;
  let lo = 0, hi = EXTENSIONS.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const c = compare(path, <u32>dot + 1, len, unchecked(EXTENSIONS[mid]));
    if (c == 0) return unchecked(TYPES[unchecked(TYPE_OF[mid])]);
    if (c < 0) hi = mid - 1;
    else lo = mid + 1;
  }
  return DEFAULT_TYPE;
}
