// One direction of a proxied connection: socket -> kernel pipe -> socket with splice(2), the
// bytes never entering the guest. splice needs a pipe on one side (splice(2)), so each
// direction owns one; what sits in it is counted, so that it is always delivered (or, if the
// receiver is gone, known to be lost) before the connection closes.
import { sock_shutdown } from "bindings/wasi_snapshot_preview1";
import { splice, pipe_set_size, Pipe, SPLICE_F_MOVE, SPLICE_F_NONBLOCK, errno } from "../zerocopy";

const SHUT_WR: u8 = 2;
const FLAGS = SPLICE_F_MOVE | SPLICE_F_NONBLOCK;
/**
 * How much one splice from a socket asks for. The kernel moves at most what the pipe holds
 * (16 pages by default, pipe(7)), so asking for more only saves a call when the pipe is larger.
 */
const ASK: u64 = 1 << 20;
/**
 * A direction that has moved this much is a stream: its pipe grows to BIG_PIPE, so that each
 * splice moves up to 1 MiB instead of 64 KiB and a stream costs about a sixteenth of the calls
 * (HAProxy's tune.pipesize, chosen here per direction). Short exchanges never pay for it.
 */
const STREAM_AFTER: u64 = 1 << 20;
const BIG_PIPE: u32 = 1 << 20;

export const enum Step {
  /** Nothing more can move now: wait for poll. */
  WAIT = 0,
  /** The source failed (a reset, say): `error` says why. */
  SOURCE_FAILED = 1,
  /** The destination failed (its peer is gone): `error` says why. */
  DEST_FAILED = 2,
}

export class Direction {
  pipe: Pipe = new Pipe();
  /** Bytes in the pipe, read from `src` and not yet written to `dst`. */
  inPipe: u64 = 0;
  /** Bytes delivered to `dst`. */
  moved: u64 = 0;
  /** `src` sent FIN (splice returned 0), or will never be read again. */
  eof: bool = false;
  /** `dst`'s write side is shut down: this direction is finished. */
  shut: bool = false;
  /** The destination is gone: nothing more can be delivered; what the pipe holds is lost. */
  dead: bool = false;
  /** Set by poll_oneoff: try this direction on the next pass. */
  ready: bool = true;
  /** The errno of the failure that ended the connection. */
  error: u16 = 0;
  /** The pipe was grown (or growing was refused): not tried again. */
  grown: bool = false;
  /** The other direction of the connection (its `src` is this one's `dst`). */
  partner: Direction | null = null;

  constructor(public src: u32, public dst: u32) {}

  /** Finished: the half-close passed on, or nothing more can be delivered. */
  get done(): bool {
    return this.dead || this.shut;
  }

  /** Wait for `src` to become readable: the pipe is empty, so reading cannot be blocked by it. */
  get wantsRead(): bool {
    return !this.done && !this.eof && this.inPipe == 0;
  }

  /** Wait for `dst` to become writable: the pipe holds bytes for it. */
  get wantsWrite(): bool {
    return !this.done && this.inPipe > 0;
  }

  /**
   * Moves what can move now, src -> pipe -> dst, until both sides would block; sets
   * `lastProgress` when a byte moved. Returns WAIT, or which side failed (errno in `error`).
   */
  pump(): Step {
    if (this.done) return Step.WAIT;
    for (;;) {
      let progressed = false;
      // Only refill an empty pipe: while it holds bytes, `dst` is the bottleneck, and a source
      // splice into a full pipe answers EAGAIN even though the socket is readable.
      if (!this.eof && this.inPipe == 0) {
        const n = splice(this.src, null, this.pipe.writeFd, null, ASK, FLAGS);
        if (n > 0) { this.inPipe += <u64>n; progressed = true; }
        else if (n == 0) this.eof = true;
        else if (n != -(<i64>errno.AGAIN)) { this.error = <u16>-n; return Step.SOURCE_FAILED; }
      }
      if (this.inPipe > 0) {
        const n = splice(this.pipe.readFd, null, this.dst, null, this.inPipe, FLAGS);
        if (n > 0) { this.inPipe -= <u64>n; this.moved += <u64>n; progressed = true; }
        else if (n != -(<i64>errno.AGAIN)) { this.error = <u16>(n == 0 ? errno.PIPE : -n); return Step.DEST_FAILED; }
      }
      if (!progressed) break;
      this.lastProgress = true;
    }
    if (!this.grown && this.moved >= STREAM_AFTER) {
      this.grown = true;
      pipe_set_size(this.pipe.writeFd, BIG_PIPE); // refused (over the sandbox's budget): stay at 64 KiB
    }
    // FIN read and every byte before it delivered: pass the half-close on (shutdown(2)).
    // Unless the other direction has ended too: then the connection closes at once, and
    // close(2) sends the FIN itself (the receive side of `dst` is at its end, so it is an
    // orderly FIN and no reset, tcp(7)); HAProxy closes without a shutdown there too.
    if (this.eof && this.inPipe == 0 && !this.shut) {
      const partner = this.partner;
      if (partner === null || !partner.shut) sock_shutdown(this.dst, SHUT_WR);
      this.shut = true;
    }
    return Step.WAIT;
  }

  /** Set by pump when bytes moved; the caller clears it (for the idle timeout). */
  lastProgress: bool = false;
}
