// The native twin of assembly/guests/zc_script.ts: the same script language, run by the host
// directly on Linux through the FFI layer (host/native/libc.ts), printing the same lines with
// errno translated by the host's one table. A difference between the two is a sandbox bug.
import { closeSync, constants as C, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import * as libc from '../../host/native/libc.js';
import { fromLinux } from '../../host/sandbox/errno.js';

const MODES: Record<string, number> = {
  r: C.O_RDONLY, w: C.O_WRONLY | C.O_CREAT | C.O_TRUNC, rw: C.O_RDWR | C.O_CREAT, wo: C.O_WRONLY,
};

export function runNative(dir: string, script: string[]): string {
  const slots = new Map<string, number>();
  const opened: number[] = [];
  const lines: string[] = [];
  const out = (s: string) => lines.push(s);
  const slot = (name: string) => slots.get(name) ?? 1000;
  const hex = (b: Uint8Array) => (b.length === 0 ? 'empty' : Buffer.from(b).toString('hex'));
  const offset = (v: string) => (v === '-' ? null : new BigInt64Array([BigInt(v)]));
  const show = (o: BigInt64Array | null) => (o === null ? '-' : String(o[0]));
  const view = (o: BigInt64Array | null) => (o === null ? null : new Uint8Array(o.buffer));
  const errnoOf = (r: number) => (r < 0 ? fromLinux(-r) : 0);
  try {
    for (const line of script) {
      const a = line.split(' ');
      switch (a[0]) {
        case 'open': {
          const fd = openSync(join(dir, a[2]), MODES[a[3]], 0o644);
          opened.push(fd);
          slots.set(a[1], fd);
          break;
        }
        case 'pipe': {
          const fds = new Int32Array(2);
          // The ABI takes WASI fdflags, of which only NONBLOCK (4) means anything for a pipe;
          // any other bit is inval by the ABI's definition (docs/ABI.md), before Linux is asked.
          const r = Number(a[2]) & ~4 ? -22 : libc.pipe2(new Uint8Array(fds.buffer), (Number(a[2]) & 4 ? C.O_NONBLOCK : 0) | 0o2000000);
          if (r === 0) {
            slots.set(`${a[1]}.r`, fds[0]);
            slots.set(`${a[1]}.w`, fds[1]);
            opened.push(fds[0], fds[1]);
          }
          out(`pipe errno=${errnoOf(r)}`);
          break;
        }
        case 'write': libc.write(slot(a[1]), Buffer.from(a[2]), Buffer.byteLength(a[2])); break;
        case 'fill': {
          const chunk = Buffer.alloc(4096, 0x78);
          while (libc.write(slot(a[1]), chunk, 4096) > 0) { /* until EAGAIN */ }
          while (libc.write(slot(a[1]), chunk, 1) > 0) { /* the last partial page */ }
          break;
        }
        case 'seek': libc.lseek(slot(a[1]), BigInt(a[2]), 0); break;
        case 'close': libc.close(slot(a[1])); opened.splice(opened.indexOf(slot(a[1])), 1); break;
        case 'pos': {
          const r = libc.lseek(slot(a[1]), 0n, 1);
          out(`pos ${a[1]}=${r < 0 ? '-' : r}`);
          break;
        }
        case 'readpipe': {
          const want = Number(a[2]);
          const b = Buffer.alloc(want);
          let got = 0;
          while (got < want) {
            const n = libc.read(slot(a[1]), b.subarray(got), want - got);
            if (n <= 0) break;
            got += n;
          }
          out(`read ${a[1]}=${hex(b.subarray(0, got))}`);
          break;
        }
        case 'readfile': {
          const fd = openSync(join(dir, a[1]), 'r');
          const b = Buffer.alloc(128);
          const n = readSync(fd, b, 0, 128, null);
          closeSync(fd);
          out(`file ${a[1]}=${hex(b.subarray(0, n))}`);
          break;
        }
        case 'sendfile': {
          const o = offset(a[3]);
          const r = libc.sendfile(slot(a[1]), slot(a[2]), view(o), BigInt.asUintN(64, BigInt(a[4])));
          out(`sendfile errno=${errnoOf(r)} n=${Math.max(r, 0)} off=${show(o)}`);
          break;
        }
        case 'splice': case 'copy_file_range': {
          const oi = offset(a[2]), oo = offset(a[4]);
          const f = a[0] === 'splice' ? libc.splice : libc.copy_file_range;
          const r = f(slot(a[1]), view(oi), slot(a[3]), view(oo), BigInt.asUintN(64, BigInt(a[5])), Number(a[6]));
          out(`${a[0]} errno=${errnoOf(r)} n=${Math.max(r, 0)} off=${show(oi)} off_out=${show(oo)}`);
          break;
        }
        case 'tee': {
          const r = libc.tee(slot(a[1]), slot(a[2]), BigInt.asUintN(64, BigInt(a[3])), Number(a[4]));
          out(`tee errno=${errnoOf(r)} n=${Math.max(r, 0)} off=-`);
          break;
        }
        default: throw new Error(`unknown op ${a[0]}`);
      }
    }
  } finally {
    for (const fd of opened) libc.close(fd);
  }
  return lines.join('\n');
}
