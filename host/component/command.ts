// The command line's component support, kept apart from cli.ts: `run` on a component file,
// and the `componentize` command. cli.ts parses the flags; these take the parsed values.
import { readFileSync, writeFileSync } from 'node:fs';
import { Sandbox } from '../runtime.js';
import { TRAP_STATUS, type RunOptions } from '../workers.js';
import { componentize, ComponentizeError } from './componentize.js';
import { wasmKind, type WasmKind } from './format.js';
import { loadComponent, type Component } from './load.js';

/** A one-line error for the CLI to print with its usage (exit 2), or alone (exit 1). */
export class CommandError extends Error {
  constructor(message: string, readonly usage: boolean) {
    super(message);
  }
}

/** The file's bytes and whether it is a core module or a component. */
export function readWasm(path: string): { bytes: Uint8Array; kind: WasmKind } {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CommandError(code === 'ENOENT' ? `no such module: ${path}` : `cannot read module ${path}: ${code}`, true);
  }
  const kind = wasmKind(bytes);
  if (kind === null) throw new CommandError(`not a WebAssembly module or component: ${path}`, true);
  return { bytes, kind };
}

export interface ComponentRun {
  path: string;
  bytes: Uint8Array;
  args: string[];
  env: Record<string, string>;
  preopens: Record<string, string>;
  listen: string[];
  workers: number;
  trace: ((line: string) => void) | undefined;
}

/** Transpiles (or finds in the cache) and compiles a component; a bad one is a one-line error. */
export async function prepare(path: string, bytes: Uint8Array): Promise<Component> {
  try {
    return await loadComponent(bytes);
  } catch (e) {
    throw new CommandError(`${path}: ${(e as Error).message}`, false);
  }
}

/**
 * `run` for a component: in this thread, or in `workers` worker threads through `runWorkers`
 * (the CLI's, which handles signals). Returns the exit status; a trap is reported and 134.
 */
export async function runComponentCommand(cmd: ComponentRun,
  runWorkers: (component: Component, options: RunOptions) => Promise<number>): Promise<number> {
  const component = await prepare(cmd.path, cmd.bytes);
  if (cmd.workers > 0) {
    return runWorkers(component, { workers: cmd.workers, args: cmd.args, env: cmd.env, preopens: cmd.preopens, listen: cmd.listen });
  }
  // As for a core module in this thread: the guest blocks the event loop, so a signal keeps
  // its default action (the host's descriptors close with the process).
  const sandbox = new Sandbox({ args: cmd.args, env: cmd.env, listen: cmd.listen, returnOnExit: true, trace: cmd.trace });
  try {
    for (const [guest, host] of Object.entries(cmd.preopens)) sandbox.preopen(guest, host);
    try {
      return sandbox.startComponent(component);
    } catch (e) {
      if (e instanceof WebAssembly.RuntimeError || e instanceof RangeError) {
        process.stderr.write(`wasm-zerocopy: ${cmd.path}: trap: ${e.message}\n`);
        return TRAP_STATUS;
      }
      throw e;
    }
  } finally {
    sandbox.close();
  }
}

/** `componentize IN.wasm -o OUT.wasm [--portable]`. */
export async function componentizeCommand(input: string, output: string, portable: boolean): Promise<number> {
  const { bytes, kind } = readWasm(input);
  if (kind !== 'module') throw new CommandError(`${input} is a component already`, false);
  let component: Uint8Array;
  try {
    component = await componentize(bytes, { portable });
  } catch (e) {
    if (e instanceof ComponentizeError) throw new CommandError(`cannot componentize ${input}: ${e.message}`, false);
    throw e;
  }
  writeFileSync(output, component);
  return 0;
}
