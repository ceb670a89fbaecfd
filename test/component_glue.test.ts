// The per-call cost of jco's glue, held without timing anything. jco 1.13 and later wrap every
// host call in a debug-log guard that reads process.env (2-4 us per call here) and, from 1.17,
// async task bookkeeping (up to 24 us); 1.12.0's glue calls the host function directly
// (~0.1 us). These tests fail if the glue this host generates regains either: statically (no
// such code in it) and by counting (a run of N host calls reads process.env no more often than
// a run of 10 N, and reaches the host N times).
import { suite } from './helpers/suite.js';
import * as assert from 'uvu/assert';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadComponent, TRANSPILE_OPTIONS } from '../host/component/load.js';
import { JCO_PACKAGE, JCO_VERSION } from '../host/component/jco.js';
import { Sandbox } from '../host/index.js';
import { ROOT, tempDir } from './helpers/guest.js';

const FIXTURE = join(ROOT, 'test', 'fixtures', 'components', 'clock_calls.wasm');
const test = suite('the glue jco generates', { timeout: 120_000 });
const cache = tempDir('wzc-glue-test-');

/** What a per-call cost looks like in jco's output (1.13 to 1.35). */
const PER_CALL = [
  [/_debugLog\(/, 'a debug-log call'],
  [/process\??\.env/, 'a read of process.env'],
  [/startCurrentTask|endCurrentTask/, 'async task bookkeeping'],
  [/\basync\s+function\b|\bawait\b/, 'an async function'],
] as const;

test('jco is pinned to one exact version, the one whose glue is measured, installed for the tests', () => {
  type Pkg = { version: string; peerDependencies: Record<string, string>; devDependencies: Record<string, string> };
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Pkg;
  assert.is(JCO_VERSION, '1.12.0');
  assert.is(pkg.peerDependencies[JCO_PACKAGE], JCO_VERSION);
  assert.is(pkg.devDependencies[JCO_PACKAGE], JCO_VERSION);
  const installed = JSON.parse(readFileSync(join(ROOT, 'node_modules', JCO_PACKAGE, 'package.json'), 'utf8')) as Pkg;
  assert.is(installed.version, JCO_VERSION);
  assert.is(TRANSPILE_OPTIONS.instantiation, 'sync');
  // Host lowerings where the host has them (test/component_lower.test.ts), trampolines elsewhere.
  assert.is(TRANSPILE_OPTIONS.importBindings, 'hybrid');
});

test('the glue\'s trampolines hold no debug log, no process.env read and no async bookkeeping', async () => {
  const component = await loadComponent(readFileSync(FIXTURE), { cacheDir: cache });
  const glue = readFileSync(component.glue, 'utf8');
  const trampolines = [...glue.matchAll(/function trampoline\d+\([^)]*\) \{[\s\S]*?\n {4}\}\n/g)].map((m) => m[0]);
  assert.ok(trampolines.length >= 5, `found ${trampolines.length} trampolines: the pattern no longer matches jco's output`);
  for (const t of trampolines) {
    for (const [pattern, what] of PER_CALL) assert.not.match(t, pattern, `${what} in a trampoline:\n${t}`);
  }
  // Anywhere in the glue, no call of the debug log and no task bookkeeping (1.12.0 defines a
  // _debugLog that reads process.env, and never calls it).
  for (const [pattern, what] of PER_CALL.filter(([, w]) => w !== 'a read of process.env')) {
    assert.not.match(glue, pattern, `${what} in the glue`);
  }
});

/** Runs the fixture making `n` host calls; returns the calls that reached the host and the env reads. */
async function count(n: number): Promise<{ calls: number; envReads: number }> {
  const component = await loadComponent(readFileSync(FIXTURE), { cacheDir: cache });
  let calls = 0, envReads = 0;
  const sandbox = new Sandbox({
    args: ['clock_calls', String(n)], stdin: null, stdout: null, stderr: null,
    trace: (line) => { if (/^wasi:clocks\/monotonic-clock@0\.2\.\d+ now\(/.test(line)) calls++; }, // whichever 0.2 the adapter imports
  });
  const env = process.env;
  process.env = new Proxy(env, { get: (t, k) => { envReads++; return Reflect.get(t, k); } });
  try {
    assert.is(sandbox.startComponent(component), 0);
  } finally {
    process.env = env;
    sandbox.close();
  }
  return { calls, envReads };
}

test('N host calls reach the host N times and read process.env no more than 10 N do', async () => {
  const small = await count(1_000), large = await count(10_000);
  assert.is(small.calls, 1_000);
  assert.is(large.calls, 10_000);
  assert.is(large.envReads, small.envReads, `process.env read ${small.envReads} times for 1000 calls, ${large.envReads} for 10000`);
});

test.after(() => rmSync(cache, { recursive: true, force: true }));
test.run();
