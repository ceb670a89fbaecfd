// The glue cache. Transpiling takes about a second (jco runs its own transpiler, a component,
// in this process), so the generated JavaScript and core modules are kept, keyed by a SHA-256
// of the component's bytes, jco's version and the transpile options: the same component runs
// again without loading jco at all.
//
// Where: $WASM_ZEROCOPY_CACHE if set, else $XDG_CACHE_HOME/wasm-zerocopy, else
// ~/.cache/wasm-zerocopy (the XDG base directory specification). A per-user cache, not
// node_modules/.cache: the package may be installed read-only (globally, in an image), and
// the glue is code this process imports, so it lives where only this user can write (0700).
// An entry is written to a temporary directory and renamed into place, so a reader never sees
// half of one, and two processes filling the same entry at once both succeed.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

export function defaultCacheDir(): string {
  const env = process.env;
  if (env.WASM_ZEROCOPY_CACHE) return env.WASM_ZEROCOPY_CACHE;
  const base = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'wasm-zerocopy');
}

export function cacheKey(bytes: Uint8Array, jcoVersion: string, options: unknown): string {
  return createHash('sha256').update(`jco ${jcoVersion}\n${JSON.stringify(options)}\n`).update(bytes).digest('hex');
}

/** The directory of an entry, or null when it is not there yet. */
export function lookup(root: string, key: string, marker: string): string | null {
  const dir = join(root, 'glue', key);
  return existsSync(join(dir, marker)) ? dir : null;
}

/**
 * Writes an entry's files; returns its directory. If the cache cannot be written (a read-only
 * home), the files go to a private temporary directory instead, used for this run only.
 */
export function store(root: string, key: string, files: Record<string, Uint8Array>): string {
  let glue: string;
  try {
    glue = join(root, 'glue');
    mkdirSync(glue, { recursive: true, mode: 0o700 });
  } catch {
    glue = mkdtempSync(join(tmpdir(), 'wasm-zerocopy-glue-'));
  }
  const tmp = mkdtempSync(join(glue, `.${key}-`));
  for (const [name, data] of Object.entries(files)) writeFileSync(join(tmp, name), data);
  const dir = join(glue, key);
  try {
    renameSync(tmp, dir);
  } catch (e) {
    // Another process stored the same entry first: theirs is identical.
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(dir)) throw e;
  }
  return dir;
}
