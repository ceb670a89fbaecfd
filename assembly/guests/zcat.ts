// zcat FILE...: writes each file to stdout with sendfile(2); the bytes never pass through
// guest memory. Names are looked up in the first preopened directory (descriptor 3).
import { path_open, fd_close } from "bindings/wasi_snapshot_preview1";
import { errno, sendAll } from "../zerocopy";

const FD_READ: u64 = 1 << 1;
const ret = memory.data(4);
const argv = process.argv;
let status = 0;
for (let i = 1; i < argv.length; i++) {
  const name = argv[i].startsWith("/") ? argv[i].slice(1) : argv[i];
  const path = String.UTF8.encode(name);
  const e = path_open(3, 1, changetype<usize>(path), path.byteLength, 0, FD_READ, 0, 0, ret);
  if (e != 0) {
    process.stderr.write("zcat: " + argv[i] + ": " + errno.name(e) + "\n");
    status = 1;
    continue;
  }
  const fd = load<u32>(ret);
  const sent = sendAll(1, fd, null, u64.MAX_VALUE);
  if (sent < 0) {
    process.stderr.write("zcat: " + argv[i] + ": sendfile: " + errno.name(<u16>(-sent)) + "\n");
    status = 1;
  }
  fd_close(fd);
}
process.exit(status);
