// The fuzz test's parts (test/serve_fuzz.test.ts): a seeded generator of HTTP/1.1 requests,
// well-formed and not; a model of how the server frames a byte stream into request heads
// (assembly/serve/parser.ts: headEnd, emptyLines, MAX_HEAD), which tells how many responses
// a connection must get; and a strict reader of what came back.

/** sfc32 (Chris Doty-Humphrey's small fast counter), seeded by splitmix32: the same seed gives the same requests everywhere. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d = 1;
  constructor(seed: number) {
    let x = seed >>> 0;
    const split = () => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = split(); this.b = split(); this.c = split();
    for (let i = 0; i < 12; i++) this.next();
  }
  /** A float in [0, 1). */
  next(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t / 4294967296;
  }
  /** An integer in [0, n). */
  int(n: number): number { return Math.floor(this.next() * n); }
  pick<T>(xs: readonly T[]): T { return xs[this.int(xs.length)]; }
  chance(p: number): boolean { return this.next() < p; }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}

/** The docroot the fuzz serves: small files, one sent with sendfile, directories, variants. */
export const DOCROOT = {
  'index.html': '<!doctype html><title>fuzz</title><p>index</p>\n',
  'a.txt': 'hello\n',
  'big.bin': Buffer.alloc(40_000, 'b'), // over the 16 KiB kept in memory: sendfile
  'c.js': 'console.log(1)\n',
  'c.js.gz': 'gzip bytes',
  'c.js.br': 'br bytes',
  'dir/index.html': '<p>dir</p>\n',
  'dir/b.css': 'p { color: red }\n',
  'sub/x.txt': 'x\n',
  'sp ace.txt': 'space\n',
  '\u00fc.txt': 'umlaut\n',
  'empty': { dir: true as const },
  'out': { symlink: '/etc' },
} as const;

const PATHS = [
  '/', '/index.html', '/a.txt', '/big.bin', '/c.js', '/dir', '/dir/', '/dir/b.css', '/sub', '/sub/',
  '/sub/x.txt', '/empty/', '/out/passwd', '/out', '/sp%20ace.txt', '/%C3%BC.txt', '/%c3%bc.txt',
  '/nope', '/a.txt?x=1&y', '//a.txt', '/./a.txt', '/dir/../a.txt', '/dir%2fb.css', '/big.bin/',
  '/index.html/.', '/\u00ff', 'http://h/a.txt', 'HTTPS://h:1/dir?q', '/%ff%fe', '/dir/./../sub/./x.txt',
];
/** Targets that are 400 (and so end the connection). */
const BAD_PATHS = ['/../a.txt', '/%2e%2e/a.txt', '/dir/%2e%2e/%2e%2e/', '/a.txt%00', '/%zz', '/%', '/a.txt#f', '*', 'a.txt', 'http://h'];
const METHODS = ['POST', 'PUT', 'OPTIONS', 'DELETE', 'get', 'GETT', 'G', 'M-SEARCH'];
const BAD_VERSIONS = ['HTTP/2.0', 'HTTP/0.9', 'HTTP/1.x', 'http/1.1', 'HTTP/1.10', 'HTTP/1.1 ', 'HTTP/'];
const TOKENS = ['keep-alive', 'Keep-Alive', 'upgrade', ',,', 'keep-alive,,te', '', 'closed', 'clos', 'te, keep-alive'];
const DATES = ['Thu, 01 Jan 1970 00:00:00 GMT', 'Sun, 06 Nov 1994 08:49:37 GMT', 'Sunday, 06-Nov-94 08:49:37 GMT',
  'Sun Nov  6 08:49:37 1994', 'Fri, 31 Dec 9999 23:59:59 GMT', 'Mon, 32 Foo 2020 25:61:61 GMT', 'yesterday', ''];

/** A random unsigned number, small or huge, as text. */
function num(r: Rng): string {
  return r.pick([() => String(r.int(10)), () => String(r.int(50_000)), () => String(r.int(2 ** 31)),
    () => '9'.repeat(1 + r.int(30)), () => '0' + String(r.int(100)), () => ''])();
}

function rangeSpec(r: Rng): string {
  const one = () => r.pick([() => `${num(r)}-${num(r)}`, () => `${num(r)}-`, () => `-${num(r)}`, () => num(r), () => ' - '])();
  const parts = Array.from({ length: r.chance(0.7) ? 1 : 1 + r.int(r.chance(0.9) ? 5 : 80) }, one);
  return `${r.pick(['bytes=', 'bytes=', 'bytes =', 'BYTES=', 'items=', ''])}${parts.join(r.pick([',', ', ', ' ,', ',,']))}`;
}

function etag(r: Rng): string {
  return r.pick(['*', '"x"', 'W/"x"', '"', `"${r.int(1e9).toString(16)}-${r.int(1e5).toString(16)}"`, '"a", W/"b", *', ',']);
}

/** Printable junk, with some high bytes (the log escapes them). */
function junk(r: Rng, max: number): string {
  const n = r.int(max);
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(r.chance(0.9) ? 0x20 + r.int(95) : 0x80 + r.int(128));
  return s;
}

/** A path of random segments, three levels down, so that its ".." segments stay inside. */
function randomPath(r: Rng): string {
  const segs = Array.from({ length: r.int(4) }, () => r.pick(['a', '.', '..', '%2e', '%2E%2e', '', 'dir', 'x%41', '%ff', junk(r, 6).replace(/[ #?%]/g, '_')]));
  return '/d/e/f/' + segs.join('/') + (r.chance(0.2) ? '?' + junk(r, 10).replace(/[ #]/g, '+') : '');
}

/** Header lines, mostly ones the server reads, with values good and bad. */
function header(r: Rng): string {
  switch (r.int(14)) {
    case 0: return `Range: ${rangeSpec(r)}`;
    case 1: return `If-None-Match: ${etag(r)}`;
    case 2: return `If-Match: ${etag(r)}`;
    case 3: return `If-Modified-Since: ${r.pick(DATES)}`;
    case 4: return `If-Unmodified-Since: ${r.pick(DATES)}`;
    case 5: return `If-Range: ${r.chance(0.5) ? etag(r) : r.pick(DATES)}`;
    case 6: return `Accept-Encoding: ${r.pick(['gzip', 'br', 'gzip, br', 'br;q=0, gzip;q=0.5', '*', 'identity', '*;q=0', 'gzip;q=x', junk(r, 20)])}`;
    case 7: return `Connection: ${r.pick(TOKENS)}`;
    case 8: return `User-Agent: ${junk(r, 60)}`;
    case 9: return `Referer: ${junk(r, 60)}`;
    case 10: return `${r.pick(['X-A', 'Accept', 'Cookie', 'x'])}: ${junk(r, 40)}`;
    case 11: return `Content-Length: ${r.pick(['0', '00', '000'])}`;
    case 12: return `X-Host: ${r.pick(['t', '', 'a:80', '[::1]'])}`;
    default: return `${r.pick(['Range', 'range', 'RANGE', 'If-None-Match', 'if-modified-since'])}:${r.pick(['', ' ', '\t'])}${rangeSpec(r)}`;
  }
}

/** A line or part that makes the server answer and close (400, 505, a body, close). */
function fatal(r: Rng): { target?: string; version?: string; line?: string; noHost?: boolean } {
  switch (r.int(6)) {
    case 0: return { target: r.pick(BAD_PATHS) };
    case 1: return { version: r.pick(BAD_VERSIONS) };
    case 2: return { noHost: true };
    case 3: return { line: r.pick(['Host: t', 'Host: other', 'Transfer-Encoding: chunked', 'Content-Length: 5', 'Content-Length: 1x', 'Content-Length: ', 'Content-Length: -1']) };
    case 4: return { line: `Connection: ${r.pick(['close', 'CLOSE', 'te, close', 'keep-alive, close'])}` };
    default: return { version: 'HTTP/1.0' };
  }
}

/**
 * A request, well-formed but for its meaning (methods, targets, ranges, dates and validators
 * good and bad), which the server answers keeping the connection; with `closing`, one part of
 * it makes the server close after answering.
 */
export function request(r: Rng, closing = false): Buffer {
  const eol = r.chance(0.9) ? '\r\n' : '\n';
  const f = closing ? fatal(r) : {};
  const method = r.chance(0.8) ? (r.chance(0.8) ? 'GET' : 'HEAD') : r.pick(METHODS);
  const target = f.target ?? (r.chance(0.8) ? r.pick(PATHS) : randomPath(r));
  const version = f.version ?? 'HTTP/1.1';
  const lines = [`${method} ${target} ${version}`];
  if (!f.noHost) lines.push('Host: t');
  const n = r.chance(0.8) ? r.int(4) : r.int(12);
  for (let i = 0; i < n; i++) lines.push(header(r));
  if (f.line) lines.splice(1 + r.int(lines.length), 0, f.line);
  return Buffer.from(lines.join(eol) + eol + eol, 'latin1');
}

/** Bytes that tend to matter to an HTTP parser. */
const SPECIAL = [0x00, 0x0d, 0x0a, 0x20, 0x09, 0x3a, 0x25, 0x2f, 0x2e, 0x3f, 0x23, 0x2c, 0x3d, 0x2d, 0x22, 0x7f, 0x80, 0xff];

/**
 * One to four byte-level changes: flips, inserts, deletions, duplicated spans; anywhere, or
 * (`inValues`) only after the request line, where fewer of them end the connection.
 */
export function mutate(r: Rng, b: Buffer, inValues = false): Buffer {
  let x = Buffer.from(b);
  const from = inValues ? x.indexOf(0x0a) + 1 : 0;
  for (let k = 1 + r.int(4); k > 0; k--) {
    const at = from + r.int(x.length + 1 - from);
    switch (r.int(5)) {
      case 0: if (at < x.length) x[at] = r.chance(0.5) ? r.pick(SPECIAL) : r.int(256); break;
      case 1: x = Buffer.concat([x.subarray(0, at), Buffer.from([r.pick(SPECIAL)]), x.subarray(at)]); break;
      case 2: x = Buffer.concat([x.subarray(0, at), x.subarray(Math.min(x.length, at + 1 + r.int(8)))]); break;
      case 3: {
        const len = 1 + r.int(16);
        x = Buffer.concat([x.subarray(0, at + len), x.subarray(at, at + len), x.subarray(at + len)]);
        break;
      }
      default: if (at < x.length) x[at] = x[at] ^ (1 << r.int(8));
    }
  }
  return x;
}

/** Heads past the limits: 8 KiB without an end, a long request line, too many lines. */
export function oversized(r: Rng): Buffer {
  switch (r.int(4)) {
    case 0: return Buffer.from(`GET /${'a'.repeat(8200 + r.int(4000))} HTTP/1.1\r\nHost: t\r\n\r\n`);
    case 1: return Buffer.from(`GET / HTTP/1.1\r\nHost: t\r\nX: ${'v'.repeat(8200 + r.int(4000))}\r\n\r\n`);
    case 2: return Buffer.from(`GET / HTTP/1.1\r\nHost: t\r\n${'X: y\r\n'.repeat(95 + r.int(20))}\r\n`);
    default: return Buffer.concat([Buffer.from('GET / HTTP/1.1\r\n'), r.bytes(7000 + r.int(4000))]);
  }
}

/** What one connection sends: several requests back to back, perhaps ending in junk or a cut. */
export function connectionBytes(r: Rng): { bytes: Buffer; requests: number } {
  const parts: Buffer[] = [];
  const count = 1 + r.int(r.chance(0.2) ? 8 : 80);
  for (let i = 0; i < count; i++) {
    const p = r.next();
    if (p < 0.92) parts.push(request(r, r.chance(0.02)));
    else if (p < 0.96) parts.push(mutate(r, request(r), r.chance(0.5)));
    else if (p < 0.99) parts.push(Buffer.from(r.pick(['\r\n', '\n', '\r\n\r\n']).repeat(1 + r.int(3))));
    else if (p < 0.997) parts.push(r.bytes(1 + r.int(r.chance(0.8) ? 64 : 10_000)));
    else parts.push(oversized(r));
  }
  if (r.chance(0.1)) {
    const last = request(r);
    parts.push(last.subarray(0, r.int(last.length))); // cut short: the server gets EOF mid-head
  }
  return { bytes: Buffer.concat(parts), requests: count };
}

// --- the server's framing ------------------------------------------------------------------
export const MAX_HEAD = 8192;

/** One unit the server answers: a head base[start, end), or an oversized run of `status`. */
export interface Framed { start: number; end: number; oversized: 0 | 414 | 431 }

/**
 * Frames the stream as the server does: empty lines before a request line are skipped; a head
 * ends at an empty line (CRLF or a bare LF); a head without an end in its first 8 KiB is 414
 * (no line ended) or 431, and ends the connection; an unfinished tail is never answered.
 */
export function frame(b: Buffer): Framed[] {
  const out: Framed[] = [];
  let p = 0;
  for (;;) {
    while (p < b.length && (b[p] === 0x0d || b[p] === 0x0a)) p++;
    if (p >= b.length) return out;
    const stop = Math.min(b.length, p + MAX_HEAD);
    let end = -1;
    for (let i = p + 1; i < stop; i++) {
      if (b[i] !== 0x0a) continue;
      let j = i;
      if (b[j - 1] === 0x0d) j--;
      if (j > p && b[j - 1] === 0x0a) { end = i + 1; break; }
    }
    if (end >= 0) { out.push({ start: p, end, oversized: 0 }); p = end; continue; }
    if (stop - p < MAX_HEAD) return out;
    const lf = b.subarray(p, stop).includes(0x0a);
    out.push({ start: p, end: stop, oversized: lf ? 431 : 414 });
    return out;
  }
}

/** Whether the server takes the head as a HEAD request: its request line parses, method HEAD. */
export function isHead(head: Buffer): boolean {
  let le = head.indexOf(0x0a);
  if (le < 0) le = head.length;
  const line = head.subarray(0, le > 0 && head[le - 1] === 0x0d ? le - 1 : le).toString('latin1');
  return /^HEAD [^\x00-\x20\x7f]+ HTTP\/1\.[0-9]$/.test(line);
}

// --- what came back -------------------------------------------------------------------------
export interface Response { status: number; close: boolean; head: string; body: Buffer }

/**
 * Reads the responses in `b` strictly: a status line, fields, a body of exactly Content-Length
 * (none after HEAD or for 304). `noBody(i)` tells whether the i-th answered a HEAD. Throws on
 * anything else, including bytes left over.
 */
export function readResponses(b: Buffer, noBody: (i: number) => boolean): Response[] {
  const out: Response[] = [];
  let p = 0;
  while (p < b.length) {
    const end = b.indexOf('\r\n\r\n', p);
    if (end < 0) throw new Error(`an incomplete head at byte ${p}: ${JSON.stringify(b.subarray(p, p + 200).toString('latin1'))}`);
    const head = b.subarray(p, end).toString('latin1');
    const m = /^HTTP\/1\.1 (\d{3}) [A-Za-z ]+\r\nServer: wasm-zerocopy\r\nDate: [A-Za-z]{3}, \d\d [A-Za-z]{3} \d{4} \d\d:\d\d:\d\d GMT(\r\n|$)/.exec(head);
    if (!m) throw new Error(`not a response head at byte ${p}: ${JSON.stringify(head.slice(0, 300))}`);
    const status = Number(m[1]);
    const cl = /\r\nContent-Length: (\d+)(\r\n|$)/.exec(head);
    if (!cl && status !== 304) throw new Error(`no Content-Length in ${JSON.stringify(head)}`);
    const length = status === 304 || noBody(out.length) ? 0 : Number(cl![1]);
    if (end + 4 + length > b.length) throw new Error(`a body cut short: ${length} bytes announced, ${b.length - end - 4} came`);
    out.push({ status, close: /\r\nConnection: close(\r\n|$)/.test(head), head, body: b.subarray(end + 4, end + 4 + length) });
    p = end + 4 + length;
  }
  return out;
}
