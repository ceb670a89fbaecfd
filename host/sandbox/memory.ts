// Bounds-checked access to guest linear memory.
//
// The views are rebuilt whenever memory.grow has replaced the ArrayBuffer (the old one is
// detached), so no call ever reads through a stale view. Every pointer is checked to lie
// wholly inside memory before anything is read, written or handed to the kernel: a bad
// pointer is `fault`, found before a syscall runs so that no transferred byte goes unreported.
import { addressOf } from '../native/libc.js';
import { errno, fail } from './errno.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Linux's PATH_MAX, counting the terminating NUL: the kernel copies at most this many bytes of
 * a path and answers ENAMETOOLONG when no NUL is among them (getname, fs/namei.c). So a path
 * of PATH_MAX bytes or more is refused as the kernel would, before anything is decoded: a
 * guest's length never sizes a host string.
 */
export const PATH_MAX = 4096;
const utf8Encoder = new TextEncoder();

export class GuestMemory {
  private memory: WebAssembly.Memory | null = null;
  private buffer: ArrayBuffer = new ArrayBuffer(0);
  private u8 = new Uint8Array(0);
  private dv = new DataView(this.buffer);
  /** A Buffer over all of memory, made on first use after each change of buffer (wholeBuffer). */
  private whole: Buffer | null = null;
  private base = 0;

  /**
   * Refuses a shared memory (the threads proposal): koffi gives no address for a
   * SharedArrayBuffer, so the kernel could not be handed a buffer in it (every call would fail).
   */
  attach(memory: WebAssembly.Memory): void {
    if (memory.buffer instanceof SharedArrayBuffer) {
      throw new Error('the module\'s memory is shared (the threads proposal), which wasm-zerocopy does not support: ' +
        'the kernel cannot be given addresses in it; build the guest without shared memory');
    }
    this.memory = memory;
    this.buffer = new ArrayBuffer(0);
    this.refresh();
  }

  get attached(): boolean {
    return this.memory !== null;
  }

  private refresh(): void {
    // memory.grow detaches the old ArrayBuffer, and a view of a detached buffer has length 0:
    // checking that is much cheaper than the Memory.buffer getter on every call, and cheaper
    // than ArrayBuffer's byteLength, which TurboFan leaves a builtin call (~60 instructions).
    if (this.u8.length !== 0) return;
    const m = this.memory;
    if (m === null) fail(errno.fault);
    if (m.buffer !== this.buffer) {
      this.buffer = m.buffer as ArrayBuffer;
      this.u8 = new Uint8Array(this.buffer);
      this.dv = new DataView(this.buffer);
      this.whole = null;
      this.base = 0; // computed lazily: most calls never need an absolute address
    }
  }

  /** Checks that [ptr, ptr + len) lies inside memory; returns ptr as an unsigned number. */
  check(ptr: number, len: number): number {
    this.refresh();
    const p = ptr >>> 0;
    if (len < 0 || p + len > this.u8.length) fail(errno.fault);
    return p;
  }

  /** A view (no copy) of len bytes at ptr. */
  bytes(ptr: number, len: number): Uint8Array {
    const p = this.check(ptr, len >>> 0);
    return this.u8.subarray(p, p + (len >>> 0));
  }

  /**
   * Checks [ptr, ptr + len) and returns the view of all of memory, to be read at ptr and after
   * without a check per field (for structures read in bulk). Valid until memory grows, which
   * no host call does while it runs.
   */
  view(ptr: number, len: number): DataView {
    this.check(ptr, len);
    return this.dv;
  }

  /**
   * As view(), a Buffer over all of memory, for Buffer's compare, copy and fill in bulk
   * (poll_oneoff's subscriptions and events): made once per memory buffer, where Buffer.from
   * per call would make one each time. Valid until memory grows.
   */
  wholeBuffer(ptr: number, len: number): Buffer {
    this.check(ptr, len);
    return this.whole ??= Buffer.from(this.buffer);
  }

  /** The host address of guest byte ptr, for structures the kernel reads or writes itself. */
  address(ptr: number, len: number): bigint {
    return BigInt(this.hostAddress(ptr, len));
  }

  /**
   * The same address as a number: exact, since user-space addresses are below 2^48 on x86-64
   * and arm64, and koffi takes a number for a uint64_t argument without the BigInt that
   * address() would allocate on every call (a sendfile with an offset makes one per call).
   */
  hostAddress(ptr: number, len: number): number {
    const p = this.check(ptr, len);
    if (this.base === 0) this.base = Number(addressOf(this.buffer));
    return this.base + p;
  }

  // check() runs first in each accessor: it may replace this.dv after memory.grow, and
  // `this.dv.getX(this.check(...))` would read the stale view before the check ran.
  u8At(ptr: number): number { const p = this.check(ptr, 1); return this.dv.getUint8(p); }
  u16(ptr: number): number { const p = this.check(ptr, 2); return this.dv.getUint16(p, true); }
  u32(ptr: number): number { const p = this.check(ptr, 4); return this.dv.getUint32(p, true); }
  u64(ptr: number): bigint { const p = this.check(ptr, 8); return this.dv.getBigUint64(p, true); }
  i64(ptr: number): bigint { const p = this.check(ptr, 8); return this.dv.getBigInt64(p, true); }
  setU8(ptr: number, v: number): void { const p = this.check(ptr, 1); this.dv.setUint8(p, v); }
  setU16(ptr: number, v: number): void { const p = this.check(ptr, 2); this.dv.setUint16(p, v, true); }
  setU32(ptr: number, v: number): void { const p = this.check(ptr, 4); this.dv.setUint32(p, v, true); }
  setU64(ptr: number, v: bigint | number): void {
    const p = this.check(ptr, 8);
    if (typeof v === 'number' && v >= 0 && v <= Number.MAX_SAFE_INTEGER) {
      // Counts are numbers on the hot path: two u32 stores avoid a BigInt per call.
      this.dv.setUint32(p, v >>> 0, true);
      this.dv.setUint32(p + 4, Math.floor(v / 0x100000000), true);
    } else {
      this.dv.setBigUint64(p, BigInt.asUintN(64, BigInt(v)), true);
    }
  }

  /** A UTF-8 string of len bytes; invalid UTF-8 is `ilseq`. */
  string(ptr: number, len: number): string {
    try {
      return utf8.decode(this.bytes(ptr, len));
    } catch (e) {
      if (e instanceof TypeError) fail(errno.ilseq);
      throw e;
    }
  }

  /**
   * A path argument: `fault` unless it lies in memory, `nametoolong` from PATH_MAX bytes on
   * (checked before decoding), `ilseq` unless it is UTF-8.
   */
  path(ptr: number, len: number): string {
    this.check(ptr, len >>> 0);
    if ((len >>> 0) >= PATH_MAX) fail(errno.nametoolong);
    return this.string(ptr, len);
  }

  /** Writes bytes at ptr, failing with `fault` unless all of them fit. */
  write(ptr: number, data: Uint8Array): void {
    this.bytes(ptr, data.length).set(data);
  }
}

export function encodeUtf8(s: string): Uint8Array {
  return utf8Encoder.encode(s);
}
