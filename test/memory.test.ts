// Guest memory access: every pointer is bounds-checked, and views follow memory.grow.
import { suite } from './helpers/suite.js';
import * as assert from 'uvu/assert';
import { GuestMemory } from '../host/sandbox/memory.js';
import { WasiError, errno } from '../host/sandbox/errno.js';

const test = suite('guest memory');

const PAGE = 65536;

function faults(f: () => unknown): boolean {
  try {
    f();
    return false;
  } catch (e) {
    return e instanceof WasiError && e.errno === errno.fault;
  }
}

test('a pointer not wholly inside memory is fault', () => {
  const m = new GuestMemory();
  m.attach(new WebAssembly.Memory({ initial: 1 }));
  assert.ok(!faults(() => m.u32(PAGE - 4)));
  assert.ok(faults(() => m.u32(PAGE - 3)), 'a u32 straddling the end');
  assert.ok(faults(() => m.bytes(PAGE - 1, 2)));
  assert.ok(faults(() => m.u32(-4)), 'a negative i32 is a pointer near 4 GiB');
  assert.ok(faults(() => m.bytes(0, 0xffffffff)));
  assert.ok(!faults(() => m.bytes(PAGE, 0)), 'an empty range at the very end is inside');
});

test('views follow memory.grow: new pages become reachable and old data stays', () => {
  const wasm = new WebAssembly.Memory({ initial: 1, maximum: 4 });
  const m = new GuestMemory();
  m.attach(wasm);
  m.setU32(8, 0xdeadbeef);
  assert.ok(faults(() => m.setU32(PAGE + 8, 1)));
  wasm.grow(2);
  m.setU32(PAGE + 8, 42);
  assert.is(m.u32(PAGE + 8), 42);
  assert.is(m.u32(8), 0xdeadbeef);
  assert.is(new DataView(wasm.buffer).getUint32(PAGE + 8, true), 42, 'the write reached the live buffer');
  assert.ok(faults(() => m.u32(3 * PAGE)));
  assert.is(m.address(PAGE, 4) - m.address(0, 4), BigInt(PAGE));
});

test('u64 results are stored exactly, beyond 2^32 and beyond 2^53', () => {
  const m = new GuestMemory();
  m.attach(new WebAssembly.Memory({ initial: 1 }));
  for (const v of [0, 1, 0xffffffff, 0x100000000, Number.MAX_SAFE_INTEGER]) {
    m.setU64(16, v);
    assert.is(m.u64(16), BigInt(v));
  }
  m.setU64(16, 2n ** 64n - 1n);
  assert.is(m.u64(16), 2n ** 64n - 1n);
});

test('a string that is not UTF-8 is ilseq', () => {
  const m = new GuestMemory();
  const wasm = new WebAssembly.Memory({ initial: 1 });
  m.attach(wasm);
  new Uint8Array(wasm.buffer).set([0x61, 0xff, 0x62], 100);
  assert.throws(() => m.string(100, 3), (e: unknown) => e instanceof WasiError && e.errno === errno.ilseq);
  assert.is(m.string(100, 1), 'a');
});

test.run();
