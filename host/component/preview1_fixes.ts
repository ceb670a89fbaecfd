// What a preview1 module needs before the preview1 command adapter wraps it, done with binaryen
// in one pass over the module (read, change, write; nothing is optimised):
//
// - Duplicate imports merged (AssemblyScript imports fd_write twice): wit-component refuses a
//   module that imports one function twice; binaryen's duplicate-import-elimination merges them.
// - An empty read or write checks its descriptor. The adapter answers fd_read, fd_write,
//   fd_pread and fd_pwrite with success when the iovec list is empty, before it looks the
//   descriptor up (wasmtime's crates/wasi-preview1-component-adapter/src/lib.rs: "if iovs_len
//   == 0 { *nwritten = 0; return ERRNO_SUCCESS; }"), where Linux's readv(2)/writev(2) answer
//   EBADF for a descriptor that is not open (the official suite's
//   assemblyscript/fd_write-to-invalid-fd). Each of those imports is wrapped: with an empty list
//   the descriptor is first checked with fd_renumber(fd, fd), which the adapter answers with
//   badf for a descriptor it does not hold and otherwise leaves everything as it was (as
//   dup2(fd, fd) does, dup(2)); then the adapter's own function runs.
// - The memory shift, for a module that exports no realloc: memshift.ts. In the same binaryen
//   session, after the fixes above (whose wrappers then call the shift's).
import { importsOf, type Import } from './imports_section.js';
import { loadBinaryen } from './jco.js';
import { finishShift, shiftModule } from './memshift.js';
import { ownsOneMemory32 } from './memshift_layout.js';
import { CHECK_DESCRIPTOR, preview1Import, uniqueName } from './module_names.js';

const PREVIEW1 = 'wasi_snapshot_preview1';
/** The calls whose iovec count is their third parameter, all (fd, iovs, iovs_len, ...) -> errno. */
const EMPTY_IOVECS = new Set(['fd_read', 'fd_write', 'fd_pread', 'fd_pwrite']);
const CHECK = CHECK_DESCRIPTOR;

/** Whether `fixPreview1Module` would change anything in a module with these imports. */
export function needsFixes(imports: readonly Import[]): boolean {
  const seen = new Set<string>();
  return imports.some((i) => seen.size === seen.add(`${i.module}\0${i.name}`).size ||
    (i.module === PREVIEW1 && EMPTY_IOVECS.has(i.name)));
}

/** The module with the fixes it needs; as it is (the same array) if it needs none. */
export async function fixPreview1Module(module: Uint8Array): Promise<Uint8Array> {
  // binaryen's reading and writing cost more than the changes (~70 ms for a Rust test program):
  // once for everything, and not at all when nothing can change.
  if (!needsFixes(importsOf(module)) && !ownsOneMemory32(module)) return module;
  const binaryen = await loadBinaryen();
  const m = binaryen.readBinary(module);
  let shifted: boolean;
  let out: Uint8Array;
  try {
    m.setFeatures(binaryen.Features.All);
    if (needsFixes(importsOf(module))) {
      m.runPasses(['duplicate-import-elimination']);
      checkEmptyIovecs(binaryen, m);
    }
    shifted = ownsOneMemory32(module) && shiftModule(binaryen, m);
    if (!shifted && !needsFixes(importsOf(module))) return module;
    if (!m.validate()) throw new Error('binaryen produced an invalid module');
    out = m.emitBinary();
  } finally {
    m.dispose();
  }
  return shifted ? finishShift(out) : out;
}

type Binaryen = typeof import('binaryen').default;
type Module = InstanceType<Binaryen['Module']>;

function checkEmptyIovecs(b: Binaryen, m: Module): void {
  const imported = new Map<string, { name: string; params: number; results: number }>();
  for (let i = 0; i < m.getNumFunctions(); i++) {
    const f = b.getFunctionInfo(m.getFunctionByIndex(i));
    if (f.module === PREVIEW1) imported.set(f.base!, { name: f.name, params: f.params, results: f.results });
  }
  const targets = [...EMPTY_IOVECS].filter((n) => imported.has(n));
  if (targets.length === 0) return;
  const i32 = b.i32;
  const check = preview1Import(b, m, CHECK, [i32, i32], i32);
  for (const base of targets) {
    const f = imported.get(base)!;
    const params = b.expandType(f.params);
    // Only the signature preview1 defines; anything else is left to fail as it would have.
    if (params.length < 3 || params[0] !== i32 || params[2] !== i32 || f.results !== i32) continue;
    // The import keeps its place under a new internal name; every call and table entry that
    // named it now reaches the wrapper, which has its old name.
    const original = uniqueName(m, `wasm-zerocopy:${base}`);
    m.removeFunction(f.name);
    m.addFunctionImport(original, PREVIEW1, base, f.params, f.results);
    const args = params.map((t, k) => m.local.get(k, t));
    const status = params.length; // the one local past the parameters
    m.addFunction(f.name, f.params, f.results, [i32], m.block(null, [
      m.if(m.i32.eqz(m.local.get(2, i32)),
        m.if(m.local.tee(status, m.call(check, [m.local.get(0, i32), m.local.get(0, i32)], i32), i32),
          m.return(m.local.get(status, i32)))),
      m.return(m.call(original, args, i32)),
    ], b.auto));
  }
}
