// What every WASI 0.2 import of one component instance works on: the sandbox's Context (the
// same descriptor table, arguments, environment and stop flag as preview1), plus the way a
// component ends. jco's glue turns a thrown value into the `err` of a `result` unless it is an
// Error, so the exit and the stop are Errors: they unwind through the glue and the guest.
import type { Context } from '../sandbox/context.js';

/** Ends the component: wasi:cli/exit, a stop asked by the host (128 + signal), or a trap status. */
export class ComponentExit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

/** The key jco's glue calls on a resource when the guest drops its last handle. */
export const DISPOSE: symbol = (Symbol as unknown as { dispose?: symbol }).dispose ?? Symbol.for('dispose');

export interface Host {
  readonly ctx: Context;
}

/** Ends the guest at this call if the host asked it to stop (Sandbox.stop, a signal). */
export function checkStop(ctx: Context): void {
  const stop = ctx.stop;
  if (stop !== null && stop[0] !== 0) throw new ComponentExit(128 + stop[0]);
}
