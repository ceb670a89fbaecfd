// Conditional requests (RFC 9110 section 13) and ranges (section 14), as tables: each row a
// request's fields and the status (and body) the RFC asks for.
import { suite } from './helpers/suite.js';
import * as assert from 'uvu/assert';
import { statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { get, request } from './helpers/http.js';
import { have, startTestServer, type TestServer } from './helpers/serve.js';

const BODY = 'abcdefghijklmnopqrstuvwxyz0123456789'; // 36 bytes
const MTIME = new Date('2024-05-06T07:08:09Z');
const LM = 'Mon, 06 May 2024 07:08:09 GMT';
const BEFORE = 'Mon, 06 May 2024 07:08:08 GMT';
const AFTER = 'Mon, 06 May 2024 07:08:10 GMT';

let s: TestServer;
let etag = '';

// ---------------------------------------------------------------------------------------
const cond = suite('serve: conditional requests, RFC 9110 13.2.2');
cond.before(() => {
  s = startTestServer({ 'f.txt': BODY, 'big.bin': Buffer.alloc(100_000, 1) });
  utimesSync(join(s.root, 'f.txt'), MTIME, MTIME);
  const st = statSync(join(s.root, 'f.txt'), { bigint: true });
  etag = `"${st.mtimeNs.toString(16)}-${st.size.toString(16)}"`;
});
cond.after(() => s.close());

// [what, headers (ETAG stands for the file's tag), method, status]
const CONDITIONS: [string, Record<string, string>, string, number][] = [
  ['no condition', {}, 'GET', 200],
  ['If-None-Match with the tag', { 'If-None-Match': 'ETAG' }, 'GET', 304],
  ['If-None-Match with the tag, HEAD', { 'If-None-Match': 'ETAG' }, 'HEAD', 304],
  ['If-None-Match with the tag made weak (weak comparison)', { 'If-None-Match': 'W/ETAG' }, 'GET', 304],
  ['If-None-Match in a list', { 'If-None-Match': '"x", ETAG , "y"' }, 'GET', 304],
  ['If-None-Match: *', { 'If-None-Match': '*' }, 'GET', 304],
  ['If-None-Match with another tag', { 'If-None-Match': '"other"' }, 'GET', 200],
  ['If-None-Match malformed', { 'If-None-Match': 'ETAG-unquoted' }, 'GET', 200],
  ['If-Modified-Since at Last-Modified', { 'If-Modified-Since': LM }, 'GET', 304],
  ['If-Modified-Since after', { 'If-Modified-Since': AFTER }, 'GET', 304],
  ['If-Modified-Since before', { 'If-Modified-Since': BEFORE }, 'GET', 200],
  ['If-Modified-Since in RFC 850 form', { 'If-Modified-Since': 'Monday, 06-May-24 07:08:09 GMT' }, 'GET', 304],
  ['If-Modified-Since in asctime form', { 'If-Modified-Since': 'Mon May  6 07:08:09 2024' }, 'GET', 304],
  ['If-Modified-Since not a date (ignored)', { 'If-Modified-Since': 'yesterday' }, 'GET', 200],
  ['If-None-Match wins over If-Modified-Since (13.1.3)', { 'If-None-Match': '"other"', 'If-Modified-Since': AFTER }, 'GET', 200],
  ['If-Match with the tag', { 'If-Match': 'ETAG' }, 'GET', 200],
  ['If-Match: *', { 'If-Match': '*' }, 'GET', 200],
  ['If-Match with another tag', { 'If-Match': '"other"' }, 'GET', 412],
  ['If-Match with the tag made weak (strong comparison)', { 'If-Match': 'W/ETAG' }, 'GET', 412],
  ['If-Unmodified-Since at Last-Modified', { 'If-Unmodified-Since': LM }, 'GET', 200],
  ['If-Unmodified-Since before', { 'If-Unmodified-Since': BEFORE }, 'GET', 412],
  ['If-Unmodified-Since not a date (ignored)', { 'If-Unmodified-Since': 'soon' }, 'GET', 200],
  ['If-Match wins over If-Unmodified-Since (13.2.2 step 2)', { 'If-Match': 'ETAG', 'If-Unmodified-Since': BEFORE }, 'GET', 200],
  ['If-Match failing comes before If-None-Match', { 'If-Match': '"other"', 'If-None-Match': 'ETAG' }, 'GET', 412],
  ['If-Unmodified-Since failing comes before If-Modified-Since', { 'If-Unmodified-Since': BEFORE, 'If-Modified-Since': AFTER }, 'GET', 412],
  ['all four passing but If-None-Match matching', { 'If-Match': 'ETAG', 'If-Unmodified-Since': LM, 'If-None-Match': 'ETAG' }, 'GET', 304],
];
for (const [what, fields, method, status] of CONDITIONS) {
  cond(`${what}: ${status}`, async () => {
    const headers = Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, v.replace('ETAG', etag)]));
    const r = await request(s.port, get('/f.txt', headers, method), method === 'HEAD');
    assert.is(r.status, status);
    if (status === 200 && method === 'GET') assert.is(r.body.toString(), BODY);
    if (status === 304) {
      assert.is(r.headers.etag, etag);
      assert.is(r.headers['last-modified'], LM);
      assert.is(r.headers['content-length'], undefined);
      assert.is(r.body.length, 0);
    }
    if (status === 412) assert.match(r.body.toString(), /412 Precondition Failed/);
  });
}

cond('an If-None-Match list split over two lines is one list', async () => {
  const r = await request(s.port, `GET /f.txt HTTP/1.1\r\nHost: t\r\nIf-None-Match: "a"\r\nIf-None-Match: ${etag}\r\n\r\n`);
  assert.is(r.status, 304);
});

cond('a 304 keeps the connection: the next request on it is answered', async () => {
  const r = await request(s.port, get('/f.txt', { 'If-None-Match': etag }) + get('/f.txt'));
  assert.is(r.status, 304);
});
cond.run();

// ---------------------------------------------------------------------------------------
const ranges = suite('serve: ranges, RFC 9110 14');
ranges.before(() => {
  s = startTestServer({ 'f.txt': BODY, 'empty.txt': '' });
  utimesSync(join(s.root, 'f.txt'), MTIME, MTIME);
  const st = statSync(join(s.root, 'f.txt'), { bigint: true });
  etag = `"${st.mtimeNs.toString(16)}-${st.size.toString(16)}"`;
});
ranges.after(() => s.close());

// [Range, status, Content-Range, body] for single parts
const SINGLE: [string, number, string | undefined, string][] = [
  ['bytes=0-4', 206, 'bytes 0-4/36', 'abcde'],
  ['bytes=10-10', 206, 'bytes 10-10/36', 'k'],
  ['bytes=30-', 206, 'bytes 30-35/36', '456789'],
  ['bytes=-6', 206, 'bytes 30-35/36', '456789'],
  ['bytes=-100', 206, 'bytes 0-35/36', BODY],
  ['bytes=20-1000', 206, 'bytes 20-35/36', BODY.slice(20)],
  ['BYTES=0-0', 206, 'bytes 0-0/36', 'a'],
  ['bytes= 1 - 2 ', 206, 'bytes 1-2/36', 'bc'],
  ['bytes=36-', 416, 'bytes */36', ''],
  ['bytes=100-200', 416, 'bytes */36', ''],
  ['bytes=-0', 416, 'bytes */36', ''],
  ['bytes=5-2', 416, 'bytes */36', ''],
  ['bytes=abc', 416, 'bytes */36', ''],
  ['bytes=100-200,1-2', 206, 'bytes 1-2/36', 'bc'],
  ['items=0-4', 200, undefined, BODY],
  ['bytes=0-40,0-40', 200, undefined, BODY],
];
for (const [range, status, contentRange, body] of SINGLE) {
  ranges(`Range: ${range} is ${status}${contentRange ? ` with Content-Range ${contentRange}` : ''}`, async () => {
    const r = await request(s.port, get('/f.txt', { Range: range }));
    assert.is(r.status, status);
    assert.is(r.headers['content-range'], contentRange);
    if (status !== 416) {
      assert.is(r.body.toString(), body);
      assert.is(r.headers['content-length'], String(body.length));
    } else assert.match(r.body.toString(), /416 Range Not Satisfiable/);
  });
}

/** Splits a multipart/byteranges body (RFC 9110 14.6) into its parts. */
function parts(body: string, boundary: string): { type: string; range: string; data: string }[] {
  const chunks = body.split(`--${boundary}`);
  assert.is(chunks[0], '\r\n', 'the body starts with CRLF and the first boundary');
  assert.is(chunks[chunks.length - 1], '--\r\n', 'the last boundary is closed');
  return chunks.slice(1, -1).map((c) => {
    const [head, data] = c.split('\r\n\r\n');
    const fields = Object.fromEntries(head.trim().split('\r\n').map((l) => [l.split(': ')[0].toLowerCase(), l.split(': ')[1]]));
    assert.ok(data.endsWith('\r\n'));
    return { type: fields['content-type'], range: fields['content-range'], data: data.slice(0, -2) };
  });
}

ranges('several ranges give multipart/byteranges, each part with its type and range', async () => {
  const r = await request(s.port, get('/f.txt', { Range: 'bytes=0-1, 5-7,-3' }));
  assert.is(r.status, 206);
  const m = /^multipart\/byteranges; boundary=(\S+)$/.exec(r.headers['content-type']);
  assert.ok(m, r.headers['content-type']);
  assert.is(Number(r.headers['content-length']), r.body.length);
  assert.equal(parts(r.body.toString(), m![1]), [
    { type: 'text/plain; charset=utf-8', range: 'bytes 0-1/36', data: 'ab' },
    { type: 'text/plain; charset=utf-8', range: 'bytes 5-7/36', data: 'fgh' },
    { type: 'text/plain; charset=utf-8', range: 'bytes 33-35/36', data: '789' },
  ]);
});

ranges('a Range on HEAD is ignored (14.2: GET only)', async () => {
  const r = await request(s.port, get('/f.txt', { Range: 'bytes=0-4' }, 'HEAD'), true);
  assert.is(r.status, 200);
  assert.is(r.headers['content-length'], '36');
});

ranges('an empty file has no satisfiable range', async () => {
  const r = await request(s.port, get('/empty.txt', { Range: 'bytes=0-' }));
  assert.is(r.status, 416);
  assert.is(r.headers['content-range'], 'bytes */0');
});

const IF_RANGE: [string, string, number][] = [
  ['the current tag', 'ETAG', 206],
  ['another tag', '"other"', 200],
  ['the tag made weak (never matches)', 'W/ETAG', 200],
  ['Last-Modified exactly', LM, 206],
  ['a later date', AFTER, 200],
  ['not a date', 'garbage', 200],
];
for (const [what, value, status] of IF_RANGE) {
  ranges(`If-Range with ${what}: ${status}`, async () => {
    const r = await request(s.port, get('/f.txt', { Range: 'bytes=0-4', 'If-Range': value.replace('ETAG', etag) }));
    assert.is(r.status, status);
    assert.is(r.body.toString(), status === 206 ? 'abcde' : BODY);
  });
}

ranges('a failing If-None-Match comes before the range: 304, not 206', async () => {
  const r = await request(s.port, get('/f.txt', { Range: 'bytes=0-4', 'If-None-Match': etag }));
  assert.is(r.status, 304);
});

if (!have('curl')) ranges.skip('curl: a range, a conditional request and HEAD (curl is not installed)');
else ranges('curl: a range, a conditional request and HEAD', async () => {
  const run = (args: string[]) => spawnSync('curl', ['-s', '-S', ...args], { encoding: 'latin1', timeout: 20_000 });
  let r = run(['-r', '2-5', `${s.url}/f.txt`]);
  assert.is(r.stdout, 'cdef');
  r = run(['-o', '/dev/null', '-w', '%{http_code}', '-H', `If-None-Match: ${etag}`, `${s.url}/f.txt`]);
  assert.is(r.stdout, '304');
  r = run(['-o', '/dev/null', '-w', '%{http_code}', '-z', AFTER, `${s.url}/f.txt`]);
  assert.is(r.stdout, '304');
  r = run(['-I', `${s.url}/f.txt`]);
  assert.match(r.stdout, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(r.stdout, /\r\nContent-Length: 36\r\n/);
});
ranges.run();
