// wasi:clocks: monotonic-clock (instants and durations in nanoseconds, pollables for both) and
// wall-clock (a datetime of seconds and nanoseconds). Both read clock_gettime(2): the monotonic
// clock through Node (monotonic.ts), the wall clock as CLOCK_REALTIME through FFI, for its
// nanoseconds.
import * as libc from '../native/libc.js';
import type { Context } from '../sandbox/context.js';
import { monotonicNow } from './monotonic.js';
import { Pollable } from './poll.js';

const CLOCK_REALTIME = 0, CLOCK_MONOTONIC = 1;
const ts = Buffer.alloc(16);

function resolutionNs(clock: number): bigint {
  libc.clock_getres(clock, ts);
  return ts.readBigInt64LE(0) * 1_000_000_000n + ts.readBigInt64LE(8);
}

export interface Datetime { seconds: bigint; nanoseconds: number }

export function wallNow(): Datetime {
  libc.clock_gettime(CLOCK_REALTIME, ts);
  return { seconds: ts.readBigInt64LE(0), nanoseconds: Number(ts.readBigInt64LE(8)) };
}

export function clocks(ctx: Context) {
  const U64_MAX = (1n << 64n) - 1n;
  return {
    'wasi:clocks/monotonic-clock': {
      now: monotonicNow,
      resolution: () => resolutionNs(CLOCK_MONOTONIC),
      subscribeInstant: (when: bigint) => new Pollable(ctx, -1, 0, when),
      subscribeDuration: (d: bigint) => {
        const when = monotonicNow() + d;
        return new Pollable(ctx, -1, 0, when > U64_MAX ? U64_MAX : when);
      },
    },
    'wasi:clocks/wall-clock': {
      now: wallNow,
      resolution: (): Datetime => {
        const ns = resolutionNs(CLOCK_REALTIME);
        return { seconds: ns / 1_000_000_000n, nanoseconds: Number(ns % 1_000_000_000n) };
      },
    },
  };
}
