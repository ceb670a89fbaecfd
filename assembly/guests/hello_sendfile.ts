// README's example guest, verbatim: tests run it so the README cannot rot.
import { path_open } from "bindings/wasi_snapshot_preview1";
import { sendAll } from "../zerocopy";

// Open /hello.txt in the first preopened directory (descriptor 3) for reading...
const ret = memory.data(8);
const name = String.UTF8.encode("hello.txt");
path_open(3, 0, changetype<usize>(name), name.byteLength, 0, 2 /* fd_read */, 0, 0, ret);
// ...and send all of it to stdout, the kernel moving the bytes.
const sent = sendAll(1, load<u32>(ret), null, u64.MAX_VALUE);
if (sent < 0) process.exit(1);
