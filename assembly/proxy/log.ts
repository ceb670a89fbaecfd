// The proxy's log: one line per connection, gathered while the loop serves a wakeup and
// written to stdout with one fd_write before the loop polls again. Under load a wakeup ends
// dozens of connections (traced under bench (g2)'s load: 2234 lines in 47 writes), each of
// which cost a host call and a write(2) of its own; the line is also built in place, as
// bytes, not from a dozen temporary strings. The caller makes no call between gathering lines
// and `flush`, so that a stop, which ends the guest at its next call, never finds lines
// gathered and not written (assembly/guests/proxy.ts, "ending").
import { fd_write } from "bindings/wasi_snapshot_preview1";
import { errno } from "../zerocopy";
import { decimalDigits, writeDecimal } from "../text/decimal";

const STDOUT: u32 = 1;
let cap: usize = 4096;
let buf: usize = heap.alloc(cap);
let len: usize = 0;
const iov = memory.data(16);
/** An error writing the log was said once on stderr; lines are dropped while it lasts. */
let failing = false;

function reserve(n: usize): usize {
  if (len + n > cap) {
    cap = max(cap * 2, len + n);
    buf = heap.realloc(buf, cap);
  }
  const at = buf + len;
  len += n;
  return at;
}

/** Appends `s` as UTF-8. */
export function text(s: string): void {
  const n = <usize>String.UTF8.byteLength(s);
  String.UTF8.encodeUnsafe(changetype<usize>(s), s.length, reserve(n));
}

/** Appends `n` in decimal. */
export function decimal(n: u64): void {
  const digits = decimalDigits(n);
  writeDecimal(reserve(digits), n, digits);
}

/** Appends a duration in nanoseconds as milliseconds with one decimal ("1.2", "30.0"). */
export function millis(ns: u64): void {
  const tenths = (ns + 50_000) / 100_000;
  decimal(tenths / 10);
  store<u8>(reserve(1), 0x2e);
  store<u8>(reserve(1), <u8>(0x30 + tenths % 10));
}

/** Writes what was gathered: short writes are continued, an error drops the lines (said once). */
export function flush(): void {
  let at = buf;
  const end = buf + len;
  len = 0;
  while (at < end) {
    store<usize>(iov, at);
    store<usize>(iov, end - at, sizeof<usize>());
    const e = fd_write(STDOUT, iov, 1, iov + 8);
    if (e != 0) {
      if (!failing) process.stderr.write("proxy: log: " + errno.name(e) + "; lines are dropped until it clears\n");
      failing = true;
      return;
    }
    failing = false;
    const wrote = load<u32>(iov, 8);
    if (wrote == 0) return; // write(2) took nothing and said nothing: give up, not spin
    at += wrote;
  }
}
