// jco, loaded only when a component runs or is made (dynamic import): it is large (its own
// transpiler and wasm-tools are components of several MB), and core modules never need it.
//
// The version is pinned (package.json) because the per-call cost of the glue it generates
// differs by two orders of magnitude between versions: 1.12.0's glue calls a host import
// directly (~0.1 us per call here), while from 1.13 on every call goes through a debug-log
// guard that reads process.env and, from 1.17, async task bookkeeping (2-24 us per call). The
// test glue_cost.test.ts fails if the generated glue regains either.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface TranspileResult { files: Record<string, Uint8Array> }
export interface JcoApi {
  transpile(component: Uint8Array, options: Record<string, unknown>): Promise<TranspileResult>;
  componentNew(module: Uint8Array, adapters: [string, Uint8Array][]): Promise<Uint8Array>;
  componentEmbed(options: { binary?: Uint8Array; witSource?: string; world?: string; stringEncoding?: string }): Promise<Uint8Array>;
  componentWit(component: Uint8Array): Promise<string>;
  types(witPath: string, options: Record<string, unknown>): Promise<Record<string, Uint8Array>>;
}

const PACKAGE = '@bytecodealliance/jco';

let loading: Promise<JcoApi> | null = null;
export function loadJco(): Promise<JcoApi> {
  return loading ??= import(PACKAGE).then((m) => m as unknown as JcoApi).catch((e) => {
    loading = null;
    throw new Error(`cannot load ${PACKAGE}, which runs WebAssembly components: ${(e as Error).message}`);
  });
}

/** The installed jco's directory (its package root), found without loading it. */
function jcoRoot(): string {
  // The package's main entry is src/api.js.
  return fileURLToPath(new URL('../', import.meta.resolve(PACKAGE)));
}

let version: string | null = null;
export function jcoVersion(): string {
  return version ??= (JSON.parse(readFileSync(new URL('package.json', `file://${jcoRoot()}/`), 'utf8')) as { version: string }).version;
}

/** The WASI preview1 command adapter jco ships (wasi_snapshot_preview1.command.wasm). */
export function commandAdapter(): Uint8Array {
  return readFileSync(`${jcoRoot()}/lib/wasi_snapshot_preview1.command.wasm`);
}
