// The official WASI test suite (github.com/WebAssembly/wasi-testsuite), its prebuilt
// wasm32-wasip1 cases, run under the CLI exactly as its doc/specification.md describes
// (helpers/wasi_testsuite.ts: where the suite comes from, how a case runs, and the skip with one
// line where it is absent). One test per case, named after it.
import { suite } from './helpers/suite.js';
import * as assert from 'uvu/assert';
import { rmSync } from 'node:fs';
import { runCli } from './helpers/guest.js';
import { absent, caseArgs, cleanup, copySuite, EXPECTED_CASES } from './helpers/wasi_testsuite.js';

if (!absent('the official WASI preview1 test suite')) {
  const test = suite('the official WASI preview1 test suite');
  const { copy, cases } = copySuite('wzc-wasi-testsuite-');

  test(`the suite has all ${EXPECTED_CASES} preview1 cases`, () => {
    assert.is(cases.length, EXPECTED_CASES, cases.map((c) => c.name).join(', '));
  });

  for (const c of cases) {
    test(c.name, () => {
      cleanup(c.dir);
      const r = runCli(['run', ...caseArgs(c), c.wasm, ...c.spec.args]);
      const why = `exit ${r.status}\nstdout: ${r.stdout.slice(0, 2000)}\nstderr: ${r.stderr.slice(0, 2000)}`;
      assert.is(r.status, c.spec.exit_code, why);
      assert.ok(r.stdout.startsWith(c.spec.stdout), why);
    });
  }

  test.after(() => rmSync(copy, { recursive: true, force: true }));
  test.run();
}
