// The request head parser (RFC 9112 sections 2 to 7). It only parses: it reads bytes between
// `base` and `base + len` and fills a Request with offsets into them, or an error status. It
// never traps and never allocates: every read is checked against the end, the header table
// is fixed-size, and any byte sequence at all gives either a request or 400 / 431 / 505.
//
// The caller first finds the end of the head with `headEnd` (incrementally, as bytes arrive),
// then parses that head once.

/** Methods the server tells apart; anything else that is a token is OTHER (405). */
export const enum Method { GET = 1, HEAD = 2, OTHER = 3 }

/** The header fields the server reads; the parser tags each line with one of these. */
export const enum H {
  OTHER = 0, HOST, CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING, IF_MATCH, IF_NONE_MATCH,
  IF_MODIFIED_SINCE, IF_UNMODIFIED_SINCE, IF_RANGE, RANGE, ACCEPT_ENCODING, USER_AGENT, REFERER,
}
// Lowercase names, in the order of H from HOST on.
const NAMES: StaticArray<string> = [
  "host", "connection", "content-length", "transfer-encoding", "if-match", "if-none-match",
  "if-modified-since", "if-unmodified-since", "if-range", "range", "accept-encoding", "user-agent", "referer",
];

/** At most this many header lines (nginx has no count limit but a buffer one; this bounds the table). */
export const MAX_HEADERS = 100;
/** The largest head, request line and header lines together (nginx's large_client_header_buffers 8k). */
export const MAX_HEAD: u32 = 8192;

@final export class Request {
  /** 0 when the head is a request; else the status to answer with before closing. */
  error: u16 = 0;
  method: Method = Method.OTHER;
  methodStart: u32 = 0; methodEnd: u32 = 0;
  targetStart: u32 = 0; targetEnd: u32 = 0;
  /** The minor version of HTTP/1.x. */
  minor: u8 = 1;
  /** Whether the connection stays open after the response (RFC 9112 section 9.3). */
  keepAlive: bool = true;
  /** A body follows the head (Content-Length above 0, or Transfer-Encoding); it is never read. */
  hasBody: bool = false;
  /** Where the request line starts (after empty lines) and where the head ends. */
  start: u32 = 0; end: u32 = 0;
  count: i32 = 0;
  /** Per line: name start, name end, value start, value end (offsets from the buffer start). */
  readonly spans: StaticArray<u32> = new StaticArray<u32>(MAX_HEADERS * 4);
  readonly ids: StaticArray<u8> = new StaticArray<u8>(MAX_HEADERS);

  /** The index of the first line with this id at or after `from`, or -1. */
  find(id: H, from: i32 = 0): i32 {
    for (let i = from; i < this.count; i++) if (unchecked(this.ids[i]) == <u8>id) return i;
    return -1;
  }
  valueStart(i: i32): u32 { return unchecked(this.spans[i * 4 + 2]); }
  valueEnd(i: i32): u32 { return unchecked(this.spans[i * 4 + 3]); }
}

/**
 * How many CR / LF bytes start base[0, len): a server ignores empty lines before a request
 * line (RFC 9112 2.2); the caller drops them before looking for the end of the head.
 */
export function emptyLines(base: usize, len: u32): u32 {
  let i: u32 = 0;
  while (i < len && (load<u8>(base + i) == 0x0d || load<u8>(base + i) == 0x0a)) i++;
  return i;
}

/**
 * Looks for the empty line that ends a head in base[from, len), where base[0] is the start
 * of a request line and `from` is where the previous look stopped (so a slow client costs
 * linear time in all). Returns the offset just past the empty line, or -1 when more bytes
 * are needed. A bare LF ends a line too (RFC 9112 2.2: "a recipient MAY recognize a single LF").
 */
export function headEnd(base: usize, from: u32, len: u32): i32 {
  for (let i = from > 0 ? from : 1; i < len; i++) {
    if (load<u8>(base + i) != 0x0a) continue;
    let j = i;
    if (load<u8>(base + j - 1) == 0x0d) j--;
    if (j > 0 && load<u8>(base + j - 1) == 0x0a) return <i32>(i + 1);
  }
  return -1;
}

/** Where the next look should start, so that a line end split across reads is found. */
export function rescanFrom(len: u32): u32 { return len > 3 ? len - 3 : 0; }

// tchar (RFC 9110 5.6.2): ! # $ % & ' * + - . ^ _ ` | ~ DIGIT ALPHA
function isTchar(c: u32): bool {
  if (c >= 0x30 && c <= 0x39) return true;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x7a) return true;
  return c == 0x21 || (c >= 0x23 && c <= 0x27) || c == 0x2a || c == 0x2b || c == 0x2d || c == 0x2e ||
    c == 0x5e || c == 0x5f || c == 0x60 || c == 0x7c || c == 0x7e;
}

/** Field-value bytes (RFC 9110 5.5): VCHAR, SP, HTAB and obs-text; CTLs (NUL, a bare CR) are not. */
function isFieldByte(c: u32): bool { return c >= 0x20 ? c != 0x7f : c == 0x09; }

/** Case-insensitive comparison of base[s, e) with a lowercase ASCII name. */
export function equalsLower(base: usize, s: u32, e: u32, name: string): bool {
  if (<i32>(e - s) != name.length) return false;
  for (let i: u32 = 0; i < e - s; i++) {
    if (<u32>(load<u8>(base + s + i) | 0x20) != <u32>name.charCodeAt(i)) return false;
  }
  return true;
}

function headerId(base: usize, s: u32, e: u32): u8 {
  const n = e - s;
  // Most names are not ones we read: a length check first keeps this cheap.
  if (n < 4 || n > 19) return <u8>H.OTHER;
  for (let i = 0; i < NAMES.length; i++) {
    if (equalsLower(base, s, e, unchecked(NAMES[i]))) return <u8>(i + 1);
  }
  return <u8>H.OTHER;
}

function fail(r: Request, status: u16): void {
  r.error = status;
  r.keepAlive = false;
}

/** The end of the line starting at `i` (the index of its LF), or `end` if there is none. */
function lineEnd(base: usize, i: u32, end: u32): u32 {
  while (i < end && load<u8>(base + i) != 0x0a) i++;
  return i;
}

/**
 * Parses the head base[0, end) that `headEnd` found. Fills `r`; on a malformed head sets
 * `r.error` to 400 (431 for too many lines, 505 for an HTTP version other than 1.x).
 */
export function parse(r: Request, base: usize, end: u32): void {
  r.error = 0; r.count = 0; r.keepAlive = true; r.hasBody = false; r.method = Method.OTHER; r.minor = 1;
  r.end = end;
  let i: u32 = 0;
  while (i < end && (load<u8>(base + i) == 0x0d || load<u8>(base + i) == 0x0a)) i++;
  r.start = i;

  // request-line = method SP request-target SP HTTP-version (RFC 9112 3)
  let le = lineEnd(base, i, end);
  let lineStop = le > i && load<u8>(base + le - 1) == 0x0d ? le - 1 : le;
  r.methodStart = i;
  while (i < lineStop && isTchar(load<u8>(base + i))) i++;
  r.methodEnd = i;
  if (i == r.methodStart || i >= lineStop || load<u8>(base + i) != 0x20) { fail(r, 400); return; }
  i++;
  r.targetStart = i;
  // The target: any byte but CTLs and SP (obs-text is let through, as nginx does).
  while (i < lineStop) {
    const c = <u32>load<u8>(base + i);
    if (c <= 0x20 || c == 0x7f) break;
    i++;
  }
  r.targetEnd = i;
  if (i == r.targetStart || i >= lineStop || load<u8>(base + i) != 0x20) { fail(r, 400); return; }
  i++;
  // HTTP-version = "HTTP/" DIGIT "." DIGIT, then the line ends.
  if (lineStop - i != 8 || load<u8>(base + i) != 0x48 || load<u8>(base + i + 1) != 0x54 || load<u8>(base + i + 2) != 0x54 ||
    load<u8>(base + i + 3) != 0x50 || load<u8>(base + i + 4) != 0x2f || load<u8>(base + i + 6) != 0x2e) { fail(r, 400); return; }
  const major = <i32>load<u8>(base + i + 5) - 0x30, minor = <i32>load<u8>(base + i + 7) - 0x30;
  if (major < 0 || major > 9 || minor < 0 || minor > 9) { fail(r, 400); return; }
  if (major != 1) { fail(r, 505); return; }
  r.minor = <u8>minor;
  sawClose = false;
  sawKeepAlive = false;
  const mlen = r.methodEnd - r.methodStart;
  const m = base + r.methodStart;
  if (mlen == 3 && load<u8>(m) == 0x47 && load<u8>(m, 1) == 0x45 && load<u8>(m, 2) == 0x54) r.method = Method.GET;
  else if (mlen == 4 && load<u32>(m) == 0x44414548) r.method = Method.HEAD; // "HEAD"
  i = le + 1;

  // field-line = field-name ":" OWS field-value OWS (RFC 9112 5); a line starting with
  // whitespace is obs-fold, which a server rejects (5.2); so is whitespace before the colon.
  let hosts = 0, lengths = 0, te = false;
  let contentLength: u64 = 0;
  while (i < end) {
    le = lineEnd(base, i, end);
    lineStop = le > i && load<u8>(base + le - 1) == 0x0d ? le - 1 : le;
    if (lineStop == i) break; // the empty line: the head is over
    if (r.count == MAX_HEADERS) { fail(r, 431); return; }
    const ns = i;
    while (i < lineStop && isTchar(load<u8>(base + i))) i++;
    if (i == ns || i >= lineStop || load<u8>(base + i) != 0x3a) { fail(r, 400); return; }
    const ne = i++;
    while (i < lineStop && (load<u8>(base + i) == 0x20 || load<u8>(base + i) == 0x09)) i++;
    const vs = i;
    let ve = vs;
    for (; i < lineStop; i++) {
      const c = <u32>load<u8>(base + i);
      if (!isFieldByte(c)) { fail(r, 400); return; }
      if (c != 0x20 && c != 0x09) ve = i + 1;
    }
    const k = r.count++;
    const id = headerId(base, ns, ne);
    unchecked(r.ids[k] = id);
    unchecked(r.spans[k * 4] = ns);
    unchecked(r.spans[k * 4 + 1] = ne);
    unchecked(r.spans[k * 4 + 2] = vs);
    unchecked(r.spans[k * 4 + 3] = ve);
    if (id == <u8>H.HOST) hosts++;
    else if (id == <u8>H.CONNECTION) connectionOptions(base, vs, ve);
    else if (id == <u8>H.TRANSFER_ENCODING) te = true;
    else if (id == <u8>H.CONTENT_LENGTH) {
      // Content-Length = 1*DIGIT (RFC 9110 8.6); differing or malformed values are an
      // unrecoverable framing error (RFC 9112 6.3, item 5).
      let v: u64 = 0;
      if (ve == vs || ve - vs > 15) { fail(r, 400); return; }
      for (let j = vs; j < ve; j++) {
        const d = <i32>load<u8>(base + j) - 0x30;
        if (d < 0 || d > 9) { fail(r, 400); return; }
        v = v * 10 + d;
      }
      if (lengths++ > 0 && v != contentLength) { fail(r, 400); return; }
      contentLength = v;
    }
    i = le + 1;
  }
  // RFC 9112 3.2: a 1.1 request without Host, or any with more than one, is 400.
  if (hosts > 1 || (hosts == 0 && r.minor >= 1)) { fail(r, 400); return; }
  // RFC 9112 6.1: Transfer-Encoding with Content-Length "ought to be handled as an error".
  if (te && lengths > 0) { fail(r, 400); return; }
  // HTTP/1.1 is persistent unless "close"; 1.0 only with "keep-alive" (RFC 9112 9.3).
  r.keepAlive = !sawClose && (r.minor >= 1 || sawKeepAlive);
  // A body is never read; the connection closes after the response instead (RFC 9112 9.6),
  // so whatever follows is never taken for a request.
  r.hasBody = te || contentLength > 0;
  if (r.hasBody) r.keepAlive = false;
}

// What Connection said, gathered over all its lines.
let sawClose = false, sawKeepAlive = false;

/** Connection: close / keep-alive, a comma-separated list of tokens (RFC 9110 7.6.1). */
function connectionOptions(base: usize, s: u32, e: u32): void {
  let i = s;
  while (i < e) {
    while (i < e && (load<u8>(base + i) == 0x20 || load<u8>(base + i) == 0x09 || load<u8>(base + i) == 0x2c)) i++;
    const ts = i;
    while (i < e && load<u8>(base + i) != 0x2c && load<u8>(base + i) != 0x20 && load<u8>(base + i) != 0x09) i++;
    if (equalsLower(base, ts, i, "close")) sawClose = true;
    else if (equalsLower(base, ts, i, "keep-alive")) sawKeepAlive = true;
  }
}
