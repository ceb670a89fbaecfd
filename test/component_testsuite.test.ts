// The official WASI preview1 suite (helpers/wasi_testsuite.ts: where it comes from, how a case
// runs, the skip where it is absent), each case made a component by `componentize` (with the
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
// number (adapter line 2858 compares the page's last four bytes, magic2, with "ugh!"; they
// then hold 2, TLSF's tail block marked left-free). The same component fails the same way on
// jco's preview2-shim. Only the program's own allocator could hand the adapter memory it will not reuse,
// and a compiled AssemblyScript module exports no way to reach it; wasmtime itself runs the
// suite's AssemblyScript cases only as core modules (tests/wasi.rs since wasmtime #11560:
// "skipped for assemblyscript because that doesn't support the wasip1 adapter"). Each test
// asserts exactly that failure, so a change in it shows up here.
import { suite } from './helpers/suite.js';
import * as assert from 'uvu/assert';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { componentize } from '../host/component/componentize.js';
import { loadComponent } from '../host/component/load.js';
import { runCli, tempDir } from './helpers/guest.js';
import { caseArgs, cleanup, copySuite, EXPECTED_CASES, present, REQUIRED, WHERE } from './helpers/wasi_testsuite.js';

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

if (!present && !REQUIRED) {
  process.stdout.write(`\n  skipped: ${WHERE}\n`);
} else if (!present) {
  const test = suite('the official WASI suite, as components');
  test('the official WASI test suite is present (WASI_TESTSUITE_REQUIRED=1)', () => {
    assert.unreachable(WHERE);
  });
  test.run();
} else {
  const test = suite('the official WASI suite, as components', { timeout: 120_000 });
  const { copy, cases } = copySuite('wzc-wasi-components-');
  const components = tempDir('wzc-components-');
  const cache = tempDir('wzc-glue-');
  const previousCache = process.env.WASM_ZEROCOPY_CACHE;
  // The CLI in each child finds its glue here (cache.ts).
  test.before(() => { process.env.WASM_ZEROCOPY_CACHE = cache; });

  test(`the suite has all ${EXPECTED_CASES} preview1 cases`, () => {
    assert.is(cases.length, EXPECTED_CASES, cases.map((c) => c.name).join(', '));
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
      const r = runCli(['run', ...caseArgs(c), component, ...c.spec.args]);
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
  test.run();
}
