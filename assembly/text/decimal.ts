// Decimal digits written in place, for the guests' line builders (the proxy's log, send_file's
// log line, serve's Out): no string is made for a number. The caller owns the room: it asks how
// many digits a number has, decides what to do when they do not fit (grow, drop, flag), and
// then has them written.

/** How many decimal digits `n` has (1 for 0). */
export function decimalDigits(n: u64): usize {
  let digits: usize = 1;
  for (let x = n; x >= 10; x /= 10) digits++;
  return digits;
}

/**
 * Writes the last `digits` decimal digits of `n` at `at`, most significant first, padded with
 * zeros on the left: `decimalDigits(n)` of them is `n` itself, more is `n` zero-padded.
 */
export function writeDecimal(at: usize, n: u64, digits: usize): void {
  for (let p = at + digits; p > at; n /= 10) store<u8>(--p, <u8>(0x30 + n % 10));
}
