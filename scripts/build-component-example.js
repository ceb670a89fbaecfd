// Rebuilds the components written in freestanding C against wit/: the example
// (examples/send_file_component/send_file.wasm, world send-file) and the bench's
// (bench/component/bench_component.wasm, world bench; bench_portable.wasm, world
// bench-portable). clang compiles each to a core module (Debian's clang and lld), jco embeds
// the WIT world and makes the component (wasm-tools' component new, in-process). The
// components are committed, so running them needs neither.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'wzc-example-'));
const builds = [
  ['examples/send_file_component/send_file.c', 'examples/send_file_component/send_file.wasm', 'send-file', []],
  ['bench/component/bench_component.c', 'bench/component/bench_component.wasm', 'bench', []],
  ['bench/component/bench_component.c', 'bench/component/bench_portable.wasm', 'bench-portable', ['-DPORTABLE']],
];
try {
  const jco = await import('@bytecodealliance/jco');
  for (const [source, output, world, flags] of builds) {
    const core = join(tmp, 'core.wasm');
    execFileSync('clang', ['--target=wasm32', '-nostdlib', '-O2', '-Wall', '-Werror', ...flags, '-Wl,--no-entry',
      '-Wl,--strip-debug', '-o', core, join(root, source)], { stdio: 'inherit' });
    const embedded = await jco.componentEmbed({ binary: readFileSync(core), witPath: join(root, 'wit'), world });
    const component = await jco.componentNew(embedded, []);
    writeFileSync(join(root, output), component);
    console.log(`${output}: ${component.length} bytes`);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
