// jco, loaded only when a component is transpiled or made (dynamic import), and an optional
// peer dependency (package.json): it is large (its transpiler and wasm-tools are components of
// several MB, and it brings componentize-js, wizer and binaryen: ~175 MB installed), and a
// program that runs only core modules never needs it. Without it, what needs it fails with one
// line that says what to install; a component whose glue is cached runs without it.
//
// The version is pinned because the per-call cost of the glue it generates differs by two
// orders of magnitude between versions: 1.12.0's glue calls a host import directly (~0.1 us
// per call here), while from 1.13 on every call goes through a debug-log guard that reads
// process.env and, from 1.17, async task bookkeeping (2-24 us per call). Another version is
// refused rather than used: test/component_glue.test.ts holds 1.12.0's glue to that cost.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface TranspileResult { files: Record<string, Uint8Array> }
export interface JcoApi {
  transpile(component: Uint8Array, options: Record<string, unknown>): Promise<TranspileResult>;
  componentNew(module: Uint8Array, adapters: [string, Uint8Array][]): Promise<Uint8Array>;
  componentEmbed(options: { binary?: Uint8Array; witSource?: string; world?: string; stringEncoding?: string }): Promise<Uint8Array>;
  componentWit(component: Uint8Array): Promise<string>;
  types(witPath: string, options: Record<string, unknown>): Promise<Record<string, Uint8Array>>;
}

export const JCO_PACKAGE = '@bytecodealliance/jco';
/** The one jco version components are transpiled with (the glue cache's key includes it). */
export const JCO_VERSION = '1.12.0';
const INSTALL = `npm install ${JCO_PACKAGE}@${JCO_VERSION}`;

/** jco is not installed, or not the version we transpile with. */
export class JcoMissing extends Error {}

/** The installed jco's main entry (src/api.js), or a JcoMissing saying what to install. */
function jcoEntry(): string {
  let entry: string;
  try {
    entry = fileURLToPath(import.meta.resolve(JCO_PACKAGE));
  } catch {
    throw new JcoMissing(`WebAssembly components need ${JCO_PACKAGE} ${JCO_VERSION}, which is not installed: ${INSTALL}`);
  }
  const version = (JSON.parse(readFileSync(new URL('../package.json', pathToFileURL(entry)), 'utf8')) as { version: string }).version;
  if (version !== JCO_VERSION) {
    throw new JcoMissing(`WebAssembly components need ${JCO_PACKAGE} ${JCO_VERSION} (the glue of other versions ` +
      `costs more per call), not ${version}: ${INSTALL}`);
  }
  return entry;
}

let loading: Promise<JcoApi> | null = null;
export function loadJco(): Promise<JcoApi> {
  return loading ??= (async () => {
    const entry = jcoEntry();
    return await import(pathToFileURL(entry).href) as unknown as JcoApi;
  })().catch((e) => {
    loading = null;
    if (e instanceof JcoMissing) throw e;
    throw new Error(`cannot load ${JCO_PACKAGE}: ${(e as Error).message}`);
  });
}

type Binaryen = typeof import('binaryen').default;
let binaryen: Promise<Binaryen> | null = null;
/** binaryen, as jco depends on it (so wherever npm put it): componentize's module rewriting. */
export function loadBinaryen(): Promise<Binaryen> {
  return binaryen ??= (async () => {
    const path = createRequire(jcoEntry()).resolve('binaryen');
    return (await import(pathToFileURL(path).href) as { default: Binaryen }).default;
  })().catch((e) => {
    binaryen = null;
    throw e;
  });
}

/**
 * The WASI preview1 command adapter `componentize` links in: a newer one than jco 1.12.0 ships,
 * kept with its provenance in vendor/wasi-preview1-adapter/ (README.md there says why).
 */
export function commandAdapter(): Uint8Array {
  return readFileSync(new URL('../../../vendor/wasi-preview1-adapter/wasi_snapshot_preview1.command.wasm', import.meta.url));
}
