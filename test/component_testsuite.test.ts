// The official WASI preview1 suite (helpers/wasi_testsuite.ts: where it comes from, how a case
// runs, the skip where it is absent), each case made a component by `componentize` (with the
// preview1 command adapter of vendor/wasi-preview1-adapter/) and run under `wasm-zerocopy run`
// as a component: this is how wasmtime tests its own WASI 0.2 host. The glue cache is a fresh
// temporary one.
//
// Every module here exports no realloc, so componentize shifts each one's memory accesses up
// to leave the adapter pages of its own (host/component/memshift.ts): the C, Rust and
// AssemblyScript cases all run shifted. Without the shift the two AssemblyScript cases that
// make a WASI call before their first allocation (args_get-multiple-arguments,
// environ_get-multiple-variables) fail inside the adapter: AssemblyScript's allocator takes the
// page wit-component grew for the adapter's state as heap (wasmtime skips them for that).
import { suite } from './helpers/suite.js';
import * as assert from 'uvu/assert';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { componentize } from '../host/component/componentize.js';
import { loadComponent } from '../host/component/load.js';
import { runCli, tempDir } from './helpers/guest.js';
import { absent, caseArgs, cleanup, copySuite, EXPECTED_CASES } from './helpers/wasi_testsuite.js';

if (!absent('the official WASI suite, as components')) {
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
    test(c.name, async () => {
      cleanup(c.dir);
      const component = join(components, `${c.name.replace('/', '-')}.wasm`);
      const bytes = await componentize(readFileSync(c.wasm));
      // The core module inside gives the adapter its memory (memshift.ts): wit-component adds
      // no realloc_via_memory_grow to the adapter (it names that function when it does).
      assert.ok(Buffer.from(bytes).includes('cabi_realloc_adapter'), 'the module was not shifted');
      assert.not.ok(Buffer.from(bytes).includes('realloc_via_memory_grow'), 'the adapter grows memory');
      writeFileSync(component, bytes);
      // Transpiled here, where jco is loaded once, into the cache the CLI then finds it in.
      await loadComponent(bytes, { cacheDir: cache });
      const r = runCli(['run', ...caseArgs(c), component, ...c.spec.args]);
      const why = `exit ${r.status}\nstdout: ${r.stdout.slice(0, 2000)}\nstderr: ${r.stderr.slice(0, 2000)}`;
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
