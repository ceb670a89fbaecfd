// The import boundary. Host code raises WasiError for an errno; here it becomes the return
// value. Three things end the guest instead, and pass through: ProcExit (proc_exit, a stop),
// which wasm cannot catch (context.ts); a stack overflow, the guest's own recursion reaching
// the limit inside an import, which wasm cannot catch either and Sandbox.start reports as a
// trap; and nothing else. Anything else is a host bug: it is reported once on stderr and the
// guest gets `io`, never a JavaScript exception.
//
// Nothing here may need stack to handle a stack overflow: the catch only compares and
// rethrows, and the report is made by Sandbox.start, where the stack is shallow again.
import { errno, WasiError } from '../sandbox/errno.js';
import { ProcExit, isStackOverflow, type Context } from '../sandbox/context.js';

export type Imports = Record<string, (...args: any[]) => number>;

export function guard(module: string, fns: Record<string, (...a: any[]) => number | void>, ctx: Context): Imports {
  const stop = ctx.stop;
  const out: Imports = {};
  for (const [name, fn] of Object.entries(fns)) {
    out[name] = (...args: any[]): number => {
      // A host that asked the guest to stop (Sandbox.stop, a signal to the CLI) ends it at its
      // next call, so that the guest unwinds and every descriptor is closed by the host.
      if (stop !== null && stop[0] !== 0) stopGuest(ctx, stop);
      let r: number;
      try {
        r = fn(...args) ?? errno.success;
      } catch (e) {
        if (e instanceof WasiError) {
          r = e.errno;
        } else {
          if (e instanceof ProcExit) {
            ctx.exitStatus ??= e.code;
            throw e;
          }
          // If this check itself overflows, the RangeError it throws escapes just the same.
          if (isStackOverflow(e)) throw e;
          reportInternal(`${module}.${name}`, e);
          r = errno.io;
        }
      }
      // A stop that came while the call ran (and may have cut it short: sandbox/interrupt.ts)
      // ends the guest now, whatever the call did: a stopped guest makes no further progress.
      if (stop !== null && stop[0] !== 0) stopGuest(ctx, stop);
      return r;
    };
  }
  return out;
}

function stopGuest(ctx: Context, stop: Int32Array): never {
  ctx.exitStatus ??= 128 + stop[0];
  throw new ProcExit(ctx.exitStatus);
}

const reported = new Set<string>();
function reportInternal(where: string, e: unknown): void {
  if (reported.has(where)) return;
  reported.add(where);
  const msg = e instanceof Error ? e.stack ?? e.message : String(e);
  process.stderr.write(`wasm-zerocopy: internal error in ${where} (the guest got errno io): ${msg}\n`);
}
