// The test harness itself (test/helpers/suite.ts): each misbehaving suite of
// test/harness_fixtures/cases.ts runs in its own uvu process, and what that process printed
// and its exit status must show the failure. This is what keeps a green `npm test` meaning
// something: uvu alone reports a throwing `before` hook as a pass and exits 0.
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './helpers/guest.js';
import { suite } from './helpers/suite.js';

const UVU = join(ROOT, 'node_modules', 'uvu', 'bin.js');

interface Outcome { status: number | null; signal: string | null; out: string }

function runCase(name: string, timeout = 60_000): Outcome {
  const r = spawnSync(process.execPath, [UVU, join('build', 'test', 'harness_fixtures'), 'cases\\.js$', '--color=false'], {
    cwd: ROOT, encoding: 'utf8', timeout,
    env: { ...process.env, HARNESS_CASE: name, WZC_WATCHDOG_GRACE_MS: '500', FORCE_COLOR: '0' },
  });
  return { status: r.status, signal: r.signal, out: `${r.stdout}\n${r.stderr}` };
}

/** uvu's closing lines: Total and Passed. */
function counts(out: string): { total: number; passed: number } {
  const total = /Total:\s+(\d+)/.exec(out), passed = /Passed:\s+(\d+)/.exec(out);
  return { total: total ? Number(total[1]) : -1, passed: passed ? Number(passed[1]) : -1 };
}

const harness = suite('the test harness');

harness('a suite whose hooks and tests pass exits 0 with every test counted', () => {
  const r = runCase('passing');
  assert.is(r.status, 0, r.out);
  // two tests and the cleanup test that runs the after hook
  assert.equal(counts(r.out), { total: 3, passed: 3 }, r.out);
});

for (const [name, message] of [['failing-before', 'setup exploded'], ['failing-async-before', 'async setup exploded']]) {
  harness(`a throwing before hook (${name}) fails every test of its suite and the run`, () => {
    const r = runCase(name);
    assert.is(r.status, 1, r.out);
    assert.ok(r.out.includes(message), r.out);
    assert.is(counts(r.out).passed, 0, r.out);
    assert.ok(counts(r.out).total >= 1, r.out);
  });
}

harness('a throwing after hook is a failed test', () => {
  const r = runCase('failing-after');
  assert.is(r.status, 1, r.out);
  assert.ok(r.out.includes('cleanup exploded'), r.out);
  assert.equal(counts(r.out), { total: 2, passed: 1 }, r.out);
});

harness('a test that waits past its deadline fails with its name, and the next test still runs', () => {
  const r = runCase('async-hang');
  assert.is(r.status, 1, r.out);
  assert.ok(r.out.includes('waits for ever: did not finish within 300 ms'), r.out);
  assert.equal(counts(r.out), { total: 2, passed: 1 }, r.out);
});

harness('a before hook that never finishes fails the suite at its deadline', () => {
  const r = runCase('hanging-before');
  assert.is(r.status, 1, r.out);
  assert.ok(r.out.includes('before: did not finish within 300 ms'), r.out);
  assert.is(counts(r.out).passed, 0, r.out);
});

harness('a test blocked in a synchronous call is named by the watchdog and the run is killed', () => {
  const r = runCase('sync-block');
  assert.is(r.signal, 'SIGKILL', r.out);
  assert.ok(r.out.includes('blocks the thread: blocked the thread past its deadline'), r.out);
});

// process.exit() waits for every worker thread, and one blocked in a system call (a guest a
// stop did not reach) never ends: the run must still end, with its failures, not hang.
harness('a run that missed a deadline ends with status 1 even while a worker thread is blocked in a system call', () => {
  const r = runCase('blocked-worker', 30_000);
  assert.is(r.signal, null, `killed after 30 s: the run hung\n${r.out}`);
  assert.is(r.status, 1, r.out);
  assert.ok(r.out.includes('leaves a worker blocked in a system call: did not finish within 3000 ms'), r.out);
});

harness('a passing run that leaves a worker thread blocked in a system call fails once its last suite is done', () => {
  const r = runCase('blocked-worker-passing', 30_000);
  assert.is(r.signal, null, `killed after 30 s: the run hung\n${r.out}`);
  assert.is(r.status, 1, r.out);
  assert.ok(r.out.includes('still keeps the process alive after 5 s'), r.out);
  assert.equal(counts(r.out), { total: 1, passed: 1 }, r.out);
});

harness('a suite that registers no test fails', () => {
  const r = runCase('no-tests');
  assert.is(r.status, 1, r.out);
  assert.ok(r.out.includes('registered no test'), r.out);
});

harness('a suite that is created but never run fails the process', () => {
  const r = runCase('never-run');
  assert.is(r.status, 1, r.out);
  assert.ok(r.out.includes('suites created but never run: never-run'), r.out);
});

harness('test.only is refused instead of skipping the other tests', () => {
  const r = runCase('only');
  assert.is(r.status, 1, r.out);
  assert.ok(r.out.includes('test.only would silently skip'), r.out);
});

harness.run();
