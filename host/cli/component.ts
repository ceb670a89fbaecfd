// `run` on a component (WASI 0.2): told from a core module by its header, then transpiled (or
// found in the glue cache) and run in this thread or in workers, with the same options.
import { closeSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { wasmKind } from '../component/format.js';
import { JcoMissing } from '../component/jco.js';
import { loadComponent, type Component } from '../component/load.js';
import { Sandbox } from '../runtime.js';
import { TRAP_STATUS } from '../workers.js';
import { InputError } from './core.js';
import { runWorkers } from './guest.js';

/** Whether the file starts as a component does (00 61 73 6d 0d 00 01 00); false if unreadable. */
export function isComponentFile(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return false; // loadModule reports it
  }
  try {
    const head = new Uint8Array(8);
    try {
      return readSync(fd, head, 0, 8, 0) === 8 && wasmKind(head) === 'component';
    } catch {
      return false; // a directory (EISDIR): loadModule reports it
    }
  } finally {
    closeSync(fd);
  }
}

export interface ComponentRun {
  path: string;
  args: string[];
  env: Record<string, string>;
  preopens: Record<string, string>;
  listen: (string | number)[];
  /** --connect: for a component, the addresses its wasi:sockets may connect to. */
  connect?: string[];
  workers: number;
  trace: boolean;
}

async function prepare(path: string): Promise<Component> {
  try {
    return await loadComponent(readFileSync(path));
  } catch (e) {
    if (e instanceof JcoMissing) throw e; // not the file's fault: one line, exit 1
    throw new InputError(`${path}: ${(e as Error).message}`);
  }
}

export async function runComponentFile(cmd: ComponentRun): Promise<number> {
  const component = await prepare(cmd.path);
  if (cmd.workers > 0) {
    return runWorkers(component, {
      workers: cmd.workers, args: cmd.args, env: cmd.env, preopens: cmd.preopens, listen: cmd.listen, sockets: { connect: cmd.connect ?? [] },
    }, false);
  }
  // As for a core module in this thread: the guest blocks the event loop, so a signal keeps its
  // default action and the kernel closes the descriptors with the process.
  const sandbox = new Sandbox({
    args: cmd.args, env: cmd.env, listen: cmd.listen, sockets: { connect: cmd.connect ?? [] }, returnOnExit: true,
    trace: cmd.trace ? (line: string) => { writeSync(2, line); } : undefined,
  });
  try {
    for (const [guest, host] of Object.entries(cmd.preopens)) sandbox.preopen(guest, host);
    try {
      return sandbox.startComponent(component);
    } catch (e) {
      // A trap, or a limit the host enforces by trapping (a RangeError: too many pollables, ...).
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
