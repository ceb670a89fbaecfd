#!/usr/bin/env node
// wasm-zerocopy's command line: a thin shell over the Sandbox API.
import { closeSync, fstatSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { boundPort, listenOn, parseListen } from './listen.js';
import { Sandbox } from './runtime.js';
import { run, TRAP_STATUS, type RunOptions } from './workers.js';

const USAGE = `usage: wasm-zerocopy run [OPTIONS] MODULE.wasm [ARGS...]
       wasm-zerocopy send-file [--listen HOST:PORT] [--workers N] [--timeout SECONDS] [--linger SECONDS] FILE

run options:
  --dir HOST[::GUEST]  preopen host directory HOST for the guest, named GUEST (default: HOST)
  --env NAME=VALUE     give the guest an environment variable (it sees none of the host's)
  --listen HOST:PORT   a TCP listener for the guest at descriptor 3, 4, ... ([IPv6]:PORT too);
                       the guest gets LISTEN_FDS=<count>
  --workers N          run N instances in worker threads, sharing the listeners
  --trace              print each call the guest makes, with its arguments and result, on stderr
  -h, --help           show this help

send-file serves FILE whole to every client that connects (default --listen 127.0.0.1:8080),
from a guest that moves it with sendfile(2); a client that takes no byte for --timeout seconds
(default 60) is disconnected; after the last byte it waits --linger seconds (default 5) for the
client to close. SIGINT or SIGTERM stop it cleanly.

The exit status is the guest's exit code (with workers, the first non-zero one); a trap
exits with 134.`;

class UsageError extends Error {}
class HelpRequested extends Error {}

interface RunCommand {
  trace: boolean;
  listen: string[];
  workers: number;
  dirs: { host: string; guest: string }[];
  env: Record<string, string>;
  module: string;
  args: string[];
}

function parseRun(argv: string[]): RunCommand {
  const cmd: RunCommand = { trace: false, listen: [], workers: 0, dirs: [], env: {}, module: '', args: [] };
  let i = 0;
  const value = (flag: string, inline: string | undefined): string => {
    if (inline !== undefined) return inline;
    if (i + 1 >= argv.length) throw new UsageError(`${flag} needs a value`);
    return argv[++i];
  };
  for (; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') { i++; break; }
    if (!a.startsWith('-') || a === '-') break;
    const eq = a.indexOf('=');
    const [flag, inline] = a.startsWith('--') && eq > 0 ? [a.slice(0, eq), a.slice(eq + 1)] : [a, undefined];
    if (flag === '--dir') {
      const spec = value(flag, inline);
      const sep = spec.indexOf('::');
      const host = sep < 0 ? spec : spec.slice(0, sep);
      const guest = sep < 0 ? spec : spec.slice(sep + 2);
      if (host === '' || guest === '') throw new UsageError(`--dir ${spec}: expected HOST or HOST::GUEST`);
      let isDir = false;
      try { isDir = statSync(host).isDirectory(); } catch { /* reported below */ }
      if (!isDir) throw new UsageError(`--dir ${spec}: no such directory: ${host}`);
      cmd.dirs.push({ host, guest });
    } else if (flag === '--listen') {
      const spec = value(flag, inline);
      parseListenSpec(spec);
      cmd.listen.push(spec);
    } else if (flag === '--workers') {
      cmd.workers = parseWorkers(value(flag, inline));
    } else if (a === '--trace') {
      cmd.trace = true;
    } else if (flag === '-h' || flag === '--help') {
      throw new HelpRequested();
    } else if (flag === '--env') {
      const spec = value(flag, inline);
      const at = spec.indexOf('=');
      if (at <= 0) throw new UsageError(`--env ${spec}: expected NAME=VALUE`);
      cmd.env[spec.slice(0, at)] = spec.slice(at + 1);
    } else {
      throw new UsageError(`unknown option: ${a}`);
    }
  }
  if (cmd.trace && cmd.workers > 0) throw new UsageError('--trace cannot be combined with --workers');
  if (i >= argv.length) throw new UsageError('no module given');
  cmd.module = argv[i];
  cmd.args = argv.slice(i + 1);
  return cmd;
}

function loadModule(path: string): WebAssembly.Module {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(code === 'ENOENT' ? `no such module: ${path}` : `cannot read module ${path}: ${code}`);
  }
  if (bytes.length < 8 || bytes.readUInt32BE(0) !== 0x0061736d) {
    throw new UsageError(`not a WebAssembly module: ${path}`);
  }
  try {
    return new WebAssembly.Module(new Uint8Array(bytes));
  } catch (e) {
    throw new UsageError(`invalid WebAssembly module ${path}: ${(e as Error).message}`);
  }
}

function parseListenSpec(spec: string): void {
  try {
    parseListen(spec);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** --timeout SECONDS: a whole number of seconds, or a decimal one, from 0.001 to a day. */
function parseSeconds(flag: string, v: string): number {
  const n = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v) || n < 0.001 || n > 86400) throw new UsageError(`${flag} ${v}: expected seconds from 0.001 to 86400`);
  return n;
}

function parseWorkers(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 1024) throw new UsageError(`--workers ${v}: expected a count from 1 to 1024`);
  return n;
}

/** Runs guests in workers until they end; SIGINT and SIGTERM stop them, then the listeners. */
async function runWorkers(module: WebAssembly.Module, options: RunOptions, stopIsClean: boolean): Promise<number> {
  let stoppedBy = 0;
  const running = run(module, {
    ...options,
    onExit: (worker, r) => {
      if (r.trap !== undefined) process.stderr.write(`wasm-zerocopy: worker ${worker}: trap: ${r.trap}\n`);
      else if (r.error !== undefined) process.stderr.write(`wasm-zerocopy: worker ${worker}: ${r.error}\n`);
      else if (r.status !== 0 && !(stoppedBy && r.status === 128 + stoppedBy)) {
        process.stderr.write(`wasm-zerocopy: worker ${worker}: exit ${r.status}\n`);
      }
    },
  });
  const onSignal = (signal: NodeJS.Signals) => {
    stoppedBy = signal === 'SIGINT' ? 2 : 15;
    void running.stop(stoppedBy);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const codes = await running;
    if (stoppedBy && stopIsClean && codes.every((c) => c === 0 || c === 128 + stoppedBy)) return 0;
    return codes.find((c) => c !== 0) ?? 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function runCommand(argv: string[]): Promise<number> {
  const cmd = parseRun(argv);
  const module = loadModule(cmd.module);
  const args = [cmd.module, ...cmd.args];
  const preopens = Object.fromEntries(cmd.dirs.map((d) => [d.guest, d.host]));
  if (cmd.workers > 0) {
    return runWorkers(module, { workers: cmd.workers, args, env: cmd.env, preopens, listen: cmd.listen }, false);
  }
  const trace = cmd.trace ? (line: string) => { writeSync(2, line); } : undefined;
  const sandbox = new Sandbox({ args, env: cmd.env, listen: cmd.listen, returnOnExit: true, trace });
  try {
    for (const d of cmd.dirs) sandbox.preopen(d.guest, d.host);
    let instance: WebAssembly.Instance;
    try {
      instance = new WebAssembly.Instance(module, sandbox.getImportObject());
    } catch (e) {
      throw new UsageError(`cannot instantiate ${cmd.module}: ${(e as Error).message}`);
    }
    try {
      return sandbox.start(instance);
    } catch (e) {
      if (e instanceof WebAssembly.RuntimeError) {
        process.stderr.write(`wasm-zerocopy: ${cmd.module}: trap: ${e.message}\n`);
        return TRAP_STATUS;
      }
      throw e;
    }
  } finally {
    sandbox.close();
  }
}

/** `send-file [--listen HOST:PORT] [--workers N] [--timeout S] [--linger S] FILE`: the seed server (assembly/guests/send_file.ts). */
async function sendFile(argv: string[]): Promise<number> {
  let listen = '127.0.0.1:8080', workers = 1, timeout = 60, linger = 5, file: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const eq = a.indexOf('=');
    const [flag, inline] = a.startsWith('--') && eq > 0 ? [a.slice(0, eq), a.slice(eq + 1)] : [a, undefined];
    const value = () => {
      if (inline !== undefined) return inline;
      if (i + 1 >= argv.length) throw new UsageError(`${flag} needs a value`);
      return argv[++i];
    };
    if (flag === '--listen') { listen = value(); parseListenSpec(listen); }
    else if (flag === '--workers') workers = parseWorkers(value());
    else if (flag === '--timeout') timeout = parseSeconds(flag, value());
    else if (flag === '--linger') linger = parseSeconds(flag, value());
    else if (flag === '-h' || flag === '--help') throw new HelpRequested();
    else if (a.startsWith('-') && a !== '-') throw new UsageError(`unknown option: ${a}`);
    else if (file === null) file = a;
    else throw new UsageError(`send-file takes one FILE, not also ${a}`);
  }
  if (file === null) throw new UsageError('send-file needs a FILE');
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    throw new UsageError(`cannot open ${file}: ${(e as NodeJS.ErrnoException).code}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new UsageError(`not a regular file: ${file}`);
    const module = loadModule(fileURLToPath(new URL('../guests/send_file.wasm', import.meta.url)));
    const listener = listenOn(listen);
    try {
      const shown = parseListen(listen).family === 6 ? `[${parseListen(listen).host}]:${boundPort(listener)}`
        : `${parseListen(listen).host}:${boundPort(listener)}`;
      process.stdout.write(`serving ${file} (${st.size} bytes) on ${shown} with ${workers} worker${workers > 1 ? 's' : ''}\n` +
        `fetch it with:  curl --http0.9 -s -o copy http://${shown}/   or:  nc -d ${shown.replace(/^\[?(.*?)\]?:(\d+)$/, '$1 $2')} > copy\n` +
        'stop with Ctrl-C\n');
      return await runWorkers(module, { workers, args: ['send_file', '--timeout-ms', String(Math.round(timeout * 1000)),
        '--linger-ms', String(Math.round(linger * 1000))], listen: [listener], grant: [fd] }, true);
    } finally {
      closeSync(listener);
    }
  } finally {
    closeSync(fd);
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  try {
    if (command === 'run') return await runCommand(rest);
    if (command === 'send-file') return await sendFile(rest);
    throw new UsageError(command === undefined ? 'no command given' : `unknown command: ${command}`);
  } catch (e) {
    if (e instanceof HelpRequested) {
      process.stdout.write(USAGE + '\n');
      return 0;
    }
    if (e instanceof UsageError) {
      process.stderr.write(`wasm-zerocopy: ${e.message}\n${USAGE}\n`);
      return 2;
    }
    if (e instanceof Error && !(e instanceof TypeError) && !(e instanceof RangeError)) {
      process.stderr.write(`wasm-zerocopy: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

process.exitCode = await main(process.argv.slice(2));
