// Components end to end: telling them from core modules, `componentize`, `run` on a
// component (the same output as the core module, exit statuses kept), and the example server
// moving a file with zerocopy.sendfile through the WIT interface, in this thread and in workers.
import { suite } from './helpers/suite.js';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { download, freePort } from './helpers/clients.js';
import { join } from 'node:path';
import { wasmKind } from '../host/component/format.js';
import { loadComponent } from '../host/component/load.js';
import { boundPort, run } from '../host/index.js';
import { listenOn } from '../host/listen.js';
import * as libc from '../host/native/libc.js';
import { CLI, GUESTS, ROOT, runCli, tempDir } from './helpers/guest.js';
import { watFile } from './helpers/wat.js';

const EXAMPLE = join(ROOT, 'examples', 'send_file_component', 'send_file.wasm');
const FILES = join(ROOT, 'test', 'fixtures', 'c', 'files.wasm');
const work = tempDir('wzc-component-');
const cache = join(work, 'cache');

// ---------------------------------------------------------------------------------------
const format = suite('telling a component from a core module');

const HEADERS: [string, number[], string | null][] = [
  ['a core module', [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], 'module'],
  ['a component', [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00], 'component'],
  ['not wasm', [0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00], null],
  ['a core module of an unknown version', [0x00, 0x61, 0x73, 0x6d, 0x02, 0x00, 0x00, 0x00], null],
  ['too short', [0x00, 0x61, 0x73, 0x6d], null],
];
for (const [what, bytes, kind] of HEADERS) {
  format(`${what}: ${kind ?? 'neither'}`, () => assert.is(wasmKind(new Uint8Array(bytes)), kind));
}
format('the example and a componentized program are components; the guests are modules', () => {
  assert.is(wasmKind(readFileSync(EXAMPLE)), 'component');
  assert.is(wasmKind(readFileSync(FILES)), 'module');
});
format.run();

// ---------------------------------------------------------------------------------------
const cli = suite('componentize and run', { timeout: 120_000 });
cli.before(() => { process.env.WASM_ZEROCOPY_CACHE = cache; });
cli.after(() => { delete process.env.WASM_ZEROCOPY_CACHE; });

cli('a module importing zerocopy is refused, saying why and pointing at the WIT interface', () => {
  const r = runCli(['componentize', join(GUESTS, 'zcat.wasm'), '-o', join(work, 'zcat.wasm')]);
  assert.is(r.status, 2, r.stderr);
  assert.match(r.stderr, /^wasm-zerocopy: cannot componentize .*zcat\.wasm: it imports the zerocopy module/);
  assert.match(r.stderr, /adapter, which keeps them private/);
  assert.match(r.stderr, /wasm-zerocopy:zerocopy\/zerocopy@0\.1\.0 \(wit\/zerocopy\.wit\)/);
  assert.is(r.stderr.trim().split('\n').length, 1);
  assert.not.ok(existsSync(join(work, 'zcat.wasm')));
});

cli('a component is not componentized again; -o is required', () => {
  const again = runCli(['componentize', EXAMPLE, '-o', join(work, 'x.wasm')]);
  assert.is(again.status, 2);
  assert.match(again.stderr, /is a component already/);
  const noOut = runCli(['componentize', FILES]);
  assert.is(noOut.status, 2);
  assert.match(noOut.stderr, /-o OUT\.wasm is required\nusage: wasm-zerocopy componentize/);
});

cli('a C program runs as a component with the same output as the core module', () => {
  const component = join(work, 'files.wasm');
  const made = runCli(['componentize', FILES, '-o', component]);
  assert.is(made.status, 0, made.stderr);
  assert.is(wasmKind(readFileSync(component)), 'component');
  const outputs = [FILES, component].map((m) => {
    const dir = tempDir('wzc-files-');
    try {
      const r = runCli(['run', '--dir', `${dir}::/d`, m, '/d']);
      assert.is(r.status, 0, r.stderr);
      return r.stdout;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  assert.ok(outputs[0].length > 200, outputs[0]);
  assert.fixture(outputs[1], outputs[0]);
});

cli('proc_exit keeps its status through componentize; --portable reports any failure as 1, as the adapter does', () => {
  // A command that exits 33, as the official suite's proc_exit-failure case does, made here so
  // that the test needs nothing beside the repository.
  const exitCase = watFile(work, 'exit33-core.wasm', `(module
    (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
    (memory (export "memory") 1)
    (func (export "_start") (call $proc_exit (i32.const 33))))`);
  assert.is(runCli(['run', exitCase]).status, 33, 'the core module exits 33');
  for (const [flags, status] of [[[], 33], [['--portable'], 1]] as const) {
    const out = join(work, `exit${status}.wasm`);
    const made = runCli(['componentize', ...flags, exitCase, '-o', out]);
    assert.is(made.status, 0, made.stderr);
    assert.is(runCli(['run', out]).status, status);
  }
});

cli('a trap in a component is one line and status 134', () => {
  const component = join(work, 'trap.wasm');
  assert.is(runCli(['componentize', join(GUESTS, 'trap.wasm'), '-o', component]).status, 0);
  const r = runCli(['run', component]);
  assert.is(r.status, 134, r.stderr);
  assert.match(r.stderr, /^wasm-zerocopy: .*trap\.wasm: trap: unreachable\n$/);
});
cli.run();

// ---------------------------------------------------------------------------------------
// jco is an optional peer dependency (package.json): an installation without it runs core
// modules, and components whose glue is cached, and says in one line what to install for the rest.
const withoutJco = suite('an installation without jco', { timeout: 120_000 });
const bare = join(work, 'bare');
const bareCache = join(work, 'bare-cache');
const CLOCK_CALLS = join(ROOT, 'test', 'fixtures', 'components', 'clock_calls.wasm');
const MISSING = 'wasm-zerocopy: WebAssembly components need @bytecodealliance/jco 1.12.0, which is not installed: ' +
  'npm install @bytecodealliance/jco@1.12.0\n';

withoutJco.before(() => {
  // The package as npm installs it for a user who did not add jco: its files, and koffi.
  mkdirSync(join(bare, 'node_modules'), { recursive: true });
  cpSync(join(ROOT, 'build', 'host'), join(bare, 'build', 'host'), { recursive: true });
  cpSync(join(ROOT, 'vendor'), join(bare, 'vendor'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(bare, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules', 'koffi'), join(bare, 'node_modules', 'koffi'));
});

function bareCli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(bare, 'build', 'host', 'cli.js'), ...args],
    { encoding: 'utf8', timeout: 60_000, env: { ...process.env, WASM_ZEROCOPY_CACHE: bareCache } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

withoutJco('a core module runs', () => {
  const dir = tempDir('wzc-bare-files-');
  try {
    const r = bareCli(['run', '--dir', `${dir}::/d`, FILES, '/d']);
    assert.is(r.status, 0, r.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

withoutJco('running a component not transpiled yet fails with one line saying what to install', () => {
  const r = bareCli(['run', CLOCK_CALLS, '10']);
  assert.is(r.status, 1, r.stderr);
  assert.is(r.stderr, MISSING);
});

withoutJco('componentize fails with the same line', () => {
  const r = bareCli(['componentize', FILES, '-o', join(work, 'bare.wasm')]);
  assert.is(r.status, 1, r.stderr);
  assert.is(r.stderr, MISSING);
  assert.not.ok(existsSync(join(work, 'bare.wasm')));
});

withoutJco('a component whose glue is in the cache runs', async () => {
  await loadComponent(readFileSync(CLOCK_CALLS), { cacheDir: bareCache }); // transpiled here, with jco
  const r = bareCli(['run', CLOCK_CALLS, '10']);
  assert.is(r.status, 0, r.stderr);
});
withoutJco.run();

// ---------------------------------------------------------------------------------------
const example = suite('the example server (WIT sendfile)', { timeout: 120_000 });

const payload = Buffer.alloc(3 * 1024 * 1024 + 17);
for (let i = 0; i < payload.length; i++) payload[i] = (i * 7 + (i >> 12)) & 0xff;
example.before(() => { writeFileSync(join(work, 'payload.bin'), payload); });

example('under `run`, it serves the file to each client, moved by sendfile (the trace shows the calls)', async () => {
  const port = freePort();
  const child = spawn(process.execPath, [CLI, 'run', '--trace', '--listen', `127.0.0.1:${port}`, '--dir', `${work}::/`,
    EXAMPLE, `127.0.0.1:${port}`, 'payload.bin', '2'], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, WASM_ZEROCOPY_CACHE: cache } });
  let stderr = '';
  child.stderr.on('data', (c) => { stderr += c; });
  // 'close', not 'exit': a child's exit can be seen before all it wrote to stderr is read.
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  try {
    // The listener exists once the guest has bound it; until then connections are refused.
    const deadline = Date.now() + 60_000;
    while (!stderr.includes('finish-listen')) {
      if (Date.now() > deadline) throw new Error(`the server did not listen: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    for (let i = 0; i < 2; i++) assert.ok((await download(port)).equals(payload), `client ${i + 1} got other bytes`);
    assert.is(await exited, 0, stderr.slice(-2000));
  } finally {
    child.kill();
  }
  assert.match(stderr, /client: 3145745 bytes sent with sendfile/);
  assert.match(stderr, /wasm-zerocopy:zerocopy\/zerocopy@0\.1\.0 sendfile\(/);
  assert.not.match(stderr, /\[method\]output-stream\.write\(/);
});

example('through run() in two workers sharing one listener, each serves a client', async () => {
  const component = await loadComponent(readFileSync(EXAMPLE), { cacheDir: cache });
  const listener = listenOn('127.0.0.1:0');
  try {
    const port = boundPort(listener);
    const running = run(component, {
      workers: 2, listen: [listener], preopens: { '/': work },
      args: ['send_file.wasm', `127.0.0.1:${port}`, 'payload.bin', '1'], stderr: null,
    });
    const got = await Promise.all([download(port), download(port)]);
    for (const g of got) assert.ok(g.equals(payload));
    assert.equal(await running, [0, 0]);
  } finally {
    libc.close(listener);
  }
});

example('a bind to an address the host did not grant is refused', () => {
  const r = runCli(['run', EXAMPLE, '127.0.0.1:9', 'payload.bin']);
  assert.is(r.status, 1, r.stderr);
  assert.match(r.stderr, /no directory was given|cannot bind/);
  const bound = runCli(['run', '--dir', `${work}::/`, EXAMPLE, '127.0.0.1:9', 'payload.bin']);
  assert.is(bound.status, 1, bound.stderr);
  assert.match(bound.stderr, /send_file: cannot bind \(was the address given with --listen\?\)/);
});

example.after(() => rmSync(work, { recursive: true, force: true }));
example.run();
