// Requests as bytes on raw sockets: malformed heads (RFC 9112), persistent connections and
// pipelining (9.3), slow clients, and the three timeouts with short values.
import { suite } from './helpers/suite.js';
import * as assert from 'uvu/assert';
import { get, request, Conn } from './helpers/http.js';
import { startTestServer, waitFor, type TestServer } from './helpers/serve.js';
import * as libc from '../host/native/libc.js';

const FILE = 'hello, file\n';
let s: TestServer;

// ---------------------------------------------------------------------------------------
const bad = suite('serve: malformed requests are answered and closed');
bad.before(() => { s = startTestServer({ 'f.txt': FILE }); });
bad.after(() => s.close());

const h = 'Host: t\r\n';
const MALFORMED: [string, string, number][] = [
  ['not HTTP at all', 'GARBAGE\r\n\r\n', 400],
  ['an HTTP/0.9 request line', 'GET /f.txt\r\n\r\n', 400],
  ['two spaces after the method', `GET  /f.txt HTTP/1.1\r\n${h}\r\n`, 400],
  ['a version with letters', `GET /f.txt HTTP/1.x\r\n${h}\r\n`, 400],
  ['HTTP/2.0', `GET /f.txt HTTP/2.0\r\n${h}\r\n`, 505],
  ['HTTP/1.1 without Host', 'GET /f.txt HTTP/1.1\r\n\r\n', 400],
  ['two Host lines', `GET /f.txt HTTP/1.1\r\n${h}${h}\r\n`, 400],
  ['whitespace before the colon', 'GET /f.txt HTTP/1.1\r\nHost : t\r\n\r\n', 400],
  ['a line without a colon', `GET /f.txt HTTP/1.1\r\n${h}Nonsense\r\n\r\n`, 400],
  ['an obs-fold continuation line', `GET /f.txt HTTP/1.1\r\n${h}X: a\r\n b\r\n\r\n`, 400],
  ['a NUL in a field value', `GET /f.txt HTTP/1.1\r\n${h}X: a\0b\r\n\r\n`, 400],
  ['a bare CR in a field value', `GET /f.txt HTTP/1.1\r\n${h}X: a\rb\r\n\r\n`, 400],
  ['a control character in the target', `GET /f\x01.txt HTTP/1.1\r\n${h}\r\n`, 400],
  ['Content-Length not a number', `GET /f.txt HTTP/1.1\r\n${h}Content-Length: 1x\r\n\r\n`, 400],
  ['two different Content-Lengths', `GET /f.txt HTTP/1.1\r\n${h}Content-Length: 1\r\nContent-Length: 2\r\n\r\nab`, 400],
  ['Transfer-Encoding with Content-Length', `GET /f.txt HTTP/1.1\r\n${h}Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n`, 400],
  ['a relative target', `GET f.txt HTTP/1.1\r\n${h}\r\n`, 400],
  ['a bad percent escape', `GET /f%zz.txt HTTP/1.1\r\n${h}\r\n`, 400],
  ['a truncated percent escape', `GET /f.txt% HTTP/1.1\r\n${h}\r\n`, 400],
  ['an encoded NUL', `GET /f.txt%00.html HTTP/1.1\r\n${h}\r\n`, 400],
  ['a fragment', `GET /f.txt#x HTTP/1.1\r\n${h}\r\n`, 400],
  ['a head over 8 KiB', `GET /f.txt HTTP/1.1\r\n${h}X: ${'a'.repeat(9000)}\r\n\r\n`, 431],
  ['101 header lines', `GET /f.txt HTTP/1.1\r\n${h}${'X: y\r\n'.repeat(100)}\r\n`, 431],
  ['a request line over 8 KiB', `GET /${'a'.repeat(9000)} HTTP/1.1\r\n${h}\r\n`, 414],
  ['binary bytes', `\x00\xff\x80\x01\x02 \xfe\r\n\r\n`, 400],
];
for (const [what, raw, status] of MALFORMED) {
  bad(`${what}: ${status}, then the connection closes`, async () => {
    const c = new Conn(s.port);
    try {
      await c.connected();
      await c.write(Buffer.from(raw, 'latin1'));
      const r = await c.reply();
      assert.is(r.status, status);
      assert.is(r.headers.connection, 'close');
      await c.closedByServer();
    } finally {
      c.close();
    }
  });
}

bad('100 header lines are accepted', async () => {
  const r = await request(s.port, `GET /f.txt HTTP/1.1\r\n${h}${'X: y\r\n'.repeat(99)}\r\n`);
  assert.is(r.status, 200);
});

bad('bare LF line ends and empty lines before the request line are accepted (RFC 9112 2.2)', async () => {
  let r = await request(s.port, 'GET /f.txt HTTP/1.1\nHost: t\n\n');
  assert.is(r.status, 200);
  assert.is(r.body.toString(), FILE);
  r = await request(s.port, `\r\n\r\nGET /f.txt HTTP/1.1\r\n${h}\r\n`);
  assert.is(r.status, 200);
});

bad('a request with a body is answered, then the connection closes (the body is never parsed as a request)', async () => {
  const c = new Conn(s.port);
  try {
    await c.connected();
    await c.write(`GET /f.txt HTTP/1.1\r\n${h}Content-Length: 31\r\n\r\nGET /secret HTTP/1.1\r\nHost: t\r\n\r\n`);
    const r = await c.reply();
    assert.is(r.status, 200);
    assert.is(r.headers.connection, 'close');
    const rest = await c.closedByServer();
    assert.is(rest.length, 0, 'nothing answered the body');
  } finally {
    c.close();
  }
});

bad('the server keeps working after all of these', async () => {
  const r = await request(s.port, get('/f.txt'));
  assert.is(r.status, 200);
  assert.not.match(s.errors(), /trap/);
});
bad.run();

// ---------------------------------------------------------------------------------------
const persist = suite('serve: persistent connections and pipelining (RFC 9112 9.3)');
persist.before(() => { s = startTestServer({ 'a.txt': 'A', 'b.txt': 'BB', 'big.bin': Buffer.alloc(32 << 20, 9) }); });
persist.after(() => s.close());

persist('pipelined requests are answered in order on one connection, HEAD without a body', async () => {
  const c = new Conn(s.port);
  try {
    await c.connected();
    // The client reads nothing for a while: the big response fills the socket and must wait
    // for it to drain, and the requests after it are answered only then.
    c.socket.pause();
    await c.write(get('/a.txt') + get('/big.bin') + get('/b.txt', {}, 'HEAD') + get('/nope') + get('/b.txt'));
    await new Promise((r) => setTimeout(r, 300));
    c.socket.resume();
    const got = [await c.reply(), await c.reply(), await c.reply(true), await c.reply(), await c.reply()];
    assert.equal(got.map((r) => r.status), [200, 200, 200, 404, 200]);
    assert.is(got[0].body.toString(), 'A');
    assert.is(got[1].body.length, 32 << 20);
    assert.is(got[2].headers['content-length'], '2');
    assert.is(got[4].body.toString(), 'BB');
    assert.not.ok(c.closed);
  } finally {
    c.close();
  }
});

persist('a request arriving one byte at a time is answered, and so is the next', async () => {
  const c = new Conn(s.port);
  try {
    await c.connected();
    const raw = get('/a.txt') + get('/b.txt');
    for (const ch of raw) {
      await c.write(ch);
      await new Promise((r) => setTimeout(r, 1));
    }
    assert.is((await c.reply()).body.toString(), 'A');
    assert.is((await c.reply()).body.toString(), 'BB');
  } finally {
    c.close();
  }
});

const PERSISTENCE: [string, string, string | undefined, boolean][] = [
  ['HTTP/1.1', `GET /a.txt HTTP/1.1\r\n${h}\r\n`, undefined, true],
  ['HTTP/1.1 with Connection: close', `GET /a.txt HTTP/1.1\r\n${h}Connection: close\r\n\r\n`, 'close', false],
  ['HTTP/1.1 with Connection: keep-alive, Close', `GET /a.txt HTTP/1.1\r\n${h}Connection: keep-alive, Close\r\n\r\n`, 'close', false],
  ['HTTP/1.0', 'GET /a.txt HTTP/1.0\r\n\r\n', 'close', false],
  ['HTTP/1.0 with Connection: keep-alive', 'GET /a.txt HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n', 'keep-alive', true],
];
for (const [what, raw, connection, kept] of PERSISTENCE) {
  persist(`${what}: ${kept ? 'kept open' : 'closed after the response'}`, async () => {
    const c = new Conn(s.port);
    try {
      await c.connected();
      await c.write(raw);
      const r = await c.reply();
      assert.is(r.status, 200);
      assert.is(r.headers.connection, connection);
      if (kept) {
        await c.write(raw);
        assert.is((await c.reply()).status, 200);
        assert.not.ok(c.closed);
      } else await c.closedByServer();
    } finally {
      c.close();
    }
  });
}
persist.run();

// ---------------------------------------------------------------------------------------
const timeouts = suite('serve: timeouts (--header-timeout, --keepalive-timeout, --send-timeout)');
timeouts.before(() => {
  s = startTestServer({ 'a.txt': 'A', 'big.bin': Buffer.alloc(32 << 20, 3) },
    { headerTimeout: 0.4, keepaliveTimeout: 0.4, sendTimeout: 0.4 });
});
timeouts.after(() => s.close());

const since = (t: number) => Date.now() - t;

timeouts('a head not finished in time is answered 408 and closed', async () => {
  const c = new Conn(s.port);
  try {
    await c.connected();
    const t = Date.now();
    await c.write('GET /a.txt HTTP/1.1\r\nHo');
    const r = await c.reply();
    assert.is(r.status, 408);
    await c.closedByServer();
    assert.ok(since(t) >= 350, `closed after ${since(t)} ms`);
  } finally {
    c.close();
  }
});

timeouts('a connection that sends nothing is closed without a word', async () => {
  const c = new Conn(s.port);
  try {
    await c.connected();
    const t = Date.now();
    const rest = await c.closedByServer();
    assert.is(rest.length, 0);
    assert.ok(since(t) >= 350, `closed after ${since(t)} ms`);
  } finally {
    c.close();
  }
});

timeouts('an idle keep-alive connection is closed after the keep-alive timeout', async () => {
  const c = new Conn(s.port);
  try {
    await c.connected();
    await c.write(get('/a.txt'));
    assert.is((await c.reply()).status, 200);
    const t = Date.now();
    const rest = await c.closedByServer();
    assert.is(rest.length, 0);
    assert.ok(since(t) >= 350, `closed after ${since(t)} ms`);
  } finally {
    c.close();
  }
});

timeouts('a client that takes no bytes is disconnected after the send timeout; the others are served', async () => {
  // A raw descriptor that is never read: its receive buffer fills and the server's sends stop.
  const fd = libc.socket(2, 1 | 0o2000000, 0);
  const addr = Buffer.alloc(16);
  addr.writeUInt16LE(2, 0);
  addr.writeUInt16BE(s.port, 2);
  addr.writeUInt32BE(0x7f000001, 4);
  assert.is(libc.connect(fd, addr, 16), 0);
  try {
    const req = Buffer.from(get('/big.bin'));
    assert.is(libc.write(fd, req, req.length), req.length);
    await new Promise((r) => setTimeout(r, 100));
    const other = await request(s.port, get('/a.txt'));
    assert.is(other.status, 200);
    await waitFor('the log line of the stalled client', () => /"GET \/big\.bin HTTP\/1\.1" 200 \d+/.test(s.log()), 10_000);
    // Now the server has closed it: reading drains what was sent, then end of file, short of the file.
    const buf = Buffer.alloc(1 << 20);
    let total = 0;
    for (let n; (n = libc.read(fd, buf, buf.length)) > 0;) total += n;
    assert.ok(total < 32 << 20, `the stalled client read ${total} bytes`);
    const logged = Number(/"GET \/big\.bin HTTP\/1\.1" 200 (\d+)/.exec(s.log())![1]);
    assert.ok(logged < 32 << 20, `logged ${logged} bytes`);
  } finally {
    libc.close(fd);
  }
});
timeouts.run();
