// `wasm-zerocopy send-file [OPTIONS] FILE`: the seed server (assembly/guests/send_file.ts),
// which sends FILE whole to every client with sendfile(2).
import { closeSync, constants, fstatSync, openSync, type Stats } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { boundPort, listenOn, parseListen } from '../listen.js';
import * as libc from '../native/libc.js';
import { F, O } from '../native/platform.js';
import { InputError, UsageError, systemError, type Command } from './core.js';
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
    const listen = values.listen === undefined ? [DEFAULT_LISTEN] : (values.listen as string[]).map(checkListen);
    const workers = values.workers === undefined ? 1 : parseWorkers(values.workers as string);
    const timeout = values.timeout === undefined ? DEFAULT_TIMEOUT_S : parseTimeout(values.timeout as string);
    if (operands.length === 0) throw new UsageError('send-file needs a FILE');
    if (operands.length > 1) throw new UsageError(`send-file takes one FILE, not also ${operands[1]}`);
    const file = operands[0];
    const fd = openRegular(file);
    const listeners: number[] = [];
    try {
      const module = loadModule(fileURLToPath(new URL('../../guests/send_file.wasm', import.meta.url)));
      for (const spec of listen) listeners.push(listenOn(spec));
      const shown = listen.map((spec, i) => {
        const a = parseListen(spec);
        return a.family === 6 ? `[${a.host}]:${boundPort(listeners[i])}` : `${a.host}:${boundPort(listeners[i])}`;
      });
      process.stdout.write(`serving ${file} (${fstatSync(fd).size} bytes) on ${shown.join(', ')} with ${workers} worker${workers > 1 ? 's' : ''}\n` +
        `fetch it with:  curl --http0.9 -s -o copy http://${shown[0]}/   or:  nc -d ${shown[0].replace(/^\[?(.*?)\]?:(\d+)$/, '$1 $2')} > copy\n` +
        'stop with Ctrl-C\n');
      return await runWorkers(module, {
        workers, args: (w) => guestArgs(timeout, workers, w), listen: listeners, grant: [fd],
      }, true);
    } finally {
      for (const l of listeners) closeSync(l);
      closeSync(fd);
    }
  },
};

/** The seed server's argv for worker `worker` of `workers`. */
export function guestArgs(timeoutSeconds: number, workers: number, worker: number): string[] {
  const args = ['send_file', '--timeout-ms', String(Math.round(timeoutSeconds * 1000))];
  return workers > 1 ? [...args, '--worker', String(worker)] : args;
}

const KIND: [(s: Stats) => boolean, string][] = [
  [(s) => s.isDirectory(), 'a directory'], [(s) => s.isFIFO(), 'a FIFO'], [(s) => s.isSocket(), 'a socket'],
  [(s) => s.isCharacterDevice(), 'a character device'], [(s) => s.isBlockDevice(), 'a block device'],
];

/**
 * Opens FILE for reading, refusing at once anything but a regular file. O_NONBLOCK, so that
 * a FIFO with no writer does not block open(2) (fifo(7)); it is cleared again on a regular
 * file, where it means nothing to read(2) but would show in the guest's fdstat.
 */
function openRegular(file: string): number {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    throw new InputError(`cannot open ${file}: ${systemError(e)}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new InputError(`${file} is not a regular file but ${KIND.find(([is]) => is(st))?.[1] ?? 'something else'}: send-file sends a regular file`);
    const flags = libc.fcntl(fd, F.GETFL, 0);
    if (flags < 0 || libc.fcntl(fd, F.SETFL, flags & ~O.NONBLOCK) < 0) throw new Error(`cannot clear O_NONBLOCK on ${file}`);
    return fd;
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}
