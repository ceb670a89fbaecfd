// The benchmark's guest (npm run bench). Descriptors are granted by the host: 3 = destination,
// 4 = source. Modes:
//   calls N      N sendfile(3, 4, count = 0) calls; prints the nanoseconds per call
//   sendfile N   sends N bytes from 4 to 3 with sendfile, looping over short counts
//   copy N       moves N bytes from 4 to 3 through guest memory with fd_read / fd_write
import { fd_read, fd_write } from "bindings/wasi_snapshot_preview1";
import { sendfile, sendAll, Offset } from "../zerocopy";

const OUT: u32 = 3, IN: u32 = 4;
const argv = process.argv;
const mode = argv[1];
const n = U64.parseInt(argv[2]);

if (mode == "calls") {
  const t0 = process.hrtime();
  for (let i: u64 = 0; i < n; i++) {
    if (sendfile(OUT, IN, null, 0) != 0) process.exit(1);
  }
  const t1 = process.hrtime();
  process.stdout.write(((<f64>(t1 - t0)) / <f64>n).toString() + "\n");
} else if (mode == "sendfile") {
  const off = new Offset(0);
  const sent = sendAll(OUT, IN, off, n);
  if (sent != <i64>n) { process.stderr.write("sendfile: " + sent.toString() + "\n"); process.exit(1); }
} else if (mode == "copy") {
  const SIZE: usize = 1 << 20;
  const buf = heap.alloc(SIZE);
  const iov = memory.data(8);
  const ret = memory.data(4);
  let left = n;
  while (left > 0) {
    store<u32>(iov, <u32>buf);
    store<u32>(iov, <u32>SIZE, 4);
    if (fd_read(IN, iov, 1, ret) != 0) process.exit(1);
    let got = load<u32>(ret);
    if (got == 0) break;
    let at: usize = 0;
    while (at < got) {
      store<u32>(iov, <u32>(buf + at));
      store<u32>(iov, got - <u32>at, 4);
      if (fd_write(OUT, iov, 1, ret) != 0) process.exit(1);
      at += load<u32>(ret);
    }
    left -= got;
  }
} else {
  process.stderr.write("usage: bench_guest calls|sendfile|copy N\n");
  process.exit(2);
}
