// Lists a component passes to the host, checked against its memory before the glue reads them.
//
// jco 1.12.0 lifts a list of a primitive type as `new Uint8Array(memory.buffer.slice(ptr, ptr
// + len * size))` (crates/js-component-bindgen/src/function_bindgen.rs, ListCanonLift):
// ArrayBuffer.slice clamps to the buffer, so a list that runs past the end of memory reaches
// the host short (a 3-byte write there writes 2 bytes and succeeds), and a pointer of 2^31 or
// more, a negative i32 to JavaScript, counts from the end. Other lists it reads element by
// element (ListLift), each read of a DataView checked, but only after building every element
// before it. The canonical ABI traps first (CanonicalABI.md, load_list_from_valid_range:
// `trap_if(ptr != align_to(ptr, alignment(elem_type)))`, `trap_if(ptr + length *
// elem_size(elem_type) > len(cx.opts.memory))`). So the host checks each list of the imports it
// implements that take one, as the core code passes it, before the glue's trampoline runs.
//
// Which memory: that of the core instance making the call (the one it imports, as the preview1
// adapter imports the main module's, else the one it defines): the canonical ABI's options of an
// import lowered into a core instance name the memory its pointers point into.
import { componentTrap } from '../wasi2/host.js';
import { MAX_POLLABLES } from '../wasi2/poll.js';

interface ListParam {
  /** The index of the list's pointer among the core parameters (after a handle, or first); its length follows. */
  at: 0 | 1;
  /** The size and alignment of an element (CanonicalABI.md, elem_size and alignment). */
  size: number;
  align: number;
  /** The most elements the host takes (longer lists trap before the glue reads them). */
  max: number;
}

const BYTES = { size: 1, align: 1, max: 0xffffffff } as const;

/**
 * The imports of this host that take a list, by interface (without version, as the host
 * implements them) and core import name. Their core signatures flatten the WIT's (CanonicalABI.md,
 * flatten_functype): a method's resource handle first, then the list's pointer and length.
 */
export const LIST_PARAMS: Record<string, Record<string, ListParam>> = {
  'wasi:io/streams': {
    '[method]output-stream.write': { at: 1, ...BYTES },
    '[method]output-stream.blocking-write-and-flush': { at: 1, ...BYTES },
  },
  'wasi:filesystem/types': {
    '[method]descriptor.write': { at: 1, ...BYTES },
  },
  'wasi:io/poll': {
    // list<borrow<pollable>>: i32 handles; poll traps past MAX_POLLABLES anyway (poll.ts).
    poll: { at: 0, size: 4, align: 4, max: MAX_POLLABLES },
  },
};

type CoreFn = (a: unknown, b: unknown, c: unknown, d: unknown, e: unknown) => unknown;

/**
 * `imports` with every function LIST_PARAMS names wrapped in the check of its list; `memory`
 * gives the calling instance's memory (undefined before it exists: such a call traps).
 */
export function checkLists(imports: WebAssembly.Imports, memory: () => WebAssembly.Memory | undefined): WebAssembly.Imports {
  const out: WebAssembly.Imports = { ...imports };
  for (const [module, fns] of Object.entries(imports ?? {})) {
    const lists = LIST_PARAMS[module.replace(/@[^@]*$/, '')];
    if (lists === undefined) continue;
    const wrapped: Record<string, unknown> = { ...fns };
    for (const [name, fn] of Object.entries(fns)) {
      const list = lists[name];
      if (list !== undefined && typeof fn === 'function') wrapped[name] = checked(fn as CoreFn, list, memory, `${module} ${name}`);
    }
    out[module] = wrapped as WebAssembly.ModuleImports;
  }
  return out;
}

/**
 * `fn` behind the check of its list. Five parameters cover every signature in LIST_PARAMS, and
 * wasm ignores arguments past a function's own, so one wrapper serves all without a rest
 * parameter (a host call is a few hundred nanoseconds; see run.ts's guard).
 */
function checked(fn: CoreFn, list: ListParam, memory: () => WebAssembly.Memory | undefined, what: string): CoreFn {
  const { at, size, align, max } = list;
  const check = (ptr: number, len: number): void => {
    const p = ptr >>> 0, n = len >>> 0; // u32s, which JavaScript receives as signed i32s
    if (p % align !== 0) componentTrap(`${what}: a list at ${p}, not aligned to ${align}`);
    if (n > max) componentTrap(`${what}: a list of ${n} elements, more than ${max}`);
    const m = memory();
    if (m === undefined || p + n * size > m.buffer.byteLength) {
      componentTrap(`${what}: a list of ${n * size} bytes at ${p} runs past the end of memory`);
    }
  };
  return at === 0
    ? (a, b, c, d, e) => { check(a as number, b as number); return fn(a, b, c, d, e); }
    : (a, b, c, d, e) => { check(b as number, c as number); return fn(a, b, c, d, e); };
}

/** The memory a core instance's pointers point into: the one it imports, else the one it exports. */
export function importedMemory(imports: WebAssembly.Imports): WebAssembly.Memory | undefined {
  for (const fns of Object.values(imports ?? {})) {
    for (const v of Object.values(fns)) if (v instanceof WebAssembly.Memory) return v;
  }
  return undefined;
}

export function exportedMemory(instance: WebAssembly.Instance): WebAssembly.Memory | undefined {
  for (const v of Object.values(instance.exports)) if (v instanceof WebAssembly.Memory) return v;
  return undefined;
}
