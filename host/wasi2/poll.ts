// wasi:io/poll: pollables over real descriptors, answered by ppoll(2), and clock deadlines.
//
// A pollable is a descriptor and the events to wait for, or a monotonic deadline, or neither
// (always ready). Two hooks refine it: `immediate` says it is ready without waiting (an input
// stream holding bytes already read), `confirm` is asked once its descriptor is ready (an output
// stream first drains what it buffered, and is ready only when that is done). `poll` waits on
// every descriptor at once with the earliest deadline as ppoll's timeout, in slices of 100 ms so
// that a stop asked by the host ends the guest even while it waits, as preview1's poll_oneoff.
import * as libc from '../native/libc.js';
import { check } from '../sandbox/errno.js';
import type { Context } from '../sandbox/context.js';
import { checkStop, componentTrap } from './host.js';
import { monotonicNow } from './monotonic.js';
import { held, Resource } from './resources.js';

export const POLLIN = 0x1, POLLOUT = 0x4;
const POLLERR = 0x8, POLLHUP = 0x10, POLLNVAL = 0x20;
const EINTR = 4;
const STOP_SLICE_NS = 100_000_000n;

/** The most pollables one call may wait on: a guest must not make the host allocate without bound. */
export const MAX_POLLABLES = 4096;

let pollfds = new Int32Array(2 * 16);
let pollfds16 = new Int16Array(pollfds.buffer);
let pollfdBytes = new Uint8Array(pollfds.buffer);
const timeout = Buffer.alloc(16);

export interface PollHooks {
  immediate?: () => boolean;
  confirm?: () => boolean;
}

export class Pollable extends Resource {
  constructor(
    ctx: Context,
    /** The host descriptor to wait on, or -1 for none. */
    readonly hostFd: number,
    readonly events: number,
    /** A monotonic deadline in nanoseconds, for clock pollables. */
    readonly deadline: bigint | null = null,
    readonly hooks: PollHooks = {},
  ) {
    super(ctx);
  }

  ready(): boolean {
    return pass(this.ctx, [this], 0n).length > 0;
  }

  block(): void {
    poll(this.ctx, [this]);
  }
}

/** The indexes of the ready pollables, in order; waits until at least one is ready. */
export function poll(ctx: Context, list: Pollable[]): Uint32Array {
  // The spec traps on an empty list; a list past the bound is refused the same way.
  if (list.length === 0) componentTrap('wasi:io/poll.poll: the list of pollables is empty');
  if (list.length > MAX_POLLABLES) componentTrap(`wasi:io/poll.poll: more than ${MAX_POLLABLES} pollables`);
  for (const p of list) held(p, Pollable, 'pollable');
  for (;;) {
    checkStop(ctx);
    const ready = pass(ctx, list, null);
    if (ready.length > 0) return Uint32Array.from(ready);
  }
}

/**
 * One look at every pollable: those ready without waiting, else one ppoll that waits at most
 * until the earliest deadline (never, with `limit` 0n; in stop slices when `limit` is null).
 */
function pass(ctx: Context, list: Pollable[], limit: bigint | null): number[] {
  const ready: number[] = [];
  const fds: number[] = [];
  let wait = limit;
  const now = monotonicNow();
  for (let i = 0; i < list.length; i++) {
    const p = list[i];
    if (p.hooks.immediate?.()) ready.push(i);
    else if (p.deadline !== null) {
      const left = p.deadline - now;
      if (left <= 0n) ready.push(i);
      else if (wait === null || left < wait) wait = left;
    } else if (p.hostFd < 0) ready.push(i);
    else fds.push(i);
  }
  if (ready.length > 0) wait = 0n;
  if (fds.length === 0 && wait === 0n) return ready;
  if (ctx.stop !== null && (wait === null || wait > STOP_SLICE_NS)) wait = STOP_SLICE_NS;
  if (pollfds.length < 2 * fds.length) {
    pollfds = new Int32Array(2 * fds.length);
    pollfds16 = new Int16Array(pollfds.buffer);
    pollfdBytes = new Uint8Array(pollfds.buffer);
  }
  for (let k = 0; k < fds.length; k++) {
    pollfds[2 * k] = list[fds[k]].hostFd;
    pollfds16[4 * k + 2] = list[fds[k]].events;
    pollfds16[4 * k + 3] = 0;
  }
  if (wait !== null) {
    timeout.writeBigInt64LE(wait / 1_000_000_000n, 0);
    timeout.writeBigInt64LE(wait % 1_000_000_000n, 8);
  }
  const r = libc.ppoll(fds.length > 0 ? pollfdBytes : null, fds.length, wait === null ? null : timeout, null);
  if (r !== -EINTR) check(r);
  // Errors and hang-ups count as ready, so that the read or write that follows reports them.
  for (let k = 0; k < fds.length; k++) {
    const p = list[fds[k]];
    if ((pollfds16[4 * k + 3] & (p.events | POLLERR | POLLHUP | POLLNVAL)) && (p.hooks.confirm?.() ?? true)) ready.push(fds[k]);
  }
  if (r !== 0 || ready.length > 0) return ready.sort((a, b) => a - b);
  const after = monotonicNow();
  for (let i = 0; i < list.length; i++) if (list[i].deadline !== null && list[i].deadline! <= after) ready.push(i);
  return ready.sort((a, b) => a - b);
}
