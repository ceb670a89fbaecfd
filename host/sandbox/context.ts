// What every import of one guest instance works on, and how a guest is ended.
import type { FdTable } from './fd_table.js';
import type { GuestMemory } from './memory.js';

/** One address a guest may connect to (zerocopy/connect.ts builds them from the host's text). */
export interface ConnectGrant {
  /** The text exactly as granted, the only spelling sock_connect accepts. */
  readonly text: string;
  readonly bytes: Uint8Array;
  readonly family: 4 | 6;
  /** Its struct sockaddr, built once from the host's text. */
  readonly addr: Buffer;
}

export interface Context {
  readonly mem: GuestMemory;
  readonly fds: FdTable;
  /** argv, argv[0] first. */
  readonly args: readonly string[];
  /** "NAME=VALUE" strings: exactly what the guest was given, nothing from the host. */
  readonly env: readonly string[];
  /**
   * Set by the host to a signal number to stop the guest: its next call ends it with exit
   * status 128 + that number (see guard.ts), and every wait inside a call wakes for it within
   * a slice (io.ts, poll.ts). Shared memory, so another thread can set it.
   */
  readonly stop: Int32Array | null;
  /**
   * The status the guest ends with, once a call has decided it (proc_exit, a stop): recorded
   * before the unwinding starts, so that it survives whatever happens on the way out (an
   * unwinding cut short by the stack limit is a RangeError, not a ProcExit).
   */
  exitStatus: number | null;
  /** The addresses zerocopy.sock_connect may reach (--connect); none when absent. */
  readonly connect?: readonly ConnectGrant[];
}

// `(module (func (export "trap") unreachable))`: a trap raised by wasm code itself.
const TRAP_MODULE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type section: () -> ()
  0x03, 0x02, 0x01, 0x00, // function section
  0x07, 0x08, 0x01, 0x04, 0x74, 0x72, 0x61, 0x70, 0x00, 0x00, // export "trap"
  0x0a, 0x05, 0x01, 0x03, 0x00, 0x00, 0x0b, // code: unreachable
]);
let trapFn: (() => void) | null = null;

/**
 * A fresh trap raised by wasm code (a WebAssembly.RuntimeError "unreachable"): the one kind of
 * exception a guest's `catch_all` cannot catch (V8 marks it on the object itself), whatever
 * prototype or message it is then given. ProcExit is one; so is a component's exit (wasi2/host.ts).
 */
export function wasmTrap(): WebAssembly.RuntimeError {
  trapFn ??= new WebAssembly.Instance(new WebAssembly.Module(TRAP_MODULE)).exports.trap as () => void;
  try {
    trapFn();
  } catch (e) {
    return e as WebAssembly.RuntimeError;
  }
  throw new Error('the trap module returned');
}

/**
 * A fresh trap re-dressed as an exit: `prototype` (ProcExit's, or a component's exit's), the
 * exit code, and "exit N" as its message. The object stays the trap V8 made, so it stays
 * uncatchable by the guest whatever it now looks like in JavaScript.
 */
export function exitTrap(prototype: object, code: number): unknown {
  const trap = wasmTrap();
  Object.setPrototypeOf(trap, prototype);
  Object.defineProperties(trap, {
    code: { value: code, enumerable: true },
    message: { value: `exit ${code}`, configurable: true },
  });
  return trap;
}

/**
 * Thrown to end the guest: by proc_exit, proc_raise and a stop. It must unwind the guest
 * whatever the guest does, and a JavaScript exception does not: with the exception-handling
 * proposal a guest's `catch_all` catches anything an import throws. A trap raised by wasm
 * code is the one thing wasm cannot catch (V8 marks it uncatchable on the error object
 * itself), so a ProcExit *is* such a trap, re-dressed: the constructor returns the RuntimeError
 * of an `unreachable` with ProcExit's prototype and the exit code. Nothing of it is lost on
 * the way: `instanceof ProcExit` and `code` hold wherever it is caught in JavaScript.
 */
export class ProcExit {
  declare readonly code: number;
  declare readonly message: string;

  constructor(code: number) {
    return exitTrap(new.target.prototype, code) as ProcExit;
  }

  toString(): string {
    return this.message;
  }
}

/** V8's "Maximum call stack size exceeded": the guest's recursion, in its code or in an import. */
export function isStackOverflow(e: unknown): boolean {
  return e instanceof RangeError && e.message === 'Maximum call stack size exceeded';
}

/** The trap a stack overflow is reported as (wasmtime says the same). */
export const STACK_EXHAUSTED = 'call stack exhausted';
