// `wasm-zerocopy serve`: the static HTTP server guest (assembly/guests/serve.ts) on a
// docroot, from parsed options. The docroot is preopened as the guest's only directory; the
// listeners (created here with TCP_NODELAY, or handed over by systemd) are shared by the
// workers; SIGINT and SIGTERM ask the guests to stop gracefully (the stop descriptor,
// docs/ABI.md), and stop them hard after the grace period or at a second signal.
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as libc from './native/libc.js';
import { boundAddress, listenOn, systemdListeners } from './listen.js';
import { openFilesLimit } from './limits.js';
import { run, type RunOptions, type Running, type WorkerResult } from './workers.js';

export interface ServeOptions {
  /** The docroot (default "."). */
  root?: string;
  /** HOST:PORT, [IPv6]:PORT, or "systemd" for the sockets of socket activation; default 127.0.0.1:8080. */
  listen?: readonly string[];
  workers?: number;
  /**
   * The descriptors each worker's guest may hold (SandboxOptions.maxFds): one per connection,
   * and its open files (a cache of up to 256, and those responses still send from). Default
   * openFilesLimit(): a server is bounded by the process's RLIMIT_NOFILE (host/limits.ts),
   * not by a sandbox's default of 1024.
   */
  maxFds?: number;
  /** No access log on stdout. */
  quiet?: boolean;
  /** An HTML listing for directories without index.html (else 403). */
  list?: boolean;
  /** Seconds: to receive a request head (default 60), between requests (75), without a byte taken (60). */
  headerTimeout?: number;
  keepaliveTimeout?: number;
  sendTimeout?: number;
  /**
   * The most bytes one sendfile asks for before the connection gives up its turn to the
   * others (default 8 MiB; nginx's sendfile_max_chunk), from 1 to 0x7ffff000.
   */
  sendfileChunk?: number;
  /** Seconds in-flight responses get after a stop is asked for (default 5). */
  grace?: number;
  /** Host descriptors for the guests' stdout (the access log) and stderr; default 1 and 2. */
  stdout?: number;
  stderr?: number;
  /** Called as each worker ends, as run()'s onExit. */
  onExit?: (worker: number, result: WorkerResult) => void;
  /** Each call the guests make, strace-style, as run()'s trace. */
  trace?: RunOptions['trace'];
}

export interface Server {
  /** The URLs served, one per listener: "http://127.0.0.1:8080/". */
  readonly urls: string[];
  /** Resolves with the guests' exit codes once all have ended. */
  readonly done: Promise<number[]>;
  /** Stops accepting, lets in-flight responses finish for the grace period, then ends the guests. */
  stop(): Promise<number[]>;
  /** Ends the guests at once. */
  kill(): Promise<number[]>;
}

export const DEFAULT_LISTEN = '127.0.0.1:8080';
const GUEST = fileURLToPath(new URL('../guests/serve.wasm', import.meta.url));
let compiled: WebAssembly.Module | null = null;

/** A timeout in seconds as the guest's milliseconds; an Error for anything but 0.001 .. 86400. */
function ms(name: string, seconds: number | undefined, fallback: number): string {
  const s = seconds ?? fallback;
  if (!Number.isFinite(s) || s < 0.001 || s > 86400) throw new Error(`--${name} ${s}: expected seconds from 0.001 to 86400`);
  return String(Math.max(1, Math.round(s * 1000)));
}

/** sendfileChunk as the guest's argument; an Error for anything but an integer from 1 to 0x7ffff000 (MAX_RW_COUNT). */
function chunk(bytes: number): string {
  if (!Number.isInteger(bytes) || bytes < 1 || bytes > 0x7ffff000) throw new Error(`sendfileChunk ${bytes}: expected bytes from 1 to ${0x7ffff000}`);
  return String(bytes);
}

/** Starts the server; throws an Error with a one-line message for a bad docroot or listener. */
export function startServer(options: ServeOptions = {}): Server {
  const root = options.root ?? '.';
  let isDir = false;
  try { isDir = statSync(root).isDirectory(); } catch { /* reported below */ }
  if (!isDir) throw new Error(`no such directory: ${root}`);
  const args = ['serve',
    '--header-timeout-ms', ms('header-timeout', options.headerTimeout, 60),
    '--keepalive-timeout-ms', ms('keepalive-timeout', options.keepaliveTimeout, 75),
    '--send-timeout-ms', ms('send-timeout', options.sendTimeout, 60),
    ...(options.quiet ? ['--quiet'] : []), ...(options.list ? ['--list'] : []),
    ...(options.sendfileChunk !== undefined ? ['--sendfile-chunk', chunk(options.sendfileChunk)] : [])];
  const grace = options.grace ?? 5;

  const owned: number[] = [];
  const listen: number[] = [];
  try {
    for (const spec of options.listen?.length ? options.listen : [DEFAULT_LISTEN]) {
      if (spec === 'systemd') listen.push(...systemdListeners());
      else {
        const fd = listenOn(spec, { noDelay: true });
        owned.push(fd);
        listen.push(fd);
      }
    }
    compiled ??= new WebAssembly.Module(readFileSync(GUEST));
  } catch (e) {
    for (const fd of owned) libc.close(fd);
    throw e;
  }
  const urls = listen.map((fd) => `http://${boundAddress(fd) ?? `descriptor ${fd}`}/`);
  let running: Running;
  try {
    running = run(compiled, {
      workers: options.workers ?? 1, args, listen, preopens: { '/': root }, gracefulStop: true,
      maxFds: options.maxFds ?? openFilesLimit(),
      ...(options.stdout !== undefined ? { stdout: options.stdout } : {}),
      ...(options.stderr !== undefined ? { stderr: options.stderr } : {}),
      ...(options.onExit ? { onExit: options.onExit } : {}),
      ...(options.trace !== undefined ? { trace: options.trace } : {}),
    });
  } catch (e) {
    for (const fd of owned) libc.close(fd);
    throw e;
  }
  // The guests hold duplicates of the listeners. Ours are closed when a stop begins (the
  // guests close theirs then), so that new connections are refused rather than left queued.
  const closeOwned = () => { for (const fd of owned.splice(0)) libc.close(fd); };
  const done = running.finally(closeOwned);
  return {
    urls,
    done,
    stop: () => { closeOwned(); return running.shutdown(grace * 1000).then(() => done); },
    kill: () => { closeOwned(); return running.stop().then(() => done); },
  };
}

/**
 * The command: prints the URLs, serves until SIGINT or SIGTERM (a graceful stop; a second
 * signal stops at once), and returns the exit status: 0 after a stop, else the first non-zero
 * status of a worker.
 */
export async function serveCommand(options: ServeOptions, print: (line: string) => void = (l) => { process.stdout.write(l); }): Promise<number> {
  let stopped = false;
  const server = startServer({
    ...options,
    onExit: (worker, r) => {
      if (r.trap !== undefined) process.stderr.write(`wasm-zerocopy: worker ${worker}: trap: ${r.trap}\n`);
      else if (r.error !== undefined) process.stderr.write(`wasm-zerocopy: worker ${worker}: ${r.error}\n`);
      else if (r.status !== 0 && !stopped) process.stderr.write(`wasm-zerocopy: worker ${worker}: exit ${r.status}\n`);
    },
  });
  const root = options.root ?? '.';
  const workers = options.workers ?? 1;
  print(`serving ${root} on ${server.urls.join(' ')} with ${workers} worker${workers > 1 ? 's' : ''}${options.list ? ', listing directories' : ''}\n` +
    'stop with Ctrl-C\n');
  const onSignal = () => {
    if (stopped) { void server.kill(); return; }
    stopped = true;
    void server.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const codes = await server.done;
    if (stopped) return codes.every((c) => c === 0 || c === 128 + 2 || c === 128 + 15) ? 0 : codes.find((c) => c !== 0)!;
    return codes.find((c) => c !== 0) ?? 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
