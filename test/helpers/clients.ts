// Clients and a long-running CLI for the command line's tests: a free port, a download that
// waits for the server to come up, and the CLI as a child process whose output is watched.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { closeSync } from 'node:fs';
import { connect } from 'node:net';
import { boundPort } from '../../host/index.js';
import { listenOn } from '../../host/listen.js';
import { CLI } from './guest.js';

/** A port nothing listens on now (bound to port 0, then released). */
export function freePort(host = '127.0.0.1'): number {
  const fd = listenOn(host.includes(':') ? `[${host}]:0` : `${host}:0`);
  const port = boundPort(fd);
  closeSync(fd);
  return port;
}

/**
 * Everything the server sends until it closes (after sending `send`, if given), or its first
 * `limit` bytes, after which the client hangs up; retries a refused connection for up to 10 s,
 * so that it may race a server's start.
 */
export async function download(port: number, host = '127.0.0.1', send?: string, limit = Infinity): Promise<Buffer> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await new Promise<Buffer>((resolve, reject) => {
        const s = connect(port, host, () => { if (send !== undefined) s.write(send); });
        const bufs: Buffer[] = [];
        let got = 0;
        s.on('data', (d) => {
          bufs.push(d);
          got += d.length;
          if (got >= limit) { s.destroy(); resolve(Buffer.concat(bufs)); }
        });
        // 'close', not 'end': the descriptor is gone by then, which leak checks rely on.
        s.on('close', () => resolve(Buffer.concat(bufs)));
        s.on('error', reject);
      });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ECONNREFUSED' || attempt >= 100) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export interface CliProcess {
  child: ChildProcessWithoutNullStreams;
  readonly out: string;
  readonly err: string;
  exited: Promise<number | null>;
  /** Resolves when stdout (or stderr) matches `re`; rejects after `ms`. */
  waitFor(re: RegExp, ms?: number, stream?: 'out' | 'err'): Promise<void>;
  kill(): void;
}

/** The CLI as a child process; kill() it in a finally. */
export function startCli(args: string[], options: { cwd?: string } = {}): CliProcess {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['pipe', 'pipe', 'pipe'], cwd: options.cwd });
  child.stdin.end();
  let out = '', err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));
  return {
    child, exited,
    get out() { return out; },
    get err() { return err; },
    waitFor(re, ms = 10_000, stream = 'out') {
      return new Promise<void>((resolve, reject) => {
        const text = () => (stream === 'out' ? out : err);
        const check = () => {
          if (re.test(text())) { clearTimeout(timer); child.stdout.off('data', check); child.stderr.off('data', check); resolve(); }
        };
        const timer = setTimeout(() => {
          child.stdout.off('data', check); child.stderr.off('data', check);
          reject(new Error(`no output matching ${re} within ${ms} ms; stdout: ${out}\nstderr: ${err}`));
        }, ms);
        child.stdout.on('data', check);
        child.stderr.on('data', check);
        check();
      });
    },
    kill() { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); },
  };
}
