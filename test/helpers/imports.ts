// Calling a Sandbox's imports directly, as a guest's calls arrive: the test lays out its
// arguments in a memory of its own. Used by the adversarial and input-validation suites.
import { Sandbox, type SandboxOptions } from '../../host/index.js';

export type ImportFn = (...args: any[]) => number;

export class Caller {
  readonly sandbox: Sandbox;
  readonly memory = new WebAssembly.Memory({ initial: 4 });
  readonly wasi: Record<string, ImportFn>;
  readonly zc: Record<string, ImportFn>;
  /** Scratch area for strings; results go to RET. */
  static readonly STR = 0x1000;
  static readonly STR2 = 0x9000;
  static readonly RET = 0x100;

  constructor(options: SandboxOptions = {}) {
    this.sandbox = new Sandbox({ stdin: null, stdout: null, stderr: null, ...options });
    this.sandbox.attachMemory(this.memory);
    const o = this.sandbox.getImportObject() as Record<string, Record<string, ImportFn>>;
    this.wasi = o.wasi_snapshot_preview1;
    this.zc = o.zerocopy;
  }

  get dv(): DataView { return new DataView(this.memory.buffer); }
  get u8(): Uint8Array { return new Uint8Array(this.memory.buffer); }

  /** Places a string (bytes, NULs and all) at `at`; returns [ptr, len]. */
  str(s: string | Uint8Array, at = Caller.STR): [number, number] {
    const bytes = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
    this.u8.set(bytes, at);
    return [at, bytes.length];
  }

  u32(ptr: number): number { return this.dv.getUint32(ptr, true); }

  close(): void { this.sandbox.close(); }
}
