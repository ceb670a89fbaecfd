// Writes the TypeScript types jco generates for the WIT package (wit/, world
// wasm-zerocopy:zerocopy/guest) into wit/types/: what a JavaScript host or guest of the
// interface sees. test/wit_types.test.ts regenerates them and fails on any difference, so the
// checked-in types always match wit/. Run after changing wit/: node scripts/wit-types.js
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const WORLD = 'wasm-zerocopy:zerocopy/guest';

export async function witTypes(root) {
  const jco = await import('@bytecodealliance/jco');
  return jco.types(join(root, 'wit'), { worldName: WORLD, instantiation: 'sync' });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const out = join(root, 'wit', 'types');
  rmSync(out, { recursive: true, force: true });
  for (const [name, bytes] of Object.entries(await witTypes(root))) {
    mkdirSync(dirname(join(out, name)), { recursive: true });
    writeFileSync(join(out, name), bytes);
    console.log(`wit/types/${name}`);
  }
}
