// Range requests (RFC 9110 section 14) on one representation of `size` bytes. Where the RFC
// leaves the choice, as nginx's range filter: a syntax error or no satisfiable range is 416; a
// set of ranges larger in total than the file (overlaps) is ignored, as is a unit other than
// bytes. Pure and bounded: at most MAX_RANGES ranges, no allocation.

export const MAX_RANGES = 64;

export const enum RangeResult { IGNORE = 0, OK = 1, UNSATISFIABLE = 2 }

@final export class Ranges {
  count: i32 = 0;
  /** First byte and one past the last, per range, in the order asked. */
  readonly starts: StaticArray<u64> = new StaticArray<u64>(MAX_RANGES);
  readonly ends: StaticArray<u64> = new StaticArray<u64>(MAX_RANGES);
  total: u64 = 0;
}

function isSpace(c: u32): bool { return c == 0x20 || c == 0x09; }
function isDigit(c: u32): bool { return c >= 0x30 && c <= 0x39; }

/** 18 digits at most: any file size fits, and no value overflows. */
const MAX_DIGITS = 18;

/**
 * Parses the Range value base[s, e) against a representation of `size` bytes (ranges-specifier,
 * RFC 9110 14.1.1): "bytes=" then first-last, first- (open-ended) or -suffix, comma-separated.
 * Ranges starting past the end are dropped (14.1.1: unsatisfiable); the others are clipped to
 * the size.
 */
export function parseRange(base: usize, s: u32, e: u32, size: u64, out: Ranges): RangeResult {
  out.count = 0;
  out.total = 0;
  // The unit is case-insensitive (14.1); anything but bytes is ignored (14.2).
  if (e - s < 7) return RangeResult.IGNORE;
  const unit = "bytes=";
  for (let i = 0; i < 6; i++) if (<u32>(load<u8>(base + s + i) | 0x20) != <u32>unit.charCodeAt(i)) return RangeResult.IGNORE;
  let i = s + 6;
  while (true) {
    while (i < e && isSpace(load<u8>(base + i))) i++;
    let first: u64 = 0, last: u64 = 0, n = 0;
    let suffix = false, open = false;
    if (i < e && load<u8>(base + i) == 0x2d) {
      suffix = true;
      i++;
    } else {
      for (n = 0; i < e && isDigit(load<u8>(base + i)); i++, n++) {
        if (n == MAX_DIGITS) return RangeResult.UNSATISFIABLE;
        first = first * 10 + (load<u8>(base + i) - 0x30);
      }
      if (n == 0) return RangeResult.UNSATISFIABLE;
      while (i < e && isSpace(load<u8>(base + i))) i++;
      if (i >= e || load<u8>(base + i) != 0x2d) return RangeResult.UNSATISFIABLE;
      i++;
      while (i < e && isSpace(load<u8>(base + i))) i++;
      if (i >= e || load<u8>(base + i) == 0x2c) open = true;
    }
    if (!open) {
      for (n = 0; i < e && isDigit(load<u8>(base + i)); i++, n++) {
        if (n == MAX_DIGITS) return RangeResult.UNSATISFIABLE;
        last = last * 10 + (load<u8>(base + i) - 0x30);
      }
      if (n == 0) return RangeResult.UNSATISFIABLE;
      while (i < e && isSpace(load<u8>(base + i))) i++;
      if (i < e && load<u8>(base + i) != 0x2c) return RangeResult.UNSATISFIABLE;
    }
    // [start, end)
    let start: u64, end: u64;
    if (suffix) {
      // The last `last` bytes (a suffix of 0 selects nothing: unsatisfiable).
      start = last < size ? size - last : 0;
      end = size;
      if (last == 0) start = size;
    } else {
      start = first;
      end = open || last >= size ? size : last + 1;
      if (!open && last < first) return RangeResult.UNSATISFIABLE; // first > last: invalid
    }
    if (start < end) {
      if (out.count == MAX_RANGES) return RangeResult.IGNORE;
      unchecked(out.starts[out.count] = start);
      unchecked(out.ends[out.count] = end);
      out.count++;
      out.total += end - start;
    }
    if (i >= e) break;
    i++; // the comma
  }
  if (out.count == 0) return RangeResult.UNSATISFIABLE;
  // Overlapping ranges that ask for more than the whole file: a denial of service more than a
  // request (14.2, "MAY ignore"); nginx serves the whole file instead.
  if (out.count > 1 && out.total > size) return RangeResult.IGNORE;
  return RangeResult.OK;
}
