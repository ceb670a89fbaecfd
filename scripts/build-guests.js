// Compiles every AssemblyScript guest in assembly/guests/ to build/guests/NAME.wasm, with
// asconfig.json (wasi-shim) and the release target. Run by `npm run build`. Generated sources
// come first: the serve guest's MIME table (scripts/gen-mime.js).
import { readdirSync, mkdirSync } from 'node:fs';
import { join, basename } from 'node:path';
import { main } from 'assemblyscript/asc';
import './gen-mime.js';

// asc resolves the `lib` folder of the extended wasi-shim config against the working
// directory, so everything runs from the package root with relative paths.
process.chdir(new URL('..', import.meta.url).pathname);
const srcDir = join('assembly', 'guests');
const outDir = join('build', 'guests');
mkdirSync(outDir, { recursive: true });

let failed = 0;
for (const file of readdirSync(srcDir).filter((f) => f.endsWith('.ts')).sort()) {
  const name = basename(file, '.ts');
  const { error, stderr } = await main([
    join(srcDir, file), '--config', 'asconfig.json', '--target', 'release',
    '--outFile', join(outDir, `${name}.wasm`),
  ]);
  if (error) {
    failed++;
    process.stderr.write(`asc ${file}: ${error.message}\n${stderr.toString()}`);
  }
}
if (failed) process.exit(1);
