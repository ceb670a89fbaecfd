// zcat FILE...: writes each file to stdout with sendfile(2), the file never passing through
// guest memory. Paths are looked up in the first preopened directory.
import { fd_prestat_get, path_open, fd_close } from "bindings/wasi_snapshot_preview1";
import * as raw from "../zerocopy/bindings";

const ret = memory.data(16);
const argv = process.argv;
let status = 0;
for (let i = 1; i < argv.length; i++) {
  const name = argv[i].startsWith("/") ? argv[i].slice(1) : argv[i];
  const path = String.UTF8.encode(name);
  const e = path_open(3, 1, changetype<usize>(path), path.byteLength, 0, 2 /* fd_read */, 0, 0, ret);
  if (e != 0) { process.stderr.write("zcat: " + argv[i] + ": errno " + e.toString() + "\n"); status = 1; continue; }
  const fd = load<u32>(ret);
  for (;;) {
    const r = raw.sendfile(1, fd, 0, 1 << 30, ret);
    if (r != 0) { process.stderr.write("zcat: sendfile: errno " + r.toString() + "\n"); status = 1; break; }
    if (load<u64>(ret) == 0) break;
  }
  fd_close(fd);
}
process.exit(status);
