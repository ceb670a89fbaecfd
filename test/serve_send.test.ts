// How a large file leaves serve, seen in the guest's own calls (the trace): when the
// connection is corked (TCP_CORK, response.ts CORK_ABOVE) and how sendfile is called. The
// client holds back its reads until the first sendfile, so that the socket fills and the
// file takes several calls whatever the machine's speed.
import { suite } from './helpers/suite.js';
import * as assert from 'uvu/assert';
import { Conn, get, type Reply } from './helpers/http.js';
import { startTestServer, waitFor, type TestServer } from './helpers/serve.js';

/** 16 MiB, every 4 KiB page numbered, so that bytes out of place show. */
const BIG = Buffer.alloc(16 << 20);
for (let i = 0; i < BIG.length; i += 4096) BIG.writeUInt32LE(i >>> 12, i);

let s: TestServer;
let lines: string[] = [];

/**
 * Sends `request` with the client's reads held back until the guest's first sendfile, then
 * reads the reply. Returns it, and the guest's sock_cork, sock_send and sendfile calls on the
 * connection from the request to the access-log line (written once the response is out), in
 * order: the lines, and their names.
 */
async function heldBack(request: string): Promise<{ reply: Reply; calls: string[]; lines: string[] }> {
  const c = new Conn(s.port);
  try {
    await c.connected();
    c.socket.pause();
    const before = lines.length;
    await c.write(request);
    const first = await waitFor('the first sendfile', () => lines.slice(before).find((l) => l.startsWith('zerocopy.sendfile(')));
    c.socket.resume();
    const reply = await c.reply();
    const end = before + await waitFor('the access-log line', () => lines.slice(before).findIndex((l) => l.startsWith('fd_write(fd=1,')) + 1);
    const fd = Number(/out_fd=(\d+)/.exec(first)![1]);
    const on = lines.slice(before, end).filter((l) => new RegExp(`^(zerocopy\\.sock_cork\\(fd|sock_send\\(fd|zerocopy\\.sendfile\\(out_fd)=${fd},`).test(l));
    return { reply, calls: on.map((l) => /^[\w.]+/.exec(l)![0]), lines: on };
  } finally {
    c.close();
  }
}

// ---------------------------------------------------------------------------------------
const cork = suite('serve: TCP_CORK holds the head only until file bytes follow it');
cork.before(() => {
  lines = [];
  s = startTestServer({ 'big.bin': BIG }, { trace: (_worker, line) => { lines.push(line); } });
});
cork.after(() => s.close());

cork('a large file: corked for the head, uncorked right after the first sendfile, the rest sent uncorked', async () => {
  const { reply, calls, lines: on } = await heldBack(get('/big.bin'));
  assert.is(reply.status, 200);
  assert.ok(reply.body.equals(BIG), 'the body is the file');
  const sendfiles = calls.filter((n) => n === 'zerocopy.sendfile').length;
  assert.ok(sendfiles >= 2, `the file took ${sendfiles} sendfile call(s): ${calls.join(' ')}`);
  // cork, the head with the file's kept start, one sendfile, uncork; then only sendfile.
  assert.equal(calls.slice(0, 4), ['zerocopy.sock_cork', 'sock_send', 'zerocopy.sendfile', 'zerocopy.sock_cork'], calls.join(' '));
  const [corked, uncorked] = on.filter((l) => l.startsWith('zerocopy.sock_cork'));
  assert.match(corked, /enable=1\) = success/);
  assert.match(uncorked, /enable=0\) = success/);
  assert.equal(calls.slice(4), Array(sendfiles - 1).fill('zerocopy.sendfile'), 'nothing but sendfile after the uncork');
});

cork('multipart ranges stay corked to the end: their part headers sit between file ranges', async () => {
  const ranges = [[0, 99], [1 << 20, (12 << 20) - 1], [(15 << 20), (15 << 20) + 9]];
  const { reply, calls } = await heldBack(get('/big.bin', { Range: `bytes=${ranges.map(([a, b]) => `${a}-${b}`).join(',')}` }));
  assert.is(reply.status, 206);
  assert.match(reply.headers['content-type'], /^multipart\/byteranges; boundary=/);
  for (const [a, b] of ranges) assert.ok(reply.body.includes(BIG.subarray(a, b + 1)), `the part ${a}-${b} is in the body`);
  assert.ok(calls.filter((n) => n === 'zerocopy.sendfile').length >= 3, calls.join(' '));
  assert.is(calls[0], 'zerocopy.sock_cork');
  assert.is(calls.filter((n) => n === 'zerocopy.sock_cork').length, 2, calls.join(' '));
  assert.is(calls[calls.length - 1], 'zerocopy.sock_cork', 'the uncork comes after the last part');
});
cork.run();
