// Path safety: a docroot with symlinks that lead out, ".." in every encoding, and a directory
// swapped for a symlink while requests run. Nothing outside the docroot is ever served: the
// target's own checks refuse what climbs above the root (400), and beneath them the sandbox
// resolves every path with openat2(RESOLVE_BENEATH), which refuses the rest (404).
import { suite } from './helpers/suite.js';
import * as assert from 'uvu/assert';
import { mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { get, request } from './helpers/http.js';
import { startTestServer, type TestServer } from './helpers/serve.js';

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
