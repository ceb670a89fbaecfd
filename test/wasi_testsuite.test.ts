// The official WASI test suite (github.com/WebAssembly/wasi-testsuite), its prebuilt
// wasm32-wasip1 cases, run under the CLI exactly as its doc/specification.md describes:
// remove every `*.cleanup` beneath the case's directory, preopen `root` (relative to the
// case's directory) as the guest's `/`, pass `env` and `args`, then require the exit code to
// equal `exit_code` and stdout to start with `stdout`. One test per case, named after it.
//
// The suite is not part of this repository. It is read from $WASI_TESTSUITE_DIR, by default
// ../shared/wasi-testsuite beside the package, and never modified: it is copied to a temporary
// folder (made writable, since the cases create files in it). Where it is absent the suite is
// skipped with one line saying how to get it, so that `npm test` passes on a fresh clone;
// with WASI_TESTSUITE_REQUIRED=1 (as .ci/run sets) its absence is a failure.
import { suite } from './helpers/suite.js';
import * as assert from 'uvu/assert';
import { chmodSync, cpSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { ROOT, runCli, tempDir } from './helpers/guest.js';

const SUITE = resolve(process.env.WASI_TESTSUITE_DIR || join(ROOT, '..', 'shared', 'wasi-testsuite'));
const REQUIRED = process.env.WASI_TESTSUITE_REQUIRED === '1';
const LANGUAGES = ['assemblyscript', 'c', 'rust'];
const EXPECTED_CASES = 72;

/** The legacy (non-operation) specification and its defaults (doc/specification.md). */
interface Spec {
  args: string[];
  env: Record<string, string>;
  root: string | null;
  exit_code: number;
  stdout: string;
}

interface Case { name: string; dir: string; wasm: string; spec: Spec }

function readSpec(json: string): Spec {
  const raw = existsSync(json) ? JSON.parse(readFileSync(json, 'utf8')) as Partial<Spec> & { operations?: unknown } : {};
  // Operation-based specifications are for sockets and http proposals; preview1 has none.
  if (raw.operations !== undefined) throw new Error(`${json}: operation-based specifications are not supported`);
  return { args: raw.args ?? [], env: raw.env ?? {}, root: raw.root ?? null, exit_code: raw.exit_code ?? 0, stdout: raw.stdout ?? '' };
}

/** Gives the owner write access to everything, so cases can create and remove files. */
function makeWritable(path: string): void {
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const p = join(path, entry.name);
    if (entry.isSymbolicLink()) continue;
    if (entry.isDirectory()) {
      chmodSync(p, 0o755);
      makeWritable(p);
    } else {
      chmodSync(p, 0o644);
    }
  }
}

/** Removes every `*.cleanup` file, folder or symlink beneath dir (test artifacts). */
function cleanup(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.name.endsWith('.cleanup')) rmSync(p, { recursive: true, force: true });
    else if (entry.isDirectory()) cleanup(p);
  }
}

function collect(copy: string): Case[] {
  const cases: Case[] = [];
  for (const lang of LANGUAGES) {
    const dir = join(copy, 'tests', lang, 'testsuite', 'wasm32-wasip1');
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.wasm')).sort()) {
      const name = basename(file, '.wasm');
      cases.push({ name: `${lang}/${name}`, dir, wasm: join(dir, file), spec: readSpec(join(dir, `${name}.json`)) });
    }
  }
  return cases;
}

const WHERE = 'the official WASI test suite (github.com/WebAssembly/wasi-testsuite, branch prod/testsuite-base: ' +
  `clone it so that tests/{assemblyscript,c,rust}/testsuite/wasm32-wasip1/*.wasm are beneath it) not found at ${SUITE}; ` +
  'set WASI_TESTSUITE_DIR to its directory';
const present = existsSync(join(SUITE, 'tests'));

if (!present && !REQUIRED) {
  process.stdout.write(`\n  skipped: ${WHERE}\n`);
} else if (!present) {
  const test = suite('the official WASI preview1 test suite');
  test('the official WASI test suite is present (WASI_TESTSUITE_REQUIRED=1)', () => {
    assert.unreachable(WHERE);
  });
  test.run();
} else {
  const test = suite('the official WASI preview1 test suite');
  const copy = tempDir('wzc-wasi-testsuite-');
  cpSync(SUITE, copy, { recursive: true });
  chmodSync(copy, 0o755);
  makeWritable(copy);
  const cases = collect(copy);

  test(`the suite has all ${EXPECTED_CASES} preview1 cases`, () => {
    assert.is(cases.length, EXPECTED_CASES, cases.map((c) => c.name).join(', '));
  });

  for (const c of cases) {
    test(c.name, () => {
      cleanup(c.dir);
      const argv = ['run'];
      if (c.spec.root !== null) argv.push('--dir', `${join(c.dir, c.spec.root)}::/`);
      for (const [k, v] of Object.entries(c.spec.env)) argv.push('--env', `${k}=${v}`);
      argv.push(c.wasm, ...c.spec.args);
      const r = runCli(argv);
      const why = `exit ${r.status}\nstdout: ${r.stdout.slice(0, 2000)}\nstderr: ${r.stderr.slice(0, 2000)}`;
      assert.is(r.status, c.spec.exit_code, why);
      assert.ok(r.stdout.startsWith(c.spec.stdout), why);
    });
  }

  test.after(() => rmSync(copy, { recursive: true, force: true }));
  test.run();
}
