// Reading and renaming a core module's imports, in the binary format (WebAssembly core spec
// 5.5.5, the import section). Only the import section is rewritten; every other byte is kept,
// so function indexes and code never change.
const IMPORT_SECTION = 2;

export interface Import { module: string; name: string; kind: number }

const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

export class Reader {
  constructor(readonly b: Uint8Array, public at = 0) {}
  byte(): number {
    if (this.at >= this.b.length) throw new Error('truncated module');
    return this.b[this.at++];
  }
  u32(): number {
    let result = 0, shift = 0;
    for (;;) {
      const byte = this.byte();
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7;
      if (shift > 35) throw new Error('malformed LEB128');
    }
  }
  /** A signed LEB128 of at most 32 bits (i32.const), as an i32. */
  s32(): number {
    let result = 0, shift = 0, byte;
    do {
      byte = this.byte();
      result |= (byte & 0x7f) << shift;
      shift += 7;
      if (shift > 35) throw new Error('malformed LEB128');
    } while (byte & 0x80);
    return shift < 32 && (byte & 0x40) ? result | (-1 << shift) : result | 0;
  }
  /** A signed LEB128 of any width (heap types), skipped. */
  skipSigned(): void {
    while (this.byte() & 0x80);
  }
  name(): string {
    const len = this.u32();
    const s = utf8.decode(this.b.subarray(this.at, this.at + len));
    this.at += len;
    return s;
  }
  limits(): void {
    const flags = this.byte();
    this.u32();
    if (flags & 1) this.u32();
  }
  valtype(): void {
    const t = this.byte();
    if (t === 0x63 || t === 0x64) this.skipSigned(); // (ref null? ht) of the reference-types/GC proposals
  }
}

/** An unsigned LEB128. */
export function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

interface RawImport extends Import { desc: Uint8Array }

/** The import section's entries with the bytes of their descriptions, and where it lies. */
function parse(bytes: Uint8Array): { imports: RawImport[]; start: number; end: number } | null {
  const r = new Reader(bytes, 8);
  while (r.at < bytes.length) {
    const id = r.byte();
    const size = r.u32();
    const start = r.at;
    if (id === IMPORT_SECTION) {
      const imports: RawImport[] = [];
      for (let n = r.u32(); n > 0; n--) {
        const module = r.name(), name = r.name();
        const descStart = r.at;
        const kind = r.byte();
        if (kind === 0x00) r.u32();                       // func: type index
        else if (kind === 0x01) { r.valtype(); r.limits(); } // table
        else if (kind === 0x02) r.limits();               // memory
        else if (kind === 0x03) { r.valtype(); r.byte(); } // global: type, mutability
        else if (kind === 0x04) { r.byte(); r.u32(); }     // tag
        else throw new Error(`unknown import kind ${kind}`);
        imports.push({ module, name, kind, desc: bytes.slice(descStart, r.at) });
      }
      return { imports, start: start - 1 - leb(size).length, end: start + size };
    }
    r.at = start + size;
  }
  return null;
}

export function importsOf(bytes: Uint8Array): Import[] {
  return (parse(bytes)?.imports ?? []).map(({ module, name, kind }) => ({ module, name, kind }));
}

/** The module with each import renamed by `rename` (which returns the new [module, name]). */
export function renameImports(bytes: Uint8Array, rename: (i: Import) => [string, string]): Uint8Array {
  const parsed = parse(bytes);
  if (parsed === null) return bytes;
  const body: number[] = [...leb(parsed.imports.length)];
  const str = (s: string) => { const b = encoder.encode(s); body.push(...leb(b.length), ...b); };
  for (const i of parsed.imports) {
    const [module, name] = rename(i);
    str(module);
    str(name);
    body.push(...i.desc);
  }
  const section = [IMPORT_SECTION, ...leb(body.length), ...body];
  const out = new Uint8Array(parsed.start + section.length + (bytes.length - parsed.end));
  out.set(bytes.subarray(0, parsed.start));
  out.set(section, parsed.start);
  out.set(bytes.subarray(parsed.end), parsed.start + section.length);
  return out;
}
