// run(): guests off the main thread, so that an embedding host never blocks its event loop.
// N instances of one compiled module run in worker_threads (a WebAssembly.Module is posted to
// each, compiled once). Listeners are created once here and shared: worker threads share the
// process's descriptor table, and each worker's Sandbox duplicates them.
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import * as libc from './native/libc.js';
import { F, O } from './native/platform.js';
import { DEFAULT_FD_LIMIT, closeOwned } from './sandbox/fd_table.js';
import { requestStop } from './sandbox/interrupt.js';
import { listenOn } from './listen.js';
import { connectGrants } from './zerocopy/connect.js';
import type { Component } from './component/load.js';
import type { SocketGrants } from './wasi2/sockets.js';

export interface RunOptions {
  /** How many instances; default 1. */
  workers?: number;
  /** The guest's argv; a function gives each worker its own (workers count from 1). */
  args?: readonly string[] | ((worker: number) => readonly string[]);
  env?: Readonly<Record<string, string>>;
  preopens?: Readonly<Record<string, string>>;
  /** As SandboxOptions.listen; created once, shared by every worker. */
  listen?: readonly (string | number)[];
  /** As SandboxOptions.connect: the addresses every worker may connect to. */
  connect?: readonly string[];
  /** As SandboxOptions.grant. */
  grant?: readonly number[];
  /** As SandboxOptions.sockets (components only). */
  sockets?: SocketGrants;
  /** Host descriptors for the standard streams (default 0, 1, 2), or null. */
  stdin?: number | null;
  stdout?: number | null;
  stderr?: number | null;
  /**
   * Each call a guest makes, strace-style (SandboxOptions.trace), from every worker: true writes
   * to descriptor 2 and a number to that host descriptor, each line prefixed with
   * `[worker N] `; a function receives the worker's number and the line.
   */
  trace?: boolean | number | ((worker: number, line: string) => void);
  /**
   * Give every guest a stop descriptor (SandboxOptions.stopNotice), so that shutdown() can ask
   * for a graceful stop before stopping them hard.
   */
  gracefulStop?: boolean;
  /** As SandboxOptions.maxFds, for each guest. */
  maxFds?: number;
  /** Called as each worker ends: its exit status, or the trap or error that ended it. */
  onExit?: (worker: number, result: WorkerResult) => void;
}

export interface WorkerResult {
  status: number;
  trap?: string;
  error?: string;
  /**
   * The guest was asked to stop and had not ended two seconds later (it was computing, making
   * no call), so its worker was terminated; its descriptors were closed from here.
   */
  terminated?: boolean;
}

/** The exit status reported for a guest that trapped (as the CLI's). */
export const TRAP_STATUS = 134;

export interface Running extends Promise<number[]> {
  /** Asks every guest to stop at its next call (as `signal`); resolves when all have ended. */
  stop(signal?: number): Promise<number[]>;
  /**
   * With `gracefulStop`: makes every guest's stop descriptor readable, waits up to `graceMs`
   * for the guests to end by themselves, then stops them as stop(signal) does. Without it,
   * the same as stop(signal). Resolves when all have ended.
   */
  shutdown(graceMs?: number, signal?: number): Promise<number[]>;
}

/** Runs a core module, or a component (see loadComponent), in worker threads. */
export function run(module: WebAssembly.Module | Component, options: RunOptions = {}): Running {
  const n = options.workers ?? 1;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`workers must be a positive integer, not ${n}`);
  connectGrants(options.connect ?? []); // a bad address is an error here, before any worker starts
  const owned: number[] = [];
  let listen: number[];
  try {
    listen = (options.listen ?? []).map((l) => {
      if (typeof l === 'number') return l;
      const fd = listenOn(l);
      owned.push(fd);
      // Shared by every worker: non-blocking, so that no accept waits in the kernel (where a
      // stop cannot reach it) after another worker took the connection. Each guest still sees
      // it blocking; its Sandbox emulates the waits (runtime.ts, addListener).
      libc.fcntl(fd, F.SETFL, O.NONBLOCK | O.RDWR);
      return fd;
    });
  } catch (e) {
    for (const fd of owned) libc.close(fd);
    throw e;
  }
  const stopFlag = new Int32Array(new SharedArrayBuffer(4));
  // The graceful-stop pipe: each guest holds a duplicate of the read end; closing the write
  // end makes all of them readable (end of file) at once.
  let notice: { read: number; write: number } | null = null;
  if (options.gracefulStop) {
    const fds = new Int32Array(2);
    const r = libc.pipe2(new Uint8Array(fds.buffer), O.CLOEXEC);
    if (r < 0) {
      for (const fd of owned) libc.close(fd);
      throw new Error(`cannot create the stop pipe: ${libc.strerror(-r)}`);
    }
    notice = { read: fds[0], write: fds[1] };
  }
  const closeNotice = (end: 'read' | 'write') => {
    if (notice !== null && notice[end] >= 0) { libc.close(notice[end]); notice[end] = -1; }
  };
  const maxFds = options.maxFds ?? DEFAULT_FD_LIMIT;
  // One per worker: the signal asked for, and the id of the thread its guest runs on, to
  // interrupt a system call it waits in (sandbox/interrupt.ts).
  const stopFlags = Array.from({ length: n }, () => new Int32Array(new SharedArrayBuffer(8)));
  const workers: Worker[] = [];
  const done = Promise.all(Array.from({ length: n }, (_, i) => new Promise<number>((resolve) => {
    const stopFlag = stopFlags[i];
    // Where the worker's table mirrors its host descriptors (FdTable.owned): a worker
    // terminated by stop() runs no more code, so its descriptors are closed from here.
    const ownedFds = new Int32Array(new SharedArrayBuffer(4 * maxFds));
    const args = typeof options.args === 'function' ? options.args(i + 1) : options.args ?? [];
    const trace = traceFor(i + 1, options.trace);
    const w = new Worker(new URL('./worker_main.js', import.meta.url), {
      workerData: {
        ...(module instanceof WebAssembly.Module ? { module } : { component: { glue: module.glue, modules: module.modules } }),
        stopFlag, sockets: options.sockets, listen, grant: options.grant ?? [], connect: options.connect ?? [], stopNotice: notice?.read,
        args, env: options.env ?? {},
        preopens: options.preopens ?? {}, stdin: options.stdin, stdout: options.stdout, stderr: options.stderr,
        maxFds, owned: ownedFds,
        worker: i + 1, trace: trace.fd, tracePort: trace.port,
      },
      transferList: trace.port ? [trace.port] : [],
    });
    workers.push(w);
    let result: WorkerResult | null = null;
    w.on('message', (m: WorkerResult) => { result = m; });
    w.on('error', (e) => { result = { status: 1, error: e instanceof Error ? e.message : String(e) }; });
    w.on('exit', (code) => {
      trace.drain();
      closeOwned(ownedFds);
      const signal = Atomics.load(stopFlag, 0);
      // Terminated after a stop it could not see (a guest computing without calls): stopped.
      const r = result ?? (signal !== 0 ? { status: 128 + signal, terminated: true }
        : { status: code === 0 ? 1 : code, error: 'the worker ended without a result' });
      options.onExit?.(i + 1, r);
      resolve(r.status);
    });
  }))).finally(() => {
    for (const fd of owned) libc.close(fd);
    closeNotice('write');
    closeNotice('read');
  });
  const running = done as Running;
  running.stop = (signal = 15) => {
    // Again every 50 ms: a signal that arrived just before its thread entered a system call
    // woke nothing, and the next one will.
    const ask = () => { for (const flag of stopFlags) requestStop(flag, signal); };
    ask();
    const again = setInterval(ask, 50);
    // A guest computing without calls never sees the flag: its worker is terminated.
    const timer = setTimeout(() => { for (const w of workers) void w.terminate(); }, 2000);
    return done.finally(() => { clearInterval(again); clearTimeout(timer); });
  };
  running.shutdown = (graceMs = 5000, signal = 15) => {
    if (notice === null) return running.stop(signal);
    closeNotice('write');
    const timer = setTimeout(() => { void running.stop(signal); }, graceMs);
    return done.finally(() => clearTimeout(timer));
  };
  return running;
}

/**
 * How a worker traces: to a host descriptor, written by the worker itself, synchronously, so
 * that its lines keep their order with what the guest writes there; or through a port to a
 * function in this thread.
 */
function traceFor(worker: number, trace: RunOptions['trace']): { fd?: number; port?: MessagePort; drain(): void } {
  if (trace === undefined || trace === false) return { drain() {} };
  if (trace === true) return { fd: 2, drain() {} };
  if (typeof trace === 'number') return { fd: trace, drain() {} };
  const { port1, port2 } = new MessageChannel();
  port1.on('message', (line: string) => trace(worker, line));
  port1.unref();
  return {
    port: port2,
    // Lines the worker posted just before it ended may still be queued when 'exit' fires.
    drain() {
      for (let m; (m = receiveMessageOnPort(port1)) !== undefined;) trace(worker, m.message as string);
      port1.close();
    },
  };
}
