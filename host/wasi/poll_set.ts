// poll_oneoff's persistent interest set. A ppoll(2) over every subscription on every call costs
// O(all subscriptions) in the kernel and in decoding, however few of them changed: a server
// holding 10,000 idle connections would pay for all of them on every wakeup. Instead each
// guest's table gets one epoll instance (epoll(7)), kept in step with its subscriptions
// between calls:
//
// - The subscription array is compared with a copy of the previous call's, CHUNK entries at a
//   time (memcmp); only the entries that differ are decoded again, and only registrations
//   whose wanted events changed cost an epoll_ctl. A guest that subscribes to the same
//   descriptors call after call pays for what changed and for what is ready.
// - A cached decoding is only as good as the descriptor table it was read against, so the
//   table tells this set (FdTable.observer) when an entry loses its number (closed, renumbered,
//   replaced) or changes what poll reads (rights dropped, bytes left pending): the entries
//   that used it are decoded again at the next call. A closed entry leaves the epoll set
//   before its descriptor is closed, because epoll keys on the open file description, which
//   may outlive the guest's descriptor (a socket the host granted and kept, a listener each
//   worker holds a duplicate of) and would go on reporting events (epoll(7), Q6).
// - Registrations belong to table entries, not guest numbers: subscriptions to read and write
//   one descriptor share a registration (EPOLLIN | EPOLLOUT), and a renumbered descriptor
//   keeps its registration. Level-triggered, so each call reports what is ready now, as poll.
// - Clock subscriptions, and those answered without waiting (files, errors, virtual files,
//   descriptors epoll refuses), are decoded on every call: their answer depends on the time.
// - Nothing here is allocated per subscription: the per-entry state lives in typed arrays
//   grown to the largest call seen, which poll.ts bounds by RLIMIT_NOFILE.
import * as libc from '../native/libc.js';
import { fromLinux, WasiError } from '../sandbox/errno.js';
import type { FdEntry, FdTable, TableObserver } from '../sandbox/fd_table.js';
import { FILETYPE } from '../sandbox/rights.js';
import { EVENTTYPE, SUBSCRIPTION } from './abi.js';

const EPOLL_CLOEXEC = 0o2000000;
const EPOLL_CTL_ADD = 1, EPOLL_CTL_DEL = 2, EPOLL_CTL_MOD = 3;
export const EPOLLIN = 0x1, EPOLLOUT = 0x4, EPOLLERR = 0x8, EPOLLHUP = 0x10;
const EPERM = 1;
const SIZE = SUBSCRIPTION.SIZE;
/** Entries compared per memcmp: a call over 10,000 unchanged entries makes ~300 compares. */
const CHUNK = 32;

/** How a subscription was decoded: not yet, a clock, answered at once, or waited on through epoll. */
export const Kind = { None: 0, Clock: 1, Now: 2, Polled: 3 } as const;

/** One table entry in the epoll set. */
export class Registration {
  /** The events registered with epoll_ctl. */
  mask = 0;
  /** The subscriptions using it, by index. */
  readonly subs: number[] = [];
  /** False once FIONREAD failed on it (a listening socket): its reads report nbytes 0. */
  fionread = true;
  constructor(readonly entry: FdEntry, readonly token: number) {}
}

export class PollSet implements TableObserver {
  readonly epfd: number;
  /** The previous call's subscriptions, byte for byte, and how many. */
  cache = Buffer.alloc(0);
  count = 0;
  kind = new Uint8Array(0);
  token = new Float64Array(0);
  /**
   * Registrations by token. A token is never used twice (a counter below 2^53, epoll's u64
   * data): an event of a registration this set already forgot, whose description some other
   * descriptor keeps alive for a moment (a fork about to exec), names nothing and is dropped.
   */
  readonly regs = new Map<number, Registration>();
  private nextToken = 1;
  private readonly byEntry = new Map<FdEntry, Registration>();
  /** Entries epoll refused with EPERM (no poll support): always ready, as poll(2) reports them. */
  readonly unpollable = new WeakSet<FdEntry>();
  /** Subscriptions the table invalidated since the last call, by index. */
  dirty: number[] = [];
  /** Last call's clock and answered-at-once subscriptions: decoded again on every call. */
  again: number[] = [];
  /** Registrations whose subscriptions changed during this call. */
  readonly touched = new Set<Registration>();
  /** How many registrations are in the epoll set: the most one epoll_wait can return. */
  live = 0;
  private readonly event = libc.keptBuffer(16);

  constructor(private readonly table: FdTable) {
    // The table owns the epoll descriptor from the moment it exists (FdTable.holdOwn, its
    // slot in FdTable.owned), so that a terminated worker's is closed too. One left there by
    // a set whose making was cut short (a stack overflow) is closed first: no set uses it.
    const stale = table.owned[table.limit];
    if (stale >= 0) {
      table.holdOwn(-1);
      libc.close(stale);
    }
    const fd = libc.epoll_create1(EPOLL_CLOEXEC);
    if (fd >= 0) table.owned[table.limit] = fd; // a store, nothing that could throw first
    if (fd < 0) throw new WasiError(fromLinux(-fd));
    this.epfd = fd;
    table.observer = this;
  }

  /** Makes room for n subscriptions' state (n is bounded by the caller). */
  reserve(n: number): void {
    if (this.kind.length >= n) return;
    const cap = Math.max(n, 2 * this.kind.length, 64);
    const cache = Buffer.alloc(cap * SIZE);
    this.cache.copy(cache, 0, 0, this.count * SIZE);
    this.cache = cache;
    const kind = new Uint8Array(cap);
    kind.set(this.kind);
    this.kind = kind;
    const token = new Float64Array(cap);
    token.set(this.token);
    this.token = token;
  }

  /**
   * The indices whose subscription differs from the cached one, ascending, appended to `out`
   * from `at`; returns the new length. `subs` is a Buffer over the guest's n subscriptions.
   */
  diff(subs: Buffer, n: number, out: Int32Array, at: number): number {
    const m = Math.min(n, this.count), cache = this.cache;
    for (let c = 0; c < m; c += CHUNK) {
      const end = Math.min(c + CHUNK, m);
      if (cache.compare(subs, c * SIZE, end * SIZE, c * SIZE, end * SIZE) === 0) continue;
      for (let i = c; i < end; i++) {
        if (cache.compare(subs, i * SIZE, (i + 1) * SIZE, i * SIZE, (i + 1) * SIZE) !== 0) out[at++] = i;
      }
    }
    for (let i = m; i < n; i++) out[at++] = i;
    return at;
  }

  /** Forgets subscription i's previous decoding. */
  release(i: number): void {
    if (this.kind[i] === Kind.Polled) {
      const reg = this.regs.get(this.token[i]);
      if (reg !== undefined) {
        const k = reg.subs.indexOf(i);
        if (k >= 0) reg.subs.splice(k, 1);
        this.touched.add(reg);
      }
    }
    this.kind[i] = Kind.None;
  }

  /**
   * Subscription i now waits on `entry` through epoll; returns false when epoll refuses the
   * descriptor with EPERM (it has no poll support: the caller answers it at once). Another
   * refusal (ENOMEM, ENOSPC: max_user_watches) is thrown as the subscription's error.
   */
  watch(i: number, entry: FdEntry, type: number): boolean {
    let reg = this.byEntry.get(entry);
    if (reg === undefined) {
      if (this.unpollable.has(entry)) return false;
      const mask = type === EVENTTYPE.FD_READ ? EPOLLIN : EPOLLOUT;
      const token = this.nextToken++;
      const r = this.ctl(EPOLL_CTL_ADD, entry.hostFd, mask, token);
      if (r === -EPERM) {
        this.unpollable.add(entry);
        return false;
      }
      if (r < 0) throw new WasiError(fromLinux(-r));
      reg = new Registration(entry, token);
      reg.mask = mask;
      entry.watcher = this;
      this.regs.set(token, reg);
      this.byEntry.set(entry, reg);
      this.live++;
    }
    reg.subs.push(i);
    this.touched.add(reg);
    this.kind[i] = Kind.Polled;
    this.token[i] = reg.token;
    return true;
  }

  /** Brings each touched registration's epoll events in line with its subscriptions. */
  settle(): void {
    for (const reg of this.touched) {
      if (this.regs.get(reg.token) !== reg) continue; // dropped meanwhile (its entry left the table)
      let want = 0;
      for (const i of reg.subs) want |= this.cache[i * SIZE + SUBSCRIPTION.TAG] === EVENTTYPE.FD_READ ? EPOLLIN : EPOLLOUT;
      if (want === 0) this.drop(reg);
      else if (want !== reg.mask) {
        const r = this.ctl(EPOLL_CTL_MOD, reg.entry.hostFd, want, reg.token);
        if (r < 0) {
          // Cannot happen for a registered descriptor the table still holds; never leave the
          // set out of step: drop it, and its subscriptions are decoded afresh next call.
          this.dirty.push(...reg.subs);
          this.drop(reg);
        } else {
          reg.mask = want;
        }
      }
    }
    this.touched.clear();
  }

  /**
   * Forgets a registration. The descriptor is still open here (the table tells before it
   * closes), so DEL finds it; `closing` an entry whose description no other descriptor shares
   * needs no DEL: close(2) takes it out of every epoll set (epoll(7)).
   */
  private drop(reg: Registration, closing = false): void {
    if (!(closing && reg.entry.exclusive)) this.ctl(EPOLL_CTL_DEL, reg.entry.hostFd, 0, reg.token);
    for (const i of reg.subs) if (this.kind[i] === Kind.Polled && this.token[i] === reg.token) this.kind[i] = Kind.None;
    reg.subs.length = 0;
    this.regs.delete(reg.token);
    this.byEntry.delete(reg.entry);
    if (reg.entry.watcher === this) reg.entry.watcher = null;
    this.live--;
  }

  private ctl(op: number, fd: number, events: number, token: number): number {
    // Every byte written (events, data, and on arm64 the padding between): a DataView, whose
    // accessors TurboFan inlines, where Buffer methods are looked up per call.
    const v = this.event.view;
    v.setUint32(0, events, true);
    v.setUint32(4, 0, true);
    v.setUint32(libc.EPOLL_DATA_OFFSET, token % 0x100000000, true);
    v.setUint32(libc.EPOLL_DATA_OFFSET + 4, Math.floor(token / 0x100000000), true);
    return libc.epollCtlAt(this.epfd, op, fd, this.event.at);
  }

  // --- TableObserver ---------------------------------------------------------------------

  unmapped(entry: FdEntry, closing: boolean): void {
    const reg = this.byEntry.get(entry);
    if (reg === undefined) return;
    this.dirty.push(...reg.subs);
    this.drop(reg, closing);
  }

  changed(entry: FdEntry): void {
    // Decoded again next call: the entry may now answer at once (pending bytes) or not at all
    // (a right dropped). The registration stays until no subscription uses it.
    const reg = this.byEntry.get(entry);
    if (reg !== undefined) this.dirty.push(...reg.subs);
  }

  closed(): void {
    if (this.table.owned[this.table.limit] === this.epfd) this.table.holdOwn(-1);
    libc.close(this.epfd);
    if (this.table.observer === this) this.table.observer = null;
  }
}

/** Whether an entry is waited on through epoll, rather than answered at once. */
export function needsWait(entry: FdEntry): boolean {
  return entry.pending === null && entry.hostFd >= 0 &&
    entry.filetype !== FILETYPE.DIRECTORY && entry.filetype !== FILETYPE.REGULAR_FILE;
}
