// The SDK's loops (assembly/zerocopy: sendAll, spliceAll) against real short counts, for
// test/zerocopy_sdk_loops.test.ts. The test gives the guest a pipe (descriptor 3) whose other
// end a child process drains or fills a little at a time, and a directory (descriptor 4).
//
//   sdk_loops sendall COUNT     sendAll(3, big.bin, Offset(0), COUNT) into the pipe
//   sdk_loops sendone COUNT     one sendfile(3, big.bin, Offset(0), COUNT): the kernel's count
//   sdk_loops spliceall COUNT   spliceAll(3, null, out.bin, Offset(0), COUNT) from the pipe
//
// prints "ret=N off=O": the loop's result and the Offset after it.
import { path_open } from "bindings/wasi_snapshot_preview1";
import { errno, Offset, sendAll, sendfile, spliceAll } from "../zerocopy";

const R_READ: u64 = 1 << 1, R_SEEK: u64 = 1 << 2, R_WRITE: u64 = 1 << 6;
const O_CREAT: u16 = 1, O_TRUNC: u16 = 8;
const ret = memory.data(8);

function open(name: string, rights: u64, oflags: u16): u32 {
  const p = String.UTF8.encode(name);
  const e = path_open(4, 0, changetype<usize>(p), p.byteLength, oflags, rights, 0, 0, ret);
  if (e != 0) {
    process.stdout.write("open " + name + ": " + errno.name(e) + "\n");
    process.exit(2);
  }
  return load<u32>(ret);
}

const mode = process.argv[1];
const count = U64.parseInt(process.argv[2]);
const off = new Offset(0);
let r: i64 = 0;
if (mode == "sendall") r = sendAll(3, open("big.bin", R_READ | R_SEEK, 0), off, count);
else if (mode == "sendone") r = sendfile(3, open("big.bin", R_READ | R_SEEK, 0), off, count);
else r = spliceAll(3, null, open("out.bin", R_WRITE | R_SEEK, O_CREAT | O_TRUNC), off, count);
process.stdout.write("ret=" + r.toString() + " off=" + off.value.toString() + "\n");
