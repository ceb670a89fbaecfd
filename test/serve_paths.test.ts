// Path safety: a docroot with symlinks that lead out, ".." in every encoding, and a directory
// swapped for a symlink while requests run. Nothing outside the docroot is ever served: the
// target's own checks refuse what climbs above the root (400), and beneath them the sandbox
// resolves every path with openat2(RESOLVE_BENEATH), which refuses the rest (404).
import { suite } from './helpers/suite.js';
import * as assert from 'uvu/assert';
import { closeSync, mkdirSync, renameSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { get, request, Conn } from './helpers/http.js';
import { startTestServer, type TestServer } from './helpers/serve.js';
import { GUESTS, loadGuest, tempDir } from './helpers/guest.js';
import { Sandbox } from '../host/index.js';
import { listenOn } from '../host/listen.js';

const SECRET = 'TOP SECRET, outside the docroot';
let s: TestServer;
let outside = '';

const paths = suite('serve: nothing outside the docroot is served');
paths.before(() => {
  s = startTestServer({
    'in.txt': 'inside',
    'sub/x.txt': 'sub x',
    'link-in': { symlink: 'in.txt' },
    'sub/up': { symlink: '../in.txt' },
    'link-out': { symlink: '../outside/secret.txt' },
    'dir-out': { symlink: '../outside' },
    'etc': { symlink: '/etc' },
    'swap/x.txt': 'inside swap',
    'café ü.txt': 'utf-8 name',
  });
  outside = join(dirname(s.root), 'outside');
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret.txt'), SECRET);
  writeFileSync(join(outside, 'x.txt'), SECRET);
  symlinkSync(join(outside, 'secret.txt'), join(s.root, 'abs-out'));
});
paths.after(() => s.close());

paths('a symlink that stays inside is followed', async () => {
  assert.is((await request(s.port, get('/link-in'))).body.toString(), 'inside');
  assert.is((await request(s.port, get('/sub/up'))).body.toString(), 'inside');
});

const OUT = ['/link-out', '/abs-out', '/dir-out/secret.txt', '/dir-out/', '/etc/passwd', '/etc/hostname'];
for (const path of OUT) {
  paths(`${path}, through a symlink that leads out, is 404`, async () => {
    const r = await request(s.port, get(path));
    assert.is(r.status, 404);
    assert.not.match(r.body.toString(), /SECRET|root:/);
  });
}

// Every spelling of "up and out" we could think of; each must be refused or stay inside.
const TRAVERSALS = [
  '/../outside/secret.txt', '/../../../../etc/passwd', '/%2e%2e/outside/secret.txt', '/%2E%2E/outside/secret.txt',
  '/.%2e/outside/secret.txt', '/%2e./outside/secret.txt', '/..%2foutside%2fsecret.txt', '/%2e%2e%2foutside%2fsecret.txt',
  '/sub/../../outside/secret.txt', '/sub/%2e%2e/%2e%2e/outside/secret.txt', '//../outside/secret.txt',
  '/./../outside/secret.txt', '/sub/..%2F..%2Foutside/secret.txt', '/%252e%252e/outside/secret.txt',
  '/..\\outside\\secret.txt', '/..;/outside/secret.txt', '/%c0%ae%c0%ae/outside/secret.txt', '/..%00/outside/secret.txt',
  'http://test/../outside/secret.txt', 'HTTP://test/%2e%2e/outside/secret.txt', 'http://test', '/sub/./../..',
  '/sub/x.txt/../../..', '/..', '/.', '/%2e', '/sub/%2e%2e', '/sub/%2e%2e/in.txt', '/sub/..', '.', '..', '*',
];
for (const target of TRAVERSALS) {
  paths(`GET ${target} never reaches outside`, async () => {
    const r = await request(s.port, `GET ${target} HTTP/1.1\r\nHost: test\r\n\r\n`);
    assert.ok([200, 301, 400, 403, 404].includes(r.status), `status ${r.status}`);
    assert.not.match(r.body.toString(), /SECRET|root:/);
    if (r.status === 200) assert.match(r.body.toString(), /^(inside|sub x)$/);
  });
}

paths('a UTF-8 name, percent-encoded as browsers send it, is found', async () => {
  const r = await request(s.port, get(`/${encodeURIComponent('café ü.txt')}`));
  assert.is(r.status, 200);
  assert.is(r.body.toString(), 'utf-8 name');
});

paths('".." that would climb above the root is 400; ".." that stays inside resolves', async () => {
  assert.is((await request(s.port, get('/%2e%2e/in.txt'))).status, 400);
  assert.is((await request(s.port, get('/sub/%2e%2e/%2e%2e/in.txt'))).status, 400);
  const r = await request(s.port, get('/sub/%2E%2E/in.txt'));
  assert.is(r.status, 200);
  assert.is(r.body.toString(), 'inside');
});

paths('a directory swapped for a symlink to the outside during requests: never outside', async () => {
  const swap = join(s.root, 'swap'), real = join(s.root, 'swap.real'), link = join(s.root, 'swap.link');
  symlinkSync(outside, link);
  let swapping = true, swaps = 0;
  const swapper = (async () => {
    while (swapping) {
      renameSync(swap, real);
      renameSync(link, swap);
      await new Promise((r) => setImmediate(r));
      renameSync(swap, link);
      renameSync(real, swap);
      swaps++;
      await new Promise((r) => setImmediate(r));
    }
  })();
  const seen = new Map<number, number>();
  try {
    const end = Date.now() + 2000;
    await Promise.all(Array.from({ length: 8 }, async () => {
      while (Date.now() < end) {
        const r = await request(s.port, get('/swap/x.txt'));
        seen.set(r.status, (seen.get(r.status) ?? 0) + 1);
        assert.not.match(r.body.toString(), /SECRET/);
        if (r.status === 200) assert.is(r.body.toString(), 'inside swap');
        else assert.is(r.status, 404);
      }
    }));
  } finally {
    swapping = false;
    await swapper;
    rmSync(link, { force: true });
  }
  assert.ok(swaps > 10, `only ${swaps} swaps`);
  assert.ok((seen.get(200) ?? 0) > 0 && (seen.get(404) ?? 0) > 0, `statuses seen: ${JSON.stringify([...seen])}`);
}, { timeout: 30_000 });
paths.run();

// ---------------------------------------------------------------------------------------
const rights = suite('serve: the docroot is read-only to the guest');

rights('before any request, the guest drops every right on the docroot but open, stat, list and read', () => {
  const root = tempDir('wzc-ro-');
  const listener = listenOn('127.0.0.1:0');
  const stopFlag = new Int32Array(new SharedArrayBuffer(4));
  const calls: string[] = [];
  // The trace sees each call as it returns; after the rights call the guest is stopped at its next one.
  const sandbox = new Sandbox({
    args: ['serve'], listen: [listener], preopens: { '/': root }, stdout: null, stderr: null, stopFlag,
    trace: (line) => { calls.push(line); if (line.startsWith('fd_fdstat_set_rights')) Atomics.store(stopFlag, 0, 15); },
  });
  try {
    const instance = new WebAssembly.Instance(loadGuest(join(GUESTS, 'serve.wasm')), sandbox.getImportObject());
    assert.is(sandbox.start(instance), 128 + 15);
  } finally {
    sandbox.close();
    closeSync(listener);
    rmSync(root, { recursive: true, force: true });
  }
  const line = calls.find((l) => l.startsWith('fd_fdstat_set_rights'));
  assert.ok(line, calls.join(''));
  assert.not.ok(calls.some((l) => /^(sock_accept|sock_recv|poll_oneoff)/.test(l)), 'no request was read before');
  const m = /fd=4, fs_rights_base=(\d+), fs_rights_inheriting=(\d+)\) = success/.exec(line!);
  assert.ok(m, line);
  // witx rights that write: fd_datasync, fd_write, fd_allocate, path_create_directory,
  // path_create_file, path_link_*, path_rename_*, path_filestat_set_*, fd_filestat_set_*,
  // path_symlink, path_remove_directory, path_unlink_file, fd_fdstat_set_flags.
  const WRITE = [0, 3, 4, 6, 8, 9, 10, 11, 12, 16, 17, 19, 20, 22, 23, 24, 25, 26].reduce((a, b) => a | (1 << b), 0);
  assert.is(Number(m![1]) & WRITE, 0);
  assert.is(Number(m![2]) & WRITE, 0);
});
rights.run();

// ---------------------------------------------------------------------------------------
const cache = suite('serve: open files are kept, but every request sees the file as it is now');
let c: TestServer;
cache.before(() => { c = startTestServer({ 'f.txt': 'first', 'big.bin': Buffer.alloc(100_000, 1) }); });
cache.after(() => c.close());

const WHOLE_SECOND = new Date('2024-01-02T03:04:05Z');
const CHANGES: [string, (p: string) => void, number, string | null][] = [
  ['rewritten, same size', (p) => writeFileSync(p, 'FIRST'), 200, 'FIRST'],
  ['rewritten, same size, its modification time put back (only the change time tells)', (p) => {
    writeFileSync(p, 'fIrSt');
    utimesSync(p, WHOLE_SECOND, WHOLE_SECOND);
    assert.is(statSync(p, { bigint: true }).mtimeNs, BigInt(WHOLE_SECOND.getTime()) * 1_000_000n);
  }, 200, 'fIrSt'],
  ['grown', (p) => writeFileSync(p, 'first and more'), 200, 'first and more'],
  ['deleted', (p) => rmSync(p), 404, null],
  ['replaced by a symlink that leads out', (p) => { rmSync(p); symlinkSync(join(outside, 'secret.txt'), p); }, 404, null],
  ['replaced by a directory', (p) => { rmSync(p); mkdirSync(p); }, 301, null],
];
for (const [what, change, status, body] of CHANGES) {
  cache(`a file ${what} after it was served: ${status}${body ? ` "${body}"` : ''}`, async () => {
    const p = join(c.root, 'f.txt');
    rmSync(p, { recursive: true, force: true });
    writeFileSync(p, 'first');
    utimesSync(p, WHOLE_SECOND, WHOLE_SECOND);
    for (let i = 0; i < 3; i++) assert.is((await request(c.port, get('/f.txt'))).body.toString(), 'first');
    change(p);
    const r = await request(c.port, get('/f.txt'));
    assert.is(r.status, status);
    if (body !== null) assert.is(r.body.toString(), body);
    assert.not.match(r.body.toString(), /SECRET/);
  });
}

cache('a big file changed while a response from its old version is in flight: both are right', async () => {
  const p = join(c.root, 'big.bin');
  const slow = new Conn(c.port);
  try {
    await slow.connected();
    slow.socket.pause();
    await slow.write(get('/big.bin'));
    await new Promise((r) => setTimeout(r, 100));
    // A new file at that path (rename over it): the old one stays open for the response in flight.
    writeFileSync(p + '.new', Buffer.alloc(50_000, 2));
    renameSync(p + '.new', p);
    const fresh = await request(c.port, get('/big.bin'));
    assert.ok(fresh.body.equals(Buffer.alloc(50_000, 2)));
    slow.socket.resume();
    const old = await slow.reply();
    assert.ok(old.body.equals(Buffer.alloc(100_000, 1)));
  } finally {
    slow.close();
  }
});
cache.run();
