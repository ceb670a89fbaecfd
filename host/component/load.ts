// Loading a component: jco transpiles it in instantiation mode (so that the host supplies
// every import, none is read from preview2-shim) into JavaScript glue and core modules, kept in
// the glue cache (cache.ts). The core modules are compiled here once; the glue is an ES module
// whose `instantiate` lifts and lowers between the guest's canonical ABI and our host.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { cacheKey, defaultCacheDir, lookup, store } from './cache.js';
import { wasmKind } from './format.js';
import { JCO_VERSION, loadJco } from './jco.js';

/**
 * The transpile options, part of the cache key. No TypeScript, no Node.js compat shims (the
 * host supplies everything), synchronous instantiation (WASI is synchronous here), and every
 * core module as a file (base64Cutoff 0) so that each is compiled once and can be posted to
 * worker threads. Hybrid import bindings: an import the host gives a lowering of its own
 * (wasi2/lower.ts: zerocopy.sendfile) is called as that core function, every other through
 * jco's JavaScript trampoline as in the default mode ('js'), the glue otherwise the same.
 */
export const TRANSPILE_OPTIONS = {
  name: 'component', instantiation: 'sync', typescript: false, nodejsCompat: false, base64Cutoff: 0, importBindings: 'hybrid',
} as const;
const GLUE = 'component.js';

type Instantiate = (getCoreModule: (name: string) => WebAssembly.Module, imports: Record<string, unknown>,
  instantiateCore?: (module: WebAssembly.Module, imports: WebAssembly.Imports) => WebAssembly.Instance) =>
  Record<string, unknown>;

/** A component ready to instantiate: its glue and compiled core modules. */
export interface Component {
  /** The cached glue's path (worker threads import it again). */
  readonly glue: string;
  readonly modules: Readonly<Record<string, WebAssembly.Module>>;
  readonly instantiate: Instantiate;
}

export interface LoadOptions {
  /** Where the glue is cached (default: see cache.ts). */
  cacheDir?: string;
}

export async function loadComponent(bytes: Uint8Array, options: LoadOptions = {}): Promise<Component> {
  if (wasmKind(bytes) !== 'component') throw new TypeError('not a WebAssembly component');
  const root = options.cacheDir ?? defaultCacheDir();
  const key = cacheKey(bytes, JCO_VERSION, TRANSPILE_OPTIONS);
  let dir = lookup(root, key, GLUE);
  if (dir === null) {
    const jco = await loadJco();
    let files: Record<string, Uint8Array>;
    try {
      ({ files } = await jco.transpile(bytes, { ...TRANSPILE_OPTIONS }));
    } catch (e) {
      throw new Error(`invalid component: ${String((e as Error).message ?? e).split('\n').filter(Boolean).join(': ')}`);
    }
    dir = store(root, key, Object.fromEntries(Object.entries(files).filter(([name]) => !name.includes('/'))));
  }
  const modules: Record<string, WebAssembly.Module> = {};
  for (const name of readdirSync(dir)) {
    if (name.endsWith('.wasm')) modules[name] = new WebAssembly.Module(readFileSync(join(dir, name)));
  }
  return attach(join(dir, GLUE), modules);
}

/** A component from glue and modules already made (a worker thread's copy of one). */
export async function attach(glue: string, modules: Record<string, WebAssembly.Module>): Promise<Component> {
  const m = await import(pathToFileURL(glue).href) as { instantiate: Instantiate };
  return { glue, modules, instantiate: m.instantiate };
}
