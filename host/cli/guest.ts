// Loading a guest module and running guests in workers, for the commands that run one.
import { readFileSync } from 'node:fs';
import { run, type RunOptions } from '../workers.js';
import type { Component } from '../component/load.js';
import { UsageError } from './core.js';

export function loadModule(path: string): WebAssembly.Module {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(code === 'ENOENT' ? `no such module: ${path}` : `cannot read module ${path}: ${code}`);
  }
  if (bytes.length < 8 || bytes.readUInt32BE(0) !== 0x0061736d) {
    throw new UsageError(`not a WebAssembly module: ${path}`);
  }
  try {
    return new WebAssembly.Module(new Uint8Array(bytes));
  } catch (e) {
    throw new UsageError(`invalid WebAssembly module ${path}: ${(e as Error).message}`);
  }
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
    stoppedBy = signal === 'SIGINT' ? 2 : 15;
    void running.stop(stoppedBy);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const codes = await running;
    if (stoppedBy && stopIsClean && codes.every((c) => c === 0 || c === 128 + stoppedBy)) return 0;
    return codes.find((c) => c !== 0) ?? 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
