// Running a component's wasi:cli/run export in a sandbox, and what its end means: 0 when run
// returns ok, 1 when it returns err (wasi:cli/exit says the same of exit(err)), the status of
// exit or of a stop, and a trap propagates (the CLI prints it and exits 134).
import type { Context } from '../sandbox/context.js';
import { ComponentExit } from '../wasi2/host.js';
import { wasi2Imports } from '../wasi2/imports.js';
import type { Component } from './load.js';

const RUN = 'wasi:cli/run@0.2';

/** Instantiates the component over `ctx` and runs it; returns its exit status. */
export function runComponent(ctx: Context, component: Component, extra: Record<string, Record<string, unknown>> = {}): number {
  try {
    const exports = component.instantiate((name) => {
      const m = component.modules[name];
      if (m === undefined) throw new Error(`the component's glue asks for ${name}, which it did not produce`);
      return m;
    }, { ...wasi2Imports(ctx), ...extra });
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
