// `wasm-zerocopy proxy`: the zero-copy TCP proxy guest (assembly/guests/proxy.ts) run in
// worker threads with run(). The host's whole part is to create the listener, grant the one
// upstream address (zerocopy.sock_connect reaches it and nothing else) and pass the guest its
// arguments; every byte is moved by the guest, with splice(2).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { openFilesLimit } from './limits.js';
import { parseListen } from './listen.js';
import { run, type RunOptions, type Running } from './workers.js';
import { connectGrants } from './zerocopy/connect.js';

export interface ProxyOptions {
  /** Where clients connect: "HOST:PORT" or "[IPv6]:PORT" (a listener is created), or a listening descriptor. */
  listen: string | number;
  /** The upstream, "HOST:PORT" or "[IPv6]:PORT": the only address the guest may connect to. */
  to: string;
  /** Guest instances sharing the listener; default 1. */
  workers?: number;
  /** Milliseconds the upstream has to accept a connection (default 10 s). */
  connectTimeoutMs?: number;
  /** Milliseconds a connection may pass without a byte moving either way (default 300 s). */
  idleTimeoutMs?: number;
  /**
   * How many descriptors each worker's guest may hold (SandboxOptions.maxFds); default the
   * process's RLIMIT_NOFILE (host/limits.ts): a connection holds two sockets and two pipes.
   */
  maxFds?: number;
  /** Each worker exits after this many connections (for tests); default: never. */
  maxClients?: number;
  /** Where the log lines (one per connection) and errors go: host descriptors, default 1 and 2. */
  stdout?: number | null;
  stderr?: number | null;
  onExit?: RunOptions['onExit'];
}

let compiled: WebAssembly.Module | null = null;
/** The proxy guest, compiled once per process. */
export function proxyModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(readFileSync(fileURLToPath(new URL('../guests/proxy.wasm', import.meta.url))));
  return compiled;
}

/** The guest's `flag MS` for a positive whole number of milliseconds, else a RangeError naming `name`. */
function millis(flag: string, name: string, v: number | undefined): string[] {
  if (v === undefined) return [];
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a positive whole number of milliseconds, not ${v}`);
  return [flag, String(v)];
}

/** The run() options that start the proxy guest as `o` asks; throws for bad options. */
export function proxyRunOptions(o: ProxyOptions): RunOptions {
  if (typeof o.listen === 'string') parseListen(o.listen);
  connectGrants([o.to]);
  const args = ['proxy', '--to', o.to, ...millis('--connect-timeout-ms', 'connectTimeoutMs', o.connectTimeoutMs),
    ...millis('--idle-timeout-ms', 'idleTimeoutMs', o.idleTimeoutMs)];
  if (o.maxClients !== undefined) {
    if (!Number.isInteger(o.maxClients) || o.maxClients < 1) throw new RangeError(`maxClients must be a positive integer, not ${o.maxClients}`);
    args.push('--max-clients', String(o.maxClients));
  }
  return {
    workers: o.workers, args, listen: [o.listen], connect: [o.to], onExit: o.onExit, maxFds: o.maxFds ?? openFilesLimit(),
    ...(o.stdout !== undefined ? { stdout: o.stdout } : {}),
    ...(o.stderr !== undefined ? { stderr: o.stderr } : {}),
  };
}

/** Starts the proxy; resolves, as run() does, with each worker's exit status. */
export function proxy(o: ProxyOptions): Running {
  return run(proxyModule(), proxyRunOptions(o));
}
