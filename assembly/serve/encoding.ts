// Accept-Encoding (RFC 9110 12.5.3), only as far as precompressed files need: whether the
// client takes br, and gzip. Pure, no allocation.
import { H, Request, equalsLower } from "./parser";

export const BR: u32 = 1, GZIP: u32 = 2;

/**
 * A quality value's weight in thousandths (RFC 9110 12.4.2: qvalue = 0[.ddd] / 1[.000]), or
 * -1 when malformed. base[s, e) is the value after "q=".
 */
function qvalue(base: usize, s: u32, e: u32): i32 {
  if (s >= e) return -1;
  const d = <i32>load<u8>(base + s) - 0x30;
  if (d < 0 || d > 1) return -1;
  let v = d * 1000;
  if (e - s == 1) return v;
  if (load<u8>(base + s + 1) != 0x2e || e - s > 5) return -1;
  let scale = 100;
  for (let i = s + 2; i < e; i++, scale /= 10) {
    const x = <i32>load<u8>(base + i) - 0x30;
    if (x < 0 || x > 9) return -1;
    v += x * scale;
  }
  return v > 1000 ? -1 : v;
}

function isSpace(c: u32): bool { return c == 0x20 || c == 0x09; }

/**
 * The precompressed encodings the client accepts, in the order to try them: the first in
 * bits 0-1, the second in bits 2-3 (BR, GZIP, or 0 for none). br comes first unless gzip has
 * the higher weight. A coding with q=0 is refused; "*" stands for those not named.
 */
export function acceptedEncodings(r: Request, base: usize): u32 {
  let br: i32 = -1, gz: i32 = -1, star: i32 = -1;
  for (let k = r.find(H.ACCEPT_ENCODING); k >= 0; k = r.find(H.ACCEPT_ENCODING, k + 1)) {
    const e = r.valueEnd(k);
    let i = r.valueStart(k);
    while (i < e) {
      while (i < e && (isSpace(load<u8>(base + i)) || load<u8>(base + i) == 0x2c)) i++;
      const ts = i;
      while (i < e && load<u8>(base + i) != 0x2c && load<u8>(base + i) != 0x3b && !isSpace(load<u8>(base + i))) i++;
      const te = i;
      let q = 1000;
      // Parameters: only q matters; OWS ";" OWS "q=" qvalue.
      while (i < e && load<u8>(base + i) != 0x2c) {
        while (i < e && (isSpace(load<u8>(base + i)) || load<u8>(base + i) == 0x3b)) i++;
        const ps = i;
        while (i < e && load<u8>(base + i) != 0x2c && load<u8>(base + i) != 0x3b && !isSpace(load<u8>(base + i))) i++;
        if (i - ps >= 2 && (load<u8>(base + ps) | 0x20) == 0x71 && load<u8>(base + ps + 1) == 0x3d) q = qvalue(base, ps + 2, i);
      }
      if (q < 0) continue;
      if (equalsLower(base, ts, te, "br")) br = q;
      else if (equalsLower(base, ts, te, "gzip") || equalsLower(base, ts, te, "x-gzip")) gz = q;
      else if (te - ts == 1 && load<u8>(base + ts) == 0x2a) star = q;
    }
  }
  if (br < 0) br = star;
  if (gz < 0) gz = star;
  const okBr = br > 0, okGz = gz > 0;
  if (okBr && okGz) return gz > br ? GZIP | BR << 2 : BR | GZIP << 2;
  return (okBr ? BR : 0) | (okGz ? GZIP : 0);
}
