// A bounded byte writer over memory the caller owns: the response head, a log line, a
// listing page. Appends never write past `end`; an overflow is remembered (`ok` false) instead
// of trapping, so a caller builds the whole thing and checks once. No append allocates.
import { decimalDigits, writeDecimal } from "../text/decimal";

@final export class Out {
  start: usize = 0;
  pos: usize = 0;
  end: usize = 0;
  ok: bool = true;

  /** Starts writing at `start`, at most `capacity` bytes. */
  reset(start: usize, capacity: usize): Out {
    this.start = start;
    this.pos = start;
    this.end = start + capacity;
    this.ok = true;
    return this;
  }

  get length(): u32 { return <u32>(this.pos - this.start); }

  byte(b: u32): Out {
    if (this.pos < this.end) store<u8>(this.pos++, <u8>b);
    else this.ok = false;
    return this;
  }

  bytes(ptr: usize, len: usize): Out {
    if (len <= this.end - this.pos) {
      memory.copy(this.pos, ptr, len);
      this.pos += len;
    } else this.ok = false;
    return this;
  }

  /** An ASCII string (header names, fixed texts); a char past 0x7e is written as '?'. */
  str(s: string): Out {
    const n = <usize>s.length;
    if (n > this.end - this.pos) { this.ok = false; return this; }
    const p = changetype<usize>(s);
    for (let i: usize = 0; i < n; i++) {
      const c = load<u16>(p + (i << 1));
      store<u8>(this.pos + i, c < 0x7f ? <u8>c : 0x3f);
    }
    this.pos += n;
    return this;
  }

  /** A decimal number. */
  dec(v: u64): Out {
    const digits = decimalDigits(v);
    if (digits > this.end - this.pos) { this.ok = false; return this; }
    writeDecimal(this.pos, v, digits);
    this.pos += digits;
    return this;
  }

  /** A number as exactly `width` decimal digits, zero-padded (dates, boundaries). */
  dec0(v: u64, width: i32): Out {
    if (<usize>width > this.end - this.pos) { this.ok = false; return this; }
    writeDecimal(this.pos, v, <usize>width);
    this.pos += width;
    return this;
  }

  /** A number in lowercase hexadecimal (ETags). */
  hex(v: u64): Out {
    let digits: usize = 1;
    for (let t = v; t >= 16; t >>= 4) digits++;
    if (digits > this.end - this.pos) { this.ok = false; return this; }
    let p = this.pos + digits;
    do { const d = <u8>(v & 15); store<u8>(--p, d < 10 ? 0x30 + d : 0x57 + d); v >>= 4; } while (v != 0);
    this.pos += digits;
    return this;
  }

  /** "\r\n". */
  crlf(): Out { return this.byte(0x0d).byte(0x0a); }
}
