// Running guests from tests: in this process through the Sandbox API (stdout and stderr go
// to temporary files, so they are real kernel descriptors), or as the CLI in a child process.
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Sandbox, type SandboxOptions } from '../../host/index.js';

/** The package root (tests run from build/test/..., two levels below it). */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const GUESTS = join(ROOT, 'build', 'guests');
export const CLI = join(ROOT, 'build', 'host', 'cli.js');

export interface GuestResult { status: number; stdout: string; stderr: string }

const modules = new Map<string, WebAssembly.Module>();
export function loadGuest(path: string): WebAssembly.Module {
  let m = modules.get(path);
  if (m === undefined) {
    m = new WebAssembly.Module(readFileSync(path));
    modules.set(path, m);
  }
  return m;
}

/** Runs a guest to completion in this process. `setup` may grant extra descriptors. */
export function runGuest(path: string, options: Omit<SandboxOptions, 'stdout' | 'stderr'> = {},
  setup?: (sandbox: Sandbox) => void): GuestResult {
  const dir = mkdtempSync(join(tmpdir(), 'wzc-out-'));
  const out = openSync(join(dir, 'stdout'), 'w+');
  const err = openSync(join(dir, 'stderr'), 'w+');
  const sandbox = new Sandbox({ args: [path], ...options, stdout: out, stderr: err });
  try {
    setup?.(sandbox);
    const instance = new WebAssembly.Instance(loadGuest(path), sandbox.getImportObject());
    const status = sandbox.start(instance);
    return { status, stdout: readFileSync(join(dir, 'stdout'), 'utf8'), stderr: readFileSync(join(dir, 'stderr'), 'utf8') };
  } finally {
    sandbox.close();
    closeSync(out);
    closeSync(err);
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Runs the CLI in a child process. stdout and stderr are files, not Node's pipes: those are
 * socketpairs, on which a guest's sock_shutdown(1) would succeed where a terminal, a file or a
 * shell pipe says ENOTSOCK. stdin is /dev/null unless `input` is given.
 */
export function runCli(args: string[], input?: string): GuestResult {
  const dir = mkdtempSync(join(tmpdir(), 'wzc-cli-'));
  const out = openSync(join(dir, 'stdout'), 'w+');
  const err = openSync(join(dir, 'stderr'), 'w+');
  try {
    const r = spawnSync(process.execPath, [CLI, ...args],
      { input, stdio: [input === undefined ? 'ignore' : 'pipe', out, err], timeout: 60_000 });
    return {
      status: r.status ?? -1,
      stdout: readFileSync(join(dir, 'stdout'), 'utf8'),
      stderr: readFileSync(join(dir, 'stderr'), 'utf8'),
    };
  } finally {
    closeSync(out);
    closeSync(err);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A fresh temporary directory; remove it with rmSync when done. */
export function tempDir(prefix = 'wzc-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** The descriptors this process holds, for leak checks. */
export function openFds(): string[] {
  return readdirSync('/proc/self/fd').sort();
}
