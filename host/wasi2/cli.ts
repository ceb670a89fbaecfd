// wasi:cli: arguments and environment (exactly what the guest was given), exit, the standard
// streams (entries 0, 1 and 2 of the table, as preview1's, so an embedder's virtual stdio and
// the shared-description rules apply alike) and the terminal interfaces.
import * as libc from '../native/libc.js';
import type { Context } from '../sandbox/context.js';
import { FdEntry } from '../sandbox/fd_table.js';
import { FILETYPE } from '../sandbox/rights.js';
import { exitComponent } from './host.js';
import { Resource } from './resources.js';
import { InputStream, OutputStream, type Parent } from './streams.js';

export class TerminalInput extends Resource {}
export class TerminalOutput extends Resource {}

/** The standard streams are the sandbox's: a guest that drops its handle closes nothing. */
const STDIO: Parent = { dropped: false };

export function cli(ctx: Context) {
  const env: [string, string][] = ctx.env.map((kv) => {
    const at = kv.indexOf('=');
    return [kv.slice(0, at), kv.slice(at + 1)];
  });
  // A standard stream the embedder left closed (null) is a stream whose every operation fails
  // (last-operation-failed, bad-descriptor), as preview1's descriptor would answer badf.
  const closed = new FdEntry(-1, FILETYPE.UNKNOWN, 0, 0, null, {});
  const stdio = (n: number) => (ctx.fds.has(n) ? ctx.fds.get(n) : closed);
  const tty = (n: number) => { const e = stdio(n); return e.hostFd >= 0 && libc.isatty(e.hostFd) === 1; };
  return {
    'wasi:cli/environment': {
      getArguments: () => [...ctx.args],
      getEnvironment: () => env,
      initialCwd: () => undefined,
    },
    'wasi:cli/exit': {
      exit: (status: { tag: 'ok' | 'err' }) => exitComponent(ctx, status.tag === 'ok' ? 0 : 1),
    },
    'wasi:cli/stdin': {
      getStdin: () => new InputStream(ctx, stdio(0), null, STDIO),
    },
    'wasi:cli/stdout': {
      getStdout: () => new OutputStream(ctx, stdio(1), null, STDIO),
    },
    'wasi:cli/stderr': {
      getStderr: () => new OutputStream(ctx, stdio(2), null, STDIO),
    },
    'wasi:cli/terminal-input': { TerminalInput },
    'wasi:cli/terminal-output': { TerminalOutput },
    'wasi:cli/terminal-stdin': { getTerminalStdin: () => (tty(0) ? new TerminalInput(ctx) : undefined) },
    'wasi:cli/terminal-stdout': { getTerminalStdout: () => (tty(1) ? new TerminalOutput(ctx) : undefined) },
    'wasi:cli/terminal-stderr': { getTerminalStderr: () => (tty(2) ? new TerminalOutput(ctx) : undefined) },
  };
}
