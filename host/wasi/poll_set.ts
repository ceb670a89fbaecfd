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
// - Nothing here is allocated per subscription or per registration: subscriptions and
//   registrations are slots in typed arrays (and one plain array of entries) grown to the
//   largest call seen, which poll.ts bounds by RLIMIT_NOFILE; a registration's subscriptions
//   are a list threaded through the subscription slots, and a table entry knows its slot
//   (FdEntry.watchSlot), so no Map is consulted per connection or per event.
import * as libc from '../native/libc.js';
import { fromLinux, WasiError } from '../sandbox/errno.js';
import type { FdEntry, FdTable, TableObserver } from '../sandbox/fd_table.js';
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

export class PollSet implements TableObserver {
  readonly epfd: number;
  /** The previous call's subscriptions, byte for byte, and how many. */
  cache = Buffer.alloc(0);
  /** The same bytes through a DataView, whose accessors TurboFan inlines. */
  cacheView = new DataView(this.cache.buffer, this.cache.byteOffset, 0);
  count = 0;

  // --- per subscription, by index (grown by reserve) --------------------------------------
  kind = new Uint8Array(0);
  /** A Polled subscription's registration slot. */
  reg = new Int32Array(0);
  /** The next subscription of the same registration, or -1 (see first). */
  next = new Int32Array(0);
  private prev = new Int32Array(0);
  /**
   * Subscriptions the table invalidated since the last call, each listed once (dirtyMark):
   * however often the guest changes an entry between two calls, the list stays within the
   * number of subscriptions.
   */
  private dirty = new Int32Array(0);
  private dirtyMark = new Uint8Array(0);
  private dirtyCount = 0;
  /**
   * Last call's clock and answered-at-once subscriptions, decoded again on every call. This
   * call's are listed in againNext (keepAgain) and take their place only once its decoding is
   * done (decoded): a call cut short leaves last call's list to be decoded again.
   */
  private again = new Int32Array(0);
  private againCount = 0;
  private againNext = new Int32Array(0);
  private againNextCount = 0;

  // --- per registration (one table entry in the epoll set), by slot ------------------------
  /** The entry, or null for a free slot. */
  readonly regEntry: (FdEntry | null)[] = [];
  /** The events registered with epoll_ctl. */
  private regMask = new Uint8Array(0);
  /** 0 once FIONREAD failed on it (a listening socket): its reads report nbytes 0. */
  regFionread = new Uint8Array(0);
  /**
   * Counts the registrations a slot has held; epoll's u64 data is the slot and this count,
   * so that an event of a registration this set already forgot, whose description some
   * other descriptor keeps alive for a moment (a fork about to exec), names nothing and is
   * dropped, even once its slot is reused (until the count wraps, 2^32 reuses later).
   */
  private regSerial = new Uint32Array(0);
  /** The first of its subscriptions, or -1; the others follow through `next`. */
  first = new Int32Array(0);
  private slots = 0;
  private free = new Int32Array(0);
  private freeCount = 0;
  /** Registrations whose subscriptions changed during this call, each once. */
  private touched = new Int32Array(0);
  private touchedMark = new Uint8Array(0);
  private touchedCount = 0;
  /** Entries epoll refused with EPERM (no poll support): always ready, as poll(2) reports them. */
  readonly unpollable = new WeakSet<FdEntry>();
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
    this.cacheView = new DataView(cache.buffer, cache.byteOffset, cache.length);
    this.kind = grown(this.kind, cap);
    this.reg = grown(this.reg, cap);
    this.next = grown(this.next, cap);
    this.prev = grown(this.prev, cap);
    this.dirty = grown(this.dirty, cap);
    this.dirtyMark = grown(this.dirtyMark, cap);
    this.again = grown(this.again, cap);
    this.againNext = grown(this.againNext, cap);
  }

  /**
   * The indices whose subscription differs from the cached one, ascending, appended to `out`
   * from `at`; returns the new length. `subs` holds the guest's n subscriptions from `base`.
   */
  diff(subs: Buffer, base: number, n: number, out: Int32Array, at: number): number {
    const m = Math.min(n, this.count), cache = this.cache;
    for (let c = 0; c < m; c += CHUNK) {
      const end = Math.min(c + CHUNK, m);
      if (cache.compare(subs, base + c * SIZE, base + end * SIZE, c * SIZE, end * SIZE) === 0) continue;
      for (let i = c; i < end; i++) {
        if (cache.compare(subs, base + i * SIZE, base + (i + 1) * SIZE, i * SIZE, (i + 1) * SIZE) !== 0) out[at++] = i;
      }
    }
    for (let i = m; i < n; i++) out[at++] = i;
    return at;
  }

  /** How many indices `pending` may append: last call's clocks and answered-at-once ones, and the invalidated. */
  get pendingCount(): number {
    return this.againCount + this.dirtyCount;
  }

  /**
   * Appends to `out` from `at` the subscriptions to decode again whatever their bytes: last
   * call's clocks and answered-at-once ones, and those the table invalidated since (those
   * past n are gone); returns the new length. The invalidated are then forgotten.
   */
  pending(n: number, out: Int32Array, at: number): number {
    for (let k = 0; k < this.againCount; k++) if (this.again[k] < n) out[at++] = this.again[k];
    for (let k = 0; k < this.dirtyCount; k++) {
      const i = this.dirty[k];
      this.dirtyMark[i] = 0;
      if (i < n) out[at++] = i;
    }
    this.dirtyCount = 0;
    return at;
  }

  /** Subscription i is decoded again next call (a clock, or answered at once). */
  keepAgain(i: number): void {
    this.againNext[this.againNextCount++] = i;
  }

  /** Forgets subscription i's previous decoding. */
  release(i: number): void {
    if (this.kind[i] === Kind.Polled) {
      this.unlink(i);
      this.touch(this.reg[i]);
    }
    this.kind[i] = Kind.None;
  }

  /**
   * Subscription i now waits on `entry` through epoll; returns false when epoll refuses the
   * descriptor with EPERM (it has no poll support: the caller answers it at once). Another
   * refusal (ENOMEM, ENOSPC: max_user_watches) is thrown as the subscription's error.
   */
  watch(i: number, entry: FdEntry, type: number): boolean {
    let slot = this.slotOf(entry);
    if (slot < 0) {
      if (this.unpollable.has(entry)) return false;
      const mask = type === EVENTTYPE.FD_READ ? EPOLLIN : EPOLLOUT;
      slot = this.freeCount > 0 ? this.free[--this.freeCount] : this.newSlot();
      const serial = (this.regSerial[slot] + 1) >>> 0;
      const r = this.ctl(EPOLL_CTL_ADD, entry.hostFd, mask, slot, serial);
      if (r < 0) {
        this.free[this.freeCount++] = slot;
        if (r !== -EPERM) throw new WasiError(fromLinux(-r));
        this.unpollable.add(entry);
        return false;
      }
      this.regEntry[slot] = entry;
      this.regMask[slot] = mask;
      this.regFionread[slot] = 1;
      this.regSerial[slot] = serial;
      this.first[slot] = -1;
      entry.watcher = this;
      entry.watchSlot = slot;
      this.live++;
    }
    // At the head of the registration's list: the order of its subscriptions does not matter.
    const head = this.first[slot];
    this.next[i] = head;
    this.prev[i] = -1;
    if (head >= 0) this.prev[head] = i;
    this.first[slot] = i;
    this.reg[i] = slot;
    this.touch(slot);
    this.kind[i] = Kind.Polled;
    return true;
  }

  /** The registration an epoll event's data (low and high halves) names, or -1 for one forgotten. */
  slotOfEvent(lo: number, hi: number): number {
    return lo < this.slots && this.regEntry[lo] !== null && this.regSerial[lo] === hi ? lo : -1;
  }

  /** Brings each touched registration's epoll events in line with its subscriptions. */
  settle(): void {
    for (let k = 0; k < this.touchedCount; k++) {
      const slot = this.touched[k];
      this.touchedMark[slot] = 0;
      const entry = this.regEntry[slot];
      if (entry === null) continue; // dropped meanwhile (its entry left the table)
      let want = 0;
      for (let i = this.first[slot]; i >= 0; i = this.next[i]) {
        want |= this.cache[i * SIZE + SUBSCRIPTION.TAG] === EVENTTYPE.FD_READ ? EPOLLIN : EPOLLOUT;
      }
      if (want === 0) this.drop(slot);
      else if (want !== this.regMask[slot]) {
        const r = this.ctl(EPOLL_CTL_MOD, entry.hostFd, want, slot, this.regSerial[slot]);
        if (r < 0) {
          // Cannot happen for a registered descriptor the table still holds; never leave the
          // set out of step: drop it, and its subscriptions are decoded afresh next call.
          this.invalidate(slot);
          this.drop(slot);
        } else {
          this.regMask[slot] = want;
        }
      }
    }
    this.touchedCount = 0;
  }

  /** Ends a call's decoding: this call's clocks and answered-at-once subscriptions become the ones decoded again. */
  decoded(): void {
    const again = this.again;
    this.again = this.againNext;
    this.againCount = this.againNextCount;
    this.againNext = again;
    this.againNextCount = 0;
    this.settle();
  }

  private slotOf(entry: FdEntry): number {
    const slot = entry.watcher === this ? entry.watchSlot : -1;
    return slot >= 0 && this.regEntry[slot] === entry ? slot : -1;
  }

  private newSlot(): number {
    if (this.slots === this.regMask.length) {
      const cap = Math.max(64, 2 * this.slots);
      this.regMask = grown(this.regMask, cap);
      this.regFionread = grown(this.regFionread, cap);
      this.regSerial = grown(this.regSerial, cap);
      this.first = grown(this.first, cap);
      this.free = grown(this.free, cap);
      this.touched = grown(this.touched, cap);
      this.touchedMark = grown(this.touchedMark, cap);
    }
    this.regEntry.push(null);
    return this.slots++;
  }

  private touch(slot: number): void {
    if (this.touchedMark[slot] !== 0) return;
    this.touchedMark[slot] = 1;
    this.touched[this.touchedCount++] = slot;
  }

  /** Takes subscription i out of its registration's list. */
  private unlink(i: number): void {
    const p = this.prev[i], n = this.next[i];
    if (p >= 0) this.next[p] = n;
    else this.first[this.reg[i]] = n;
    if (n >= 0) this.prev[n] = p;
  }

  /** The registration's subscriptions are decoded afresh next call. */
  private invalidate(slot: number): void {
    for (let i = this.first[slot]; i >= 0; i = this.next[i]) {
      if (this.dirtyMark[i] !== 0) continue;
      this.dirtyMark[i] = 1;
      this.dirty[this.dirtyCount++] = i;
    }
  }

  /**
   * Forgets a registration. The descriptor is still open here (the table tells before it
   * closes), so DEL finds it; `closing` an entry whose description no other descriptor shares
   * needs no DEL: close(2) takes it out of every epoll set (epoll(7)).
   */
  private drop(slot: number, closing = false): void {
    const entry = this.regEntry[slot]!;
    if (!(closing && entry.exclusive)) this.ctl(EPOLL_CTL_DEL, entry.hostFd, 0, 0, 0);
    for (let i = this.first[slot]; i >= 0; i = this.next[i]) this.kind[i] = Kind.None;
    this.first[slot] = -1;
    this.regEntry[slot] = null;
    this.free[this.freeCount++] = slot;
    if (entry.watcher === this) {
      entry.watcher = null;
      entry.watchSlot = -1;
    }
    this.live--;
  }

  private ctl(op: number, fd: number, events: number, slot: number, serial: number): number {
    // Every byte written (events, data, and on arm64 the padding between): a DataView, whose
    // accessors TurboFan inlines, where Buffer methods are looked up per call.
    const v = this.event.view;
    v.setUint32(0, events, true);
    v.setUint32(4, 0, true);
    v.setUint32(libc.EPOLL_DATA_OFFSET, slot, true);
    v.setUint32(libc.EPOLL_DATA_OFFSET + 4, serial, true);
    return libc.epollCtlAt(this.epfd, op, fd, this.event.at);
  }

// --- TableObserver ---------------------------------------------------------------------

  unmapped(entry: FdEntry, closing: boolean): void {
    const slot = this.slotOf(entry);
    if (slot < 0) return;
    this.invalidate(slot);
    this.drop(slot, closing);
  }

  changed(entry: FdEntry): void {
    // Decoded again next call: the entry may now answer at once (pending bytes) or not at all
    // (a right dropped). The registration stays until no subscription uses it.
    const slot = this.slotOf(entry);
    if (slot >= 0) this.invalidate(slot);
  }

  closed(): void {
    if (this.table.owned[this.table.limit] === this.epfd) this.table.holdOwn(-1);
    libc.close(this.epfd);
    if (this.table.observer === this) this.table.observer = null;
  }
}

/** A copy of `a` with room for `cap` elements. */
function grown<T extends Uint8Array | Uint32Array | Int32Array>(a: T, cap: number): T {
  const b = new (a.constructor as new (n: number) => T)(cap);
  b.set(a);
  return b;
}

