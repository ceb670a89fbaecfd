// wasi:cli: arguments and environment (exactly what the guest was given), exit, the standard
// streams (entries 0, 1 and 2 of the table, as preview1's, so an embedder's virtual stdio and
// the shared-description rules apply alike) and the terminal interfaces.
import * as libc from '../native/libc.js';
import type { Context } from '../sandbox/context.js';
import { ComponentExit, DISPOSE } from './host.js';
import { InputStream, OutputStream, type Parent } from './streams.js';

class TerminalInput { [DISPOSE](): void {} }
class TerminalOutput { [DISPOSE](): void {} }

/** The standard streams are the sandbox's: a guest that drops its handle closes nothing. */
const STDIO: Parent = { dropped: false };

export function cli(ctx: Context) {
  const env: [string, string][] = ctx.env.map((kv) => {
    const at = kv.indexOf('=');
    return [kv.slice(0, at), kv.slice(at + 1)];
  });
  const stdio = (n: number) => (ctx.fds.has(n) ? ctx.fds.get(n) : null);
  const closedStdio = () => { throw new Error('this standard stream was not given to the guest'); };
  const tty = (n: number) => { const e = stdio(n); return e !== null && e.hostFd >= 0 && libc.isatty(e.hostFd) === 1; };
  return {
    'wasi:cli/environment': {
      getArguments: () => [...ctx.args],
      getEnvironment: () => env,
      initialCwd: () => undefined,
    },
    'wasi:cli/exit': {
      exit: (status: { tag: 'ok' | 'err' }) => { throw new ComponentExit(status.tag === 'ok' ? 0 : 1); },
    },
    'wasi:cli/stdin': {
      getStdin: () => { const e = stdio(0); return e === null ? closedStdio() : new InputStream(ctx, e, null, STDIO); },
    },
    'wasi:cli/stdout': {
      getStdout: () => { const e = stdio(1); return e === null ? closedStdio() : new OutputStream(ctx, e, null, STDIO); },
    },
    'wasi:cli/stderr': {
      getStderr: () => { const e = stdio(2); return e === null ? closedStdio() : new OutputStream(ctx, e, null, STDIO); },
    },
    'wasi:cli/terminal-input': { TerminalInput },
    'wasi:cli/terminal-output': { TerminalOutput },
    'wasi:cli/terminal-stdin': { getTerminalStdin: () => (tty(0) ? new TerminalInput() : undefined) },
    'wasi:cli/terminal-stdout': { getTerminalStdout: () => (tty(1) ? new TerminalOutput() : undefined) },
    'wasi:cli/terminal-stderr': { getTerminalStderr: () => (tty(2) ? new TerminalOutput() : undefined) },
  };
}
