// The import boundary. Host code raises WasiError for an errno; here it becomes the return
// value. ProcExit passes through to unwind the guest. Anything else is a host bug: it is
// reported once on stderr and the guest gets `io`, never a JavaScript exception.
import { errno, WasiError } from '../sandbox/errno.js';
import { ProcExit } from '../sandbox/context.js';

export type Imports = Record<string, (...args: any[]) => number>;

export function guard(module: string, fns: Record<string, (...a: any[]) => number | void>,
  stop: Int32Array | null = null): Imports {
  const out: Imports = {};
  for (const [name, fn] of Object.entries(fns)) {
    out[name] = (...args: any[]): number => {
      // A host that asked the guest to stop (Sandbox.stop, a signal to the CLI) ends it at its
      // next call, so that the guest unwinds and every descriptor is closed by the host.
      if (stop !== null && stop[0] !== 0) throw new ProcExit(128 + stop[0]);
      try {
        return fn(...args) ?? errno.success;
      } catch (e) {
        if (e instanceof WasiError) return e.errno;
        if (e instanceof ProcExit) throw e;
        reportInternal(`${module}.${name}`, e);
        return errno.io;
      }
    };
  }
  return out;
}

const reported = new Set<string>();
function reportInternal(where: string, e: unknown): void {
  if (reported.has(where)) return;
  reported.add(where);
  const msg = e instanceof Error ? e.stack ?? e.message : String(e);
  process.stderr.write(`wasm-zerocopy: internal error in ${where} (the guest got errno io): ${msg}\n`);
}
