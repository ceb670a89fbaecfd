// The preview1 command adapter `componentize` uses (vendor/wasi-preview1-adapter/): taken from
// the npm package named in that folder's README.md, by npm itself (`npm pack`, which checks the
// tarball against the registry's integrity hash), and compared with the SHA-256 recorded there.
//
//   node scripts/fetch-adapter.js           writes the file (after checking its SHA-256)
//   node scripts/fetch-adapter.js --check   only compares the checked-in file with the package's
//
// Needs npm and tar, and the npm registry; nothing else runs it (the tests compare the
// checked-in file with the recorded hash offline).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const DIR = fileURLToPath(new URL('../vendor/wasi-preview1-adapter/', import.meta.url));
const FILE = 'wasi_snapshot_preview1.command.wasm';

/** The package, the path inside it and the SHA-256, as README.md records them. */
export function provenance() {
  const readme = readFileSync(join(DIR, 'README.md'), 'utf8');
  const field = (name) => {
    const m = new RegExp(`^- ${name}: \`([^\`]+)\``, 'm').exec(readme);
    if (m === null) throw new Error(`vendor/wasi-preview1-adapter/README.md records no ${name}`);
    return m[1];
  };
  return { pkg: field('package'), path: field('path'), sha256: field('sha256') };
}

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

function fromPackage({ pkg, path }) {
  const tmp = mkdtempSync(join(tmpdir(), 'wasm-zerocopy-adapter-'));
  try {
    const tgz = execFileSync('npm', ['pack', '--silent', '--pack-destination', tmp, pkg], { encoding: 'utf8' }).trim().split('\n').pop();
    execFileSync('tar', ['-xzf', join(tmp, tgz), '-C', tmp, `package/${path}`]);
    return readFileSync(join(tmp, 'package', path));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const p = provenance();
  const bytes = fromPackage(p);
  if (sha256(bytes) !== p.sha256) {
    console.error(`${p.pkg} ${p.path} has SHA-256 ${sha256(bytes)}, not the recorded ${p.sha256}`);
    process.exit(1);
  }
  if (process.argv.includes('--check')) {
    const ours = readFileSync(join(DIR, FILE));
    if (!ours.equals(bytes)) {
      console.error(`vendor/wasi-preview1-adapter/${FILE} differs from ${p.path} of ${p.pkg}`);
      process.exit(1);
    }
    console.log(`vendor/wasi-preview1-adapter/${FILE} is ${p.path} of ${p.pkg} (sha256 ${p.sha256})`);
  } else {
    writeFileSync(join(DIR, FILE), bytes);
    console.log(`wrote vendor/wasi-preview1-adapter/${FILE} from ${p.pkg}`);
  }
}
