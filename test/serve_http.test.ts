// wasm-zerocopy serve: files, HEAD, errors, directories, types, precompressed variants and the
// access log, through raw sockets and Node's own http client.
import { suite } from './helpers/suite.js';
import * as assert from 'uvu/assert';
import { get as httpGet, Agent } from 'node:http';
import { spawnSync } from 'node:child_process';
import { statSync, utimesSync } from 'node:fs';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { get, request, Conn } from './helpers/http.js';
import { have, startTestServer, waitFor, type TestServer } from './helpers/serve.js';

const SITE = {
  'index.html': '<!DOCTYPE html><title>home</title>\n',
  'style.css': 'body { color: red }\n',
  'data.json': '{"a":1}\n',
  'photo.JPG': Buffer.from([0xff, 0xd8, 0xff, 0xe0]),
  'blob.unknownext': 'x',
  'noext': 'y',
  'big.bin': Buffer.alloc(200_000, 7),
  'docs/guide.txt': 'read me\n',
  'docs/index.html': '<p>docs index</p>\n',
  'empty/.hidden': 'h',
  'app.js': 'console.log(1)\n',
  'app.js.gz': 'GZ-BYTES',
  'app.js.br': 'BR-BYTES',
  'only.css': 'plain\n',
  'only.css.gz': 'GZ-ONLY',
};

let s: TestServer;
const http = suite('serve: GET and HEAD');
http.before(() => {
  s = startTestServer(SITE);
  utimesSync(join(s.root, 'style.css'), new Date('2024-05-06T07:08:09Z'), new Date('2024-05-06T07:08:09Z'));
});
http.after(() => s.close());

http('a file comes with its length, type, validators, Accept-Ranges and Date', async () => {
  const r = await request(s.port, get('/style.css'));
  assert.is(r.status, 200);
  assert.is(r.body.toString(), SITE['style.css']);
  assert.is(r.headers['content-length'], String(SITE['style.css'].length));
  assert.is(r.headers['content-type'], 'text/css; charset=utf-8');
  assert.is(r.headers['last-modified'], 'Mon, 06 May 2024 07:08:09 GMT');
  const st = statSync(join(s.root, 'style.css'), { bigint: true });
  assert.is(r.headers.etag, `"${st.mtimeNs.toString(16)}-${st.size.toString(16)}"`);
  assert.is(r.headers['accept-ranges'], 'bytes');
  assert.match(r.headers.date, /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT$/);
  assert.ok(Math.abs(Date.parse(r.headers.date) - Date.now()) < 5000, r.headers.date);
  assert.is(r.version, 'HTTP/1.1');
  assert.is(r.headers.connection, undefined);
});

http('HEAD has the same head as GET and no body', async () => {
  const c = new Conn(s.port);
  try {
    await c.connected();
    await c.write(get('/big.bin', {}, 'HEAD') + get('/big.bin'));
    const head = await c.reply(true);
    const full = await c.reply();
    assert.is(head.status, 200);
    assert.is(head.body.length, 0);
    const strip = (h: Record<string, string>) => { const { date, ...rest } = h; return rest; };
    assert.equal(strip(head.headers), strip(full.headers));
    assert.is(full.body.length, 200_000);
  } finally {
    c.close();
  }
});

const TYPES: [string, string][] = [
  ['/index.html', 'text/html; charset=utf-8'],
  ['/data.json', 'application/json; charset=utf-8'],
  ['/photo.JPG', 'image/jpeg'],
  ['/app.js', 'text/javascript; charset=utf-8'],
  ['/docs/guide.txt', 'text/plain; charset=utf-8'],
  ['/blob.unknownext', 'application/octet-stream'],
  ['/noext', 'application/octet-stream'],
  ['/big.bin', 'application/octet-stream'],
];
for (const [path, type] of TYPES) {
  http(`Content-Type of ${path} is ${type}`, async () => {
    const r = await request(s.port, get(path));
    assert.is(r.status, 200);
    assert.is(r.headers['content-type'], type);
  });
}

const ERRORS: [string, string, number][] = [
  ['a missing file', get('/nope.txt'), 404],
  ['a missing folder', get('/nope/x.txt'), 404],
  ['a file used as a folder', get('/style.css/x'), 404],
  ['POST', get('/style.css', {}, 'POST'), 405],
  ['DELETE', get('/style.css', {}, 'DELETE'), 405],
  ['OPTIONS *', 'OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n', 405],
  ['a lowercase get (methods are case-sensitive)', get('/style.css', {}, 'get'), 405],
  ['a folder without index.html', get('/empty/'), 403],
];
for (const [what, raw, status] of ERRORS) {
  http(`${what} is ${status}, with a small HTML page`, async () => {
    const r = await request(s.port, raw);
    assert.is(r.status, status);
    assert.is(r.headers['content-type'], 'text/html; charset=utf-8');
    assert.match(r.body.toString(), new RegExp(`<h1>${status} `));
    if (status === 405) assert.is(r.headers.allow, 'GET, HEAD');
  });
}

http('/dir redirects 301 to /dir/, keeping the query; /dir/ serves its index.html', async () => {
  let r = await request(s.port, get('/docs'));
  assert.is(r.status, 301);
  assert.is(r.headers.location, '/docs/');
  r = await request(s.port, get('/docs?x=1&y'));
  assert.is(r.headers.location, '/docs/?x=1&y');
  r = await request(s.port, get('/docs/'));
  assert.is(r.status, 200);
  assert.is(r.body.toString(), SITE['docs/index.html']);
  assert.is(r.headers['content-type'], 'text/html; charset=utf-8');
  r = await request(s.port, get('/'));
  assert.is(r.body.toString(), SITE['index.html']);
});

http('the query string is ignored', async () => {
  const r = await request(s.port, get('/style.css?v=3#'.replace('#', '')));
  assert.is(r.status, 200);
  assert.is(r.body.toString(), SITE['style.css']);
});

http('a precompressed .br or .gz is sent to a client that takes it, with Vary', async () => {
  const CASES: [string, string, string | undefined, string][] = [
    ['/app.js', 'gzip, deflate, br', 'br', 'BR-BYTES'],
    ['/app.js', 'gzip', 'gzip', 'GZ-BYTES'],
    ['/app.js', 'br;q=0.5, gzip;q=0.8', 'gzip', 'GZ-BYTES'],
    ['/app.js', 'br;q=0, gzip;q=0', undefined, SITE['app.js']],
    ['/app.js', '*', 'br', 'BR-BYTES'],
    ['/app.js', 'identity', undefined, SITE['app.js']],
    ['/only.css', 'br, gzip', 'gzip', 'GZ-ONLY'],
    ['/style.css', 'br, gzip', undefined, SITE['style.css']],
  ];
  for (const [path, accept, encoding, body] of CASES) {
    const r = await request(s.port, get(path, { 'Accept-Encoding': accept }));
    assert.is(r.status, 200);
    assert.is(r.headers['content-encoding'], encoding, `${path} with ${accept}`);
    assert.is(r.body.toString(), body, `${path} with ${accept}`);
    assert.is(r.headers.vary, encoding ? 'Accept-Encoding' : undefined);
    assert.is(r.headers['content-type'], path.endsWith('.js') ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8');
  }
  const plain = await request(s.port, get('/app.js'));
  const br = await request(s.port, get('/app.js', { 'Accept-Encoding': 'br' }));
  assert.is.not(plain.headers.etag, br.headers.etag, 'each representation has its own strong ETag');
});

http('one access-log line per request, in the combined format', async () => {
  await request(s.port, get('/style.css', { Referer: 'http://x/"q"', 'User-Agent': 'tester/1.0' }));
  const line = await waitFor('the log line', () => s.log().split('\n').find((l) => l.includes('tester/1.0')));
  assert.match(line, /^127\.0\.0\.1 - - \[\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d \+0000\] "GET \/style\.css HTTP\/1\.1" 200 20 "http:\/\/x\/\\x22q\\x22" "tester\/1\.0"$/);
  await request(s.port, get('/nope', { 'User-Agent': 'tester/2.0' }));
  const miss = await waitFor('the 404 line', () => s.log().split('\n').find((l) => l.includes('tester/2.0')));
  assert.match(miss, /"GET \/nope HTTP\/1\.1" 404 90 "-" "tester\/2\.0"$/);
});

http('Node\'s http client fetches several files over one keep-alive connection', async () => {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const ports = new Set<number>();
  try {
    for (const path of ['/style.css', '/data.json', '/big.bin', '/docs/guide.txt', '/style.css']) {
      const { status, body, local } = await new Promise<{ status: number; body: Buffer; local: number }>((resolve, reject) => {
        httpGet({ host: '127.0.0.1', port: s.port, path, agent }, (res) => {
          const parts: Buffer[] = [];
          const local = res.socket.localPort!;
          res.on('data', (d) => parts.push(d));
          res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(parts), local }));
        }).on('error', reject);
      });
      assert.is(status, 200);
      const expected = SITE[path.slice(1) as keyof typeof SITE];
      assert.ok(Buffer.from(expected).equals(body), path);
      ports.add(local);
    }
    assert.is(ports.size, 1, 'all on one connection');
  } finally {
    agent.destroy();
  }
});
http.run();

// ---------------------------------------------------------------------------------------
let listed: TestServer;
const list = suite('serve --list');
list.before(() => {
  listed = startTestServer({
    'b.txt': 'bb', 'a.txt': 'a', 'Z.txt': 'zzz', 'sub/x': 'x', '.secret': 's',
    '<script>&"\'.txt': 'evil', 'sp ace%.txt': '1', 'link-out': { symlink: '/etc' },
  }, { list: true });
});
list.after(() => listed.close());

list('a folder without index.html is listed: names escaped, sizes, sorted, dotfiles left out', async () => {
  const r = await request(listed.port, get('/'));
  assert.is(r.status, 200);
  assert.is(r.headers['content-type'], 'text/html; charset=utf-8');
  const body = r.body.toString();
  const rows = [...body.matchAll(/<tr><td><a href="([^"]*)">([^<]*)<\/a><\/td><td>([^<]*)<\/td><\/tr>/g)].map((m) => [m[1], m[2], m[3]]);
  assert.equal(rows, [
    ['%3Cscript%3E%26%22%27.txt', '&lt;script&gt;&amp;&quot;&#39;.txt', '4'],
    ['Z.txt', 'Z.txt', '3'],
    ['a.txt', 'a.txt', '1'],
    ['b.txt', 'b.txt', '2'],
    ['sp%20ace%25.txt', 'sp ace%.txt', '1'],
    ['sub/', 'sub/', '-'],
  ]);
  assert.not.match(body, /secret|link-out|<script>/);
  const sub = await request(listed.port, get('/sub/'));
  assert.match(sub.body.toString(), /<a href="\.\.\/">\.\.\/<\/a>/);
  assert.match(sub.body.toString(), /<title>Index of \/sub\/<\/title>/);
  const escaped = await request(listed.port, get('/sp%20ace%25.txt'));
  assert.is(escaped.body.toString(), '1');
});
list.run();

// ---------------------------------------------------------------------------------------
const curl = suite('serve: curl');
let cs: TestServer;
const SCRIPT = 'console.log("a script that compresses well");\n'.repeat(50);
curl.before(() => {
  cs = startTestServer({
    'a.txt': 'A', 'b.txt': 'BB', 'c.txt': 'CCC',
    'app.js': SCRIPT, 'app.js.gz': gzipSync(SCRIPT), 'app.js.br': brotliCompressSync(Buffer.from(SCRIPT)),
  });
});
curl.after(() => cs.close());

const curlRun = (args: string[]) => spawnSync('curl', ['-sS', ...args], { encoding: 'latin1', timeout: 20_000 });

if (!have('curl')) curl.skip('several URLs on one keep-alive connection, and --compressed (curl is not installed)');
else {
  curl('several URLs on one keep-alive connection', () => {
    const r = curlRun(['-v', `${cs.url}/a.txt`, `${cs.url}/b.txt`, `${cs.url}/c.txt`]);
    assert.is(r.status, 0, r.stderr);
    assert.is(r.stdout, 'ABBCCC');
    assert.is((r.stderr.match(/Re-using existing connection/g) ?? []).length, 2, r.stderr);
    assert.is((r.stderr.match(/Connected to /g) ?? []).length, 1);
  });

  curl('--compressed gets the precompressed variant and decodes it to the file', () => {
    const r = curlRun(['--compressed', '-D', '-', `${cs.url}/app.js`]);
    assert.is(r.status, 0, r.stderr);
    const [head, body] = r.stdout.split('\r\n\r\n');
    assert.match(head, /\r\nContent-Encoding: (br|gzip)\r\n/);
    assert.match(head, /\r\nVary: Accept-Encoding(\r\n|$)/);
    assert.is(body, SCRIPT);
  });
}
curl.run();
