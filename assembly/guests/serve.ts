// wasm-zerocopy serve: a static HTTP/1.1 server for the docroot the host preopened, sending
// files with sendfile(2). The modules are in assembly/serve/ (see server.ts for the loop,
// response.ts for the steps from a request to a response); the host side is host/serve.ts.
import { random_get } from "bindings/wasi_snapshot_preview1";
import { parseOptions, docroot, list, quiet, USAGE } from "../serve/options";
import { configure, seedBoundary } from "../serve/response";
import { setEnabled, error } from "../serve/log";
import { serve, prepareListeners } from "../serve/server";

const problem = parseOptions();
if (problem !== null) {
  error(problem! + "\n" + USAGE);
  process.exit(2);
}
configure(<u32>docroot, list);
setEnabled(!quiet);
const seed = memory.data(8);
random_get(seed, 8);
seedBoundary(load<u64>(seed) % 1_000_000_000_000_000_000);
if (!prepareListeners()) process.exit(2);
serve();
process.exit(0);
