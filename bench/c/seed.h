/* What the two C seed servers (send_file.c with poll(2), send_file_epoll.c with epoll(7)) share:
   everything about one connection, the listener and the log, so that each file keeps only its
   event loop and the two make the same system calls per connection (bench/servers.ts compares
   them with the guest, assembly/guests/send_file.ts).

   A connection: sendfile(2) from its own offset until EAGAIN; after the last byte,
   shutdown(SHUT_WR) and drain what the client sends until it closes (or lingers); a client that
   takes nothing for 60 s is closed. One log line per client written with one write(2), as the
   guest's fd_write: stdout is not buffered across clients. */
#ifndef BENCH_SEED_H
#define BENCH_SEED_H
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TIMEOUT_NS 60000000000LL     /* a client that takes nothing this long is closed */
#define ACCEPT_PAUSE_NS 100000000LL  /* how long accepting pauses after accept failed */

/* One client; each server embeds it in its own record (what its loop keeps beside). */
struct seed_conn {
  int fd, draining;
  unsigned id;
  off_t offset;
  long long start, progress;
  char peer[64];
};

static int file;
static off_t size;
static long long linger_ns = 5000000000LL; /* how long a finished connection waits for the client */

static long long now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void log_line(struct seed_conn *c, const char *what) {
  double ms = (double)(now() - c->start) / 1e6;
  dprintf(1, "client #%u %s: %s in %.1f ms\n", c->id, c->peer, what, ms);
}

/* Sends what the socket takes now (t: the time now); 1 while the connection stays open. After
   the last byte it is draining: the caller then waits for it to be readable. */
static int pump(struct seed_conn *c, long long t) {
  char what[96];
  while (c->offset < size) {
    ssize_t n = sendfile(c->fd, file, &c->offset, (size_t)(size - c->offset));
    if (n < 0 && errno == EAGAIN) return 1;
    if (n < 0) {
      snprintf(what, sizeof what, "aborted (errno %d) after %lld bytes", errno, (long long)c->offset);
      log_line(c, what);
      return 0;
    }
    if (n == 0) break; /* the file shrank under us: it is done */
    c->progress = t;
  }
  snprintf(what, sizeof what, "%lld bytes", (long long)c->offset);
  log_line(c, what);
  shutdown(c->fd, SHUT_WR);
  c->draining = 1;
  c->start = t;
  return 1;
}

/* Reads and drops what the client sent; 1 while the client keeps the connection open. */
static int drain(struct seed_conn *c) {
  static char scratch[4096];
  ssize_t n = recv(c->fd, scratch, sizeof scratch, 0);
  if (n < 0 && errno == EAGAIN) return 1;
  return n > 0;
}

/* 1 when the connection is to be closed at time t: it took nothing for TIMEOUT_NS (logged), or
   it finished and lingered linger_ns. */
static int expired(struct seed_conn *c, long long t) {
  if (!c->draining && t - c->progress > TIMEOUT_NS) {
    char what[64];
    snprintf(what, sizeof what, "timed out after %lld bytes", (long long)c->offset);
    log_line(c, what);
    return 1;
  }
  return c->draining && t - c->start > linger_ns;
}

static void peer_text(int fd, char *out, size_t len) {
  struct sockaddr_in a;
  socklen_t al = sizeof a;
  if (getpeername(fd, (struct sockaddr *)&a, &al) < 0 || a.sin_family != AF_INET) {
    snprintf(out, len, "?");
    return;
  }
  const unsigned char *b = (const unsigned char *)&a.sin_addr;
  snprintf(out, len, "%u.%u.%u.%u:%u", b[0], b[1], b[2], b[3], ntohs(a.sin_port));
}

/* A connection accept4 just returned, numbered id, its clock started. */
static void seed_open(struct seed_conn *c, int fd, unsigned id) {
  *c = (struct seed_conn){ .fd = fd, .id = id, .start = now() };
  c->progress = c->start;
  peer_text(fd, c->peer, sizeof c->peer);
}

/* accept4(2) of one pending connection: its descriptor, non-blocking; -1 when none is pending;
   -2 when accept failed (EMFILE...), said once on stderr until accepting works again: the
   caller pauses accepting for ACCEPT_PAUSE_NS. */
static int seed_accept(int l) {
  static int failing;
  int fd = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0 && errno == EAGAIN) return -1;
  if (fd < 0) {
    if (!failing) dprintf(2, "send_file: accept: errno %d; pausing accepts for 100 ms at a time\n", errno);
    failing = 1;
    return -2;
  }
  if (failing) dprintf(2, "send_file: accepting again\n");
  failing = 0;
  return fd;
}

/* `NAME PORT FILE [LINGER_MS]`: opens FILE (file, size), sets linger_ns and listens on
   127.0.0.1:PORT, non-blocking, into *listener; 0, or the exit status after saying why. */
static int seed_setup(int argc, char **argv, const char *name, int *listener) {
  if (argc != 3 && argc != 4) return fprintf(stderr, "usage: %s PORT FILE [LINGER_MS]\n", name), 2;
  if (argc == 4) linger_ns = atoll(argv[3]) * 1000000LL;
  file = open(argv[2], O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (file < 0 || fstat(file, &st) < 0) return perror(argv[2]), 2;
  size = st.st_size;
  int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), one = 1;
  setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[1])),
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  if (bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 4096)) return perror("listen"), 1;
  *listener = l;
  return 0;
}
#endif
