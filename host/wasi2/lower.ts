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
// (rscTableRemove); `resourceTables` holds the tables of the function's resource types, ordered
// by the component's type index, not by parameter. The glue takes a host object's rep from
// `obj[Symbol.for('cabiRep')]`, so objects of the classes below give reps of their own
// instance's registry, and a handle finds its object there.
import type { Context } from '../sandbox/context.js';
import { componentTrap } from './host.js';

export const CABI_LOWER: symbol = Symbol.for('cabiLower');
export const CABI_REP: symbol = Symbol.for('cabiRep');
/** jco's own-handle and free-slot flag (its glue's T_FLAG). */
const T_FLAG = 1 << 30;

export interface LowerContext {
  memory: WebAssembly.Memory;
  realloc?: unknown;
  resourceTables?: number[][];
}

/**
 * One instance's host objects that the glue holds handles to, by rep. An object gets a rep when
 * the glue first asks for one (it is handed to the guest) and loses it when the guest drops its
 * last handle (the glue calls its dispose), so the registry holds what the guest holds.
 */
export class Reps {
  private readonly objects: (object | undefined)[] = [undefined]; // rep 0 means "none" to the glue
  /** Each object's class, compared by identity: an `instanceof` of a class that varies is slow. */
  private readonly classes: (Function | undefined)[] = [undefined];
  private readonly free: number[] = [];

  add(o: object): number {
    const rep = this.free.pop() ?? this.objects.length;
    // The glue stores rep | T_FLAG: a rep must stay below the flag.
    if (rep >= T_FLAG) componentTrap('too many resources');
    this.objects[rep] = o;
    this.classes[rep] = o.constructor;
    return rep;
  }

  get(rep: number): object | undefined {
    return this.objects[rep];
  }

  /** The object of `rep` if its class is exactly `cls`. */
  getOf<T>(rep: number, cls: abstract new (...a: never[]) => T): T | undefined {
    return this.classes[rep] === cls ? this.objects[rep] as T : undefined;
  }

  remove(rep: number): void {
    if (rep <= 0 || this.objects[rep] === undefined) return;
    this.objects[rep] = undefined;
    this.classes[rep] = undefined;
    this.free.push(rep);
  }
}

const registries = new WeakMap<Context, Reps>();
export function repsOf(ctx: Context): Reps {
  let r = registries.get(ctx);
  if (r === undefined) registries.set(ctx, r = new Reps());
  return r;
}

/**
 * The object behind `handle` of class `cls` (exactly: the host's resource classes are not
 * subclassed), looked up in whichever of `tables` holds that type (each table holds one type,
 * and the registry's classes say which). An index that is not a
 * live handle of that type traps, as the canonical ABI's lift of a borrow does
 * (CanonicalABI.md, lift_borrow: `trap_if` on an invalid index).
 */
export function borrowed<T>(tables: number[][], reps: Reps, handle: number, cls: abstract new (...a: never[]) => T): T {
  const i = handle << 1;
  for (let t = 0; t < tables.length; t++) {
    const table = tables[t];
    const scope = table[i];
    if (scope === undefined || (scope & T_FLAG) !== 0) continue; // not a slot, or a free one
    const o = reps.getOf(table[i + 1] & ~T_FLAG, cls);
    if (o !== undefined) return o;
  }
  return componentTrap(`unknown handle ${handle >>> 0}`);
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
