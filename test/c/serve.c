/*
 * The seed program in plain C against wasi-libc and zerocopy.h: accept one client on the
 * listener the host granted at descriptor 3 (--listen), send it the whole file named by
 * argv[1] with sendfile, and exit. Built for wasm32-wasi only (the listener is the host's).
 *
 * usage: serve FILE   (run as: wasm-zerocopy run --listen HOST:PORT --dir DIR::/ serve.wasm FILE)
 *
 * FILE is opened with path_open in the preopen that follows the listeners (descriptor
 * 3 + LISTEN_FDS), not with open(3): wasi-libc finds preopens by asking fd_prestat_get from
 * descriptor 3 upwards and stops at the first descriptor that is not one, here the listener.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <wasi/api.h>
#include "zerocopy.h"

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  const char *listen_fds = getenv("LISTEN_FDS");
  __wasi_fd_t dir = 3 + (listen_fds ? (__wasi_fd_t)atoi(listen_fds) : 0), file;
  __wasi_filestat_t st;
  /* fd_seek too: sendfile at an offset reads at that offset, as fd_pread, which needs it. */
  if (__wasi_path_open(dir, 0, argv[1], 0,
                       __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_SEEK | __WASI_RIGHTS_FD_FILESTAT_GET, 0, 0,
                       &file) != 0 || __wasi_fd_filestat_get(file, &st) != 0) {
    fprintf(stderr, "cannot open %s beneath descriptor %u\n", argv[1], dir);
    return 1;
  }
  int in = (int)file;
  __wasi_fd_t conn;
  __wasi_errno_t e = __wasi_sock_accept(3, 0, &conn);
  if (e != 0) { fprintf(stderr, "sock_accept: %d\n", e); return 1; }
  int64_t off = 0;
  while ((uint64_t)off < st.size) {
    uint64_t sent;
    zerocopy_errno_t z = zerocopy_sendfile((int)conn, in, &off, st.size - (uint64_t)off, &sent);
    if (z != 0) { fprintf(stderr, "sendfile: %d after %lld bytes\n", z, (long long)off); return 1; }
    if (sent == 0) break;
  }
  close((int)conn);
  printf("sent %lld bytes\n", (long long)off);
  return 0;
}
