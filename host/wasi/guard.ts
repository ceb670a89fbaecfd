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
  // A host that asked the guest to stop (Sandbox.stop, a signal to the CLI) ends it at its
  // next call, so that the guest unwinds and every descriptor is closed by the host.
  const enter = (): void => {
    if (stop !== null && stop[0] !== 0) stopGuest(ctx, stop);
  };
  // A stop that came while the call ran (and may have cut it short: sandbox/interrupt.ts)
  // ends the guest now, whatever the call did: a stopped guest makes no further progress.
  const leave = (r: number | void): number => {
    if (stop !== null && stop[0] !== 0) stopGuest(ctx, stop);
    return r ?? errno.success;
  };
  const out: Imports = {};
  for (const [name, fn] of Object.entries(fns)) {
    const caught = (e: unknown): number => {
      if (e instanceof WasiError) return e.errno;
      if (e instanceof ProcExit) {
        ctx.exitStatus ??= e.code;
        throw e;
      }
      // If this check itself overflows, the RangeError it throws escapes just the same.
      if (isStackOverflow(e)) throw e;
      reportInternal(`${module}.${name}`, e);
      return errno.io;
    };
    out[name] = wrapper(fn, enter, leave, caught);
  }
  return out;
}

type Fn = (...a: any[]) => number | void;

/**
 * The guarded import: `fn` between enter and leave, its exceptions turned into an errno by
 * `caught`. It has fn's own number of parameters, so that the wasm-to-JS call takes V8's path
 * for a matching arity and no call makes an array of its arguments (a rest parameter and a
 * spread would, on every call the guest makes).
 */
function wrapper(fn: Fn, enter: () => void, leave: (r: number | void) => number, caught: (e: unknown) => number):
  (...a: any[]) => number {
  type A = any;
  switch (fn.length) {
    case 0: return () => { enter(); try { return leave(fn()); } catch (e) { return leave(caught(e)); } };
    case 1: return (a: A) => { enter(); try { return leave(fn(a)); } catch (e) { return leave(caught(e)); } };
    case 2: return (a: A, b: A) => { enter(); try { return leave(fn(a, b)); } catch (e) { return leave(caught(e)); } };
    case 3: return (a: A, b: A, c: A) => {
      enter(); try { return leave(fn(a, b, c)); } catch (e) { return leave(caught(e)); }
    };
    case 4: return (a: A, b: A, c: A, d: A) => {
      enter(); try { return leave(fn(a, b, c, d)); } catch (e) { return leave(caught(e)); }
    };
    case 5: return (a: A, b: A, c: A, d: A, f: A) => {
      enter(); try { return leave(fn(a, b, c, d, f)); } catch (e) { return leave(caught(e)); }
    };
    case 6: return (a: A, b: A, c: A, d: A, f: A, g: A) => {
      enter(); try { return leave(fn(a, b, c, d, f, g)); } catch (e) { return leave(caught(e)); }
    };
    case 7: return (a: A, b: A, c: A, d: A, f: A, g: A, h: A) => {
      enter(); try { return leave(fn(a, b, c, d, f, g, h)); } catch (e) { return leave(caught(e)); }
    };
    case 8: return (a: A, b: A, c: A, d: A, f: A, g: A, h: A, i: A) => {
      enter(); try { return leave(fn(a, b, c, d, f, g, h, i)); } catch (e) { return leave(caught(e)); }
    };
    case 9: return (a: A, b: A, c: A, d: A, f: A, g: A, h: A, i: A, j: A) => {
      enter(); try { return leave(fn(a, b, c, d, f, g, h, i, j)); } catch (e) { return leave(caught(e)); }
    };
    default: return (...args: A[]) => { enter(); try { return leave(fn(...args)); } catch (e) { return leave(caught(e)); } };
  }
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
