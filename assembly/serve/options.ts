// What the host tells the guest: argv for the settings, the environment for the descriptors
// (LISTEN_FDS listeners from 3 on, systemd's convention; STOP_FD, the graceful-stop
// descriptor, docs/ABI.md), and the docroot as the first preopened directory after them.
import { fd_prestat_get, fd_fdstat_set_rights, prestat } from "bindings/wasi_snapshot_preview1";

// witx rights: fd_read 1<<1, fd_seek 1<<2, path_open 1<<13, fd_readdir 1<<14,
// path_readlink 1<<15, path_filestat_get 1<<18, fd_filestat_get 1<<21, poll_fd_readwrite 1<<27.
const DOCROOT_RIGHTS: u64 = (1 << 13) | (1 << 14) | (1 << 15) | (1 << 18) | (1 << 21) | (1 << 27);
const OPENED_RIGHTS: u64 = DOCROOT_RIGHTS | (1 << 1) | (1 << 2);

export let listeners: u32 = 0;
export let stopFd: i32 = -1;
export let docroot: i32 = -1;
export let quiet = false;
export let list = false;
export let headerTimeoutNs: u64 = 60_000_000_000;    // nginx's client_header_timeout
export let keepaliveTimeoutNs: u64 = 75_000_000_000; // nginx's keepalive_timeout
export let sendTimeoutNs: u64 = 60_000_000_000;      // nginx's send_timeout
/**
 * The most one sendfile asks for, after which the connection gives up its turn (server.ts,
 * pump). A client that drains its socket as fast as the kernel fills it (over loopback) lets
 * one call move a whole large file, ~90 MB and tens of milliseconds per call measured, while
 * every other connection of the worker waits; nginx stops at sendfile_max_chunk (2 MiB by
 * default) for the same reason. A turn costs this guest more than an epoll_wait costs nginx:
 * in 2 MiB steps a 1 GiB download took ~10% more CPU at both ends; 8 MiB is a few
 * milliseconds of sending.
 */
export let sendfileChunk: u64 = 8 << 20;
/** MAX_RW_COUNT (read(2) NOTES): no call moves more. */
const MAX_CHUNK: u64 = 0x7ffff000;

export const USAGE = "usage: serve [--quiet] [--list] [--header-timeout-ms MS] [--keepalive-timeout-ms MS] [--send-timeout-ms MS]\n" +
  "             [--sendfile-chunk BYTES]\n" +
  "  listeners at descriptors 3 .. 3+LISTEN_FDS-1; the docroot is the first preopened directory after them;\n" +
  "  STOP_FD=N names a descriptor that becomes readable when the host asks for a graceful stop";

function ms(v: string): u64 {
  const n = U64.parseInt(v);
  return n == 0 ? 0 : n * 1_000_000;
}

/** Reads argv and the environment; returns an error message, or null. */
export function parseOptions(): string | null {
  const argv = process.argv;
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i];
    if (a == "--quiet") quiet = true;
    else if (a == "--list") list = true;
    else if (i + 1 < argv.length && (a == "--header-timeout-ms" || a == "--keepalive-timeout-ms" || a == "--send-timeout-ms")) {
      const v = ms(argv[++i]);
      if (v == 0) return a + " " + argv[i] + ": expected a positive number of milliseconds";
      if (a == "--header-timeout-ms") headerTimeoutNs = v;
      else if (a == "--keepalive-timeout-ms") keepaliveTimeoutNs = v;
      else sendTimeoutNs = v;
    } else if (i + 1 < argv.length && a == "--sendfile-chunk") {
      const v = U64.parseInt(argv[++i]);
      if (v == 0 || v > MAX_CHUNK) return a + " " + argv[i] + ": expected a number of bytes from 1 to " + MAX_CHUNK.toString();
      sendfileChunk = v;
    } else return "unknown argument: " + a;
  }
  const env = process.env;
  if (env.has("LISTEN_FDS")) listeners = <u32>U32.parseInt(env.get("LISTEN_FDS"));
  if (listeners == 0 || listeners > 1024) return "no listeners (LISTEN_FDS)";
  if (env.has("STOP_FD")) stopFd = <i32>I32.parseInt(env.get("STOP_FD"));
  // prestat: tag u8 (0 = dir), then the name's length.
  const prestat = memory.data(8);
  for (let fd: u32 = 3 + listeners; fd < 3 + listeners + 64; fd++) {
    if (fd_prestat_get(fd, changetype<prestat>(prestat)) == 0 && load<u8>(prestat) == 0) { docroot = <i32>fd; break; }
  }
  if (docroot < 0) return "no docroot (no preopened directory after the listeners)";
  // Read-only from here on, before any request is read: rights only narrow (WASI), so not even
  // a guest subverted by a request could write, create, rename or delete beneath the docroot.
  const e = fd_fdstat_set_rights(<u32>docroot, DOCROOT_RIGHTS, OPENED_RIGHTS);
  if (e != 0) return "cannot make the docroot read-only: errno " + e.toString();
  return null;
}
