// The package as people install it (issue 8, items 13-16): `npm pack`, installed into a
// temporary project (the tarball from disk; its dependency koffi from npm's cache, or the
// registry), then used as the README says: the CLI, the embedding example, an AssemblyScript
// guest compiled against the installed SDK, and a C guest against the installed header.
import { suite } from './helpers/suite.js';
import * as assert from 'uvu/assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ROOT, tempDir } from './helpers/guest.js';

const test = suite('the installed package', { timeout: 180_000 });

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const HELLO = readFileSync(join(ROOT, 'examples', 'hello.txt'), 'utf8');

/** The first fenced block of `lang` after the heading `heading`, verbatim. */
function block(heading: string, lang: string, nth = 0): string {
  const at = README.indexOf(`\n## ${heading}\n`);
  assert.ok(at >= 0, `README has no section "${heading}"`);
  const blocks = [...README.slice(at).matchAll(new RegExp('\\n```' + lang + '\\n([^]*?)\\n```', 'g'))];
  assert.ok(blocks.length > nth, `README's "${heading}" has no ${lang} block ${nth}`);
  return blocks[nth][1] + '\n';
}

let project = '';
let pkg = '';
let files: string[] = [];

function sh(cmd: string, args: string[], cwd = project) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
}

test.before(() => {
  project = tempDir('wzc-pkg-');
  // --ignore-scripts: `prepare` would rebuild build/ under the running tests; it is built.
  const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', project],
    { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })) as { filename: string; files: { path: string }[] }[];
  files = packed[0].files.map((f) => f.path);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'try-wasm-zerocopy', private: true, type: 'module' }));
  const install = sh('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', join(project, packed[0].filename)]);
  assert.is(install.status, 0, `npm install of the tarball failed: ${install.stderr}`);
  pkg = join(project, 'node_modules', 'wasm-zerocopy');
});

test('the tarball has the LICENSE package.json names, and nothing from test/', () => {
  const meta = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as { license: string };
  assert.is(meta.license, 'Apache-2.0');
  assert.ok(files.includes('LICENSE'), 'LICENSE is packed');
  assert.match(readFileSync(join(pkg, 'LICENSE'), 'utf8'), /^\s*Apache License\s+Version 2\.0, January 2004/);
  assert.equal(files.filter((f) => f.startsWith('test/') || f.startsWith('build/test/')), []);
});

test('every source map\'s sources are in the package', () => {
  const maps = files.filter((f) => f.endsWith('.map'));
  assert.ok(maps.length > 0);
  for (const m of maps) {
    const map = JSON.parse(readFileSync(join(pkg, m), 'utf8')) as { sources: string[] };
    for (const src of map.sources) assert.ok(existsSync(join(pkg, dirname(m), src)), `${m} cites ${src}, not in the package`);
  }
});

test('the docs cite no file the package lacks (a repository file is named as the repository\'s)', () => {
  for (const doc of ['README.md', ...files.filter((f) => f.startsWith('docs/'))]) {
    const text = readFileSync(join(pkg, doc), 'utf8').split('\n## Tests and benchmarks\n')[0];
    for (const m of text.matchAll(/(the repository's )?`((?:[\w.-]+\/)+[\w.-]+\.(?:ts|js|c|h|md|json|txt|wasm))`/gi)) {
      if (m[1] !== undefined || /[A-Z]{3,}/.test(m[2])) continue; // "the repository's x", or a pattern such as NAME.ts
      // `wasm-zerocopy/...` is an export of package.json: where it leads must be packed.
      const path = m[2].startsWith('wasm-zerocopy/') ? m[2].slice('wasm-zerocopy/'.length).replace(/^guests\//, 'build/guests/') : m[2];
      assert.ok(files.includes(path) || existsSync(join(pkg, path)), `${doc} cites ${m[2]}, not in the package`);
    }
  }
});

test('the installed CLI runs a bundled guest', () => {
  const cli = join(project, 'node_modules', '.bin', 'wasm-zerocopy');
  const v = sh(cli, ['--version']);
  assert.is(v.stdout, 'wasm-zerocopy 0.1.0\n', v.stderr);
  const r = sh(cli, ['run', '--dir', `${join(pkg, 'examples')}::/`, join(pkg, 'build', 'guests', 'zcat.wasm'), '/hello.txt']);
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout, HELLO);
});

test('README\'s embedding examples run unchanged from the installed package', () => {
  writeFileSync(join(project, 'embed.mjs'), block('Embedding it in Node', 'js', 0));
  const r = sh(process.execPath, ['embed.mjs']);
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout, HELLO);
  // The run() example serves one client in each of two workers on 127.0.0.1:8081.
  const runExample = block('Embedding it in Node', 'js', 1);
  assert.match(runExample, /listen: \['127\.0\.0\.1:8081'\]/);
});

test('an AssemblyScript guest compiles against the installed SDK as the README says, and runs', () => {
  // The compiler and the WASI shim, as `npm install --save-dev` would put them.
  for (const dep of ['assemblyscript', '@assemblyscript/wasi-shim', 'binaryen', 'long']) {
    if (existsSync(join(project, 'node_modules', dep))) continue; // a dependency of the package's own
    mkdirSync(dirname(join(project, 'node_modules', dep)), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules', dep), join(project, 'node_modules', dep));
  }
  writeFileSync(join(project, 'guest.ts'), block('A guest that calls sendfile', 'ts'));
  const commands = block('A guest that calls sendfile', 'sh', 0).trim().split('\n');
  const asc = commands.find((l) => l.startsWith('npx asc '))!.split(' ').slice(2);
  const c = sh(process.execPath, [join(project, 'node_modules', 'assemblyscript', 'bin', 'asc.js'), ...asc]);
  assert.is(c.status, 0, c.stdout + c.stderr);
  const runLine = commands.find((l) => l.startsWith('npx wasm-zerocopy '))!.split(' ').slice(2);
  const r = sh(join(project, 'node_modules', '.bin', 'wasm-zerocopy'), runLine);
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout, HELLO);
});

test('a C guest compiles against the installed header as the README says, and runs', () => {
  const canC = spawnSync('sh', ['-c', `echo 'int main(void){return 0;}' | clang --target=wasm32-wasi -x c - -o ${join(project, 'probe.wasm')}`]).status === 0;
  if (!canC) {
    process.stdout.write('\n  skipped: the C guest part: clang cannot build for wasm32-wasi here (Debian: clang lld wasi-libc libclang-rt-14-dev-wasm32)\n');
    return;
  }
  writeFileSync(join(project, 'hello.c'), block('A guest that calls sendfile', 'c'));
  const commands = block('A guest that calls sendfile', 'sh', 1).trim().split('\n');
  const cc = commands.find((l) => l.startsWith('clang '))!.split(' ');
  const c = sh(cc[0], cc.slice(1));
  assert.is(c.status, 0, c.stderr);
  const runLine = commands.find((l) => l.startsWith('npx wasm-zerocopy '))!.split(' ').slice(2);
  const r = sh(join(project, 'node_modules', '.bin', 'wasm-zerocopy'), runLine);
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout, HELLO);
});

test.after(() => {
  if (project !== '') rmSync(project, { recursive: true, force: true });
});

test.run();
