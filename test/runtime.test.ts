// The embedding API and what the CLI promises about a guest's process: argv, environment,
// exit status, traps, and standard streams that are not kernel descriptors.
import { suite } from './helpers/suite.js';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Sandbox, errno } from '../host/index.js';
import * as libc from '../host/native/libc.js';
import { F } from '../host/native/platform.js';
import { hostPipe, tcpConnect, tcpListener } from './helpers/fds.js';
import { CLI, GUESTS, ROOT, loadGuest, openFds, runCli, tempDir } from './helpers/guest.js';
import { Caller, SIGNATURES, kindsOf, type Module } from './helpers/imports.js';

const EXAMPLES = join(ROOT, 'examples');
const HELLO = readFileSync(join(EXAMPLES, 'hello.txt'), 'utf8');

// ---------------------------------------------------------------------------------------
const cli = suite('the guest process under the CLI');

cli("the guest's argv[0] is the module path as given, followed by its arguments", () => {
  const wasm = join(GUESTS, 'env.wasm');
  const r = runCli(['run', wasm, 'one', '--two']);
  assert.is(r.status, 0, r.stderr);
  assert.ok(r.stdout.startsWith(`argv[0]=${wasm}\nargv[1]=one\nargv[2]=--two\n`), r.stdout);
});

cli('the guest sees only the environment given with --env, none of the host\'s', () => {
  const r = spawnSync(process.execPath, [CLI, 'run', '--env', 'GREETING=hello world', '--env=EMPTY=',
    join(GUESTS, 'env.wasm')], { encoding: 'utf8', env: { ...process.env, SECRET_HOST_VAR: 'leak' } });
  assert.is(r.status, 0, r.stderr);
  const env = r.stdout.split('\n').filter((l) => l.startsWith('env '));
  assert.equal(env.sort(), ['env EMPTY=', 'env GREETING=hello world']);
});

cli('a trap prints one line on stderr and exits 134', () => {
  const r = runCli(['run', join(GUESTS, 'trap.wasm')]);
  assert.is(r.status, 134);
  assert.match(r.stderr, /^wasm-zerocopy: .*trap\.wasm: trap: unreachable\n$/);
});

cli('--help prints the usage and exits 0', () => {
  const r = runCli(['run', '--help']);
  assert.is(r.status, 0);
  assert.match(r.stdout, /^usage: wasm-zerocopy run /);
});

cli("README's AssemblyScript example prints the file", () => {
  const r = runCli(['run', '--dir', `${EXAMPLES}::/`, join(GUESTS, 'hello_sendfile.wasm')]);
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout, HELLO);
});

cli.run();

// ---------------------------------------------------------------------------------------
const embedding = suite('the Sandbox embedding API');

embedding('sendfile to a captured stdout copies through the host, with the same result', () => {
  const chunks: Buffer[] = [];
  const sandbox = new Sandbox({
    args: ['zcat', '/hello.txt'],
    preopens: { '/': EXAMPLES },
    stdout: { write: (b) => { chunks.push(Buffer.from(b)); return b.length; } },
  });
  try {
    const status = sandbox.start(new WebAssembly.Instance(loadGuest(join(GUESTS, 'zcat.wasm')), sandbox.getImportObject()));
    assert.is(status, 0);
    assert.is(Buffer.concat(chunks).toString(), HELLO);
  } finally {
    sandbox.close();
  }
});

embedding('a captured stdout that takes a few bytes at a time still receives every byte, in order', () => {
  let got = '';
  const sandbox = new Sandbox({
    args: ['zcat', '/hello.txt'],
    preopens: { '/': EXAMPLES },
    stdout: { write: (b) => { const n = Math.min(3, b.length); got += Buffer.from(b.subarray(0, n)).toString(); return n; } },
  });
  try {
    const status = sandbox.start(new WebAssembly.Instance(loadGuest(join(GUESTS, 'zcat.wasm')), sandbox.getImportObject()));
    assert.is(status, 0);
    assert.is(got, HELLO);
  } finally {
    sandbox.close();
  }
});

embedding('proc_exit returns the exit code from start()', () => {
  let stderr = '';
  const sandbox = new Sandbox({ args: ['zcat', '/missing'], preopens: { '/': EXAMPLES },
    stderr: { write: (b) => { stderr += Buffer.from(b).toString(); return b.length; } } });
  try {
    const status = sandbox.start(new WebAssembly.Instance(loadGuest(join(GUESTS, 'zcat.wasm')), sandbox.getImportObject()));
    assert.is(status, 1);
    assert.is(stderr, 'zcat: /missing: noent\n');
  } finally {
    sandbox.close();
  }
});

embedding('a preopen that does not exist is a clear error, and nothing is left open', () => {
  const before = openFds();
  assert.throws(() => new Sandbox({ preopens: { '/a': EXAMPLES, '/b': '/nonexistent/dir' } }),
    /cannot open directory "\/nonexistent\/dir": ENOENT/);
  assert.equal(openFds(), before);
});

embedding('an instance can be started only once per Sandbox', () => {
  const sandbox = new Sandbox({ args: ['env'] , stdout: null });
  try {
    const module = loadGuest(join(GUESTS, 'env.wasm'));
    sandbox.start(new WebAssembly.Instance(module, sandbox.getImportObject()));
    assert.throws(() => sandbox.start(new WebAssembly.Instance(module, sandbox.getImportObject())), /already started/);
  } finally {
    sandbox.close();
  }
});

embedding('every host descriptor a sandbox holds is close-on-exec: a child process of the embedder inherits none', () => {
  // One descriptor of each way one comes into the table: a preopen, path_open of a file and of
  // a directory, a granted descriptor, an inherited stdout and the description of its own that
  // fd_fdstat_set_flags(NONBLOCK) gives it over a blocking pipe, a pipe, an accepted socket.
  const dir = tempDir();
  const [pr, pw] = hostPipe();
  const l = tcpListener();
  const client = tcpConnect(l.port);
  const c = new Caller({ preopens: { '/': dir }, stdout: pw });
  try {
    writeFileSync(join(dir, 'f'), 'x');
    mkdirSync(join(dir, 'd'));
    const kinds = new Map<number, string>([[3, 'preopen'], [1, 'stdout']]);
    const open = (name: string, oflags: number, what: string) => {
      const [p, n] = c.str(name);
      assert.is(c.wasi.path_open(3, 0, p, n, oflags, 0x2n /* fd_read */, 0n, 0, Caller.RET), errno.success, name);
      kinds.set(c.u32(Caller.RET), what);
    };
    open('f', 0, 'path_open of a file');
    open('d', 2 /* DIRECTORY */, 'path_open of a directory');
    const listener = c.sandbox.grant(l.fd);
    kinds.set(listener, 'a granted socket');
    const [r] = c.pipe();
    kinds.set(r, 'zerocopy.pipe');
    assert.is(c.wasi.sock_accept(listener, 0, Caller.RET), errno.success);
    kinds.set(c.u32(Caller.RET), 'sock_accept');
    const before = c.sandbox.fds.get(1).hostFd;
    assert.is(c.wasi.fd_fdstat_set_flags(1, 4 /* NONBLOCK */), errno.success);
    assert.is.not(c.sandbox.fds.get(1).hostFd, before, 'stdout got a description of its own');
    kinds.set(1, 'stdout reopened for NONBLOCK');

    const host = new Map([...kinds].map(([fd, what]) => [c.sandbox.fds.get(fd).hostFd, what]));
    for (const [hostFd, what] of host) assert.is(libc.fcntl(hostFd, F.GETFD, 0) & 1 /* FD_CLOEXEC */, 1, `${what}: FD_CLOEXEC`);
    // The effect itself: what a child process has open.
    const child = spawnSync('/bin/sh', ['-c', 'ls /proc/self/fd'], { encoding: 'utf8' });
    assert.is(child.status, 0, child.stderr);
    const inherited = child.stdout.split('\n').map(Number).filter((fd) => host.has(fd)).map((fd) => host.get(fd));
    assert.equal(inherited, []);
  } finally {
    c.close();
    for (const fd of [pr, pw, l.fd, client]) libc.close(fd);
    rmSync(dir, { recursive: true, force: true });
  }
});

embedding('every import takes exactly its wasm parameters, so that no call pays for an arity mismatch or an arguments array', () => {
  // V8 calls a JavaScript import whose parameter count matches the wasm signature's directly;
  // a rest parameter (length 0) takes the slower path and builds an array per call (guard.ts).
  const sandbox = new Sandbox({ stdin: null, stdout: null, stderr: null });
  try {
    const imports = sandbox.getImportObject() as Record<Module, Record<string, (...a: unknown[]) => number>>;
    for (const module of Object.keys(SIGNATURES) as Module[]) {
      for (const name of Object.keys(SIGNATURES[module])) {
        assert.is(imports[module][name].length, kindsOf(module, name).length, `${module}.${name}`);
      }
    }
  } finally {
    sandbox.close();
  }
});

embedding.run();

// ---------------------------------------------------------------------------------------
const boundary = suite('the preopen boundary');

// zcat opens each name beneath its preopen with path_open (following symlinks) and prints the
// WASI errno on failure: notcapable is 76. A leading "/" is stripped by zcat, so "//x" reaches
// path_open as the absolute path "/x".
const escapes: [string, string][] = [
  ['a .. chain', '../outside/secret.txt'],
  ['a deeper .. chain', 'sub/../../outside/secret.txt'],
  ['an absolute path', '//etc/hostname'],
  ['a symlink to an absolute path outside', 'abs-link'],
  ['a relative symlink that climbs out', 'rel-link'],
  ['a symlink to /proc/self/fd', 'magic-link/0'],
];

for (const [what, name] of escapes) {
  boundary(`${what} cannot reach a file outside the preopen`, () => {
    const top = tempDir('wzc-bound-');
    try {
      mkdirSync(join(top, 'jail', 'sub'), { recursive: true });
      mkdirSync(join(top, 'outside'));
      writeFileSync(join(top, 'outside', 'secret.txt'), 'SECRET');
      symlinkSync(join(top, 'outside', 'secret.txt'), join(top, 'jail', 'abs-link'));
      symlinkSync('../outside/secret.txt', join(top, 'jail', 'rel-link'));
      symlinkSync('/proc/self/fd', join(top, 'jail', 'magic-link'));
      const r = runCli(['run', '--dir', `${join(top, 'jail')}::/`, join(GUESTS, 'zcat.wasm'), name]);
      assert.is(r.status, 1);
      assert.not.match(r.stdout, /SECRET/);
      assert.is(r.stderr, `zcat: ${name}: notcapable\n`);
    } finally {
      rmSync(top, { recursive: true, force: true });
    }
  });
}

boundary('a symlink that stays inside the preopen is followed', () => {
  const top = tempDir('wzc-bound-');
  try {
    mkdirSync(join(top, 'sub'));
    writeFileSync(join(top, 'sub', 'in.txt'), 'inside');
    symlinkSync('sub/in.txt', join(top, 'link'));
    const r = runCli(['run', '--dir', `${top}::/`, join(GUESTS, 'zcat.wasm'), 'link']);
    assert.is(r.status, 0, r.stderr);
    assert.is(r.stdout, 'inside');
  } finally {
    rmSync(top, { recursive: true, force: true });
  }
});

boundary.run();
