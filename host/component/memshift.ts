// The memory shift: a preview1 module rewritten so that it never touches the first SHIFT bytes
// of its memory, which then belong to the preview1 adapter (the approach Fastly's Viceroy takes
// for the same problem).
//
// Why. The adapter keeps its state (64 KiB, a magic number at each end) and its stack (64 KiB)
// in the module's memory. wit-component gets both from the module's `cabi_realloc_adapter`
// export, else its `cabi_realloc`, else by `memory.grow` (wasm-tools #900: toolchains that
// expect to own all of memory get pages grown behind their back; #989 added
// `cabi_realloc_adapter` so that a module can hand the adapter memory of its own choosing).
// The `memory.grow` case fails with any allocator that takes every page below `memory.size` as
// heap: AssemblyScript's TLSF does so at its first allocation, so a program whose first WASI
// call comes before it (args_sizes_get, then the buffers) has its heap laid over the adapter's
// state, and the adapter's next call fails its magic-number check. Nothing outside the module
// can tell which allocators do that, so every module that exports neither realloc is shifted:
// C (wasi-libc) and Rust modules too, which then also cannot overwrite the adapter's
// descriptor table through a stray pointer.
//
// How, in the module (binaryen):
// - every load, store, atomic and SIMD access gets SHIFT added to its static offset. The
//   effective address ptr + offset is computed without wrapping, so an access traps exactly
//   when it did: at memsize_v (the module's size) before, memsize_v + SHIFT now. An offset that
//   would pass 2^32 - 1 is clamped there, and the memory is kept below 4 GiB
//   (memshift_layout.ts, MAX_PAGES), so such an access still faults, as it always did.
// - memory.size answers pages - SHIFT_PAGES; memory.grow answers its result - SHIFT_PAGES, or -1.
// - memory.copy, memory.fill, memory.init and atomic wait/notify, which take addresses as
//   operands, get them through $shift_ptr (the same clamp).
// - it exports `cabi_realloc_adapter`, a bump allocator over [ARENA_START, SCRATCH) that traps
//   when it runs out: wit-component calls it for the adapter's state and, through the
//   `allocate_stack` it adds to the adapter (wit-component's gc.rs), for its stack.
// - its preview1 imports are reached through wrappers that add SHIFT to every pointer
//   (memshift_calls.ts); the memory and data segments move in memshift_layout.ts.
import { LayoutError, SCRATCH, SHIFT, SHIFT_PAGES, shiftLayout } from './memshift_layout.js';
import { wrapPreview1Calls } from './memshift_calls.js';
import { uniqueName } from './module_names.js';

export { IOV_MAX, SCRATCH, SHIFT, SHIFT_PAGES } from './memshift_layout.js';

/**
 * The adapter's allocations start above 0, which it would take for "none"; the bytes below
 * are where jco's glue lowers an empty string (at address 1) and the adapter writes its NUL.
 */
const ARENA_START = 16;

/** Exports through which wit-component would give the adapter memory without memory.grow. */
const REALLOCS = ['cabi_realloc_adapter', 'cabi_realloc', 'canonical_abi_realloc'];

export type Binaryen = typeof import('binaryen').default;
export type Module = InstanceType<Binaryen['Module']>;

/** Why a module that needs the shift cannot have it. */
export class ShiftError extends Error {}

/**
 * Shifts the module (read by binaryen, in `m`) and answers true; or answers false and changes
 * nothing when wit-component would not use memory.grow for the adapter (the module exports a
 * realloc) or the module has no memory of its own to shift (then the adapter could not use it
 * either, and wit-component says so; ownsOneMemory32 tells from the bytes). The emitted binary
 * then needs finishShift.
 */
export function shiftModule(b: Binaryen, m: Module): boolean {
  if (REALLOCS.some((name) => m.getExport(name) !== 0)) return false;
  const names = { ptr: uniqueName(m, 'wasm-zerocopy:shift_ptr'), grow: uniqueName(m, 'wasm-zerocopy:shift_grow') };
  const walker = new Walker(b);
  const setBody = (b as unknown as { _BinaryenFunctionSetBody(f: number, e: number): void })._BinaryenFunctionSetBody;
  for (let i = 0; i < m.getNumFunctions(); i++) {
    const f = m.getFunctionByIndex(i);
    const info = b.getFunctionInfo(f);
    if (info.module) continue;
    const body = walker.rewrite(info.body, (e) => shiftExpression(b, m, walker, e, names));
    if (body !== info.body) setBody(f, body);
  }
  addHelpers(b, m, names);
  wrapPreview1Calls(b, m, names.ptr);
  addAdapterRealloc(b, m);
  return true;
}

/** The shifted module's memory and data segments moved (memshift_layout.ts). */
export function finishShift(bytes: Uint8Array): Uint8Array {
  try {
    return shiftLayout(bytes, SHIFT_PAGES);
  } catch (e) {
    if (e instanceof LayoutError) throw new ShiftError(e.message);
    throw e;
  }
}

/** The replacement of one expression, its children already shifted. */
function shiftExpression(b: Binaryen, m: Module, w: Walker, e: number, names: { ptr: string; grow: string }): number {
  const id = b.getExpressionId(e);
  const access = w.offsets.get(id);
  if (access !== undefined) {
    const [get, set] = access;
    set(e, Math.min((get(e) >>> 0) + SHIFT, 0xffffffff) | 0);
    return e;
  }
  for (const [get, set] of w.addresses.get(id) ?? []) set(e, m.call(names.ptr, [get(e)], b.i32));
  if (id === b.MemorySizeId) return m.i32.sub(e, m.i32.const(SHIFT_PAGES));
  if (id === b.MemoryGrowId) return m.call(names.grow, [w.growDelta(e)], b.i32);
  return e;
}

type Accessor = [get: (e: number) => number, set: (e: number, v: number) => number];
/** Addresses given as operands rather than as ptr + offset: through $shift_ptr. */
const ADDRESS_OPERANDS: Record<string, string[]> = {
  MemoryCopy: ['Dest', 'Source'], MemoryFill: ['Dest'], MemoryInit: ['Dest'], AtomicWait: ['Ptr'], AtomicNotify: ['Ptr'],
};

function addHelpers(b: Binaryen, m: Module, names: { ptr: string; grow: string }): void {
  const i32 = b.i32;
  // $shift_ptr(p): p + SHIFT, or 0xffffffff where that passes 2^32 - 1 (an address that faults
  // for any access of a byte or more, as p did: p > 2^32 - 1 - SHIFT lies past the module's memory).
  m.addFunction(names.ptr, b.createType([i32]), i32, [], m.select(
    m.i32.gt_u(m.local.get(0, i32), m.i32.const(0xffffffff - SHIFT | 0)),
    m.i32.const(-1),
    m.i32.add(m.local.get(0, i32), m.i32.const(SHIFT)),
  ));
  // $shift_grow(delta): memory.grow's answer in the module's pages; -1 stays -1.
  m.addFunction(names.grow, b.createType([i32]), i32, [i32], m.block(null, [
    m.local.set(1, m.memory.grow(m.local.get(0, i32))),
    m.select(
      m.i32.eq(m.local.get(1, i32), m.i32.const(-1)),
      m.i32.const(-1),
      m.i32.sub(m.local.get(1, i32), m.i32.const(SHIFT_PAGES)),
    ),
  ], i32));
}

/**
 * `cabi_realloc_adapter(old_ptr, old_len, align, new_len)`: new allocations only (as
 * wit-component's own realloc_via_memory_grow), bumped up from ARENA_START, aligned; a
 * request that does not fit below SCRATCH traps, as memory.grow failing would.
 */
function addAdapterRealloc(b: Binaryen, m: Module): void {
  const i32 = b.i32;
  const bump = uniqueName(m, 'wasm-zerocopy:adapter_bump', (n) => m.getGlobal(n));
  m.addGlobal(bump, i32, true, m.i32.const(ARENA_START));
  const name = uniqueName(m, 'wasm-zerocopy:cabi_realloc_adapter');
  const get = (k: number) => m.local.get(k, i32);
  const at = 4; // the one local: the aligned start
  m.addFunction(name, b.createType([i32, i32, i32, i32]), i32, [i32], m.block(null, [
    m.if(m.i32.or(get(0), get(1)), m.unreachable()),
    // (bump + align - 1) & -align; align is a power of two (the canonical ABI's).
    m.local.set(at, m.i32.and(
      m.i32.sub(m.i32.add(m.global.get(bump, i32), get(2)), m.i32.const(1)),
      m.i32.sub(m.i32.const(0), get(2)))),
    m.if(m.i32.or(
      m.i32.gt_u(get(at), m.i32.const(SCRATCH)),
      m.i32.gt_u(get(3), m.i32.sub(m.i32.const(SCRATCH), get(at)))), m.unreachable()),
    m.global.set(bump, m.i32.add(get(at), get(3))),
    get(at),
  ], i32));
  m.addFunctionExport(name, 'cabi_realloc_adapter');
}

/**
 * A post-order walk over an expression tree that lets each node be replaced, without
 * recursion (a deep tree must not exhaust the JS stack). binaryen.js has no generic child
 * access, so the children of each expression kind are listed from its C API accessors; a kind
 * not listed (table.fill/copy/init, try_table, throw_ref and a few GC and stack-switching
 * instructions, which binaryen.js 123 cannot reach into) is refused rather than left unshifted.
 */
class Walker {
  private readonly kinds = new Map<number, { name: string; slots: ChildSlot[] }>();
  /** The static offset of each kind of memory access. */
  readonly offsets = new Map<number, Accessor>();
  /** The operands of the instructions that take an address as a value. */
  readonly addresses = new Map<number, Accessor[]>();
  readonly growDelta: (e: number) => number;

  constructor(private readonly b: Binaryen) {
    const raw = b as unknown as Record<string, (...a: number[]) => number>;
    const fn = (name: string) => {
      const f = raw[`_Binaryen${name}`];
      if (typeof f !== 'function') throw new Error(`binaryen.js lacks _Binaryen${name}`);
      return f;
    };
    for (const [kind, fields] of Object.entries(CHILDREN)) {
      const id = fn(`${kind}Id`)();
      const slots = fields.map((field): ChildSlot => {
        if (!field.startsWith('*')) return { one: [fn(`${kind}Get${field}`), fn(`${kind}Set${field}`)] };
        const item = field.slice(1);
        const plural = PLURALS[item] ?? `${item}s`;
        return { list: [fn(`${kind}GetNum${plural}`), fn(`${kind}Get${item}At`), fn(`${kind}Set${item}At`)] };
      });
      this.kinds.set(id, { name: kind, slots });
    }
    const accessor = (kind: string, field: string): Accessor => [fn(`${kind}Get${field}`), fn(`${kind}Set${field}`)];
    for (const k of ['Load', 'Store', 'AtomicRMW', 'AtomicCmpxchg', 'SIMDLoad', 'SIMDLoadStoreLane']) {
      this.offsets.set(fn(`${k}Id`)(), accessor(k, 'Offset'));
    }
    for (const [k, fields] of Object.entries(ADDRESS_OPERANDS)) {
      this.addresses.set(fn(`${k}Id`)(), fields.map((f) => accessor(k, f)));
    }
    this.growDelta = fn('MemoryGrowGetDelta');
  }

  rewrite(root: number, replace: (e: number) => number): number {
    if (root === 0) return root;
    interface Frame { e: number; children: [get: () => number, set: (c: number) => void][]; next: number; set: ((c: number) => void) | null }
    let result = root;
    const frame = (e: number, set: Frame['set']): Frame => {
      const kind = this.kinds.get(this.b.getExpressionId(e));
      if (kind === undefined) {
        throw new ShiftError(`the module uses an instruction (binaryen expression id ${this.b.getExpressionId(e)}) ` +
          'whose operands binaryen.js cannot reach, so its memory accesses cannot be moved for the adapter');
      }
      const children: Frame['children'] = [];
      for (const s of kind.slots) {
        if (s.one) {
          const [get, put] = s.one;
          children.push([() => get(e), (c) => { put(e, c); }]);
        } else {
          const [num, get, put] = s.list!;
          for (let i = 0, n = num(e); i < n; i++) children.push([() => get(e, i), (c) => { put(e, i, c); }]);
        }
      }
      return { e, children, next: 0, set };
    };
    const stack: Frame[] = [frame(root, (c) => { result = c; })];
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      if (top.next < top.children.length) {
        const [get, set] = top.children[top.next++];
        const child = get();
        if (child !== 0) stack.push(frame(child, set));
        continue;
      }
      stack.pop();
      const r = replace(top.e);
      if (r !== top.e) top.set!(r);
    }
    return result;
  }
}

interface ChildSlot {
  one?: [get: (e: number) => number, set: (e: number, c: number) => number];
  list?: [num: (e: number) => number, get: (e: number, i: number) => number, set: (e: number, i: number, c: number) => number];
}

const PLURALS: Record<string, string> = { Child: 'Children', CatchBody: 'CatchBodies' };

/** Each expression kind's children, by the names of its C API accessors (`*` a list). */
const CHILDREN: Record<string, string[]> = {
  Nop: [], LocalGet: [], GlobalGet: [], Const: [], Unreachable: [], Pop: [], RefNull: [], RefFunc: [],
  TableSize: [], AtomicFence: [], DataDrop: [], Rethrow: [], MemorySize: [], StringConst: [],
  Block: ['*Child'], If: ['Condition', 'IfTrue', 'IfFalse'], Loop: ['Body'], Break: ['Condition', 'Value'],
  Switch: ['Condition', 'Value'], Call: ['*Operand'], CallIndirect: ['Target', '*Operand'],
  LocalSet: ['Value'], GlobalSet: ['Value'], TableGet: ['Index'], TableSet: ['Index', 'Value'],
  TableGrow: ['Value', 'Delta'], Load: ['Ptr'], Store: ['Ptr', 'Value'], Unary: ['Value'],
  Binary: ['Left', 'Right'], Select: ['IfTrue', 'IfFalse', 'Condition'], Drop: ['Value'], Return: ['Value'],
  MemoryGrow: ['Delta'], AtomicRMW: ['Ptr', 'Value'], AtomicCmpxchg: ['Ptr', 'Expected', 'Replacement'],
  AtomicWait: ['Ptr', 'Expected', 'Timeout'], AtomicNotify: ['Ptr', 'NotifyCount'], SIMDExtract: ['Vec'],
  SIMDReplace: ['Vec', 'Value'], SIMDShuffle: ['Left', 'Right'], SIMDTernary: ['A', 'B', 'C'],
  SIMDShift: ['Vec', 'Shift'], SIMDLoad: ['Ptr'], SIMDLoadStoreLane: ['Ptr', 'Vec'],
  MemoryInit: ['Dest', 'Offset', 'Size'], MemoryCopy: ['Dest', 'Source', 'Size'], MemoryFill: ['Dest', 'Value', 'Size'],
  RefIsNull: ['Value'], RefAs: ['Value'], RefEq: ['Left', 'Right'], Try: ['Body', '*CatchBody'],
  Throw: ['*Operand'], TupleMake: ['*Operand'], TupleExtract: ['Tuple'], RefI31: ['Value'], I31Get: ['I31'],
  CallRef: ['*Operand', 'Target'], RefTest: ['Ref'], RefCast: ['Ref'], BrOn: ['Ref'], StructNew: ['*Operand'],
  StructGet: ['Ref'], StructSet: ['Ref', 'Value'], ArrayNew: ['Init', 'Size'], ArrayNewFixed: ['*Value'],
  ArrayGet: ['Ref', 'Index'], ArraySet: ['Ref', 'Index', 'Value'], ArrayLen: ['Ref'],
  ArrayCopy: ['DestRef', 'DestIndex', 'SrcRef', 'SrcIndex', 'Length'], StringNew: ['Ref', 'Start', 'End'],
  StringMeasure: ['Ref'], StringEncode: ['Str', 'Array', 'Start'], StringConcat: ['Left', 'Right'],
  StringEq: ['Left', 'Right'], StringWTF16Get: ['Ref', 'Pos'], StringSliceWTF: ['Ref', 'Start', 'End'],
};
