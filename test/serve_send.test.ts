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

// ---------------------------------------------------------------------------------------
const chunks = suite('serve: sendfile asks for at most a chunk, then the connection gives up its turn');
let small: TestServer;
const smallLines: string[] = [];
chunks.before(() => {
  lines = [];
  s = startTestServer({ 'big.bin': BIG }, { trace: (_worker, line) => { lines.push(line); } });
  small = startTestServer({ 'big.bin': BIG }, { sendfileChunk: 65536, trace: (_worker, line) => { smallLines.push(line); } });
});
chunks.after(async () => { await s.close(); await small.close(); });

/** ret_sent and count of a sendfile trace line. */
function counts(line: string): { count: number; sent: number } {
  const m = /count=(\d+), ret_sent=(\d+)\) = success/.exec(line);
  if (!m) throw new Error(`not a successful sendfile: ${line}`);
  return { count: Number(m[1]), sent: Number(m[2]) };
}

chunks('no sendfile asks for more than 8 MiB, and the file arrives whole', async () => {
  const { reply, lines: on } = await heldBack(get('/big.bin'));
  assert.is(reply.status, 200);
  assert.ok(reply.body.equals(BIG), 'the body is the file');
  const asked = on.filter((l) => l.startsWith('zerocopy.sendfile(')).map((l) => counts(l).count);
  assert.is(asked[0], 8 << 20, 'the first call asks for a whole chunk of the 16 MiB');
  assert.ok(asked.every((n) => n <= 8 << 20), `counts asked: ${asked.join(', ')}`);
});

chunks('after a chunk that went whole, the guest goes back to poll_oneoff before the next sendfile', async () => {
  const c = new Conn(small.port);
  const before = smallLines.length;
  try {
    await c.connected();
    await c.write(get('/big.bin'));
    const reply = await c.reply();
    assert.is(reply.status, 200);
    assert.ok(reply.body.equals(BIG), 'the body is the file');
  } finally {
    c.close();
  }
  await waitFor('the access-log line', () => smallLines.slice(before).some((l) => l.startsWith('fd_write(fd=1,')));
  // The guest is one thread: its trace is the order of its calls. Log writes and the uncork
  // after the first sendfile aside, the call after a whole chunk that was not the file's last
  // must be the wait of the next turn.
  const calls = smallLines.slice(before).filter((l) => !/^(fd_write\(fd=1,|zerocopy\.sock_cork\()/.test(l));
  let whole = 0;
  for (let k = 0; k < calls.length; k++) {
    if (!calls[k].startsWith('zerocopy.sendfile(')) continue;
    const { count, sent } = counts(calls[k]);
    assert.ok(count <= 65536, calls[k]);
    if (sent < count || /=> \[16777216\]/.test(calls[k])) continue;
    whole++;
    assert.match(calls[k + 1], /^poll_oneoff\(/, `after ${calls[k]}came ${calls[k + 1]}`);
  }
  assert.ok(whole >= 10, `only ${whole} of the 256 chunks went whole: the client read too slowly to tell`);
});

chunks('a sendfileChunk that is not a positive byte count below 2 GiB is refused', () => {
  for (const bad of [0, -1, 1.5, 0x7ffff001, NaN]) {
    assert.throws(() => startTestServer({}, { sendfileChunk: bad }), /sendfileChunk .*: expected bytes from 1 to 2147479552/);
  }
});
chunks.run();
