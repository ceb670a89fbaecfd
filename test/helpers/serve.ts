// The serve command's server (host/serve.ts) for tests: a docroot made of the files given, a
// listener on a free port, the access log and stderr in files. `stop()` asks for the graceful
// stop and waits; `close()` removes what the server left. The fuzz, browser and bench suites
// start it the same way.
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { startServer, type ServeOptions, type Server } from '../../host/serve.js';
import { tempDir } from './guest.js';

export { waitFor } from './wait.js';

/** A docroot entry: file contents, or { symlink: target }, or { dir: true }. */
export type Entry = string | Buffer | { symlink: string } | { dir: true };

export interface TestServer {
  port: number;
  url: string;
  /** The docroot's path on the host. */
  root: string;
  server: Server;
  /** The access log (stdout) and stderr so far. */
  log(): string;
  errors(): string;
  /** A graceful stop; resolves with the workers' exit codes. */
  stop(): Promise<number[]>;
  /** Stops (if still running) and removes the temporary files. */
  close(): Promise<void>;
}

/** Writes entries under `root` ("a/b.txt": contents), creating folders as needed. */
export function writeTree(root: string, entries: Record<string, Entry>): void {
  for (const [name, e] of Object.entries(entries)) {
    const p = join(root, name);
    mkdirSync(dirname(p), { recursive: true });
    if (typeof e === 'string' || Buffer.isBuffer(e)) writeFileSync(p, e);
    else if ('symlink' in e) symlinkSync(e.symlink, p);
    else mkdirSync(p, { recursive: true });
  }
}

export function startTestServer(entries: Record<string, Entry> = {}, options: ServeOptions = {}): TestServer {
  const tmp = tempDir('wzc-serve-');
  const root = options.root ?? join(tmp, 'root');
  mkdirSync(root, { recursive: true });
  writeTree(root, entries);
  const out = openSync(join(tmp, 'stdout'), 'w+');
  const err = openSync(join(tmp, 'stderr'), 'w+');
  let server: Server;
  try {
    server = startServer({ listen: ['127.0.0.1:0'], ...options, root, stdout: out, stderr: err });
  } catch (e) {
    closeSync(out); closeSync(err); rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  const port = Number(/:(\d+)\/$/.exec(server.urls[0])![1]);
  let ended = false;
  void server.done.then(() => { ended = true; });
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    root,
    server,
    log: () => readFileSync(join(tmp, 'stdout'), 'utf8'),
    errors: () => readFileSync(join(tmp, 'stderr'), 'utf8'),
    stop: () => server.stop(),
    async close() {
      if (!ended) await server.stop();
      closeSync(out);
      closeSync(err);
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/** Whether a program is on PATH (curl, nginx, ...), for tests that need one. */
export function have(program: string): boolean {
  return (process.env.PATH ?? '').split(':').some((d) => {
    try { return readFileSync(join(d, program)).length > 0; } catch { return false; }
  });
}
