// Rebuilds the prebuilt C guests: every test/c/*.c becomes test/fixtures/c/NAME.wasm, built
// with clang --target=wasm32-wasi against include/zerocopy.h (Debian: clang, lld, wasi-libc,
// libclang-rt-14-dev-wasm32). test/c/native/ holds programs built only natively, by the tests;
// test/c/components/ the sources of component fixtures (build-component-fixtures.js).
// The fixtures are committed because a fresh machine has gcc but no wasm32 C toolchain; each
// gets NAME.wasm.sha256 recording the sources it was built from, which the tests compare.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

/**
 * The hash of a C guest's sources: the .c file and the header. The tests import this (so
 * that both sides hash the same way) to tell a stale fixture.
 */
export function sourceHash(cFile) {
  const h = createHash('sha256');
  for (const f of [cFile, join(root, 'include', 'zerocopy.h')]) h.update(readFileSync(f));
  return h.digest('hex');
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  process.chdir(root);
  const outDir = join('test', 'fixtures', 'c');
  mkdirSync(outDir, { recursive: true });
  for (const file of readdirSync(join('test', 'c')).filter((f) => f.endsWith('.c')).sort()) {
    const name = file.slice(0, -2);
    const src = join('test', 'c', file);
    const out = join(outDir, `${name}.wasm`);
    try {
      execFileSync('clang', ['--target=wasm32-wasi', '-O2', '-Wall', '-Werror', '-Wl,--strip-all', '-I', 'include', src, '-o', out],
        { stdio: 'inherit' });
    } catch (e) {
      console.error(`build-c-fixtures: clang failed on ${src}` +
        (e.code === 'ENOENT' ? ' (clang not found: apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32)' : ''));
      process.exit(1);
    }
    writeFileSync(`${out}.sha256`, sourceHash(src) + '\n');
    console.log(`built ${out}`);
  }
}
