// zerocopy.sendfile lowered by the host (host/wasi2/lower.ts): jco's hybrid glue calls the core
// function the host gives for it instead of its JavaScript trampoline. Held here: handles are
// found in the glue's tables whatever their order, each type's in its own table only, and an
// index that is no live handle of the type traps; the result is stored by the canonical ABI,
// the same as the JavaScript function answers, in memory grown since the last call too; reps
// live as long as the guest's handles, are every resource's, and come back only after all
// others; and a real component's calls reach the lowering and move the bytes.
import { suite } from './helpers/suite.js';
import * as assert from 'uvu/assert';
import { mkdirSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadComponent } from '../host/component/load.js';
import * as libc from '../host/native/libc.js';
import { AT, O } from '../host/native/platform.js';
import { Sandbox } from '../host/index.js';
import type { Descriptor } from '../host/wasi2/filesystem.js';
import { DISPOSE } from '../host/wasi2/host.js';
import { wasi2Imports } from '../host/wasi2/imports.js';
import { CABI_LOWER, CABI_REP, classOfFace, Resource, repsOf } from '../host/wasi2/resources.js';
import type { OutputStream } from '../host/wasi2/streams.js';
import { ERROR_CODES } from '../host/wasi2/zerocopy.js';
import { ROOT, tempDir } from './helpers/guest.js';
import { wasi2Host } from './helpers/component_caller.js';

const T_FLAG = 1 << 30; // jco 1.12.0's glue: an own handle's rep is stored with it
const work = tempDir('wzc-comp-lower-');
writeFileSync(join(work, 'f'), 'xyz');

/** What the glue calls when the guest drops its last handle. */
const dispose = (o: object): void => (o as Record<symbol, () => void>)[DISPOSE]();
/** The rep an object gives the glue (jco reads `obj[Symbol.for('cabiRep')]`). */
const rep = (o: object): number => (o as unknown as Record<symbol, number>)[CABI_REP];

type Lowered = (inHandle: number, offset: bigint, outHandle: number, count: bigint, ret: number) => void;

/** The WASI 0.2 imports over a table with `work` preopened; a file, a pipe, and jco-shaped handle tables. */
function host() {
  const h = wasi2Host(work);
  const { zerocopy, file, pipeOut } = h;
  // As the glue makes them (rscTableCreateOwn): handle 1 in each, the rep from the object.
  const descriptors = [T_FLAG, 0, 0, rep(file) | T_FLAG];
  const streams = [T_FLAG, 0, 0, rep(pipeOut) | T_FLAG];
  const memory = new WebAssembly.Memory({ initial: 1 });
  const lower = (tables: number[][]): Lowered => zerocopy.sendfile[CABI_LOWER]({ memory, resourceTables: tables });
  return { ...h, descriptors, streams, memory, lower };
}

/** The result<u64, error-code> stored at `ret`: `ok N` or the error-code's name. */
function stored(memory: WebAssembly.Memory, ret: number): string {
  const dv = new DataView(memory.buffer);
  const tag = dv.getUint8(ret);
  if (tag === 0) return `ok ${dv.getBigUint64(ret + 8, true)}`;
  assert.is(tag, 1, 'the discriminant of a result is 0 or 1');
  return ERROR_CODES[dv.getUint8(ret + 8)] ?? `case ${dv.getUint8(ret + 8)}`;
}

/** What the JavaScript function answers: `ok N` or the error-code it throws. */
function answered(op: () => bigint): string {
  try {
    return `ok ${op()}`;
  } catch (e) {
    if (typeof e === 'string') return e;
    throw e;
  }
}

const lowering = suite('zerocopy.sendfile lowered by the host');

lowering('it finds its handles in the glue\'s tables in either order and stores ok and the count', () => {
  const h = host();
  try {
    for (const tables of [[h.descriptors, h.streams], [h.streams, h.descriptors]]) {
      new Uint8Array(h.memory.buffer).fill(0xff, 0, 64);
      h.lower(tables)(1, 1n, 1, 10n, 16);
      assert.is(stored(h.memory, 16), 'ok 2');
      assert.equal(new Uint8Array(h.memory.buffer, 16, 16), Uint8Array.of(0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 0, 0, 0),
        'the discriminant and the u64; the padding between them untouched');
      assert.is(Buffer.from(h.pipeIn.read(10n)).toString(), 'yz');
    }
  } finally {
    h.close();
  }
});

// Each case against the JavaScript function's answer, on the same kind of objects: the fast
// path, the general path (a file's output stream, which has an offset) and error-codes. `out`
// makes the destination (default: the pipe's write end).
type Host = ReturnType<typeof host>;
const fileStream = (name: string, drop: boolean) => (h: Host): OutputStream => {
  const d = h.dir.openAt({}, name, { create: true }, { read: true, write: true }) as Descriptor;
  const s = d.writeViaStream(0n);
  if (drop) dispose(d);
  return s;
};
const CASES: [string, bigint, bigint, ((h: Host) => OutputStream)?][] = [
  ['the fast path', 0n, 3n],
  ['the end of the file', 3n, 3n],
  ['an offset past 2^63 - 1 (the kernel\'s EINVAL)', -1n, 3n],
  ['a count of 2^64 - 1 (the kernel caps it)', 0n, -1n],
  ['a file\'s output stream (the general path)', 1n, 3n, fileStream('g', false)],
  ['a stream whose descriptor was dropped', 0n, 3n, fileStream('g', true)],
];
for (const [name, offset, count, out] of CASES) {
  lowering(`${name}: the stored result is what the JavaScript function answers`, () => {
    const a = host(), b = host();
    try {
      const aOut = out?.(a) ?? a.pipeOut, bOut = out?.(b) ?? b.pipeOut;
      a.streams[3] = rep(aOut) | T_FLAG;
      a.lower([a.descriptors, a.streams])(1, offset, 1, count, 8);
      const expected = answered(() => b.zerocopy.sendfile(b.file, BigInt.asUintN(64, offset), bOut, BigInt.asUintN(64, count)));
      assert.is(stored(a.memory, 8), expected);
    } finally {
      a.close();
      b.close();
      rmSync(join(work, 'g'), { force: true });
    }
  });
}

lowering('an index that is not a live handle of its type traps, as the canonical ABI\'s lift of a borrow does', () => {
  const h = host();
  try {
    const f = h.lower([h.descriptors, h.streams]);
    // 0 (the free list's head), past the table, negative, and a slot freed as the glue frees one.
    // 2^31 + 1, a negative i32, is index 1 to a 32-bit shift (handle << 1 wraps to 2).
    for (const [inH, outH] of [[0, 1], [2, 1], [1, 2], [-1, 1], [1, 1 << 30], [(2 ** 31 + 1) | 0, 1], [1, (2 ** 31 + 1) | 0]]) {
      assert.throws(() => f(inH, 0n, outH, 1n, 8), (e: unknown) => e instanceof WebAssembly.RuntimeError, `${inH}, ${outH}`);
    }
    h.descriptors[2] = T_FLAG; // rscTableRemove: the scope slot marked free, the rep left behind
    assert.throws(() => f(1, 0n, 1, 1n, 8), (e: unknown) => e instanceof WebAssembly.RuntimeError, 'a freed handle');
  } finally {
    h.close();
  }
});

lowering('a handle of the other type traps (only the stream table has a handle 2)', () => {
  const h = host();
  try {
    h.streams.push(0, (h.streams[3] & ~T_FLAG) | T_FLAG);
    const f = h.lower([h.descriptors, h.streams]);
    assert.throws(() => f(2, 0n, 1, 1n, 8), (e: unknown) => e instanceof WebAssembly.RuntimeError);
  } finally {
    h.close();
  }
});

lowering('once its table is known, a descriptor is taken from there only, whatever another table holds at that index', () => {
  const h = host();
  try {
    // A third table whose slot 2 holds the file's rep, as the glue would store a rep it counted
    // itself for an object that had none of the host's (it counts from 1 for each type); the
    // descriptor table has no handle 2.
    const other = [T_FLAG, 0, 0, 7 | T_FLAG, 0, h.descriptors[3]];
    const f = h.lower([h.streams, h.descriptors, other]);
    f(1, 0n, 1, 1n, 8);
    assert.is(stored(h.memory, 8), 'ok 1', 'handle 1 of each type');
    assert.throws(() => f(2, 0n, 1, 1n, 8), (e: unknown) => e instanceof WebAssembly.RuntimeError);
    assert.is(Buffer.from(h.pipeIn.read(10n)).toString(), 'x', 'the trapping call sent nothing');
  } finally {
    h.close();
  }
});

lowering('every resource the imports give the glue takes its rep from the instance\'s registry', () => {
  // What makes the tables tellable apart: no table then holds a rep of the glue's own count.
  const h = host();
  try {
    const classes: string[] = [];
    for (const [iface, fns] of Object.entries(wasi2Imports(h.ctx))) {
      for (const [name, value] of Object.entries(fns)) {
        if (typeof value !== 'function' || !/^[A-Z]/.test(name)) continue;
        const cls = classOfFace(value);
        assert.ok(cls !== undefined && cls.prototype instanceof Resource, `${iface} ${name} is no Resource`);
        classes.push(name);
      }
    }
    assert.ok(classes.length >= 11, `found only ${classes.join(', ')}`);
  } finally {
    h.close();
  }
});

lowering('the JavaScript sendfile given the glue\'s stand-in for a handle it cannot find traps, with a descriptor 0 in the table', () => {
  const h = host();
  try {
    // What the glue hands the host for a dropped or made-up handle: Object.create of the class
    // it was given. Its fd is missing, which a table lookup reads as 0.
    const face = wasi2Imports(h.ctx)['wasi:filesystem/types'].Descriptor as { prototype: object };
    const standIn = Object.create(face.prototype) as Descriptor;
    h.ctx.fds.insert(h.ctx.fds.adopt(libc.openat(AT.FDCWD, join(work, 'f'), O.RDONLY | O.CLOEXEC, 0)), 0);
    assert.ok(h.ctx.fds.has(0));
    assert.throws(() => h.zerocopy.sendfile(standIn, 0n, h.pipeOut, 3n), (e: unknown) => e instanceof WebAssembly.RuntimeError);
    assert.is(h.pipeIn.read(10n).length, 0, 'nothing sent');
  } finally {
    h.close();
  }
});

lowering('a freed rep is not given again before the others', () => {
  const h = host();
  try {
    const reps = repsOf(h.ctx);
    const a = h.dir.openAt({}, 'f', {}, { read: true }) as Descriptor;
    const b = h.dir.openAt({}, 'f', {}, { read: true }) as Descriptor;
    const repA = rep(a);
    assert.is.not(rep(b), repA);
    dispose(a);
    const c = h.dir.openAt({}, 'f', {}, { read: true }) as Descriptor;
    const repC = rep(c);
    assert.is.not(repC, repA);
    assert.is(reps.get(repA), undefined);
    assert.is(reps.get(repC), c);
  } finally {
    h.close();
  }
});

lowering('after memory.grow the result is stored in the grown memory', () => {
  const h = host();
  try {
    const f = h.lower([h.descriptors, h.streams]);
    f(1, 0n, 1, 1n, 8);
    assert.is(stored(h.memory, 8), 'ok 1');
    h.memory.grow(1);
    f(1, 1n, 1, 1n, 65536 + 8);
    assert.is(stored(h.memory, 65536 + 8), 'ok 1');
    assert.is(Buffer.from(h.pipeIn.read(10n)).toString(), 'xy');
  } finally {
    h.close();
  }
});

lowering('a rep is the object\'s while the guest holds it and is freed when the guest drops it', () => {
  const h = host();
  try {
    const reps = repsOf(h.ctx);
    const given = rep(h.pipeOut);
    assert.is(rep(h.pipeOut), given, 'asked again, the same rep');
    assert.is(reps.get(given), h.pipeOut);
    dispose(h.pipeOut);
    assert.is(reps.get(given), undefined);
    assert.throws(() => h.lower([h.descriptors, h.streams])(1, 0n, 1, 1n, 8), (e: unknown) => e instanceof WebAssembly.RuntimeError);
  } finally {
    h.close();
  }
});

lowering('ERROR_CODES are wit/zerocopy.wit\'s error-code cases in order', () => {
  const wit = readFileSync(join(ROOT, 'wit', 'zerocopy.wit'), 'utf8');
  const body = /enum error-code \{([^}]*)\}/.exec(wit)?.[1] ?? '';
  const cases = body.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('//')).map((l) => l.replace(/,$/, ''));
  assert.equal([...ERROR_CODES], cases);
});

lowering.after(() => rmSync(work, { recursive: true, force: true }));
lowering.run();

// ---------------------------------------------------------------------------------------
const component = suite('a component\'s zerocopy.sendfile through the glue', { timeout: 120_000 });

component('the bench component\'s sendfile calls reach the host\'s lowering and move the whole file', async () => {
  const dir = join(work + '-c');
  mkdirSync(dir, { recursive: true });
  const data = Buffer.alloc(300_000);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
  writeFileSync(join(dir, 'in'), data);
  const c = await loadComponent(readFileSync(join(ROOT, 'bench', 'component', 'bench_component.wasm')));
  let lowered = 0, calls = 0;
  const counted = {
    ...c,
    instantiate: ((get, imports, core) => {
      const zc = imports['wasm-zerocopy:zerocopy/zerocopy'] as Record<string, any>;
      const sendfile = Object.defineProperty((...a: unknown[]) => zc.sendfile(...a), CABI_LOWER, {
        value: (lc: unknown) => {
          lowered++;
          const f = zc.sendfile[CABI_LOWER](lc) as Lowered;
          return (a: number, b: bigint, d: number, e: bigint, r: number) => { calls++; f(a, b, d, e, r); };
        },
      });
      return c.instantiate(get, { ...imports, 'wasm-zerocopy:zerocopy/zerocopy': { ...zc, sendfile } }, core);
    }) as typeof c.instantiate,
  };
  const out = openSync(join(dir, 'out'), 'w');
  try {
    const sandbox = new Sandbox({ args: ['bench_component', 'sendfile', String(data.length)], preopens: { '/': dir }, stdin: null, stdout: out, stderr: null });
    try {
      assert.is(sandbox.startComponent(counted), 0);
    } finally {
      sandbox.close();
    }
  } finally {
    closeSync(out);
  }
  assert.is(lowered, 1, 'the glue asked for the lowering once, at instantiation');
  assert.ok(calls >= 1, 'the component\'s calls went through it');
  assert.ok(readFileSync(join(dir, 'out')).equals(data), 'the file arrived whole');
  rmSync(dir, { recursive: true, force: true });
});

component.run();
