// What a fresh clone and CI see: `npm test` without the official WASI suite beside it, and
// .ci/run's verdict (scripts/ci-summary.js) on a run that failed, died or ran nothing.
import { suite } from './helpers/suite.js';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from './helpers/guest.js';

type Summarize = (log: string, status: number) => { line: string; status: number; why: string | null };
const { summarize } = await import(pathToFileURL(join(ROOT, 'scripts', 'ci-summary.js')).href) as { summarize: Summarize };

/** Runs one compiled test file under uvu in a child process, with extra environment. */
function uvu(file: string, env: Record<string, string>) {
  const r = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'uvu', 'bin.js'), join(ROOT, 'build', 'test'), `^${file}$`],
    { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, out: (r.stdout + r.stderr).replace(/\x1b\[[0-9;]*m/g, '') };
}

const fresh = suite('a fresh clone without the official WASI test suite');

// Both suites that read it: the core modules' and the components'.
for (const file of ['wasi_testsuite', 'component_testsuite']) {
  fresh(`${file}: the suite is skipped with one line saying what it is, where to get it and how to point at it`, () => {
    const r = uvu(`${file}\\.test\\.js`, { WASI_TESTSUITE_DIR: '/nonexistent/wasi-testsuite', WASI_TESTSUITE_REQUIRED: '' });
    assert.is(r.status, 0, r.out);
    const lines = r.out.split('\n').filter((l) => /skipped:/.test(l));
    assert.is(lines.length, 1, r.out);
    assert.match(lines[0], /github\.com\/WebAssembly\/wasi-testsuite, branch prod\/testsuite-base/);
    assert.match(lines[0], /tests\/\{assemblyscript,c,rust\}\/testsuite\/wasm32-wasip1\/\*\.wasm/);
    assert.match(lines[0], /not found at \/nonexistent\/wasi-testsuite; set WASI_TESTSUITE_DIR to its directory/);
  });

  fresh(`${file}: with WASI_TESTSUITE_REQUIRED=1, as .ci/run sets, its absence fails the run`, () => {
    const r = uvu(`${file}\\.test\\.js`, { WASI_TESTSUITE_DIR: '/nonexistent/wasi-testsuite', WASI_TESTSUITE_REQUIRED: '1' });
    assert.is(r.status, 1, r.out);
    assert.match(r.out, /FAIL .*the official WASI test suite is present/);
  });
}

fresh('.ci/run requires the suite', () => {
  const script = spawnSync('grep', ['-c', '^WASI_TESTSUITE_REQUIRED=1 .*npm test', join(ROOT, '.ci', 'run')], { encoding: 'utf8' });
  assert.is(script.stdout.trim(), '1');
});
fresh.run();

// ---------------------------------------------------------------------------------------
const ci = suite('.ci/run\'s verdict and closing line');

const log = (total: number, passed: number, skipped = 0) =>
  `...\n  Total:     \x1b[32m${total}\n  Passed:    ${passed}\x1b[39m\n  Skipped:   ${skipped}\n  Duration:  1.00ms\n`;

ci('each outcome of npm test, its closing line and whether the run passes', () => {
  const cases: [string, string, number, string, number][] = [
    ['all passed', log(900, 900), 0, '900 passed, 0 failed, 0 skipped', 0],
    ['all passed, some skipped', log(10, 10, 2), 0, '10 passed, 0 failed, 2 skipped', 0],
    ['some failed', log(900, 897), 1, '897 passed, 3 failed, 0 skipped', 1],
    ['a failure uvu did not count (exit 1)', log(900, 900), 1, '900 passed, 1 failed, 0 skipped', 1],
    ['killed before the summary', 'running...\n  FAIL x: blocked the thread\n', 137, '0 passed, 1 failed, 0 skipped', 1],
    ['no summary though the exit was 0', 'nothing\n', 0, '0 passed, 1 failed, 0 skipped', 1],
    ['no test ran', log(0, 0), 0, '0 passed, 1 failed, 0 skipped', 1],
    ['a nested run\'s summary before uvu\'s own: the last counts', log(3, 1) + log(50, 50), 0, '50 passed, 0 failed, 0 skipped', 0],
  ];
  for (const [what, text, status, line, verdict] of cases) {
    const r = summarize(text, status);
    assert.is(r.line, line, what);
    assert.is(r.status, verdict, what);
    assert.ok((r.why === null) === (verdict === 0), what);
  }
});
ci.run();
