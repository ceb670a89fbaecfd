// The official WASI preview1 suite (../shared/wasi-testsuite, copied to a temporary folder,
// as wasi_testsuite.test.ts does), each case made a component by `componentize` (with the
// preview1 command adapter of vendor/wasi-preview1-adapter/) and run under `wasm-zerocopy run`
// as a component: this is how wasmtime tests its own WASI 0.2 host. The glue cache is a fresh
// temporary one.
//
// Two cases fail inside the adapter, whatever host runs it: AssemblyScript programs and the
// adapter both take the module's memory for their own. The adapter keeps its state (one 64 KiB
// page, magic numbers at both ends) and its stack in the module's linear memory, got from the
// module's cabi_realloc; AssemblyScript exports none, so wit-component gives the adapter pages
// from memory.grow (wasm-tools #900 says so of toolchains that expect to own all of memory).
// AssemblyScript's allocator (TLSF), at its first allocation, takes every page below
// memory.size as its heap and writes its end marker into the last one: when the program's
// first WASI call comes before its first allocation (args_sizes_get, then the buffers), that
// page is the adapter's state, and the adapter's next call fails its check of the magic
// number. Only the program's own allocator could hand the adapter memory it will not reuse,
// and a compiled AssemblyScript module exports no way to reach it; wasmtime itself runs the
// suite's AssemblyScript cases only as core modules (tests/wasi.rs since wasmtime #11560:
// "skipped for assemblyscript because that doesn't support the wasip1 adapter"). Each test
// asserts exactly that failure, so a change in it shows up here.
import { suite } from './helpers/suite.js';
import * as assert from 'uvu/assert';
import { chmodSync, cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { componentize } from '../host/component/componentize.js';
import { loadComponent } from '../host/component/load.js';
import { ROOT, runCli, tempDir } from './helpers/guest.js';

const SUITE = join(ROOT, '..', 'shared', 'wasi-testsuite');
const LANGUAGES = ['assemblyscript', 'c', 'rust'];
const EXPECTED_CASES = 72;

/** Failures inside the adapter (above), with the exit status and message they give. */
const ADAPTER: Record<string, { why: string; status: number; stderr?: RegExp }> = {
  'assemblyscript/args_get-multiple-arguments': {
    why: 'AssemblyScript\'s allocator takes the adapter\'s state page as heap', status: 134,
    stderr: /assertion failed at adapter line/,
  },
  'assemblyscript/environ_get-multiple-variables': {
    why: 'AssemblyScript\'s allocator takes the adapter\'s state page as heap', status: 134,
    stderr: /assertion failed at adapter line/,
  },
};

interface Spec { args: string[]; env: Record<string, string>; root: string | null; exit_code: number; stdout: string }
interface Case { name: string; dir: string; wasm: string; spec: Spec }

function readSpec(json: string): Spec {
  const raw = existsSync(json) ? JSON.parse(readFileSync(json, 'utf8')) as Partial<Spec> : {};
  return { args: raw.args ?? [], env: raw.env ?? {}, root: raw.root ?? null, exit_code: raw.exit_code ?? 0, stdout: raw.stdout ?? '' };
}

function makeWritable(path: string): void {
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const p = join(path, entry.name);
    if (entry.isSymbolicLink()) continue;
    chmodSync(p, entry.isDirectory() ? 0o755 : 0o644);
    if (entry.isDirectory()) makeWritable(p);
  }
}

function cleanup(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.name.endsWith('.cleanup')) rmSync(p, { recursive: true, force: true });
    else if (entry.isDirectory()) cleanup(p);
  }
}

const test = suite('the official WASI suite, as components', { timeout: 120_000 });

if (!existsSync(join(SUITE, 'tests'))) {
  test('the official WASI test suite is present at ../shared/wasi-testsuite', () => {
    assert.unreachable(`wasi-testsuite not found at ${SUITE}`);
  });
} else {
  const copy = tempDir('wzc-wasi-components-');
  const components = tempDir('wzc-components-');
  const cache = tempDir('wzc-glue-');
  const previousCache = process.env.WASM_ZEROCOPY_CACHE;
  cpSync(SUITE, copy, { recursive: true });
  chmodSync(copy, 0o755);
  makeWritable(copy);
  const cases: Case[] = [];
  for (const lang of LANGUAGES) {
    const dir = join(copy, 'tests', lang, 'testsuite', 'wasm32-wasip1');
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.wasm')).sort()) {
      const name = basename(file, '.wasm');
      cases.push({ name: `${lang}/${name}`, dir, wasm: join(dir, file), spec: readSpec(join(dir, `${name}.json`)) });
    }
  }
  // The CLI in each child finds its glue here (cache.ts).
  test.before(() => { process.env.WASM_ZEROCOPY_CACHE = cache; });

  test(`the suite has all ${EXPECTED_CASES} preview1 cases`, () => {
    assert.is(cases.length, EXPECTED_CASES);
  });

  for (const c of cases) {
    const known = ADAPTER[c.name];
    test(known === undefined ? c.name : `${c.name} fails as the adapter does: ${known.why}`, async () => {
      cleanup(c.dir);
      const component = join(components, `${c.name.replace('/', '-')}.wasm`);
      const bytes = await componentize(readFileSync(c.wasm));
      writeFileSync(component, bytes);
      // Transpiled here, where jco is loaded once, into the cache the CLI then finds it in.
      await loadComponent(bytes, { cacheDir: cache });
      const argv = ['run'];
      if (c.spec.root !== null) argv.push('--dir', `${join(c.dir, c.spec.root)}::/`);
      for (const [k, v] of Object.entries(c.spec.env)) argv.push('--env', `${k}=${v}`);
      argv.push(component, ...c.spec.args);
      const r = runCli(argv);
      const why = `exit ${r.status}\nstdout: ${r.stdout.slice(0, 2000)}\nstderr: ${r.stderr.slice(0, 2000)}`;
      if (known !== undefined) {
        assert.is(r.status, known.status, why);
        if (known.stderr) assert.match(r.stderr, known.stderr, why);
        return;
      }
      assert.is(r.status, c.spec.exit_code, why);
      assert.ok(r.stdout.startsWith(c.spec.stdout), why);
    });
  }

  test.after(() => {
    if (previousCache === undefined) delete process.env.WASM_ZEROCOPY_CACHE;
    else process.env.WASM_ZEROCOPY_CACHE = previousCache;
    for (const d of [copy, components, cache]) rmSync(d, { recursive: true, force: true });
  });
}

test.run();
