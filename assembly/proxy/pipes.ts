// Kernel pipes for the proxy's directions, kept for reuse as HAProxy keeps its pipe pool: a
// connection that ends with an empty pipe gives it back, the next connection takes it, and
// two pipe(2) and four close(2) per connection are saved. What a pipe may still hold (a
// direction whose receiver died) is never reused: that pipe is closed. When no connection is
// open the spares are closed too, so an idle proxy holds nothing but its listeners.
import { fd_close } from "bindings/wasi_snapshot_preview1";
import { pipe, Pipe } from "../zerocopy";

/** At most this many spare pipes are kept. */
const MAX_SPARE = 128;
const spare = new Array<Pipe>();

/** Fills `p` with a non-blocking pipe, a spare one if there is; returns the errno of pipe(2). */
export function takePipe(p: Pipe): u16 {
  if (spare.length == 0) return pipe(p, true);
  const s = spare.pop();
  p.readFd = s.readFd;
  p.writeFd = s.writeFd;
  return 0;
}

/** Gives a pipe back: kept if it is empty and there is room, else closed. */
export function givePipe(p: Pipe, empty: bool): void {
  if (empty && spare.length < MAX_SPARE) {
    const s = new Pipe();
    s.readFd = p.readFd;
    s.writeFd = p.writeFd;
    spare.push(s);
  } else {
    fd_close(p.readFd);
    fd_close(p.writeFd);
  }
}

/** Closes every spare pipe (the proxy is idle). */
export function releasePipes(): void {
  while (spare.length > 0) {
    const s = spare.pop();
    fd_close(s.readFd);
    fd_close(s.writeFd);
  }
}
