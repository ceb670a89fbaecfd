// Loading a guest module and running guests in workers, for the commands that run one.
import { readFileSync } from 'node:fs';
import { Sandbox } from '../runtime.js';
import { run, type RunOptions } from '../workers.js';
import type { Component } from '../component/load.js';
import { InputError, systemError } from './core.js';

export function loadModule(path: string): WebAssembly.Module {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(code === 'ENOENT' ? `no such module: ${path}` : `cannot read module ${path}: ${systemError(e)}`);
  }
  if (bytes.length < 8 || bytes.readUInt32BE(0) !== 0x0061736d) {
    throw new InputError(`not a WebAssembly module: ${path}`);
  }
  try {
    return new WebAssembly.Module(new Uint8Array(bytes));
  } catch (e) {
    throw new InputError(`invalid WebAssembly module ${path}: ${(e as Error).message}`);
  }
}

let provided: Map<string, Set<string>> | null = null;
/** The import modules and functions a Sandbox provides. */
function providedImports(): Map<string, Set<string>> {
  if (provided === null) {
    const s = new Sandbox({ stdin: null, stdout: null, stderr: null });
    try {
      provided = new Map(Object.entries(s.getImportObject()).map(([m, fns]) => [m, new Set(Object.keys(fns))]));
    } finally {
      s.close();
    }
  }
  return provided;
}

/**
 * Refuses, with one line, a module that cannot run as a WASI command here: one that is a
 * library (a reactor: `_initialize`, no `_start`), exports no `_start` or no memory, or imports
 * what the sandbox does not provide. Checked before anything starts, workers or not.
 */
export function checkCommand(module: WebAssembly.Module, path: string): void {
  const have = providedImports();
  for (const i of WebAssembly.Module.imports(module)) {
    const fns = have.get(i.module);
    if (fns === undefined || !fns.has(i.name) || i.kind !== 'function') {
      throw new InputError(`cannot instantiate ${path}: it imports ${i.kind} "${i.name}" from "${i.module}", which ` +
        `wasm-zerocopy does not provide (it provides the functions of ${[...have.keys()].join(' and ')} only)`);
    }
  }
  const exports = new Map(WebAssembly.Module.exports(module).map((e) => [e.name, e.kind]));
  if (exports.get('_start') !== 'function') {
    if (exports.get('_initialize') === 'function') {
      throw new InputError(`${path} is a library (a WASI reactor: it exports _initialize, not _start), not a command; ` +
        'load it from JavaScript with Sandbox.initialize() and call its exports');
    }
    throw new InputError(`${path} is not a WASI command: it exports no _start function`);
  }
  if (exports.get('memory') !== 'memory') throw new InputError(`${path} exports no memory named "memory"`);
}

/**
 * Runs guests in workers until they end; SIGINT and SIGTERM stop them, then the listeners.
 * Returns the first non-zero status in worker order, or 0; with `stopIsClean`, a stop by
 * signal that every guest obeyed is 0 (a server asked to stop has done nothing wrong).
 */
export async function runWorkers(module: WebAssembly.Module | Component, options: RunOptions, stopIsClean: boolean): Promise<number> {
  let stoppedBy = 0;
  const running = run(module, {
    ...options,
    onExit: (worker, r) => {
      if (r.trap !== undefined) process.stderr.write(`wasm-zerocopy: worker ${worker}: trap: ${r.trap}\n`);
      else if (r.error !== undefined) process.stderr.write(`wasm-zerocopy: worker ${worker}: ${r.error}\n`);
      else if (r.status !== 0 && !(stoppedBy && r.status === 128 + stoppedBy)) {
        process.stderr.write(`wasm-zerocopy: worker ${worker}: exit ${r.status}\n`);
      }
    },
  });
  const onSignal = (signal: NodeJS.Signals) => {
    const number = signal === 'SIGINT' ? 2 : 15;
    // A second signal does not wait for the guests: it ends the process at once.
    if (stoppedBy) process.exit(128 + number);
    stoppedBy = number;
    void running.stop(stoppedBy);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const codes = await running;
    const status = stoppedBy && stopIsClean && codes.every((c) => c === 0 || c === 128 + stoppedBy) ? 0
      : codes.find((c) => c !== 0) ?? 0;
    // Stopped: exit now, even if a write of ours to a stdout nobody reads is still pending.
    if (stoppedBy) process.exit(status);
    return status;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
