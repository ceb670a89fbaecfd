// (e) of npm run bench, layer by layer: where one zerocopy.sendfile(count = 0) from a component
// spends what a core module's call does not, case by case:
//
//   core module               the core-module bench guest's real zerocopy.sendfile (layers.ts)
//   wasm -> JS, empty import (core)  the core guest calling an import that does nothing
//   component, empty lowered import  the bench component, its sendfile a function that lowers
//                             itself (lower.ts) into a core function that does nothing: the
//                             wasm -> wasm -> JS path through the glue's indirect-call table
//                             and the stop guard
//   component, empty import (glue trampoline)  its sendfile a plain function returning 0n at
//                             once, so jco's JavaScript trampoline runs: resource lookups and
//                             borrow bookkeeping, BigInt conversions, result lowering
//   component                 the real zerocopy.sendfile, lowered (wasi2/zerocopy.ts): handle
//                             lookups, koffi, the kernel, the result stored
//
// Run alone under valgrind (LAYERS=component_layers bash bench/profile.sh), it counts the instructions
// each case executes per call, as layers.js does for the core layers.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadComponent, type Component } from '../host/component/load.js';
import { Sandbox } from '../host/index.js';
import * as libc from '../host/native/libc.js';
import { Descriptor } from '../host/wasi2/filesystem.js';
import { CABI_LOWER } from '../host/wasi2/lower.js';
import { ROOT } from './common.js';
import { layerCases } from './layers.js';

export const COMPONENT = join(ROOT, 'bench', 'component', 'bench_component.wasm');
const ZEROCOPY = 'wasm-zerocopy:zerocopy/zerocopy';

/** `c` with its zerocopy.sendfile import replaced by `sendfile`. */
function withSendfile(c: Component, sendfile: (...a: any[]) => unknown): Component {
  return {
    ...c,
    instantiate: (get, imports, core) =>
      c.instantiate(get, { ...imports, [ZEROCOPY]: { ...(imports[ZEROCOPY] as object), sendfile } }, core),
  };
}

/** Runs the bench component's `calls N` with `dir` as / and stdout `out`; returns its ns per call. */
export function componentCalls(c: Component, dir: string, out: number, calls: number, setup?: (s: Sandbox) => void): number {
  let err = '';
  const sandbox = new Sandbox({
    args: ['bench_component', 'calls', String(calls)], preopens: { '/': dir }, stdin: null, stdout: out,
    stderr: { write: (b) => { err += Buffer.from(b).toString(); return b.length; } },
  });
  try {
    setup?.(sandbox);
    const status = sandbox.startComponent(c);
    if (status !== 0) throw new Error(`bench component calls exited ${status}: ${err}`);
    return Number(err);
  } finally {
    sandbox.close();
  }
}

/** The cases in layer order; `dir` holds the component's "in", `out` is its stdout. */
export function componentLayerCases(c: Component, dir: string, inFd: number, out: number, src: string, calls: number,
  setup?: (s: Sandbox) => void): Record<string, () => number> {
  const core = layerCases(inFd, out, calls, null, src);
  // Empty host functions of sendfile's four parameters, as the real one has, and its lowered
  // five (the result is left as the guest's stack had it: zeroes, an ok of 0).
  const trampolined = withSendfile(c, (_in: unknown, _offset: bigint, _out: unknown, _count: bigint) => 0n);
  const lowered = withSendfile(c, Object.defineProperty((_in: unknown, _offset: bigint, _out: unknown, _count: bigint) => 0n,
    CABI_LOWER, { value: () => (_in: number, _offset: bigint, _out: number, _count: bigint, _ret: number) => {} }));
  return {
    'core module': core.guest,
    'wasm -> JS, empty import (core)': core['wasm -> JS, empty import'],
    'component, empty lowered import': () => componentCalls(lowered, dir, out, calls, setup),
    'component, empty import (glue trampoline)': () => componentCalls(trampolined, dir, out, calls, setup),
    component: () => componentCalls(c, dir, out, calls, setup),
  };
}

/**
 * Valgrind 3.19 (Debian 12's) does not know openat2(2) and answers ENOSYS, so the component's
 * open-at of "in" fails under it. Then (only then) `inFd` is granted to each sandbox and
 * open-at of "in" answers a Descriptor of it: the component's setup differs, its calls do not.
 */
function valgrindOpen(dir: string, inFd: number): ((s: Sandbox) => void) | undefined {
  const dirFd = libc.openat(-100 /* AT_FDCWD */, dir, 0o2000000 /* O_CLOEXEC */, 0);
  const r = libc.openat2(dirFd, 'in', 0o2000000, 0, 0);
  libc.close(dirFd);
  if (r >= 0) libc.close(r);
  if (r !== -38 /* ENOSYS */) return undefined;
  let granted = -1;
  const openAt = Descriptor.prototype.openAt;
  Descriptor.prototype.openAt = function (this: Descriptor, pathFlags, path, openFlags, flags) {
    return path === 'in' ? new Descriptor(this.ctx, granted, 1 /* read */, false) : openAt.call(this, pathFlags, path, openFlags, flags);
  };
  return (s) => { granted = s.grant(inFd); };
}

// --- standalone: for callgrind ------------------------------------------------------------
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // `component_layers.js N [CASE...]`, as layers.js: each case warmed up, then N counted calls
  // between two callgrind dumps, and then 1 call between two more: a run's setup (a sandbox, an
  // instance) is the same for both, so (N calls - 1 call) / (N - 1) is a call's alone. Prints
  // "caseI<TAB>name<TAB>setupI" for bench/profile.sh.
  const [n, ...names] = process.argv.slice(2);
  const dir = join(process.env.TMPDIR ?? '/tmp', `wzc-component-layers-${process.pid}`);
  mkdirSync(dir);
  const src = join(dir, 'in');
  writeFileSync(src, 'x');
  const inFd = openSync(src, 'r'), outFd = openSync('/dev/null', 'w');
  const dump = (label: string): void => {
    execFileSync('callgrind_control', [`--dump=${label}`, String(process.pid)], { stdio: 'ignore' });
  };
  try {
    const c = await loadComponent(readFileSync(COMPONENT));
    const setup = valgrindOpen(dir, inFd);
    const all = componentLayerCases(c, dir, inFd, outFd, src, 20_000, setup);
    const counted = componentLayerCases(c, dir, inFd, outFd, src, Number(n), setup);
    const once = componentLayerCases(c, dir, inFd, outFd, src, 1, setup);
    (names.length ? names : Object.keys(all)).forEach((name, i) => {
      if (!all[name]) throw new Error(`no case ${name}; the cases: ${Object.keys(all).join(', ')}`);
      all[name]();
      all[name]();
      dump(`before${i}`);
      counted[name]();
      dump(`case${i}`);
      once[name]();
      dump(`setup${i}`);
      console.log(`case${i}\t${name}\tsetup${i}`);
    });
    dump('before');
    dump('empty');
  } finally {
    closeSync(inFd);
    closeSync(outFd);
    rmSync(dir, { recursive: true, force: true });
  }
}
