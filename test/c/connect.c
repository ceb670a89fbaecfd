/*
 * zerocopy_sock_connect and zerocopy_sock_error (ABI v2), differentially: built natively it
 * calls connect(2) and getsockopt(2) itself; built for wasm32-wasi it goes through the sandbox,
 * which must have granted every address below (test/connect.test.ts does). Both builds must
 * print the same lines.
 *
 * usage: connect LISTENING REFUSED UNREACHABLE
 *   LISTENING    "127.0.0.1:P" with a listener behind it (never accepted: the backlog holds)
 *   REFUSED      "127.0.0.1:Q" with nothing listening
 *   UNREACHABLE  an address the kernel refuses locally, before any packet ("255.255.255.255:9")
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "zerocopy.h"

static const char *names[77] = {
  "success", "2big", "acces", "addrinuse", "addrnotavail", "afnosupport", "again", "already", "badf",
  "badmsg", "busy", "canceled", "child", "connaborted", "connrefused", "connreset", "deadlk",
  "destaddrreq", "dom", "dquot", "exist", "fault", "fbig", "hostunreach", "idrm", "ilseq",
  "inprogress", "intr", "inval", "io", "isconn", "isdir", "loop", "mfile", "mlink", "msgsize",
  "multihop", "nametoolong", "netdown", "netreset", "netunreach", "nfile", "nobufs", "nodev",
  "noent", "noexec", "nolck", "nolink", "nomem", "nomsg", "noprotoopt", "nospc", "nosys",
  "notconn", "notdir", "notempty", "notrecoverable", "notsock", "notsup", "notty", "nxio",
  "overflow", "ownerdead", "perm", "pipe", "proto", "protonosupport", "prototype", "range",
  "rofs", "spipe", "srch", "stale", "timedout", "txtbsy", "xdev", "notcapable",
};
static const char *name(zerocopy_errno_t e) { return e < 77 ? names[e] : "?"; }

/* The outcome of a non-blocking connect: the call's errno, or, after POLLOUT, SO_ERROR's. */
static void nonblocking(const char *what, const char *addr) {
  int fd = -1;
  zerocopy_errno_t e = zerocopy_sock_connect(addr, (uint32_t)strlen(addr), ZEROCOPY_CONNECT_NONBLOCK, &fd);
  if (e != __WASI_ERRNO_SUCCESS) {
    printf("%s: %s at once\n", what, name(e));
    return;
  }
  int flags = fcntl(fd, F_GETFL);
  struct pollfd p = { .fd = fd, .events = POLLOUT };
  int ready = poll(&p, 1, 5000);
  zerocopy_errno_t err = 99;
  zerocopy_errno_t got = zerocopy_sock_error(fd, &err);
  zerocopy_errno_t again = 99;
  zerocopy_sock_error(fd, &again);
  /* Ready for writing, or with an error or hang-up (which wasi-libc's poll reports without
     POLLOUT): poll(2) has an answer for the socket either way, and SO_ERROR says which. */
  printf("%s: nonblock %s, polled %s, sock_error %s -> %s, then %s\n", what,
         (flags & O_NONBLOCK) ? "yes" : "no", ready == 1 && p.revents != 0 ? "ready" : "not ready",
         name(got), name(err), name(again));
  close(fd);
}

int main(int argc, char **argv) {
  if (argc < 4) return 2;
  const char *listening = argv[1], *refused = argv[2], *unreachable = argv[3];
  int fd = -1;
  zerocopy_errno_t e;

  e = zerocopy_sock_connect(listening, (uint32_t)strlen(listening), 0, &fd);
  printf("a blocking connect to a listener: %s\n", name(e));
  if (e == __WASI_ERRNO_SUCCESS) {
    zerocopy_errno_t err = 99;
    zerocopy_errno_t got = zerocopy_sock_error(fd, &err);
    ssize_t sent = send(fd, "ping", 4, 0);
    printf("  blocking: %s, sock_error: %s -> %s, send: %zd\n", (fcntl(fd, F_GETFL) & O_NONBLOCK) ? "no" : "yes",
           name(got), name(err), sent);
    close(fd);
  }
  nonblocking("a non-blocking connect to a listener", listening);

  e = zerocopy_sock_connect(refused, (uint32_t)strlen(refused), 0, &fd);
  printf("a blocking connect to a port nobody listens on: %s\n", name(e));
  nonblocking("a non-blocking connect to a port nobody listens on", refused);

  e = zerocopy_sock_connect(unreachable, (uint32_t)strlen(unreachable), 0, &fd);
  printf("a blocking connect to an unreachable address: %s\n", name(e));
  nonblocking("a non-blocking connect to an unreachable address", unreachable);

  e = zerocopy_sock_connect(listening, (uint32_t)strlen(listening), 1, &fd);
  printf("a connect with an fdflag other than nonblock: %s\n", name(e));

  zerocopy_errno_t err = 99;
  e = zerocopy_sock_error(1, &err);
  printf("sock_error on a file (stdout): %s\n", name(e));
  return 0;
}
