// The access log, one line per request in the combined log format, as nginx writes it:
//   127.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 2326 "-" "curl/8.0"
// Lines gather in a buffer written to stdout once per turn of the event loop (before it
// waits) or when full, so that a busy server does not pay a host call per request. Quoted
// fields are escaped as nginx does ('"', '\' and bytes outside 0x20-0x7e as \xXX) and capped,
// so a line is bounded whatever a client sends. Errors go to stderr at once.
import { fd_write } from "bindings/wasi_snapshot_preview1";
import { Out } from "./out";
import { logDateText } from "./clock";

const CAP: usize = 65536;
/** The most one quoted field adds to a line (each byte may become 4). */
const FIELD_MAX: u32 = 2048;
const LINE_MAX: usize = 3 * FIELD_MAX + 256;

const buf = heap.alloc(CAP);
const out = new Out().reset(buf, CAP);
const iov = memory.data(16);

export let enabled = true;
export function setEnabled(on: bool): void { enabled = on; }

function writeAll(fd: u32, p: usize, n: usize): void {
  while (n > 0) {
    store<u32>(iov, <u32>p);
    store<u32>(iov, <u32>n, 4);
    if (fd_write(fd, iov, 1, iov + 8) != 0) return; // nowhere to report it: the log is lost
    const w = <usize>load<u32>(iov, 8);
    if (w == 0) return;
    p += w;
    n -= w;
  }
}

/** Writes what the buffer holds to stdout. */
export function flush(): void {
  if (out.length == 0) return;
  writeAll(1, buf, out.length);
  out.reset(buf, CAP);
}

/** A quoted field: base[s, e) escaped, or "-" when empty. */
function quoted(base: usize, s: u32, e: u32): void {
  out.byte(0x22);
  if (e <= s) out.byte(0x2d);
  const stop = out.pos + FIELD_MAX;
  for (let i = s; i < e && out.pos < stop; i++) {
    const c = <u32>load<u8>(base + i);
    if (c < 0x20 || c > 0x7e || c == 0x22 || c == 0x5c) {
      const h = c >> 4, l = c & 15;
      out.byte(0x5c).byte(0x78).byte(h < 10 ? 0x30 + h : 0x37 + h).byte(l < 10 ? 0x30 + l : 0x37 + l);
    } else out.byte(c);
  }
  out.byte(0x22);
}

/**
 * One request's line. peer[0, peerLen): the client's address; the request line, Referer and
 * User-Agent are spans of base (empty for none).
 */
export function access(peer: usize, peerLen: u32, base: usize, rs: u32, re: u32, status: u16, bytes: u64,
  refS: u32, refE: u32, uaS: u32, uaE: u32): void {
  if (!enabled) return;
  if (CAP - out.length < LINE_MAX) flush();
  out.bytes(peer, peerLen).str(" - - [").bytes(logDateText, 26).str("] ");
  quoted(base, rs, re);
  out.byte(0x20).dec(status).byte(0x20).dec(bytes).byte(0x20);
  quoted(base, refS, refE);
  out.byte(0x20);
  quoted(base, uaS, uaE);
  out.byte(0x0a);
}

/** An error on stderr, at once: "serve: what". */
export function error(what: string): void {
  const s = String.UTF8.encode("serve: " + what + "\n");
  writeAll(2, changetype<usize>(s), s.byteLength);
}
