// The monotonic clock, in nanoseconds, that wasi:clocks/monotonic-clock answers with and that
// wasi:io/poll measures deadlines against: one reading for both, in a module of its own so that
// clocks.ts (which makes pollables) and poll.ts (which waits on them) need not import each other.
// process.hrtime.bigint() is clock_gettime(2) CLOCK_MONOTONIC.
export function monotonicNow(): bigint {
  return process.hrtime.bigint();
}
