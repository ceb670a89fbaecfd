// Offsets a component passes are u64 values (WASI 0.2 `filesize`); the kernel's loff_t is
// signed. Every offset the host hands to sendfile(2), splice(2) or copy_file_range(2) is the
// same 64 bits, so one past 2^63 - 1 reaches the kernel as a negative loff_t and gets the
// kernel's answer, checked here against the same call made natively: an error-code, never a
// trap. Offsets below that are honoured where they are given (the hot path of
// zerocopy.sendfile included).
import { suite } from './helpers/suite.js';
import * as assert from 'uvu/assert';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as libc from '../host/native/libc.js';
import { AT, O } from '../host/native/platform.js';
import { errnoName, fromLinux } from '../host/sandbox/errno.js';
import type { Descriptor } from '../host/wasi2/filesystem.js';
import { zerocopyError } from '../host/wasi2/zerocopy.js';
import { tempDir } from './helpers/guest.js';
import { wasi2Host } from './helpers/component_caller.js';
import { hostPipe } from './helpers/fds.js';

const PAST = 2n ** 63n; // the first u64 that is a negative loff_t
const work = tempDir('wzc-comp-offsets-');
writeFileSync(join(work, 'f'), 'xyz');

/** The WASI 0.2 imports over a table with `work` preopened, and what a test opens in it. */
const host = () => wasi2Host(work);

/** What `op` threw (a string error-code, a stream-error's errno name), or its result. */
function outcome(op: () => unknown): string {
  try {
    return `ok ${String(op())}`;
  } catch (e) {
    if (typeof e === 'string') return e;
    const err = e as { tag?: string; val?: { errno?: number } };
    if (err.tag === 'last-operation-failed' && err.val?.errno !== undefined) return `stream-error ${errnoName[err.val.errno]}`;
    throw e;
  }
}

/**
 * The WASI errno of the same call made natively on `f` (read-only) and `g` (read-write, empty)
 * and a pipe's write end, with `offset` as its loff_t.
 */
function native(call: (fds: { f: number; g: number; pipe: number }, off: Buffer) => number, offset: bigint): number {
  const off = Buffer.alloc(8);
  off.writeBigInt64LE(BigInt.asIntN(64, offset));
  const f = libc.openat(AT.FDCWD, join(work, 'f'), O.RDONLY | O.CLOEXEC, 0);
  const g = libc.openat(AT.FDCWD, join(work, 'g-native'), O.RDWR | O.CREAT | O.CLOEXEC, 0o644);
  const [r, w] = hostPipe();
  try {
    const n = call({ f, g, pipe: w }, off);
    assert.ok(n < 0, `the native call succeeded (${n})`);
    return fromLinux(-n);
  } finally {
    for (const fd of [f, g, r, w]) libc.close(fd);
    rmSync(join(work, 'g-native'), { force: true });
  }
}

// ---------------------------------------------------------------------------------------
const test = suite('offsets from a component reach the kernel as the same 64 bits');

test('zerocopy.sendfile sends from the offset given', () => {
  const h = host();
  try {
    assert.is(h.zerocopy.sendfile(h.file, 1n, h.pipeOut, 10n), 2n);
    assert.is(Buffer.from(h.pipeIn.read(10n)).toString(), 'yz');
  } finally {
    h.close();
  }
});

test('zerocopy.sendfile at 2^63 and at 2^64 - 1 answers what sendfile(2) answers natively', () => {
  const h = host();
  try {
    for (const offset of [PAST, 2n ** 64n - 1n]) {
      const expected = native(({ f, pipe }, off) => libc.sendfile(pipe, f, off, 10n), offset);
      assert.is(errnoName[expected], 'inval'); // sendfile(2): EINVAL for a negative *offset
      assert.is(outcome(() => h.zerocopy.sendfile(h.file, offset, h.pipeOut, 10n)), zerocopyError(expected), String(offset));
    }
  } finally {
    h.close();
  }
});

test('zerocopy.copy-file-range at an in-offset of 2^63 answers what copy_file_range(2) answers natively', () => {
  const h = host();
  try {
    const out = h.dir.openAt({}, 'g', { create: true }, { read: true, write: true }) as Descriptor;
    const expected = native(({ f, g }, off) => libc.copy_file_range(f, off, g, null, 1, 0), PAST);
    assert.is(outcome(() => h.zerocopy.copyFileRange(h.file, PAST, out, 0n, 1n)), zerocopyError(expected));
  } finally {
    h.close();
    rmSync(join(work, 'g'), { force: true });
  }
});

test('blocking-splice from a file read at 2^63 into a pipe fails as sendfile(2) does natively, not with a trap', () => {
  const h = host();
  try {
    const expected = native(({ f, pipe }, off) => libc.sendfile(pipe, f, off, 1n), PAST);
    assert.is(outcome(() => h.pipeOut.blockingSplice(h.file.readViaStream(PAST), 1n)), `stream-error ${errnoName[expected]}`);
  } finally {
    h.close();
  }
});

test.after(() => rmSync(work, { recursive: true, force: true }));
test.run();
