// The memory shift's changes outside the code (memshift.ts says why the shift exists), in the
// binary format (WebAssembly core spec 5.5.8 the memory section, 5.5.14 the data section):
// the memory gets SHIFT_PAGES more pages, and every active data segment lands SHIFT bytes
// higher, where the shifted code will look for it. binaryen.js can read neither the segments
// by index nor change the memory's limits without rebuilding every segment, so these two
// sections are rewritten here, byte for byte otherwise.
import { leb, Reader } from './imports_section.js';

const IMPORT_SECTION = 2, MEMORY_SECTION = 5, DATA_SECTION = 11;
const PAGE = 65536;
/** The adapter's state and stack (64 KiB each, align 8), and the iovec scratch area. */
export const SHIFT_PAGES = 3;
export const SHIFT = SHIFT_PAGES * PAGE;
/** Where the wrappers copy an iovec list (IOV_MAX entries of 8 bytes), at the top of [0, SHIFT). */
export const IOV_MAX = 1024;
export const SCRATCH = SHIFT - IOV_MAX * 8;
/**
 * The physical memory never reaches 4 GiB (65536 pages): one page short, every address the
 * shift pushes past 2^32 - 1 can be clamped to 0xffffffff and still fault, as it did.
 */
export const MAX_PAGES = 65535;

export class LayoutError extends Error {}

interface Section { id: number; head: number; start: number; end: number }

function sections(bytes: Uint8Array): Section[] {
  const r = new Reader(bytes, 8);
  const out: Section[] = [];
  while (r.at < bytes.length) {
    const head = r.at;
    const id = r.byte();
    const size = r.u32();
    out.push({ id, head, start: r.at, end: r.at + size });
    r.at += size;
  }
  return out;
}

/** Whether the module defines exactly one memory, 32-bit, and imports none: what the shift needs. */
export function ownsOneMemory32(bytes: Uint8Array): boolean {
  let defined = 0, imported = false, memory64 = false;
  for (const s of sections(bytes)) {
    const r = new Reader(bytes, s.start);
    if (s.id === IMPORT_SECTION) {
      for (let n = r.u32(); n > 0; n--) {
        r.name(); r.name();
        const kind = r.byte();
        if (kind === 0x00) r.u32();
        else if (kind === 0x01) { r.valtype(); r.limits(); }
        else if (kind === 0x02) { imported = true; r.limits(); }
        else if (kind === 0x03) { r.valtype(); r.byte(); }
        else if (kind === 0x04) { r.byte(); r.u32(); }
        else return false;
      }
    } else if (s.id === MEMORY_SECTION) {
      defined = r.u32();
      if (defined > 0 && (r.byte() & 0x04)) memory64 = true;
    }
  }
  return defined === 1 && !imported && !memory64;
}

/** An unsigned 32-bit value as i32.const encodes it (signed LEB128). */
function sleb32(value: number): number[] {
  let v = value | 0;
  const out: number[] = [];
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && !(b & 0x40)) || (v === -1 && (b & 0x40))) { out.push(b); return out; }
    out.push(b | 0x80);
  }
}

/**
 * The module with its one memory `pages` pages larger (its maximum too, and at most MAX_PAGES
 * either way) and its active data segments' offsets `pages` pages higher.
 */
export function shiftLayout(bytes: Uint8Array, pages: number): Uint8Array {
  const shift = pages * PAGE;
  const parts: Uint8Array[] = [bytes.subarray(0, 8)];
  for (const s of sections(bytes)) {
    const section = (...body: Uint8Array[]) => {
      const size = body.reduce((n, b) => n + b.length, 0);
      parts.push(Uint8Array.from([s.id, ...leb(size)]), ...body);
    };
    const r = new Reader(bytes, s.start);
    if (s.id === MEMORY_SECTION) {
      if (r.u32() !== 1) throw new LayoutError('the memory shift needs exactly one memory');
      const flags = r.byte();
      if (flags & 0x04) throw new LayoutError('the memory shift does not apply to a 64-bit memory');
      const initial = r.u32() + pages;
      const max = flags & 1 ? Math.min(r.u32() + pages, MAX_PAGES) : MAX_PAGES;
      if (initial > MAX_PAGES) throw new LayoutError(`the memory's ${initial - pages} initial pages leave no room for the adapter's ${pages}`);
      section(Uint8Array.from([1, flags | 1, ...leb(initial), ...leb(max)]));
    } else if (s.id === DATA_SECTION) {
      const body: Uint8Array[] = [];
      const count = r.u32();
      body.push(Uint8Array.from(leb(count)));
      for (let i = 0; i < count; i++) {
        const flags = r.u32();
        const head = leb(flags);
        if (flags === 2) head.push(...leb(r.u32())); // the memory index, 0
        if (flags === 0 || flags === 2) {
          // Only `i32.const N end`: an offset read from a global (position-independent code)
          // could not be moved here.
          if (r.byte() !== 0x41) throw new LayoutError('a data segment\'s offset is not a constant');
          const offset = Math.min((r.s32() >>> 0) + shift, 0xffffffff);
          if (r.byte() !== 0x0b) throw new LayoutError('a data segment\'s offset is not a constant');
          head.push(0x41, ...sleb32(offset), 0x0b);
        } else if (flags !== 1) {
          throw new LayoutError(`unknown data segment kind ${flags}`);
        }
        const len = r.u32();
        head.push(...leb(len));
        body.push(Uint8Array.from(head), bytes.subarray(r.at, r.at + len));
        r.at += len;
      }
      section(...body);
    } else {
      parts.push(bytes.subarray(s.head, s.end));
    }
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}
