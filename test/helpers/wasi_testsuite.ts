// The official WASI test suite (github.com/WebAssembly/wasi-testsuite), its prebuilt
// wasm32-wasip1 cases, as both wasi_testsuite.test.ts (core modules) and
// component_testsuite.test.ts (each case componentized) run them, following its
// doc/specification.md: remove every `*.cleanup` beneath the case's directory, preopen `root`
// (relative to the case's directory) as the guest's `/`, pass `env` and `args`, then require the
// exit code to equal `exit_code` and stdout to start with `stdout`.
//
// The suite is not part of this repository. It is read from $WASI_TESTSUITE_DIR, by default
// ../shared/wasi-testsuite beside the package, and never modified: it is copied to a temporary
// folder (made writable, since the cases create files in it). Where it is absent a suite is
// skipped with one line saying how to get it, so that `npm test` passes on a fresh clone;
// with WASI_TESTSUITE_REQUIRED=1 (as .ci/run sets) its absence is a failure.
import { chmodSync, cpSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import * as assert from 'uvu/assert';
import { ROOT, tempDir } from './guest.js';
import { suite } from './suite.js';

export const SUITE = resolve(process.env.WASI_TESTSUITE_DIR || join(ROOT, '..', 'shared', 'wasi-testsuite'));
export const REQUIRED = process.env.WASI_TESTSUITE_REQUIRED === '1';
export const EXPECTED_CASES = 72;
const LANGUAGES = ['assemblyscript', 'c', 'rust'];

export const WHERE = 'the official WASI test suite (github.com/WebAssembly/wasi-testsuite, branch prod/testsuite-base: ' +
  `clone it so that tests/{assemblyscript,c,rust}/testsuite/wasm32-wasip1/*.wasm are beneath it) not found at ${SUITE}; ` +
  'set WASI_TESTSUITE_DIR to its directory';
export const present = existsSync(join(SUITE, 'tests'));

/**
 * Where the suite is absent, says so: one line (a skip), or with WASI_TESTSUITE_REQUIRED=1 a
 * suite named `name` whose one test fails with WHERE. True then: the caller defines nothing more.
 */
export function absent(name: string): boolean {
  if (present) return false;
  if (!REQUIRED) {
    process.stdout.write(`\n  skipped: ${WHERE}\n`);
    return true;
  }
  const test = suite(name);
  test('the official WASI test suite is present (WASI_TESTSUITE_REQUIRED=1)', () => {
    assert.unreachable(WHERE);
  });
  test.run();
  return true;
}

/** The legacy (non-operation) specification and its defaults (doc/specification.md). */
export interface Spec {
  args: string[];
  env: Record<string, string>;
  root: string | null;
  exit_code: number;
  stdout: string;
}

export interface Case { name: string; dir: string; wasm: string; spec: Spec }

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
export function cleanup(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.name.endsWith('.cleanup')) rmSync(p, { recursive: true, force: true });
    else if (entry.isDirectory()) cleanup(p);
  }
}

/** A writable copy of the suite in a temporary folder, and its cases in a stable order. */
export function copySuite(prefix: string): { copy: string; cases: Case[] } {
  const copy = tempDir(prefix);
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
  return { copy, cases };
}

/** The CLI's arguments before the module for a case: its root as `/`, its environment. */
export function caseArgs(c: Case): string[] {
  const argv: string[] = [];
  if (c.spec.root !== null) argv.push('--dir', `${join(c.dir, c.spec.root)}::/`);
  for (const [k, v] of Object.entries(c.spec.env)) argv.push('--env', `${k}=${v}`);
  return argv;
}
