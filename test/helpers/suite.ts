// uvu's `suite`, made to fail loudly. A drop-in: `import { suite } from './helpers/suite.js'`.
//
// uvu 0.5.6 runs a suite's hooks inside `try { ... } finally { ... return ... }`, and the
// `return` in `finally` drops whatever a `before` or `after` hook threw: a suite whose setup
// failed prints no failure and the run exits 0. It also has no deadline: a test awaiting a
// server that stopped making progress hangs the run until CI's own limit. Here:
// - a `before` hook that throws (or passes its deadline) fails every test of its suite, the
//   first with the hook's error, the rest pointing at it;
// - `after` hooks run as the suite's last test, "cleanup (after hooks) succeeds", so that a
//   failing cleanup is a failed test too;
// - every test and hook has a deadline (60 s unless the suite or the test asks for another):
//   an asynchronous one that passes it fails with a message naming it, and one that blocks the
//   thread in a synchronous call, where no timer can fire, is caught by a watchdog thread that
//   names it on stderr and kills the process (the run then fails: npm test exits non-zero);
// - a suite that registers no test, `only` (which would silently skip the rest) and a suite
//   created but never run are failures;
// - after the last suite, a run that missed a deadline, or that something still keeps alive,
//   ends with status 1 at once, even while a worker thread is blocked in a system call (which
//   process.exit() would wait for without end).
import koffi from 'koffi';
import { suite as uvuSuite } from 'uvu';
import { writeSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

type Ctx = Record<string, any>;
/** _exit(2): ends the process at once, without joining its threads (see exitNow). */
const libcExit = koffi.load('libc.so.6').func('void _exit(int)') as (code: number) => void;
type Handler = (context: any) => unknown;

export interface TestOptions {
  /** Milliseconds this test (or, on suite(), each test and hook) may take. */
  timeout?: number;
}

export interface Hook {
  (fn: Handler): void;
  each(fn: Handler): void;
}

export interface Suite {
  (name: string, fn: Handler, options?: TestOptions): void;
  /** Counts a test as skipped; give the reason, it is printed. */
  skip(name?: string, fn?: Handler): void;
  only(name: string, fn: Handler): never;
  before: Hook;
  after: Hook;
  run(): void;
}

export const DEFAULT_TIMEOUT_MS = 60_000;
/** How long past a deadline a blocked thread may stay blocked before the watchdog kills it. */
const WATCHDOG_GRACE_MS = Number(process.env.WZC_WATCHDOG_GRACE_MS ?? 10_000);

// --- the watchdog ----------------------------------------------------------------------------
// A worker thread that runs while the main thread is blocked: the deadline of what runs now
// (epoch milliseconds, 0 for none) and its name live in shared memory.
const shared = new SharedArrayBuffer(8 + 4 + 1024);
const watchDeadline = new Float64Array(shared, 0, 1);
const watchNameLen = new Int32Array(shared, 8, 1);
const watchName = new Uint8Array(shared, 12, 1024);
const WATCHDOG_SOURCE = `
const { workerData } = require('node:worker_threads');
const { writeSync } = require('node:fs');
const deadline = new Float64Array(workerData.shared, 0, 1);
const nameLen = new Int32Array(workerData.shared, 8, 1);
const name = new Uint8Array(workerData.shared, 12, 1024);
const nap = new Int32Array(new SharedArrayBuffer(4));
for (;;) {
  Atomics.wait(nap, 0, 0, 250);
  const d = deadline[0];
  if (d > 0 && Date.now() > d + workerData.grace) {
    const what = Buffer.from(name.slice(0, nameLen[0])).toString('utf8');
    writeSync(2, '\\n  FAIL ' + what + ': blocked the thread past its deadline by more than ' +
      workerData.grace / 1000 + ' s (its event loop never ran again: a call that never returned, or a loop that never yields); killing the test process\\n');
    process.kill(process.pid, 'SIGKILL');
  }
}`;

// Started when this module loads, and awaited before the first hook or test runs: its thread's
// event loop opens descriptors of its own (an epoll, an eventfd), which must exist before any
// leak check takes its snapshot of the process's descriptors.
const watchdog = new Worker(WATCHDOG_SOURCE, { eval: true, workerData: { shared, grace: WATCHDOG_GRACE_MS } });
const watchdogOnline = new Promise<void>((resolve, reject) => {
  // Referenced until it runs (so that awaiting it keeps the process alive), then not, so
  // that it never keeps a finished run alive.
  watchdog.once('online', () => { watchdog.unref(); resolve(); });
  watchdog.once('error', reject);
});

function watch(what: string, ms: number): void {
  const bytes = Buffer.from(what, 'utf8').subarray(0, watchName.length);
  watchName.set(bytes);
  watchNameLen[0] = bytes.length;
  watchDeadline[0] = Date.now() + ms;
}

function unwatch(): void {
  watchDeadline[0] = 0;
}

/** Runs fn with a deadline: rejects with a message naming `what` if it has not settled by then. */
export async function withDeadline<T>(what: string, ms: number, fn: () => T | Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  await watchdogOnline;
  watch(what, ms);
  try {
    return await Promise.race([
      Promise.resolve().then(fn),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          deadlineMissed = true;
          reject(new Error(`${what}: did not finish within ${ms} ms`));
        }, ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    unwatch();
  }
}

// --- suites ----------------------------------------------------------------------------------
const unrun = new Set<string>();
/** Suites run but not yet finished; uvu imports every file (and so runs every suite) first. */
let unfinished = 0;
let deadlineMissed = false;

/**
 * After the last suite: a test that missed its deadline may have left a socket or a timer
 * behind that keeps the process alive for ever, and so may a test that forgot to close one.
 * Either way the run must end: at once after a missed deadline (uvu has printed its totals by
 * the time a timer fires), else after a short grace, as a failure naming the cause.
 */
function finished(): void {
  if (deadlineMissed) {
    setTimeout(() => { exitNow(1); }, 0);
    return;
  }
  setTimeout(() => {
    writeSync(2, '\n  FAIL every suite has finished, but something (a socket, a timer, a child process, a worker ' +
      'thread) still keeps the process alive after 5 s: a test did not clean up\n');
    exitNow(1);
  }, 5000).unref();
}

/**
 * process.exit(), without its wait for worker threads: process.exit() joins every worker, and
 * one blocked in a system call (a guest whose stop did not reach it) never ends, so the run
 * would hang after printing its failures until CI's own limit. The exit handlers run as
 * process.exit() runs them, then _exit(2) ends the process, threads and all.
 */
function exitNow(code: number): never {
  process.exitCode = code;
  process.emit('exit', code);
  libcExit(code);
  throw new Error('_exit returned');
}
process.on('exit', () => {
  if (unrun.size === 0) return;
  writeSync(2, `\n  FAIL suites created but never run: ${[...unrun].join(', ')}\n`);
  process.exitCode = 1;
});

export function suite(name: string, options: TestOptions = {}): Suite {
  const inner = uvuSuite<Ctx>(name);
  const suiteTimeout = options.timeout ?? DEFAULT_TIMEOUT_MS;
  const befores: Handler[] = [];
  const afters: Handler[] = [];
  const beforeEach: Handler[] = [];
  const afterEach: Handler[] = [];
  let tests = 0;
  let setupError: unknown = null;
  let setupReported = false;
  unrun.add(name);

  const test = ((testName: string, fn: Handler, testOptions: TestOptions = {}) => {
    tests++;
    const ms = testOptions.timeout ?? suiteTimeout;
    inner(testName, async (ctx) => {
      if (setupError !== null) {
        if (setupReported) {
          const notRun = new Error(`not run: the setup of suite "${name}" failed (see its first failure)`);
          notRun.stack = notRun.message; // one line: the first failure carries the stack
          throw notRun;
        }
        setupReported = true;
        throw setupError instanceof Error ? setupError : new Error(String(setupError));
      }
      for (const h of beforeEach) await withDeadline(`${name} › before each "${testName}"`, suiteTimeout, () => h(ctx));
      try {
        await withDeadline(`${name} › ${testName}`, ms, () => fn(ctx));
      } finally {
        for (const h of afterEach) await withDeadline(`${name} › after each "${testName}"`, suiteTimeout, () => h(ctx));
      }
    });
  }) as Suite;

  const hook = (list: Handler[], eachList: Handler[]): Hook => {
    const h = ((fn: Handler) => { list.push(fn); }) as Hook;
    h.each = (fn: Handler) => { eachList.push(fn); };
    return h;
  };
  test.before = hook(befores, beforeEach);
  test.after = hook(afters, afterEach);
  test.skip = (skipped?: string) => {
    if (skipped !== undefined) process.stdout.write(`\n  skipped: ${name} › ${skipped}\n`);
    inner.skip();
  };
  test.only = () => {
    throw new Error(`suite "${name}": test.only would silently skip the other tests; it is not allowed`);
  };

  test.run = () => {
    unrun.delete(name);
    unfinished++;
    if (tests === 0) {
      inner('the suite has tests', () => { throw new Error(`suite "${name}" registered no test`); });
    }
    inner.before(async (ctx) => {
      try {
        for (const h of befores) await withDeadline(`${name} › before`, suiteTimeout, () => h(ctx));
      } catch (e) {
        setupError = e;
      }
    });
    if (afters.length > 0) {
      inner('cleanup (after hooks) succeeds', async (ctx) => {
        for (const h of afters) await withDeadline(`${name} › after`, suiteTimeout, () => h(ctx));
      });
    }
    inner.after(() => { if (--unfinished === 0) finished(); });
    inner.run();
  };
  return test;
}
