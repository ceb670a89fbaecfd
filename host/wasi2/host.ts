// What every WASI 0.2 import of one component instance works on: the sandbox's Context (the
// same descriptor table, arguments, environment and stop flag as preview1), plus the ways a
// component ends.
import { exitTrap, wasmTrap, type Context } from '../sandbox/context.js';

/**
 * Ends the component: wasi:cli/exit, exit-with-code, or a stop asked by the host (128 +
 * signal). Like preview1's ProcExit it is a trap raised by wasm code (sandbox/context.ts), so a
 * guest's catch_all cannot catch it; unlike ProcExit it is also an Error, because jco's glue
 * lowers anything else a host function throws into the `err` of the result the guest receives
 * (its getErrorPayload rethrows only Errors).
 */
export class ComponentExit {
  declare readonly code: number;
  declare readonly message: string;

  constructor(code: number) {
    return exitTrap(new.target.prototype, code) as ComponentExit;
  }
}
Object.setPrototypeOf(ComponentExit.prototype, Error.prototype);

/**
 * Ends the guest with `status`. The status is recorded first, so that it survives an unwinding
 * cut short by the stack limit (Context.exitStatus).
 */
export function exitComponent(ctx: Context, status: number): never {
  ctx.exitStatus ??= status;
  throw new ComponentExit(ctx.exitStatus);
}

/**
 * A limit the host enforces by trapping (the spec's traps, a bound on what one call may ask):
 * a WebAssembly.RuntimeError the guest cannot catch, reported as any trap is (exit 134).
 */
export function componentTrap(message: string): never {
  throw trapError(message);
}

/** The trap componentTrap throws, made without throwing it. */
export function trapError(message: string): WebAssembly.RuntimeError {
  const trap = wasmTrap();
  Object.defineProperty(trap, 'message', { value: message, configurable: true });
  return trap;
}

/** The key jco's glue calls on a resource when the guest drops its last handle. */
export const DISPOSE: symbol = (Symbol as unknown as { dispose?: symbol }).dispose ?? Symbol.for('dispose');

export interface Host {
  readonly ctx: Context;
}

/** Ends the guest at this call if the host asked it to stop (Sandbox.stop, a signal). */
export function checkStop(ctx: Context): void {
  const stop = ctx.stop;
  if (stop !== null && stop[0] !== 0) exitComponent(ctx, 128 + stop[0]);
}
