/*
 * The seed program in plain C against wasi-libc and zerocopy.h: accept CLIENTS clients (default
 * 1) on the listener the host granted at descriptor 3 (--listen), and send each the whole file
 * PATH with sendfile, opened anew with fopen() for each client. Built for wasm32-wasi only (the
 * listener is the host's).
 *
 * usage: serve PATH [CLIENTS]   (run as: wasm-zerocopy run --listen HOST:PORT --dir DIR::/ serve.wasm PATH)
 *
 * fopen() works beside the listener because fd_prestat_get answers the listener with a
 * preopen type that is not `dir` (docs/ABI.md): wasi-libc skips it and finds the --dir
 * preopen after it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wasi/api.h>
#include "zerocopy.h"

static int serve_one(const char *path) {
  __wasi_fd_t conn;
  __wasi_errno_t e = __wasi_sock_accept(3, 0, &conn);
  if (e != 0) { fprintf(stderr, "sock_accept: %d\n", e); return 1; }
  FILE *f = fopen(path, "r");
  struct stat st;
  if (f == NULL || fstat(fileno(f), &st) != 0) {
    perror(path);
    close((int)conn);
    return 1;
  }
  int64_t off = 0;
  while (off < st.st_size) {
    uint64_t sent;
    zerocopy_errno_t z = zerocopy_sendfile((int)conn, fileno(f), &off, (uint64_t)(st.st_size - off), &sent);
    if (z != 0) { fprintf(stderr, "sendfile: %d after %lld bytes\n", z, (long long)off); return 1; }
    if (sent == 0) break;
  }
  fclose(f);
  close((int)conn);
  printf("sent %lld bytes\n", (long long)off);
  fflush(stdout);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  int clients = argc > 2 ? atoi(argv[2]) : 1;
  for (int i = 0; i < clients; i++) {
    if (serve_one(argv[1]) != 0) return 1;
  }
  return 0;
}
