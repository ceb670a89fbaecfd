// `wasm-zerocopy send-file [OPTIONS] FILE`: the seed server (assembly/guests/send_file.ts),
// which sends FILE whole to every client with sendfile(2).
import { closeSync, fstatSync, openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { boundPort, listenOn, parseListen } from '../listen.js';
import { UsageError, type Command } from './core.js';
import { loadModule, runWorkers } from './guest.js';
import { LISTEN, WORKERS, checkListen, parseTimeout, parseWorkers } from './options.js';

export const DEFAULT_LISTEN = '127.0.0.1:8080';
/** As nginx's send_timeout. */
export const DEFAULT_TIMEOUT_S = 60;

export const sendFileCommand: Command = {
  name: 'send-file',
  summary: 'serve FILE whole to every client that connects, from a guest that moves it with sendfile(2)',
  operands: 'FILE',
  options: {
    listen: { ...LISTEN, help: `where to listen (default ${DEFAULT_LISTEN}; [IPv6]:PORT too)` },
    workers: WORKERS,
    timeout: { type: 'string', value: 'SECONDS', help: `disconnect a client that takes no byte for this long (default ${DEFAULT_TIMEOUT_S})` },
  },
  notes: 'SIGINT or SIGTERM stop it cleanly.',

  async run(values, operands) {
    const listen = values.listen === undefined ? DEFAULT_LISTEN : ((values.listen as string[]).map(checkListen).at(-1) as string);
    const workers = values.workers === undefined ? 1 : parseWorkers(values.workers as string);
    const timeout = values.timeout === undefined ? DEFAULT_TIMEOUT_S : parseTimeout(values.timeout as string);
    if (operands.length === 0) throw new UsageError('send-file needs a FILE');
    if (operands.length > 1) throw new UsageError(`send-file takes one FILE, not also ${operands[1]}`);
    const file = operands[0];
    let fd: number;
    try {
      fd = openSync(file, 'r');
    } catch (e) {
      throw new UsageError(`cannot open ${file}: ${(e as NodeJS.ErrnoException).code}`);
    }
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) throw new UsageError(`not a regular file: ${file}`);
      const module = loadModule(fileURLToPath(new URL('../../guests/send_file.wasm', import.meta.url)));
      const listener = listenOn(listen);
      try {
        const a = parseListen(listen);
        const shown = a.family === 6 ? `[${a.host}]:${boundPort(listener)}` : `${a.host}:${boundPort(listener)}`;
        process.stdout.write(`serving ${file} (${st.size} bytes) on ${shown} with ${workers} worker${workers > 1 ? 's' : ''}\n` +
          `fetch it with:  curl --http0.9 -s -o copy http://${shown}/   or:  nc -d ${shown.replace(/^\[?(.*?)\]?:(\d+)$/, '$1 $2')} > copy\n` +
          'stop with Ctrl-C\n');
        return await runWorkers(module, {
          workers, args: ['send_file', '--timeout-ms', String(Math.round(timeout * 1000))], listen: [listener], grant: [fd],
        }, true);
      } finally {
        closeSync(listener);
      }
    } finally {
      closeSync(fd);
    }
  },
};
