// Rebuilds the component fixtures of test/fixtures/components from their C sources in
// test/c/components (apart from test/c's own C guests, which build-c-fixtures.js builds as
// preview1 fixtures): clang for wasm32-wasi (Debian's clang, lld, wasi-libc,
// libclang-rt-14-dev-wasm32), then `componentize` (with the vendored preview1 command adapter).
// Run after `npm run build`.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { componentize } from '../build/host/component/componentize.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'wzc-fixtures-'));
try {
  for (const name of ['clock_calls']) {
    const core = join(tmp, `${name}.wasm`);
    execFileSync('clang', ['--target=wasm32-wasi', '-O2', '-Wall', '-Werror', '-Wl,--strip-debug', '-o', core,
      join(root, 'test', 'c', 'components', `${name}.c`)], { stdio: 'inherit' });
    const out = join(root, 'test', 'fixtures', 'components', `${name}.wasm`);
    writeFileSync(out, await componentize(readFileSync(core)));
    console.log(`test/fixtures/components/${name}.wasm`);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
