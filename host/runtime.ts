// The embedding API: one Sandbox per guest instance, shaped like node:wasi's WASI class so
// that it reads familiar: new Sandbox(options), getImportObject(), start(), initialize().
import { constants } from 'node:os';
import * as libc from './native/libc.js';
import { AT, F, O } from './native/platform.js';
import { ProcExit, STACK_EXHAUSTED, isStackOverflow, type Context } from './sandbox/context.js';
import { FdEntry, FdTable, closeEntry, dupCloexec, type VirtualFile } from './sandbox/fd_table.js';
import { WasiError } from './sandbox/errno.js';
import { installInterrupt, requestStop, threadId } from './sandbox/interrupt.js';
import { GuestMemory } from './sandbox/memory.js';
import { FILETYPE, R } from './sandbox/rights.js';
import { preview1 } from './wasi/preview1.js';
import { traced, traceSink, type TraceOption } from './wasi/trace.js';
import { listenOn } from './listen.js';
import { zerocopy } from './zerocopy/imports.js';
import { connectGrants } from './zerocopy/connect.js';
import type { Component } from './component/load.js';
import { runComponent } from './component/run.js';
import type { SocketGrants } from './wasi2/sockets.js';

export type { VirtualFile } from './sandbox/fd_table.js';

/** A guest's standard stream: a host descriptor (duplicated, never closed) or a virtual file. */
export type Stdio = number | VirtualFile | null;

export interface SandboxOptions {
  /** argv as the guest sees it, argv[0] first. */
  args?: readonly string[];
  /** The guest's whole environment; nothing of the host's is passed unless listed here. */
  env?: Readonly<Record<string, string>>;
  /**
   * TCP listeners for the guest, at descriptors 3, 4, ... in this order, before any preopen:
   * "HOST:PORT" or "[IPv6]:PORT" creates one (SO_REUSEADDR, a deep backlog); a number is a
   * host listening descriptor to share (duplicated). The guest's environment gets
   * LISTEN_FDS=<count>, systemd's socket-activation convention.
   */
  listen?: readonly (string | number)[];
  /** Guest path -> host directory, preopened in this order after the listeners (as node:wasi). */
  preopens?: Readonly<Record<string, string>>;
  /** Defaults: the host's descriptors 0, 1 and 2. null leaves the guest descriptor closed. */
  stdin?: Stdio;
  stdout?: Stdio;
  stderr?: Stdio;
  /** When true (the default), start() returns the exit code of proc_exit; else the process exits. */
  returnOnExit?: boolean;
  /**
   * Writes each call the guest makes, strace-style, one line each (the CLI's --trace): to a
   * function, to a stream-like sink such as process.stderr, or, for true, to descriptor 2.
   */
  trace?: TraceOption;
  /**
   * The addresses the guest may open TCP connections to with zerocopy.sock_connect, as
   * "IPv4:PORT" or "[IPv6]:PORT" (--connect). The guest must name one byte for byte as given
   * here; any other address is `notcapable` and no packet leaves. None by default.
   */
  connect?: readonly string[];
  /**
   * Host descriptors to hand the guest (duplicated) right after the listeners, before preopens;
   * fd_prestat_get passes over them as over listeners (docs/ABI.md, "Listeners, grants and preopens").
   */
  grant?: readonly number[];
  /**
   * A shared flag another thread may set to a signal number to stop the guest at its next
   * call (exit status 128 + the number); run() uses it for stop(); see also Sandbox.stop().
   * With a second element, start() keeps the guest's thread id there while it runs, so that
   * requestStop() (interrupt.ts) also wakes the guest from a system call it waits in.
   */
  stopFlag?: Int32Array;
  /**
   * A host descriptor that becomes readable when the host asks for a graceful stop (the read
   * end of a pipe whose write end the host closes; run()'s `gracefulStop`). The guest gets a
   * duplicate after the listeners, grants and preopens, named in its environment as
   * STOP_FD=<number>, and watches it in its poll loop (docs/ABI.md, "Graceful stop").
   */
  stopNotice?: number;
  /**
   * For components (WASI 0.2 sockets): addresses the guest may bind to or connect to, as
   * "HOST:PORT" or "[IPv6]:PORT" (port 0: any). Without a grant both are `access-denied`;
   * binding to a `listen` address always gets that listener.
   */
  sockets?: SocketGrants;
  /**
   * How many descriptors the guest may hold: they are numbered below this, and a call that
   * would create one more answers `mfile`, as open(2) at RLIMIT_NOFILE. Default 1024.
   */
  maxFds?: number;
  /**
   * For run(): shared memory (4 bytes per descriptor, ownedSlots(maxFds) of them) in which the table
   * mirrors the host descriptors it owns, so that the thread that started a worker closes
   * them if it has to terminate the worker (see FdTable.owned).
   */
  ownedFds?: Int32Array;
}

export class Sandbox {
  readonly fds: FdTable;
  private readonly mem = new GuestMemory();
  private readonly ctx: Context;
  private readonly returnOnExit: boolean;
  private readonly trace: ((line: string) => void) | undefined;
  private started = false;
  private readonly stopFlag: Int32Array;
  private readonly sockets: SocketGrants | undefined;

  constructor(options: SandboxOptions = {}) {
    this.fds = new FdTable(options.maxFds, options.ownedFds);
    this.returnOnExit = options.returnOnExit ?? true;
    this.trace = traceSink(options.trace);
    this.sockets = options.sockets;
    const listen = options.listen ?? [];
    const env = Object.entries({ ...options.env, ...(listen.length ? { LISTEN_FDS: String(listen.length) } : {}) })
      .map(([k, v]) => `${k}=${v}`);
    this.stopFlag = options.stopFlag ?? new Int32Array(new SharedArrayBuffer(8));
    this.ctx = {
      mem: this.mem, fds: this.fds, args: [...(options.args ?? [])], env, stop: this.stopFlag, exitStatus: null,
      connect: connectGrants(options.connect ?? []),
    };
    try {
      this.addStdio(0, options.stdin === undefined ? 0 : options.stdin);
      this.addStdio(1, options.stdout === undefined ? 1 : options.stdout);
      this.addStdio(2, options.stderr === undefined ? 2 : options.stderr);
      for (const l of listen) this.addListener(l);
      for (const hostFd of options.grant ?? []) {
        const e = shared(this.fds.adopt(dupCloexec(hostFd)));
        e.granted = true;
        this.give(e, 3);
      }
      for (const [guest, host] of Object.entries(options.preopens ?? {})) this.preopen(guest, host);
      // Last, so that the numbering of everything else is as without it.
      if (options.stopNotice !== undefined) env.push(`STOP_FD=${this.give(this.fds.adopt(dupCloexec(options.stopNotice)), 3)}`);
    } catch (e) {
      this.close();
      throw e;
    }
  }

  /**
   * A listener is shared: with the embedder, or between run()'s workers. One the sandbox
   * creates (listenOn) is non-blocking on the host, so that an accept never waits in the
   * kernel, where only an interrupt reaches it, nor after another worker took the connection;
   * the guest sees it blocking, as a new listener is, and waits are emulated.
   */
  private addListener(l: string | number): void {
    const e = shared(this.fds.adopt(typeof l === 'number' ? dupCloexec(l) : listenOn(l), null, FILETYPE.SOCKET_STREAM));
    e.emulateBlocking = true;
    this.give(e, 3);
  }

  private addStdio(fd: number, stdio: Stdio): void {
    if (stdio === null) return;
    if (typeof stdio === 'number') {
      // A closed host descriptor leaves the guest's closed too, as a native program would find it.
      if (libc.fcntl(stdio, F.GETFD, 0) < 0) return;
      const e = shared(this.fds.adopt(dupCloexec(stdio)));
      e.emulateBlocking = true;
      this.fds.insertAt(fd, e);
    } else {
      const rights = (stdio.read ? R.FD_READ : 0) | (stdio.write ? R.FD_WRITE : 0) |
        R.FD_FILESTAT_GET | R.POLL_FD_READWRITE;
      this.fds.insertAt(fd, new FdEntry(-1, FILETYPE.CHARACTER_DEVICE, rights, 0, null, stdio));
    }
  }

  /** Opens a host directory and hands it to the guest as a preopen named `guestPath`. */
  preopen(guestPath: string, hostPath: string): number {
    const hostFd = libc.openat(AT.FDCWD, hostPath, O.RDONLY | O.DIRECTORY | O.CLOEXEC, 0);
    if (hostFd < 0) throw new Error(`cannot open directory ${JSON.stringify(hostPath)}: ${errnoText(-hostFd)}`);
    // From 3 on even when a standard stream is absent: wasi-libc and node:wasi expect it there.
    return this.give(this.fds.adopt(hostFd, guestPath, FILETYPE.DIRECTORY), 3);
  }

  /**
   * Hands the guest a duplicate of a host descriptor (a socket, a pipe, a file) at the lowest
   * free number, with the rights its type allows. The caller keeps its own descriptor.
   */
  grant(hostFd: number): number {
    return this.give(shared(this.fds.adopt(dupCloexec(hostFd))));
  }

  /** Adds a descriptor the embedder gives; past maxFds, an Error (and the duplicate is closed). */
  private give(e: FdEntry, min = 0): number {
    try {
      return this.fds.insert(e, min);
    } catch (err) {
      closeEntry(e);
      if (err instanceof WasiError) throw new Error(`the guest would hold more than maxFds (${this.fds.limit}) descriptors`);
      throw err;
    }
  }

  getImportObject(): WebAssembly.Imports {
    const modules = { wasi_snapshot_preview1: preview1(this.ctx), zerocopy: zerocopy(this.ctx) };
    const sink = this.trace;
    if (sink === undefined) return modules;
    return Object.fromEntries(Object.entries(modules).map(([name, m]) => [name, traced(name, m, sink, this.mem)]));
  }

  /**
   * Attaches guest memory without an instance, for hosts (and tests) that call the imports
   * directly rather than through a module's code.
   */
  attachMemory(memory: WebAssembly.Memory): void {
    if (this.started) throw new Error('this Sandbox has already started an instance');
    this.started = true;
    this.mem.attach(memory);
  }

  /**
   * Runs a command: its _start, in an instance, or in a module, which is instantiated here
   * first (so that a start section that calls proc_exit ends the guest as proc_exit anywhere
   * does). Returns the exit code: proc_exit's, 0 if _start returns, 128 + the signal for a
   * stop. A trap throws a WebAssembly.RuntimeError, a stack overflow too ("call stack
   * exhausted"), however deep it happened; a module that cannot be linked throws its LinkError.
   */
  start(guest: WebAssembly.Instance | WebAssembly.Module): number {
    if (this.started) throw new Error('this Sandbox has already started an instance');
    // Which thread to interrupt for a stop (interrupt.ts): stopFlag[1], while the guest runs.
    const tidSlot = this.stopFlag.length > 1 && installInterrupt();
    if (tidSlot) Atomics.store(this.stopFlag, 1, threadId());
    let start: unknown;
    try {
      let instance = guest as WebAssembly.Instance;
      if (guest instanceof WebAssembly.Module) {
        this.started = true; // its start section may already call in
        instance = new WebAssembly.Instance(guest, this.getImportObject());
        this.started = false;
      }
      start = this.bind(instance, '_start');
      if (typeof start !== 'function') throw new TypeError('the module exports no _start function');
      start();
      return 0;
    } catch (e) {
      const status = this.ended(e);
      if (!this.returnOnExit) process.exit(status);
      return status;
    } finally {
      if (tidSlot) Atomics.store(this.stopFlag, 1, 0);
    }
  }

  /**
   * Runs a component (see loadComponent) as a command: its wasi:cli/run export, with WASI 0.2
   * imports over this sandbox's descriptors. Returns its exit status (wasi:cli/exit's, 0 or 1
   * for run's result, 128 + the signal for a stop); a trap throws a WebAssembly.RuntimeError,
   * a stack overflow too, as start() does.
   */
  startComponent(component: Component): number {
    if (this.started) throw new Error('this Sandbox has already started an instance');
    this.started = true;
    // As start(): which thread to interrupt for a stop.
    const tidSlot = this.stopFlag.length > 1 && installInterrupt();
    if (tidSlot) Atomics.store(this.stopFlag, 1, threadId());
    let code: number;
    try {
      code = runComponent(this.ctx, component, { sockets: this.sockets, trace: this.trace });
    } catch (e) {
      code = this.ended(e);
    } finally {
      if (tidSlot) Atomics.store(this.stopFlag, 1, 0);
    }
    if (!this.returnOnExit) process.exit(code);
    return code;
  }

  /**
   * How a guest that threw `e` ended: its exit status (proc_exit, a stop), or `e` rethrown:
   * a trap, with a stack overflow made one (it is a RangeError to V8, in guest code or in an
   * import: the same recursion either way).
   */
  private ended(e: unknown): number {
    const status = this.ctx.exitStatus ?? (e instanceof ProcExit ? e.code : null);
    if (status !== null) return status;
    if (isStackOverflow(e)) {
      // A stop whose ProcExit could not even be made, so deep was the guest: still a stop.
      const signal = Atomics.load(this.stopFlag, 0);
      if (signal !== 0) return 128 + signal;
      throw new WebAssembly.RuntimeError(STACK_EXHAUSTED);
    }
    throw e;
  }

  /** Prepares a reactor: runs its _initialize, if it has one. */
  initialize(instance: WebAssembly.Instance): void {
    const init = this.bind(instance, '_initialize');
    if (init !== undefined && typeof init !== 'function') throw new TypeError('_initialize is not a function');
    if (typeof init === 'function') init();
  }

  private bind(instance: WebAssembly.Instance, entry: string): unknown {
    if (this.started) throw new Error('this Sandbox has already started an instance');
    const memory = instance.exports.memory;
    if (!(memory instanceof WebAssembly.Memory)) throw new TypeError('the module exports no memory');
    this.started = true;
    this.mem.attach(memory);
    return instance.exports[entry];
  }

  /**
   * Asks the guest to stop: its next call ends it as if by `signal` (exit status 128 + signal),
   * and a call it is waiting in ends within a slice (0.1 s). The guest cannot catch it. Safe
   * to call from a signal handler or, through the shared `stopFlag`, from another thread.
   */
  stop(signal = 15): void {
    requestStop(this.stopFlag, signal);
  }

  /** Closes every host descriptor the guest still holds. */
  close(): void {
    this.fds.closeAll();
  }
}

/** "ENOENT (no such file or directory)" for a Linux errno. */
/**
 * Marks an entry whose open file description others share: its flags are never changed, and
 * the guest's view of them starts as they are (stdio and listeners then show it blocking).
 */
function shared(e: FdEntry): FdEntry {
  e.sharedDescription = true;
  e.emulateBlocking = (libc.fcntl(e.hostFd, F.GETFL, 0) & O.NONBLOCK) === 0;
  return e;
}

export function errnoText(linuxErrno: number): string {
  const name = Object.entries(constants.errno).find(([, v]) => v === linuxErrno)?.[0] ?? `errno ${linuxErrno}`;
  return `${name} (${libc.strerror(linuxErrno).toLowerCase()})`;
}
