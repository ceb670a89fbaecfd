// HTTP dates (RFC 9110 section 5.6.7): IMF-fixdate written, all three formats read; and the
// common log format's time. Seconds since the epoch, UTC; the guest knows no time zone.
import { Out } from "./out";

const DAYS = "SunMonTueWedThuFriSat";
const MONTHS = "JanFebMarAprMayJunJulAugSepOctNovDec";

/** Days since 1970-01-01 of a civil date (Howard Hinnant's days_from_civil). */
function daysFromCivil(y: i64, m: i64, d: i64): i64 {
  y -= m <= 2 ? 1 : 0;
  const era = (y >= 0 ? y : y - 399) / 400;
  const yoe = y - era * 400;
  const doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

// civilFromDays' results, to avoid allocating a tuple.
let cy: i64 = 0, cm: i32 = 0, cd: i32 = 0;
function civilFromDays(z: i64): void {
  z += 719468;
  const era = (z >= 0 ? z : z - 146096) / 146097;
  const doe = z - era * 146097;
  const yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const mp = (5 * doy + 2) / 153;
  cd = <i32>(doy - (153 * mp + 2) / 5 + 1);
  cm = <i32>(mp < 10 ? mp + 3 : mp - 9);
  cy = yoe + era * 400 + (cm <= 2 ? 1 : 0);
}

function name3(out: Out, table: string, i: i32): void {
  out.byte(table.charCodeAt(i * 3)).byte(table.charCodeAt(i * 3 + 1)).byte(table.charCodeAt(i * 3 + 2));
}

/** IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" (29 bytes). */
export function writeHttpDate(out: Out, t: i64): void {
  const days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
  const secs = t - days * 86400;
  civilFromDays(days);
  name3(out, DAYS, <i32>((days % 7 + 11) % 7)); // 1970-01-01 was a Thursday
  out.byte(0x2c).byte(0x20).dec0(cd, 2).byte(0x20);
  name3(out, MONTHS, cm - 1);
  out.byte(0x20).dec0(<u64>cy, 4).byte(0x20).dec0(secs / 3600, 2).byte(0x3a).dec0(secs / 60 % 60, 2).byte(0x3a).dec0(secs % 60, 2).str(" GMT");
}

/** The common log format's time: "10/Oct/2000:13:55:36 +0000" (26 bytes). */
export function writeLogDate(out: Out, t: i64): void {
  const days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
  const secs = t - days * 86400;
  civilFromDays(days);
  out.dec0(cd, 2).byte(0x2f);
  name3(out, MONTHS, cm - 1);
  out.byte(0x2f).dec0(<u64>cy, 4).byte(0x3a).dec0(secs / 3600, 2).byte(0x3a).dec0(secs / 60 % 60, 2).byte(0x3a).dec0(secs % 60, 2).str(" +0000");
}

// ---- parsing: every read is checked against `end`; anything malformed is -1 --------------------

/** A month from its three-letter name at p (case-sensitive, as the grammar), 1..12, or 0. */
function month(p: usize): i32 {
  for (let i = 0; i < 12; i++) {
    if (<u32>load<u8>(p) == <u32>MONTHS.charCodeAt(i * 3) && <u32>load<u8>(p, 1) == <u32>MONTHS.charCodeAt(i * 3 + 1) &&
      <u32>load<u8>(p, 2) == <u32>MONTHS.charCodeAt(i * 3 + 2)) return i + 1;
  }
  return 0;
}

function digits(p: usize, n: i32): i32 {
  let v = 0;
  for (let i = 0; i < n; i++) {
    const c = <i32>load<u8>(p + i) - 0x30;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/** "HH:MM:SS" at p as seconds into the day, or -1. */
function timeOfDay(p: usize): i64 {
  const h = digits(p, 2), m = digits(p + 3, 2), s = digits(p + 6, 2);
  if (h < 0 || m < 0 || s < 0 || load<u8>(p, 2) != 0x3a || load<u8>(p, 5) != 0x3a || h > 23 || m > 59 || s > 60) return -1;
  return <i64>h * 3600 + m * 60 + s;
}

function isAlpha(c: u32): bool { return (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a; }

function assemble(y: i32, mo: i32, d: i32, tod: i64): i64 {
  if (y < 0 || mo == 0 || d < 1 || d > 31 || tod < 0) return -1;
  return daysFromCivil(y, mo, d) * 86400 + tod;
}

/**
 * An HTTP-date in any of the three formats a recipient must accept (RFC 9110 5.6.7):
 * IMF-fixdate, the obsolete RFC 850 form and asctime's; seconds since the epoch, or -1.
 * `now` places RFC 850's two-digit years: one more than 50 years ahead is the previous century.
 */
export function parseHttpDate(p: usize, len: usize, now: i64): i64 {
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
  if (len == 29 && load<u8>(p, 3) == 0x2c) {
    if (load<u8>(p, 4) != 0x20 || load<u8>(p, 7) != 0x20 || load<u8>(p, 11) != 0x20 || load<u8>(p, 16) != 0x20 ||
      load<u8>(p, 25) != 0x20 || load<u8>(p, 26) != 0x47 || load<u8>(p, 27) != 0x4d || load<u8>(p, 28) != 0x54) return -1;
    return assemble(digits(p + 12, 4), month(p + 8), digits(p + 5, 2), timeOfDay(p + 17));
  }
  // asctime: "Sun Nov  6 08:49:37 1994"
  if (len == 24 && load<u8>(p, 3) == 0x20) {
    if (load<u8>(p, 7) != 0x20 || load<u8>(p, 10) != 0x20 || load<u8>(p, 19) != 0x20) return -1;
    const d = load<u8>(p, 8) == 0x20 ? digits(p + 9, 1) : digits(p + 8, 2);
    return assemble(digits(p + 20, 4), month(p + 4), d, timeOfDay(p + 11));
  }
  // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT", a day name of 6 to 9 letters
  let i: usize = 0;
  while (i < len && i < 10 && isAlpha(load<u8>(p + i))) i++;
  if (i < 6 || i > 9 || len != i + 24) return -1;
  const q = p + i;
  if (load<u8>(q) != 0x2c || load<u8>(q, 1) != 0x20 || load<u8>(q, 4) != 0x2d || load<u8>(q, 8) != 0x2d ||
    load<u8>(q, 11) != 0x20 || load<u8>(q, 20) != 0x20 || load<u8>(q, 21) != 0x47 || load<u8>(q, 22) != 0x4d ||
    load<u8>(q, 23) != 0x54) return -1;
  const yy = digits(q + 9, 2);
  if (yy < 0) return -1;
  civilFromDays(now / 86400);
  let y = <i32>(cy - cy % 100) + yy;
  if (y > <i32>cy + 50) y -= 100;
  return assemble(y, month(q + 5), digits(q + 2, 2), timeOfDay(q + 12));
}
