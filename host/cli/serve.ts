// `wasm-zerocopy serve [OPTIONS] [DIR]`: the static HTTP server (host/serve.ts, the guest in
// assembly/guests/serve.ts) on DIR, the guest's only directory.
import { statSync } from 'node:fs';
import { serveCommand, DEFAULT_LISTEN } from '../serve.js';
import { UsageError, type Command } from './core.js';
import { LISTEN, MAX_FDS, WORKERS, checkListen, parseMaxFds, parseWorkers } from './options.js';

/** A timeout flag's seconds, from 0.001 to a day. */
function seconds(flag: string, v: string): number {
  const n = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v) || n < 0.001 || n > 86400) throw new UsageError(`--${flag} ${v}: expected seconds from 0.001 to 86400`);
  return n;
}

export const serveCommandSpec: Command = {
  name: 'serve',
  summary: 'serve DIR (default .) over HTTP/1.1 from a sandboxed guest that sends files with sendfile(2)',
  operands: '[DIR]',
  options: {
    listen: { ...LISTEN, help: `where to listen, repeatable (default ${DEFAULT_LISTEN}; [IPv6]:PORT too;\n"systemd" for the sockets of systemd socket activation)` },
    workers: WORKERS,
    'max-fds': { ...MAX_FDS, help: 'each worker\'s guest may hold at most N descriptors (default: the process\'s\nRLIMIT_NOFILE); a connection holds one, and open files\n(up to 256 cached, and those responses still send from) a few more' },
    quiet: { type: 'boolean', help: 'no access log on stdout' },
    list: { type: 'boolean', help: 'list directories that have no index.html (else 403)' },
    'header-timeout': { type: 'string', value: 'S', help: 'close a client that does not send a request head in S seconds (default 60)' },
    'keepalive-timeout': { type: 'string', value: 'S', help: 'close a connection idle for S seconds between requests (default 75)' },
    'send-timeout': { type: 'string', value: 'S', help: 'close a client that takes no byte for S seconds (default 60)' },
  },
  notes: 'One access-log line per request on stdout (combined log format), errors on stderr.\n' +
    'SIGINT or SIGTERM stop accepting and let responses in flight finish for up to 5 s;\n' +
    'a second signal stops at once. The exit status is then 0.',

  async run(values, operands) {
    if (operands.length > 1) throw new UsageError(`serve takes one DIR, not also ${operands[1]}`);
    const root = operands[0] ?? '.';
    let isDir = false;
    try { isDir = statSync(root).isDirectory(); } catch { /* reported below */ }
    if (!isDir) throw new UsageError(`no such directory: ${root}`);
    const listen = ((values.listen ?? []) as string[]).map((l) => (l === 'systemd' ? l : checkListen(l)));
    const t = (flag: string) => (values[flag] === undefined ? undefined : seconds(flag, values[flag] as string));
    return serveCommand({
      root,
      listen: listen.length ? listen : [DEFAULT_LISTEN],
      workers: values.workers === undefined ? 1 : parseWorkers(values.workers as string),
      maxFds: values['max-fds'] === undefined ? undefined : parseMaxFds(values['max-fds'] as string),
      quiet: values.quiet === true,
      list: values.list === true,
      headerTimeout: t('header-timeout'),
      keepaliveTimeout: t('keepalive-timeout'),
      sendTimeout: t('send-timeout'),
    });
  },
};
