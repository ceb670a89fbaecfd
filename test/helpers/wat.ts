// Hand-written guests in the WebAssembly text format, assembled by wabt (a devDependency):
// the adversarial suites need guests that no compiler emits on purpose (a recursion that calls
// an import in every frame, a catch_all around proc_exit, a start section that exits).
import wabtInit from 'wabt';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const wabt = await wabtInit();

/** The binary of a module in the text format, with the exception-handling and threads proposals. */
export function watBytes(source: string): Uint8Array<ArrayBuffer> {
  const m = wabt.parseWat('guest.wat', source, { exceptions: true, threads: true, bulk_memory: true });
  try {
    m.resolveNames(); // V8 validates what it compiles (wabt's validator ignores the threads feature)
    return new Uint8Array(m.toBinary({}).buffer);
  } finally {
    m.destroy();
  }
}

export function wat(source: string): WebAssembly.Module {
  return new WebAssembly.Module(watBytes(source));
}

/** Writes the module into `dir` as `name`.wasm, for the CLI; returns its path. */
export function watFile(dir: string, name: string, source: string): string {
  const path = join(dir, `${name}.wasm`);
  writeFileSync(path, watBytes(source));
  return path;
}

/**
 * WAT text that lays `s` out as a data segment at `at`, for (i32.const at) (i32.const len).
 * Escapes every byte, so any string fits.
 */
export function data(at: number, s: string | Uint8Array): string {
  const bytes = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
  return `(data (i32.const ${at}) "${[...bytes].map((b) => '\\' + b.toString(16).padStart(2, '0')).join('')}")`;
}
