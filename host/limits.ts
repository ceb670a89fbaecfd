// How many descriptors the servers this package ships (send-file, serve, proxy) let their
// guest hold. A sandbox's default (maxFds, 1024) is for any guest; a server of ours holds a
// descriptor or more per client and is trusted with the process's own limit: it is bounded by
// RLIMIT_NOFILE, where accept(2) fails with EMFILE and the guest backs off (as nginx's
// worker_connections is bounded by worker_rlimit_nofile), not by a smaller number of ours.
import * as libc from './native/libc.js';

const RLIMIT_NOFILE = 7; // asm-generic/resource.h, the same on x86-64 and arm64
/** Linux's default fs.nr_open: no process holds more, whatever its limit says. */
const NR_OPEN = 1 << 20;

/** The process's soft RLIMIT_NOFILE (getrlimit(2)), at most fs.nr_open's default. */
export function openFilesLimit(): number {
  const rlim = Buffer.alloc(16);
  if (libc.getrlimit(RLIMIT_NOFILE, rlim) < 0) return 1024;
  const cur = rlim.readBigUInt64LE(0);
  return cur > BigInt(NR_OPEN) ? NR_OPEN : Number(cur);
}
