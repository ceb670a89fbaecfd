// The preview1 command adapter `componentize` links in (vendor/wasi-preview1-adapter/) and what
// componentize corrects before linking it (host/component/preview1_fixes.ts).
import { suite } from './helpers/suite.js';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { componentize } from '../host/component/componentize.js';
import { loadComponent } from '../host/component/load.js';
import { Sandbox } from '../host/index.js';
import { ROOT, tempDir } from './helpers/guest.js';
import { watBytes } from './helpers/wat.js';

const VENDOR = join(ROOT, 'vendor', 'wasi-preview1-adapter');

// ---------------------------------------------------------------------------------------
const provenance = suite('the vendored adapter');

provenance('is the file its README names, byte for byte (SHA-256), with the licence beside it', () => {
  const readme = readFileSync(join(VENDOR, 'README.md'), 'utf8');
  const recorded = /^- sha256: `([0-9a-f]{64})`/m.exec(readme)?.[1];
  assert.ok(recorded, 'README.md records no sha256');
  assert.match(readme, /^- package: `@bytecodealliance\/jco@\d+\.\d+\.\d+`/m);
  assert.match(readme, /^- path: `lib\/wasi_snapshot_preview1\.command\.wasm`/m);
  const bytes = readFileSync(join(VENDOR, 'wasi_snapshot_preview1.command.wasm'));
  assert.is(createHash('sha256').update(bytes).digest('hex'), recorded);
  assert.match(readFileSync(join(VENDOR, 'LICENSE'), 'utf8'), /LLVM Exceptions to the Apache 2\.0 License/);
});
provenance.run();

// ---------------------------------------------------------------------------------------
// The adapter answers a read or write of an empty iovec list with success before it looks the
// descriptor up; Linux (and this host's preview1) answers EBADF for one that is not open. The
// same module runs as a core module and, componentized, as a component: the statuses agree.
const empty = suite('a read or write of nothing checks its descriptor, as a core module\'s does', { timeout: 180_000 });
const cache = tempDir('wzc-adapter-glue-');

/** A command that calls `call` with no iovecs on `fd` and exits with the errno it got. */
function emptyCall(call: string, fd: number): Uint8Array<ArrayBuffer> {
  const positioned = call === 'fd_pread' || call === 'fd_pwrite';
  return watBytes(`(module
    (import "wasi_snapshot_preview1" "${call}"
      (func $call (param i32 i32 i32 ${positioned ? 'i64' : ''} i32) (result i32)))
    (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
    (memory (export "memory") 1)
    (func (export "_start")
      (call $exit (call $call (i32.const ${fd}) (i32.const 0) (i32.const 0) ${positioned ? '(i64.const 0)' : ''} (i32.const 16)))))`);
}

const sandbox = () => new Sandbox({ stdin: { read: () => 0 }, stdout: { write: (b) => b.length }, stderr: null });

const BADF = 8;
const CASES: [call: string, fd: number, status: number][] = [
  ['fd_write', 9, BADF], ['fd_read', 9, BADF], ['fd_pwrite', 9, BADF], ['fd_pread', 9, BADF],
  ['fd_write', 1, 0], ['fd_read', 0, 0],
];
for (const [call, fd, status] of CASES) {
  empty(`${call} of no iovecs on descriptor ${fd} answers ${status === BADF ? 'badf' : 'success'}`, async () => {
    const module = emptyCall(call, fd);
    const core = sandbox();
    try {
      assert.is(core.start(new WebAssembly.Module(module)), status, 'as a core module');
    } finally {
      core.close();
    }
    const component = await loadComponent(await componentize(module), { cacheDir: cache });
    const s = sandbox();
    try {
      assert.is(s.startComponent(component), status, 'as a component');
    } finally {
      s.close();
    }
  });
}
empty.after(() => rmSync(cache, { recursive: true, force: true }));
empty.run();
