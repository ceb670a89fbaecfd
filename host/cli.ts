#!/usr/bin/env node
// wasm-zerocopy's command line: a thin shell over the Sandbox API.
import { readFileSync, statSync, writeSync } from 'node:fs';
import { Sandbox } from './runtime.js';

const USAGE = `usage: wasm-zerocopy run [--dir HOST[::GUEST]]... [--env NAME=VALUE]... [--trace] MODULE.wasm [ARGS...]

  --dir HOST[::GUEST]  preopen host directory HOST for the guest, named GUEST (default: HOST)
  --env NAME=VALUE     give the guest an environment variable (it sees none of the host's)
  --trace              print each call the guest makes, with its arguments and result, on stderr
  -h, --help           show this help

The exit status is the guest's exit code; a trap exits with 134.`;

/** Exit status for a guest that trapped, as wasmtime uses (128 + SIGABRT). */
const TRAP_STATUS = 134;

class UsageError extends Error {}
class HelpRequested extends Error {}

interface RunCommand {
  trace: boolean;
  dirs: { host: string; guest: string }[];
  env: Record<string, string>;
  module: string;
  args: string[];
}

function parseRun(argv: string[]): RunCommand {
  const cmd: RunCommand = { trace: false, dirs: [], env: {}, module: '', args: [] };
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

function run(argv: string[]): number {
  const cmd = parseRun(argv);
  const module = loadModule(cmd.module);
  const trace = cmd.trace ? (line: string) => { writeSync(2, line); } : undefined;
  const sandbox = new Sandbox({ args: [cmd.module, ...cmd.args], env: cmd.env, returnOnExit: true, trace });
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

function main(argv: string[]): number {
  const [command, ...rest] = argv;
  if (command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  try {
    if (command === 'run') return run(rest);
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

process.exitCode = main(process.argv.slice(2));
