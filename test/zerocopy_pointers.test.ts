// Every pointer argument of the zerocopy module at the exact end of guest memory
// (docs/ABI.md, "Conventions" and "Errors"): lying wholly inside, it works; with even one byte
// outside, the call is `fault` and nothing moves, no descriptor appears, nothing is written.
// A wasm memory is followed by pages the kernel cannot touch, so a host that checked only part
// of an offset would still get EFAULT from the kernel; the second suite therefore runs on a
// memory whose last bytes are followed by mapped ones, where only the host's check can say
// `fault`.
import { suite } from './helpers/suite.js';
import * as assert from 'uvu/assert';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as libc from '../host/native/libc.js';
import { Sandbox } from '../host/index.js';
import { errno, errnoName } from '../host/sandbox/errno.js';
import { R } from '../host/sandbox/rights.js';
import { Caller, tcpPair, type ImportFn } from './helpers/imports.js';
import { openFds, tempDir } from './helpers/guest.js';

const FIONREAD = 0x541b;
const RET = 0x100, BUF = 0x400;
const READ = R.FD_READ | R.FD_SEEK | R.FD_TELL, WRITE = R.FD_WRITE | R.FD_SEEK | R.FD_TELL;

/** The guest's descriptors and what the host can see of them without changing anything. */
interface World { dir: string; fileIn: number; fileOut: number; pr: number; pw: number; qr: number; qw: number }
interface Imports { wasi: Record<string, ImportFn>; zc: Record<string, ImportFn>; u8: () => Uint8Array; sandbox: Sandbox }

function setup(x: Imports, dir: string): World {
  const dv = () => new DataView(x.u8().buffer);
  const open = (name: string, rights: number) => {
    x.u8().set(Buffer.from(name), BUF);
    assert.is(x.wasi.path_open(3, 0, BUF, name.length, 0, BigInt(rights), 0n, 0, RET), errno.success);
    return dv().getUint32(RET, true);
  };
  const pipe = () => {
    assert.is(x.zc.pipe(4, RET), errno.success);
    return [dv().getUint32(RET, true), dv().getUint32(RET + 4, true)];
  };
  const fileIn = open('src.txt', READ), fileOut = open('out.txt', WRITE);
  const [pr, pw] = pipe(), [qr, qw] = pipe();
  libc.write(x.sandbox.fds.get(pw).hostFd, Buffer.from('XYZ'), 3);
  return { dir, fileIn, fileOut, pr, pw, qr, qw };
}

/** Everything a call could have changed, read without changing it. */
function state(x: Imports, w: World): string {
  const host = (fd: number) => x.sandbox.fds.get(fd).hostFd;
  const queued = (fd: number) => { const n = Buffer.alloc(4); libc.ioctlInt(host(fd), FIONREAD, n); return n.readInt32LE(0); };
  return `out=${readFileSync(join(w.dir, 'out.txt'), 'utf8')} pos_in=${libc.lseek(host(w.fileIn), 0n, 1)} ` +
    `pipe=${queued(w.pr)} pipe2=${queued(w.qr)} fds=${[...x.sandbox.fds.list()].length}`;
}

/** Each pointer argument: its size, and the call with the pointer at `p` (others valid). */
interface Arg { fn: string; name: string; size: number; call: (x: Imports, w: World, p: number) => number }
const ARGS: Arg[] = [
  { fn: 'sendfile', name: 'offset', size: 8, call: (x, w, p) => x.zc.sendfile(w.fileOut, w.fileIn, p, 4n, RET) },
  { fn: 'sendfile', name: 'ret_sent', size: 8, call: (x, w, p) => x.zc.sendfile(w.fileOut, w.fileIn, 0, 4n, p) },
  { fn: 'splice', name: 'off_in', size: 8, call: (x, w, p) => x.zc.splice(w.fileIn, p, w.qw, 0, 4n, 0, RET) },
  { fn: 'splice', name: 'off_out', size: 8, call: (x, w, p) => x.zc.splice(w.pr, 0, w.fileOut, p, 3n, 0, RET) },
  { fn: 'splice', name: 'ret_moved', size: 8, call: (x, w, p) => x.zc.splice(w.pr, 0, w.fileOut, 0, 3n, 0, p) },
  { fn: 'tee', name: 'ret_copied', size: 8, call: (x, w, p) => x.zc.tee(w.pr, w.qw, 3n, 0, p) },
  { fn: 'pipe', name: 'ret_fds', size: 8, call: (x, _w, p) => x.zc.pipe(0, p) },
  { fn: 'copy_file_range', name: 'off_in', size: 8, call: (x, w, p) => x.zc.copy_file_range(w.fileIn, p, w.fileOut, 0, 4n, 0, RET) },
  { fn: 'copy_file_range', name: 'off_out', size: 8, call: (x, w, p) => x.zc.copy_file_range(w.fileIn, 0, w.fileOut, p, 4n, 0, RET) },
  { fn: 'copy_file_range', name: 'ret_copied', size: 8, call: (x, w, p) => x.zc.copy_file_range(w.fileIn, 0, w.fileOut, 0, 4n, 0, p) },
];
const OFFSETS = ARGS.filter((a) => a.name.startsWith('off'));

function world(): string {
  const dir = tempDir('wzc-ptr-');
  writeFileSync(join(dir, 'src.txt'), '0123456789');
  writeFileSync(join(dir, 'out.txt'), '');
  return dir;
}

/** Runs `body` on a Caller (a real wasm memory of Caller.PAGES pages) over a fresh world. */
function withCaller(body: (x: Imports, w: World, end: number) => void): void {
  const dir = world();
  const c = new Caller({ preopens: { '/': dir } });
  try {
    const x: Imports = { wasi: c.wasi, zc: c.zc, u8: () => c.u8, sandbox: c.sandbox };
    body(x, setup(x, dir), c.memory.buffer.byteLength);
  } finally {
    c.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

let fdsBefore: string[] = [];
const edge = suite('every zerocopy pointer at the exact end of memory');
edge.before(async () => { fdsBefore = openFds(); });

for (const a of ARGS) {
  edge(`${a.fn}'s ${a.name} works ending at the last byte, and is fault with any of its ${a.size} bytes past it`, () => {
    withCaller((x, w, end) => {
      new DataView(x.u8().buffer).setBigInt64(end - a.size, 0n, true);
      assert.is(errnoName[a.call(x, w, end - a.size)], 'success');
    });
    for (let k = 1; k <= a.size; k++) {
      withCaller((x, w, end) => {
        const before = state(x, w);
        const tail = [...x.u8().subarray(end - a.size + k)];
        assert.is(errnoName[a.call(x, w, end - a.size + k)], 'fault', `${k} byte(s) past the end`);
        assert.is(state(x, w), before, `${k} byte(s) past the end: something moved`);
        assert.equal([...x.u8().subarray(end - a.size + k)], tail, 'guest memory was written');
      });
    }
  });
}

edge("sock_peername's buffer and ret_len work ending at the last byte, and are fault one byte later", () => {
  const c = new Caller();
  try {
    const pair = tcpPair();
    const fd = c.sandbox.grant(pair[0]);
    try {
      const end = c.memory.buffer.byteLength;
      assert.is(c.zc.sock_peername(fd, BUF, 64, RET), errno.success);
      const len = c.u32(RET);
      assert.is(errnoName[c.zc.sock_peername(fd, end - len, 64, RET)], 'success');
      assert.is(errnoName[c.zc.sock_peername(fd, end - len + 1, 64, RET)], 'fault');
      assert.is(errnoName[c.zc.sock_peername(fd, BUF, 64, end - 4)], 'success');
      assert.is(c.u32(end - 4), len);
      for (let k = 1; k <= 4; k++) {
        c.u8.fill(0xab, BUF, BUF + 64);
        assert.is(errnoName[c.zc.sock_peername(fd, BUF, 64, end - 4 + k)], 'fault');
        assert.ok(c.u8.subarray(BUF, BUF + 64).every((b) => b === 0xab), 'the buffer was written');
      }
    } finally {
      for (const h of pair) libc.close(h);
    }
  } finally {
    c.close();
  }
});

edge('no host descriptor is left open', () => {
  assert.equal(openFds(), fdsBefore);
});
edge.run();

// ---------------------------------------------------------------------------------------
const mapped = suite('offsets at the end of a memory followed by mapped bytes');

/**
 * A memory whose last byte is not at a page boundary: a resizable ArrayBuffer commits whole
 * pages, so the 4 bytes after its end are mapped and the kernel would read and write them
 * without complaint. Only the host's own check of all 8 bytes stands between the guest and
 * host memory there.
 */
function withMappedTail(body: (x: Imports, w: World, end: number) => void): void {
  const dir = world();
  // (Node 20 has resizable ArrayBuffers; @types/node 20 does not declare the option.)
  const buffer = new (ArrayBuffer as unknown as new (n: number, o: object) => ArrayBuffer)(65536 - 4, { maxByteLength: 1 << 20 });
  const sandbox = new Sandbox({ preopens: { '/': dir }, stdin: null, stdout: null, stderr: null });
  try {
    sandbox.attachMemory({ buffer } as unknown as WebAssembly.Memory);
    const imports = sandbox.getImportObject() as unknown as Record<string, Record<string, ImportFn>>;
    const x: Imports = { wasi: imports.wasi_snapshot_preview1, zc: imports.zerocopy, u8: () => new Uint8Array(buffer), sandbox };
    body(x, setup(x, dir), buffer.byteLength);
  } finally {
    sandbox.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

mapped('the bytes past this memory are mapped: the kernel reads an offset straddling its end', () => {
  withMappedTail((x, _w, end) => {
    const fds = new Int32Array(2);
    assert.is(libc.pipe2(new Uint8Array(fds.buffer), 0), 0);
    try {
      libc.write(fds[1], Buffer.from('ABCDEFGH'), 8);
      assert.is(libc.read(fds[0], libc.addressOf(x.u8()) + BigInt(end - 4), 8), 8);
    } finally {
      libc.close(fds[0]);
      libc.close(fds[1]);
    }
  });
});

for (const a of OFFSETS) {
  mapped(`${a.fn}'s ${a.name} with 4 of its 8 bytes past the end is fault, and nothing moves`, () => {
    withMappedTail((x, w, end) => {
      const before = state(x, w);
      new DataView(x.u8().buffer).setInt32(end - 4, 0, true);
      assert.is(errnoName[a.call(x, w, end - 4)], 'fault');
      assert.is(state(x, w), before);
    });
  });
}
mapped.run();
