// Host functions that lower themselves: jco's `importBindings: 'hybrid'` glue asks each imported
// function for `fn[Symbol.for('cabiLower')]({ memory, realloc, resourceTables })` and, when the
// host gives one, puts the core function it returns in place of the glue's JavaScript
// trampoline (jco 1.12.0, crates/js-component-bindgen BindingsMode::Hybrid). Such a function
// takes the core arguments (handles, i64s as bigints, a return pointer) and stores its result
// itself, by the canonical ABI: the hot path of a host call without the trampoline's per-call
// objects, borrow bookkeeping and memory.buffer reads.
//
// Handles. The glue keeps one table per resource type, an array of pairs [scope, rep | T_FLAG]
// (rscTableCreateOwn), slot 0 the head of the free list and a free slot's scope T_FLAG-marked
// (rscTableRemove); `resourceTables` holds the tables of the function's resource types, in an
// order of jco's own (by its TypeIds, transpile_bindgen.rs lower_import), unnamed. Which table
// is whose is told by what the tables hold: every rep in them is the registry's, and names one
// live object of the table's type (resources.ts).
import { componentTrap } from './host.js';
import { CABI_LOWER, type Reps, T_FLAG } from './resources.js';

export { CABI_LOWER };

export interface LowerContext {
  memory: WebAssembly.Memory;
  realloc?: unknown;
  resourceTables?: number[][];
}

/**
 * The borrows of one resource class in one lowered function: the handle's object, found in
 * that class's table only. The table is found at the first handle that is live in one of the
 * function's tables with a rep of a `cls` object: only `cls`'s table can hold such a rep
 * (resources.ts), so from then on a handle of another type, whatever its index or rep, is
 * looked up there and not found. An index that is not a live handle of that table traps, as the
 * canonical ABI's lift of a borrow does (CanonicalABI.md, lift_borrow: `trap_if` on an invalid
 * index).
 */
export class Borrows<T> {
  private table: number[] | null = null;

  constructor(
    private readonly tables: readonly number[][],
    private readonly reps: Reps,
    private readonly cls: abstract new (...a: never[]) => T,
    private readonly name: string,
  ) {}

  get(handle: number): T {
    // A handle is a u32 index: no shift, whose 32-bit wrap would make 2^31 + 1 the index 1.
    const i = handle * 2;
    const table = this.table ?? this.find(i);
    const scope = table[i];
    if (scope === undefined || (scope & T_FLAG) !== 0) return this.invalid(handle); // no slot, or a free one
    return this.reps.getOf(table[i + 1] & ~T_FLAG, this.cls) ?? this.invalid(handle);
  }

  private find(i: number): number[] {
    for (const table of this.tables) {
      const scope = table[i];
      if (scope === undefined || (scope & T_FLAG) !== 0) continue;
      if (this.reps.getOf(table[i + 1] & ~T_FLAG, this.cls) !== undefined) return this.table = table;
    }
    return this.invalid(i / 2);
  }

  private invalid(handle: number): never {
    return componentTrap(`invalid ${this.name} handle ${handle >>> 0}`);
  }
}

/**
 * A view of the guest's memory for storing results, made again only when memory.grow has
 * detached the buffer it viewed (a detached ArrayBuffer has byteLength 0): the glue reads the
 * memory.buffer getter at every store instead.
 */
export class MemoryView {
  private buffer: ArrayBuffer;
  private dv: DataView;

  constructor(private readonly memory: WebAssembly.Memory) {
    this.buffer = memory.buffer;
    this.dv = new DataView(this.buffer);
  }

  get(): DataView {
    if (this.buffer.byteLength === 0) {
      this.buffer = this.memory.buffer;
      this.dv = new DataView(this.buffer);
    }
    return this.dv;
  }
}
