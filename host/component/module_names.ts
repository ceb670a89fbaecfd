// Names in a module being rewritten with binaryen (preview1_fixes.ts, memshift.ts): new ones
// that clash with nothing, and the module's preview1 imports.
type Binaryen = typeof import('binaryen').default;
type Module = InstanceType<Binaryen['Module']>;

const PREVIEW1 = 'wasi_snapshot_preview1';
/** Checks a descriptor and changes nothing: fd_renumber(fd, fd), as dup2(fd, fd) (dup(2)). */
export const CHECK_DESCRIPTOR = 'fd_renumber';

/** A name no function of the module has yet (or nothing `taken` names). */
export function uniqueName(m: Module, base: string, taken: (name: string) => number = (n) => m.getFunction(n)): string {
  let name = base;
  for (let n = 1; taken(name) !== 0; n++) name = `${base}.${n}`;
  return name;
}

/** The internal name of the module's import of preview1's `base`, imported now if it was not. */
export function preview1Import(b: Binaryen, m: Module, base: string, params: number[], result: number): string {
  for (let i = 0; i < m.getNumFunctions(); i++) {
    const f = b.getFunctionInfo(m.getFunctionByIndex(i));
    if (f.module === PREVIEW1 && f.base === base) return f.name;
  }
  const name = uniqueName(m, `wasm-zerocopy:${base}`);
  m.addFunctionImport(name, PREVIEW1, base, b.createType(params), result);
  return name;
}
