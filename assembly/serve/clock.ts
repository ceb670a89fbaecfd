// Time, read once per turn of the event loop rather than per request: the monotonic clock
// for timeouts, and the wall clock's second for Date and the log, derived from the monotonic
// clock and re-read from the real one once a second (so a step of the wall clock shows
// within a second, and a busy loop costs one clock call per turn).
import { clock_time_get } from "bindings/wasi_snapshot_preview1";
import { Out } from "./out";
import { writeHttpDate, writeLogDate } from "./date";

const REALTIME = 0, MONOTONIC = 1;
const ret = memory.data(8);

/** Monotonic nanoseconds at the last tick(). */
export let monoNow: u64 = 0;
/** Wall-clock seconds since the epoch at the last tick(). */
export let wallNow: i64 = 0;
/** IMF-fixdate of wallNow (29 bytes) and the log's "10/Oct/2000:13:55:36 +0000" (26 bytes). */
export const dateText = memory.data(32);
export const logDateText = memory.data(32);

let offset: i64 = 0; // wall - mono, in ns
let nextSync: u64 = 0;
let shown: i64 = -1;
const out = new Out();

/** Reads the monotonic clock; refreshes the wall clock once a second, and the texts when the second changes. */
export function tick(): void {
  clock_time_get(MONOTONIC, 0, ret);
  monoNow = load<u64>(ret);
  if (monoNow >= nextSync) {
    clock_time_get(REALTIME, 0, ret);
    offset = load<i64>(ret) - <i64>monoNow;
    nextSync = monoNow + 1_000_000_000;
  }
  const wallNs = <i64>monoNow + offset;
  wallNow = wallNs / 1_000_000_000;
  if (wallNow != shown) {
    shown = wallNow;
    writeHttpDate(out.reset(dateText, 29), wallNow);
    writeLogDate(out.reset(logDateText, 26), wallNow);
  }
}
