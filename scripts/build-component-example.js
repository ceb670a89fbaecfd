// Rebuilds examples/send_file_component/send_file.wasm from send_file.c: clang compiles the
// freestanding C to a core module (Debian's clang and lld), jco embeds the WIT world
// wasm-zerocopy:zerocopy/send-file (wit/) and makes the component (wasm-tools' component new,
// in-process). The component is committed, so running the example needs neither.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = join(root, 'examples', 'send_file_component');
const tmp = mkdtempSync(join(tmpdir(), 'wzc-example-'));
try {
  const core = join(tmp, 'send_file.core.wasm');
  execFileSync('clang', ['--target=wasm32', '-nostdlib', '-O2', '-Wall', '-Werror', '-Wl,--no-entry', '-Wl,--strip-debug',
    '-o', core, join(dir, 'send_file.c')], { stdio: 'inherit' });
  const jco = await import('@bytecodealliance/jco');
  const embedded = await jco.componentEmbed({ binary: readFileSync(core), witPath: join(root, 'wit'), world: 'send-file' });
  const component = await jco.componentNew(embedded, []);
  writeFileSync(join(dir, 'send_file.wasm'), component);
  console.log(`examples/send_file_component/send_file.wasm: ${component.length} bytes`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
