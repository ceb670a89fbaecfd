// What every import of one guest instance works on.
import type { FdTable } from './fd_table.js';
import type { GuestMemory } from './memory.js';
import type { ConnectGrant } from '../zerocopy/connect.js';

export interface Context {
  readonly mem: GuestMemory;
  readonly fds: FdTable;
  /** argv, argv[0] first. */
  readonly args: readonly string[];
  /** "NAME=VALUE" strings: exactly what the guest was given, nothing from the host. */
  readonly env: readonly string[];
  /**
   * Set by the host to a signal number to stop the guest: its next call ends it with exit
   * status 128 + that number (see guard.ts). Shared memory, so another thread can set it.
   */
  readonly stop: Int32Array | null;
  /** The addresses zerocopy.sock_connect may reach (--connect); none when absent. */
  readonly connect?: readonly ConnectGrant[];
}

/** Thrown by proc_exit: the one exception that crosses the import boundary, to unwind the guest. */
export class ProcExit {
  constructor(readonly code: number) {}
}
