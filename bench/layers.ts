// (a) of npm run bench, layer by layer: what one sendfile(count = 0) costs at each depth of the
// path a guest's call takes. Each case is the previous one plus one layer:
//
//   C                         the system call alone (bench/c/calls.c, glibc's wrapper)
//   koffi, no system call     a koffi call of libc's abs(3): the FFI's own price
//   host-direct (koffi)       sendfile(2) through the runtime's koffi binding, from JavaScript
//   wasm -> JS, empty import  the bench guest calling an import that does nothing
//   + guard                   the same empty import wrapped by host/wasi/guard.ts
//   guest                     the real zerocopy.sendfile: guard, decoding, fd lookups, koffi, kernel
//
// so the decoding and descriptor lookups cost guest - (+ guard) - host-direct.
//
// Run alone under valgrind (bench/profile.sh), it counts the instructions each case executes
// per call: repeatable, where wall-clock times on a shared machine are not.
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import koffi from 'koffi';
import { Sandbox } from '../host/index.js';
import * as libc from '../host/native/libc.js';
import { guard } from '../host/wasi/guard.js';
import type { Context } from '../host/sandbox/context.js';
import { ROOT } from './common.js';

const GUEST = join(ROOT, 'build', 'guests', 'bench_guest.wasm');
let module: WebAssembly.Module | null = null;

type ImportsEdit = (imports: WebAssembly.Imports, stop: Int32Array) => WebAssembly.Imports;

/**
 * Runs the bench guest with `out` and `in` granted as descriptors 3 and 4; returns its stdout.
 * The descriptors are asked for only once the instance exists, so that setting up the sandbox
 * is not counted in a transfer the receiver times from accept(2). `edit` may replace imports.
 */
export function runGuest(args: string[], fds: () => [outFd: number, inFd: number], edit?: ImportsEdit): string {
  module ??= new WebAssembly.Module(readFileSync(GUEST));
  let stdout = '';
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const sandbox = new Sandbox({
    args: ['bench_guest', ...args],
    stdout: { write: (b) => { stdout += Buffer.from(b).toString(); return b.length; } },
    stopFlag: stop,
  });
  try {
    const imports = sandbox.getImportObject();
    const instance = new WebAssembly.Instance(module, edit ? edit(imports, stop) : imports);
    const [outFd, inFd] = fds();
    if (sandbox.grant(outFd) !== 3 || sandbox.grant(inFd) !== 4) throw new Error('unexpected descriptor numbers');
    const status = sandbox.start(instance);
    if (status !== 0) throw new Error(`bench guest ${args.join(' ')} exited ${status}`);
    return stdout;
  } finally {
    sandbox.close();
  }
}

/** zerocopy.sendfile replaced by `fn`: the guest's loop and the wasm-to-JavaScript call stay. */
const withSendfile = (fn: (stop: Int32Array) => (...a: any[]) => number): ImportsEdit => (imports, stop) =>
  ({ ...imports, zerocopy: { ...(imports.zerocopy as object), sendfile: fn(stop) } });

const abs = koffi.load('libc.so.6').func('int abs(int)') as (n: number) => number;

/** The cases in layer order, each making `calls` calls and returning ns per call. */
export function layerCases(inFd: number, outFd: number, calls: number, cExe: string | null, src: string):
  Record<string, () => number> {
  const guestCalls = (edit?: ImportsEdit) => (): number =>
    Number(runGuest(['calls', String(calls)], () => [outFd, inFd], edit));
  const cases: Record<string, () => number> = {};
  // C is faster per call: more calls, for a comparable time and a steadier clock.
  if (cExe) cases.C = () => Number(execFileSync(cExe, [src, '/dev/null', String(calls * 4)], { encoding: 'utf8' }));
  cases['koffi, no system call'] = () => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) if (abs(-i) !== i) throw new Error('abs');
    return Number(process.hrtime.bigint() - t0) / calls;
  };
  cases['host-direct (koffi)'] = () => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) if (libc.sendfile(outFd, inFd, null, 0) !== 0) throw new Error('sendfile failed');
    return Number(process.hrtime.bigint() - t0) / calls;
  };
  // An empty function with sendfile's five parameters, as the real import has: a different
  // arity would take V8's slower wasm-to-JS path, and the guard's wrapper takes its arity
  // from the function it wraps.
  const empty = (_out: number, _in: number, _off: number, _count: bigint, _ret: number) => 0;
  cases['wasm -> JS, empty import'] = guestCalls(withSendfile(() => empty));
  // The guard reads only the context's stop flag and exit status.
  const guardCtx = (stop: Int32Array) => ({ stop, exitStatus: null }) as Partial<Context> as Context;
  cases['+ guard'] = guestCalls(withSendfile((stop) => guard('zerocopy', { sendfile: empty }, guardCtx(stop)).sendfile));
  // Timed inside the guest with clock_time_get around the loop (bench_guest.ts, "calls").
  cases.guest = guestCalls();
  return cases;
}

// --- standalone: for callgrind ------------------------------------------------------------
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // `layers.js N [CASE...]`: each case warmed up, then N counted calls between two callgrind
  // dumps (callgrind_control --dump=LABEL on this process), so bench/profile.sh reads each
  // case's instructions from the dump labelled for it. "empty" is the dump pair alone.
  const [n, ...names] = process.argv.slice(2);
  const src = join(process.env.TMPDIR ?? '/tmp', `wzc-layers-${process.pid}`);
  writeFileSync(src, 'x');
  const inFd = openSync(src, 'r'), outFd = openSync('/dev/null', 'w');
  const dump = (label: string): void => {
    execFileSync('callgrind_control', [`--dump=${label}`, String(process.pid)], { stdio: 'ignore' });
  };
  try {
    const all = layerCases(inFd, outFd, 20_000, null, src);
    const counted = layerCases(inFd, outFd, Number(n), null, src);
    // callgrind_control takes a label without spaces: case1, case2, ... printed with their names.
    (names.length ? names : Object.keys(all)).forEach((name, i) => {
      if (!all[name]) throw new Error(`no case ${name}; the cases: ${Object.keys(all).join(', ')}`);
      all[name](); // the warm-up lets V8 tier the guest and the imports up
      all[name]();
      dump(`before${i}`);
      counted[name]();
      dump(`case${i}`);
      console.log(`case${i}\t${name}`);
    });
    dump('before');
    dump('empty');
  } finally {
    closeSync(inFd);
    closeSync(outFd);
    rmSync(src);
  }
}
