// `componentize`: a preview1 command module made into a component with the preview1 command
// adapter jco ships (wasm-tools' `component new --adapt`, run in-process through jco).
//
// What the adapter alone would get wrong, handled first:
// - proc_exit's status. The adapter turns proc_exit(n) into wasi:cli/exit(err) for any n != 0,
//   so every failure would exit 1. Unless asked for a portable component, the module's
//   proc_exit import is renamed to wasm-zerocopy:zerocopy/exit@0.1.0#exit-with-code, which
//   this host implements with the same meaning as preview1's; a component made so runs only
//   here.
// - Duplicate imports, and reads and writes of no bytes that the adapter answers without looking
//   at the descriptor: see preview1_fixes.ts.
// - The adapter's memory. A module that exports no realloc would have wit-component grow its
//   memory for the adapter's state and stack, where allocators that own every page below
//   memory.size (AssemblyScript's) overwrite them; such a module is shifted up to leave the
//   adapter memory of its own: see memshift.ts.
//
// A module that imports `zerocopy` is refused: the adapter keeps its descriptor table to itself,
// so those calls could never name the real descriptors behind the guest's numbers; a component
// uses the WIT interface wasm-zerocopy:zerocopy/zerocopy instead (wit/zerocopy.wit).
import { wasmKind } from './format.js';
import { commandAdapter, loadJco } from './jco.js';
import { importsOf, renameImports } from './imports_section.js';
import { fixPreview1Module } from './preview1_fixes.js';
import { ShiftError } from './memshift.js';

const PREVIEW1 = 'wasi_snapshot_preview1';
export const EXIT_INTERFACE = 'wasm-zerocopy:zerocopy/exit@0.1.0';
const EXIT_WIT = `package wasm-zerocopy:zerocopy@0.1.0;

interface exit {
  /// Ends the program with this status, as preview1's proc_exit does.
  exit-with-code: func(status-code: u32);
}

world preview1-exit {
  import exit;
}
`;

export class ComponentizeError extends Error {}

export interface ComponentizeOptions {
  /** Keep to standard WASI 0.2 imports (exit statuses other than 0 become 1, as the adapter does). */
  portable?: boolean;
}

export async function componentize(module: Uint8Array, options: ComponentizeOptions = {}): Promise<Uint8Array> {
  const kind = wasmKind(module);
  if (kind === 'component') throw new ComponentizeError('it is a component already');
  if (kind !== 'module') throw new ComponentizeError('not a WebAssembly module');
  let imports = importsOf(module);
  if (imports.some((i) => i.module === 'zerocopy')) {
    throw new ComponentizeError('it imports the zerocopy module, whose calls name preview1 descriptors; inside a ' +
      'component those belong to the preview1 adapter, which keeps them private, so the calls could never reach ' +
      'the real descriptors. Use the WIT interface wasm-zerocopy:zerocopy/zerocopy@0.1.0 (wit/zerocopy.wit) instead.');
  }
  const jco = await loadJco();
  try {
    module = await fixPreview1Module(module);
  } catch (e) {
    if (e instanceof ShiftError) throw new ComponentizeError(e.message);
    throw e;
  }
  imports = importsOf(module);
  if (!options.portable && imports.some((i) => i.module === PREVIEW1 && i.name === 'proc_exit')) {
    module = renameImports(module, (i) => (i.module === PREVIEW1 && i.name === 'proc_exit'
      ? [EXIT_INTERFACE, 'exit-with-code'] : [i.module, i.name]));
    module = await jco.componentEmbed({ binary: module, witSource: EXIT_WIT, world: 'preview1-exit' });
  }
  try {
    return await jco.componentNew(module, [[PREVIEW1, commandAdapter()]]);
  } catch (e) {
    throw new ComponentizeError(String((e as Error).message ?? e).split('\n').map((l) => l.trim()).filter(Boolean).join(': '));
  }
}
