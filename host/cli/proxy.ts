// `wasm-zerocopy proxy --listen HOST:PORT --to HOST:PORT`: the zero-copy TCP proxy guest
// (assembly/guests/proxy.ts, started by host/proxy.ts), granted the upstream and nothing else.
import { closeSync } from 'node:fs';
import { boundPort, listenOn, parseListen } from '../listen.js';
import { proxyModule, proxyRunOptions } from '../proxy.js';
import { UsageError, type Command } from './core.js';
import { runWorkers } from './guest.js';
import { LISTEN, MAX_FDS, WORKERS, checkConnect, checkListen, parseMaxFds, parseTimeout, parseWorkers } from './options.js';

export const DEFAULT_LISTEN = '127.0.0.1:8080';
/** Seconds the upstream has to accept a connection, and a connection may stay silent (HAProxy's
 *  `timeout connect` is often a few seconds; nginx's proxy_timeout defaults to 10 minutes). */
export const DEFAULT_CONNECT_TIMEOUT_S = 10;
export const DEFAULT_IDLE_TIMEOUT_S = 300;

export const proxyCommand: Command = {
  name: 'proxy',
  summary: 'relay every TCP client to one upstream, both ways, with splice(2) in a guest',
  operands: '--to HOST:PORT',
  options: {
    listen: { ...LISTEN, help: `where clients connect (default ${DEFAULT_LISTEN}; [IPv6]:PORT too)` },
    to: { type: 'string', value: 'HOST:PORT', help: 'the upstream: the only address the guest may connect to ([IPv6]:PORT too)' },
    workers: WORKERS,
    'max-fds': { ...MAX_FDS, help: 'each worker\'s guest may hold at most N descriptors (default: the process\'s\nRLIMIT_NOFILE); a connection holds four' },
    'connect-timeout': { type: 'string', value: 'SECONDS', help: `give up on an upstream that does not answer within this (default ${DEFAULT_CONNECT_TIMEOUT_S})` },
    'idle-timeout': { type: 'string', value: 'SECONDS', help: `close a connection on which nothing moves for this long (default ${DEFAULT_IDLE_TIMEOUT_S})` },
  },
  notes: 'One line per connection on stdout: how it ended, the bytes each way, its duration.\n' +
    'SIGINT or SIGTERM stop it cleanly.',

  async run(values, operands) {
    if (operands.length > 0) throw new UsageError(`unexpected argument: ${operands[0]}`);
    if (values.to === undefined) throw new UsageError('proxy needs --to HOST:PORT');
    const to = checkConnect(values.to as string, '--to');
    const listens = ((values.listen ?? [DEFAULT_LISTEN]) as string[]).map(checkListen);
    if (listens.length > 1) throw new UsageError('proxy takes one --listen');
    const listen = listens[0];
    const maxFds = values['max-fds'] === undefined ? undefined : parseMaxFds(values['max-fds'] as string);
    const workers = values.workers === undefined ? 1 : parseWorkers(values.workers as string);
    const ms = (flag: string, v: unknown, dflt: number) =>
      Math.round((v === undefined ? dflt : parseTimeout(v as string, flag)) * 1000);
    const connectTimeoutMs = ms('--connect-timeout', values['connect-timeout'], DEFAULT_CONNECT_TIMEOUT_S);
    const idleTimeoutMs = ms('--idle-timeout', values['idle-timeout'], DEFAULT_IDLE_TIMEOUT_S);
    const listener = listenOn(listen);
    try {
      const a = parseListen(listen);
      const shown = a.family === 6 ? `[${a.host}]:${boundPort(listener)}` : `${a.host}:${boundPort(listener)}`;
      process.stdout.write(`proxying ${shown} -> ${to} with ${workers} worker${workers > 1 ? 's' : ''}\nstop with Ctrl-C\n`);
      return await runWorkers(proxyModule(), proxyRunOptions({ listen: listener, to, workers, connectTimeoutMs, idleTimeoutMs, maxFds }), true);
    } finally {
      closeSync(listener);
    }
  },
};
