// `wasm-zerocopy run [OPTIONS] MODULE.wasm [ARGS...]`: any WASI command, in this thread or in
// workers.
import { writeSync } from 'node:fs';
import { Sandbox } from '../runtime.js';
import { TRAP_STATUS } from '../workers.js';
import { systemdListeners } from '../listen.js';
import { InputError, UsageError, type Command } from './core.js';
import { isComponentFile, runComponentFile } from './component.js';
import { checkCommand, loadModule, runWorkers } from './guest.js';
import { CONNECT, LISTEN, MAX_FDS, WORKERS, checkConnect, checkListen, parseDir, parseEnv, parseMaxFds, parseWorkers } from './options.js';

export const runCommand: Command = {
  name: 'run',
  summary: 'run a WebAssembly command (wasm32-wasi module or WASI 0.2 component) in the sandbox',
  operands: 'MODULE.wasm [ARGS...]',
  passThrough: true,
  options: {
    dir: { type: 'string', multiple: true, value: 'HOST[::GUEST]', help: 'preopen host directory HOST for the guest, named GUEST (default: HOST)' },
    env: { type: 'string', multiple: true, value: 'NAME=VALUE', help: 'give the guest an environment variable (it sees none of the host\'s)' },
    listen: LISTEN,
    connect: CONNECT,
    workers: WORKERS,
    'max-fds': MAX_FDS,
    trace: { type: 'boolean', help: 'print each call the guest makes, with its arguments and results, on stderr\n(with --workers, each line prefixed with [worker N])' },
  },
  notes: 'Options end at MODULE.wasm: what follows is the guest\'s argv, flags included.\n' +
    'The exit status is the guest\'s exit code (with workers, the first non-zero one in worker\n' +
    'order); a trap exits with 134.\n' +
    'A component is told from a core module by its header; a component binds to a --listen\n' +
    'address to get that listener.',

  async run(values, operands) {
    const dirs = ((values.dir ?? []) as string[]).map(parseDir);
    const env = Object.fromEntries(((values.env ?? []) as string[]).map(parseEnv));
    // "systemd": the sockets of socket activation (LISTEN_FDS, LISTEN_PID), checked before the guest starts.
    const listen: (string | number)[] = ((values.listen ?? []) as string[]).flatMap((l): (string | number)[] => (l === 'systemd' ? systemdListeners() : [checkListen(l)]));
    const connect = ((values.connect ?? []) as string[]).map((c) => checkConnect(c));
    const workers = values.workers === undefined ? 0 : parseWorkers(values.workers as string);
    const maxFds = values['max-fds'] === undefined ? undefined : parseMaxFds(values['max-fds'] as string);
    const trace = values.trace === true;
    if (operands.length === 0) throw new UsageError('no module given');
    const [path, ...guestArgs] = operands;
    const args = [path, ...guestArgs];
    const preopens = Object.fromEntries(dirs.map((d) => [d.guest, d.host]));
    if (isComponentFile(path)) return runComponentFile({ path, args, env, preopens, listen, connect, workers, trace });
    const module = loadModule(path);
    checkCommand(module, path);
    if (workers > 0) return runWorkers(module, { workers, args, env, preopens, listen, connect, maxFds, trace }, false);
    const sandbox = new Sandbox({ args, env, listen, connect, maxFds, returnOnExit: true, trace: trace ? (line: string) => { writeSync(2, line); } : undefined });
    try {
      for (const d of dirs) sandbox.preopen(d.guest, d.host);
      try {
        // Instantiated by start(), so that a start section's proc_exit is an exit like any other.
        return sandbox.start(module);
      } catch (e) {
        if (e instanceof WebAssembly.RuntimeError) {
          process.stderr.write(`wasm-zerocopy: ${path}: trap: ${e.message}\n`);
          return TRAP_STATUS;
        }
        if (e instanceof WebAssembly.LinkError) throw new InputError(`cannot instantiate ${path}: ${e.message}`);
        throw e;
      }
    } finally {
      sandbox.close();
    }
  },
};
