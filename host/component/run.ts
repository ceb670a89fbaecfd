// Running a component's wasi:cli/run export in a sandbox, and what its end means: 0 when run
// returns ok, 1 when it returns err (wasi:cli/exit says the same of exit(err)), the status of
// exit or of a stop, and a trap propagates (Sandbox.startComponent reports a stack overflow as
// one; the CLI prints it and exits 134).
import { isStackOverflow, type Context } from '../sandbox/context.js';
import { checkStop, ComponentExit, trapError } from '../wasi2/host.js';
import { wasi2Imports, type Wasi2Options } from '../wasi2/imports.js';
import { checkLists, exportedMemory, importedMemory } from './list_bounds.js';
import type { Component } from './load.js';

const RUN = 'wasi:cli/run@0.2';

/** Whether `f` is a wasm function (another core instance's export) rather than JavaScript. */
function isWasm(f: Function): boolean {
  return /\{\s*\[native code\]\s*\}$/.test(Function.prototype.toString.call(f));
}

/**
 * The stop guard, the component's side of preview1's (wasi/guard.ts): a call into the host
 * ends the guest before it runs if the host asked for a stop, and again when it returns: a
 * stop that came while the call waited in the kernel woke it with EINTR (sandbox/interrupt.ts),
 * and whatever the call then reports, the guest makes no further progress. The host's functions
 * are jco's trampolines, the JavaScript functions among a core instance's imports (the others
 * are wasm exports of other instances, memories and tables); each is guarded wherever the glue
 * passes it: under its interface's name, or to the module that fills the table through which
 * calls that need cabi_realloc go. The guard also makes what the glue throws where the
 * canonical ABI traps a trap (asTrap).
 */
function guardCore(imports: WebAssembly.Imports, ctx: Context): WebAssembly.Imports {
  const stop = ctx.stop ?? new Int32Array(1);
  const out: WebAssembly.Imports = {};
  for (const [module, fns] of Object.entries(imports ?? {})) {
    const guarded: Record<string, unknown> = {};
    for (const [name, fn] of Object.entries(fns)) {
      guarded[name] = typeof fn !== 'function' || isWasm(fn) ? fn : guard(fn as Trampoline, stop, ctx);
    }
    out[module] = guarded as WebAssembly.ModuleImports;
  }
  return out;
}

type Trampoline = (...args: unknown[]) => unknown;

/**
 * `fn` between two stop checks. A trampoline takes exactly its core signature's parameters
 * (wasm passes no more), so a wrapper of the same arity calls it directly: a host call is a few
 * hundred nanoseconds, and a rest parameter or `apply` costs a measurable part of that.
 */
function guard(fn: Trampoline, stop: Int32Array, ctx: Context): Trampoline {
  const before = () => { if (stop[0] !== 0) checkStop(ctx); };
  const after = <T>(r: T): T => { if (stop[0] !== 0) checkStop(ctx); return r; };
  switch (fn.length) {
    case 0: return () => { before(); try { return after(fn()); } catch (x) { throw asTrap(x); } };
    case 1: return (a) => { before(); try { return after(fn(a)); } catch (x) { throw asTrap(x); } };
    case 2: return (a, b) => { before(); try { return after(fn(a, b)); } catch (x) { throw asTrap(x); } };
    case 3: return (a, b, c) => { before(); try { return after(fn(a, b, c)); } catch (x) { throw asTrap(x); } };
    case 4: return (a, b, c, d) => { before(); try { return after(fn(a, b, c, d)); } catch (x) { throw asTrap(x); } };
    case 5: return (a, b, c, d, e) => { before(); try { return after(fn(a, b, c, d, e)); } catch (x) { throw asTrap(x); } };
    case 6: return (a, b, c, d, e, f) => { before(); try { return after(fn(a, b, c, d, e, f)); } catch (x) { throw asTrap(x); } };
    default: return (...args) => { before(); try { return after(fn(...args)); } catch (x) { throw asTrap(x); } };
  }
}

/**
 * What a trampoline threw, as the guest meets it. jco's glue throws a TypeError where the
 * canonical ABI traps (resource.drop of a handle its table does not hold, rscTableRemove's
 * "Invalid handle"; flags with bits the type lacks; a discriminant past a variant's cases) and
 * a RangeError where it reads past the end of memory (a string there): a guest's catch_all
 * would catch either, and the CLI would report a crash of the host. They end the guest as a
 * trap, with the glue's message. A stack overflow stays a RangeError (Sandbox reports it).
 */
function asTrap(e: unknown): unknown {
  if (e instanceof TypeError || (e instanceof RangeError && !isStackOverflow(e))) return trapError(e.message);
  return e;
}

/**
 * --trace for components: each canonical-ABI call into the host, as the core code makes it,
 * `wasi:filesystem/types@0.2.3 [method]descriptor.open-at(3, 0, 1114120, 9, 0, 1, 1113968) = 0`
 * (the arguments are the lowered core values: handles, pointers, lengths). Only imports named
 * by an interface are wrapped; nothing is wrapped when tracing is off.
 */
function traceCore(imports: WebAssembly.Imports, sink: (line: string) => void): WebAssembly.Imports {
  const out: WebAssembly.Imports = {};
  for (const [module, fns] of Object.entries(imports ?? {})) {
    if (!module.includes(':')) { out[module] = fns; continue; }
    const wrapped: Record<string, unknown> = {};
    for (const [name, fn] of Object.entries(fns)) {
      if (typeof fn !== 'function') { wrapped[name] = fn; continue; }
      wrapped[name] = (...args: unknown[]) => {
        const call = `${module} ${name}(${args.map(String).join(', ')})`;
        try {
          const r = (fn as (...a: unknown[]) => unknown)(...args);
          sink(`${call}${r === undefined ? '' : ` = ${String(r)}`}\n`);
          return r;
        } catch (e) {
          sink(`${call} = ${e instanceof ComponentExit ? `exit ${e.code}` : 'trap'}\n`);
          throw e;
        }
      };
    }
    out[module] = wrapped as WebAssembly.ModuleImports;
  }
  return out;
}

/** Instantiates the component over `ctx` and runs it; returns its exit status. */
export interface RunComponentOptions extends Wasi2Options {
  /** Receives one line per call the component makes to the host (see traceCore). */
  trace?: (line: string) => void;
}

export function runComponent(ctx: Context, component: Component, options: RunComponentOptions = {}): number {
  try {
    const trace = options.trace;
    const exports = component.instantiate((name) => {
      const m = component.modules[name];
      if (m === undefined) throw new Error(`the component's glue asks for ${name}, which it did not produce`);
      return m;
    }, wasi2Imports(ctx, options), (module, imports) => {
      let memory = importedMemory(imports);
      const guarded = checkLists(guardCore(imports, ctx), () => memory);
      const instance = new WebAssembly.Instance(module, trace === undefined ? guarded : traceCore(guarded, trace));
      memory ??= exportedMemory(instance);
      return instance;
    });
    const run = (Object.entries(exports).find(([k]) => k.startsWith(RUN))?.[1] ?? exports.run) as { run?: () => void } | undefined;
    if (typeof run?.run !== 'function') throw new TypeError('the component exports no wasi:cli/run (it is not a command)');
    run.run();
    return 0;
  } catch (e) {
    if (e instanceof ComponentExit) return e.code;
    // jco's glue throws its ComponentError for an `err` result of an export.
    if (e instanceof Error && e.constructor.name === 'ComponentError') return 1;
    throw e;
  }
}
