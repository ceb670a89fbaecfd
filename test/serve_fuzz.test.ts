// Fuzzing one server with well-formed, mutated, binary, oversized and truncated requests,
// pipelined many to a connection and many connections at once (test/helpers/http_fuzz.ts
// makes them). The guest must never trap; every connection must get exactly the responses
// the server's framing promises (one per complete head, until one that says "Connection:
// close"), each well-formed, and then be closed; a normal request must still work; no
// descriptor may be left behind. Seeded: WZC_FUZZ_SEED=N replays a run (failures name it).
import { suite } from './helpers/suite.js';
import * as assert from 'uvu/assert';
import { readdirSync, readlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { get, request as httpRequest } from './helpers/http.js';
import { openFds } from './helpers/guest.js';
import { startTestServer, waitFor, type TestServer } from './helpers/serve.js';
import { DOCROOT, Rng, connectionBytes, frame, isHead, readResponses, request, mutate, type Response } from './helpers/http_fuzz.js';

const SEED = Number(process.env.WZC_FUZZ_SEED ?? 20240612);
const CONNECTIONS = 10_000;
const PARALLEL = 48;
const MIN_ANSWERED = 100_000;
const STATUSES = new Set([200, 206, 301, 304, 400, 403, 404, 405, 412, 414, 416, 431, 505]);
/** Statuses after which the server must close: the framing is in doubt (RFC 9112 9.6). */
const CLOSING = new Set([400, 414, 431, 505]);

/** Sockets this process holds (the server runs in its worker threads, so its are counted too). */
function sockets(): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try { if (readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:')) n++; } catch { /* closed meanwhile */ }
  }
  return n;
}

/**
 * Sends `chunks` on one connection, each as its own write with `gap` between (a macrotask, so
 * the server can read each apart), then ends our side; resolves with all that came back once
 * the server closed. A reset counts as a close with what arrived before it.
 */
function exchange(port: number, chunks: Buffer[], gap: boolean): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const got: Buffer[] = [];
    const s = connect(port, '127.0.0.1');
    const timer = setTimeout(() => { s.destroy(); reject(new Error('the server neither answered nor closed within 30 s')); }, 30_000);
    s.on('data', (d) => got.push(d));
    s.on('error', (e: NodeJS.ErrnoException) => { if (e.code !== 'ECONNRESET' && e.code !== 'EPIPE') { clearTimeout(timer); reject(e); } });
    s.on('close', () => { clearTimeout(timer); resolve(Buffer.concat(got)); });
    s.on('connect', async () => {
      for (const c of chunks) {
        if (s.destroyed) return;
        s.write(c);
        if (gap) await new Promise((r) => setTimeout(r, 1));
      }
      s.end();
    });
  });
}

/**
 * Checks what one connection got against what it sent: responses for the complete heads in
 * order, each well-formed with a known status; one that says close is the last; without one,
 * every complete head was answered; an oversized head is 414 or 431 as the framing says.
 * Returns the number of responses.
 */
const statusCounts = new Map<number, number>();

function check(sent: Buffer, got: Buffer, where: string): number {
  const heads = frame(sent);
  let responses: Response[];
  try {
    responses = readResponses(got, (i) => i < heads.length && !heads[i].oversized && isHead(sent.subarray(heads[i].start, heads[i].end)));
  } catch (e) {
    throw new Error(`${where}: ${(e as Error).message}`);
  }
  const closeAt = responses.findIndex((r) => r.close);
  const detail = () => `${where}: ${heads.length} heads, ${responses.length} responses ` +
    `(${responses.map((r) => r.status + (r.close ? ' close' : '')).join(', ')}); sent ${JSON.stringify(sent.toString('latin1').slice(0, 400))}`;
  if (closeAt < 0) assert.ok(responses.length === heads.length && (heads.length === 0 || !heads[heads.length - 1].oversized), detail());
  else assert.ok(closeAt === responses.length - 1 && responses.length <= heads.length, detail());
  responses.forEach((r, i) => {
    assert.ok(STATUSES.has(r.status), `${detail()}: status ${r.status}`);
    if (CLOSING.has(r.status)) assert.ok(r.close, `${detail()}: ${r.status} without Connection: close`);
    if (heads[i].oversized) assert.is(r.status, heads[i].oversized, detail());
    statusCounts.set(r.status, (statusCounts.get(r.status) ?? 0) + 1);
  });
  return responses.length;
}

let s: TestServer;
const traps: string[] = [];
let fdsBefore: string[] = [];
let socketsBefore = 0;
let closed = false;

// ---------------------------------------------------------------------------------------
const fuzz = suite('serve: fuzzing one server');

fuzz.before(async () => {
  // Warm up: Node keeps some descriptors for worker threads after the first ones.
  const warm = startTestServer({ 'a.txt': 'A' });
  await httpRequest(warm.port, get('/a.txt'));
  await warm.close();
  await new Promise((r) => setTimeout(r, 200));
  fdsBefore = openFds();
  s = startTestServer(DOCROOT, {
    list: true,
    onExit: (_, r) => { if (r.trap !== undefined) traps.push(r.trap); else if (r.error !== undefined) traps.push(r.error); },
  });
  assert.is((await httpRequest(s.port, get('/a.txt'))).status, 200);
  await new Promise((r) => setTimeout(r, 200));
  socketsBefore = sockets();
});

fuzz(`${CONNECTIONS} connections of pipelined random and mutated requests get exactly the responses due, well-formed, then a close (seed ${SEED})`, async () => {
  const rng = new Rng(SEED);
  // Generated in order from the one seed, so a run is the same whatever the scheduling.
  const plan = Array.from({ length: CONNECTIONS }, (_, i) => {
    const { bytes, requests } = connectionBytes(rng);
    // Most go in one write; some in random pieces, each its own read on the server's side.
    const cuts = rng.chance(0.8) ? [] : Array.from({ length: 1 + rng.int(6) }, () => rng.int(bytes.length)).sort((a, b) => a - b);
    const chunks = [0, ...cuts].map((c, k, all) => bytes.subarray(c, k + 1 < all.length ? all[k + 1] : bytes.length)).filter((c) => c.length);
    return { i, bytes, requests, chunks };
  });
  const t0 = Date.now();
  let answered = 0, sent = 0, next = 0;
  const workers = Array.from({ length: PARALLEL }, async () => {
    while (next < plan.length) {
      const p = plan[next++];
      try {
        const got = await exchange(s.port, p.chunks, p.chunks.length > 1);
        answered += check(p.bytes, got, `seed ${SEED}, connection ${p.i}`);
      } catch (e) {
        next = plan.length; // the first failure is the one to read: start no more
        if (traps.length) throw new Error(`the guest trapped (${traps.join('; ')}); then ${(e as Error).message}`);
        throw e;
      }
      sent += p.requests;
    }
  });
  await Promise.all(workers);
  assert.equal(traps, []);
  const counts = [...statusCounts].sort((a, b) => a[0] - b[0]).map(([k, v]) => `${k}: ${v}`).join(', ');
  assert.ok(answered >= MIN_ANSWERED, `only ${answered} of ${sent} requests were answered (at least ${MIN_ANSWERED} must be); ${counts}`);
  if (process.env.WZC_FUZZ_SEED) console.log(`  ${answered} of ${sent} requests answered in ${Date.now() - t0} ms; ${counts}`);
}, { timeout: 240_000 });

fuzz('a request split at every byte boundary gets the same responses as when sent whole', async () => {
  const rng = new Rng(SEED + 1);
  const samples = [
    Buffer.from('GET /a.txt HTTP/1.1\r\nHost: t\r\nRange: bytes=1-3\r\n\r\nHEAD /dir/ HTTP/1.1\r\nHost: t\r\n\r\n'),
    Buffer.from('\r\n\nGET /big.bin HTTP/1.0\nHost: t\nConnection: keep-alive\n\nGET /nope HTTP/1.1\r\nHost: t\r\n\r\n'),
    Buffer.from('GET /c.js HTTP/1.1\r\nHost: t\r\nAccept-Encoding: br\r\nIf-None-Match: "x"\r\n\r\n'),
    request(rng), request(rng), mutate(rng, request(rng)), mutate(rng, request(rng)),
  ];
  // Date may tick between two responses; nothing else may differ.
  const norm = (b: Buffer) => b.toString('latin1').replace(/\r\nDate: [^\r]*/g, '');
  let connections = 0;
  for (const whole of samples) {
    const first = await exchange(s.port, [whole], false);
    check(whole, first, `whole ${JSON.stringify(whole.toString('latin1'))}`);
    const expected = norm(first);
    const splits = Array.from({ length: whole.length - 1 }, (_, k) => k + 1);
    let next = 0;
    await Promise.all(Array.from({ length: 32 }, async () => {
      while (next < splits.length) {
        const k = splits[next++];
        const got = await exchange(s.port, [whole.subarray(0, k), whole.subarray(k)], true);
        assert.is(norm(got), expected, `split at byte ${k} of ${JSON.stringify(whole.toString('latin1'))}`);
        connections++;
      }
    }));
  }
  assert.ok(connections > 300, `${connections} split connections`);
  assert.equal(traps, []);
}, { timeout: 120_000 });

fuzz('afterwards a normal request works, nothing went to stderr, every connection was closed, and no descriptor is left', async () => {
  const r = await httpRequest(s.port, get('/index.html'));
  assert.is(r.status, 200);
  assert.is(r.body.toString(), DOCROOT['index.html']);
  assert.is(s.errors(), '');
  // Server and clients close their ends once each exchange ends: back to the listeners alone.
  await waitFor(`the sockets to be closed (${sockets()} open, ${socketsBefore} before)`, () => sockets() <= socketsBefore, 10_000);
  assert.equal(await s.stop(), [0]);
  assert.equal(traps, []);
  await s.close();
  closed = true;
  await new Promise((r) => setTimeout(r, 200));
  // Leaks are descriptors that appeared and stayed (others' may close meanwhile, in a full run).
  assert.equal(openFds().filter((fd) => !fdsBefore.includes(fd)), []);
});

fuzz.after(async () => { if (s && !closed) await s.close(); });
fuzz.run();
