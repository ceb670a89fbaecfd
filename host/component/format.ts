// Telling a component from a core module by its preamble (WebAssembly core spec 5.5.16 and the
// component model's Binary.md): both start with "\0asm", then a core module has version 1 and
// layer 0 (01 00 00 00), a component version 0x0d and layer 1 (0d 00 01 00).
export type WasmKind = 'module' | 'component';

const MAGIC = 0x0061736d;

/** 'module', 'component', or null for anything that is not a WebAssembly binary we know. */
export function wasmKind(bytes: Uint8Array): WasmKind | null {
  if (bytes.length < 8) return null;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, 8);
  if (dv.getUint32(0) !== MAGIC) return null;
  const version = dv.getUint16(4, true), layer = dv.getUint16(6, true);
  if (version === 1 && layer === 0) return 'module';
  if (layer === 1) return 'component';
  return null;
}
