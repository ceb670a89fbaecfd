/* The client side of the server bench (bench/servers.ts): a load generator, separate from the
   server it measures, cheaper than any server so that it is not the bottleneck.

   load once PORT EXPECTED
       One connection to 127.0.0.1:PORT, drained to EOF with splice(2) into /dev/null (the bytes
       never reach user space). Prints "<bytes> <ns from connect to EOF>".
   load rate PORT CONCURRENCY MILLIS EXPECTED [SEND]
       Keeps CONCURRENCY connections open at once for MILLIS ms: each (with SEND, once connected,
       first sends SEND bytes and shuts its side down: an exchange) is read to EOF, checked to
       have received exactly EXPECTED bytes, closed, and replaced by a new one. Connections that
       complete inside the window are counted; those still open at its end are finished (and
       checked) but not counted, so the server is idle when the next case starts. Prints
       "<completed> <wrong byte counts or errors> <ns of the window> <connections in all>",
       the last counting those finished after the window too (for the server's CPU time per
       connection).

   load hold PORT N EXPECTED
       Opens N connections one after another, reads each to EOF (EXPECTED bytes), and keeps
       them all open, idle, until its standard input closes; prints "held N" once they are.
       The server sees N connections waiting for their client to close (set its linger long).
   load count PORT CONCURRENCY N EXPECTED
       As rate, but for exactly N connections instead of a window, waiting up to 60 s for
       progress: for profiling a server under valgrind (bench/profile.sh), where it is slow.

   Without SEND the client never sends a request: the seed server answers on accept, and drains
   (then sees EOF on) whatever the client sends, so sending nothing is the cheapest correct
   client. The proxy bench (bench/proxy.ts) sends SEND bytes so that both directions carry data. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "client.h"

static struct sockaddr_in server;

static int open_conn(int nonblock) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
  if (s < 0) return -1;
  if (connect(s, (struct sockaddr *)&server, sizeof server) < 0 && errno != EINPROGRESS) {
    close(s);
    return -1;
  }
  return s;
}

static int once(long long expected) {
  int devnull, p[2];
  if (devnull_pipe(p, &devnull)) return perror("load: setup"), 1;
  long long t0 = now_ns(), total = 0;
  int s = open_conn(0);
  if (s < 0) return perror("load: connect"), 1;
  if (drain("load", s, p, devnull, &total)) return 1;
  long long t1 = now_ns();
  close(s);
  printf("%lld %lld\n", total, t1 - t0);
  return total == expected ? 0 : 1;
}

struct conn {
  int fd;
  int sent; /* the request is out (or there is none) */
  long long got;
};

/* For count: how many connections in all (-1: a window instead), and how long a stall may last. */
static long long limit_conns = -1;
static int stall_ms = 1000;

static long long request; /* SEND: bytes each connection sends before it reads */

/* Opens a connection and watches it: for writing while a request is to be sent, else reading. */
static int start(int ep, struct conn *c, uint32_t i) {
  c->fd = open_conn(1);
  if (c->fd < 0) return -1;
  c->got = 0;
  c->sent = request == 0;
  struct epoll_event ev = { .events = c->sent ? EPOLLIN : EPOLLOUT, .data.u32 = i };
  return epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
}

/* Connected: sends the request whole (it fits a socket buffer) and half-closes. */
static int send_request(int ep, struct conn *c, uint32_t i) {
  static char req[1 << 16];
  if (request > (long long)sizeof req) return -1;
  memset(req, 'q', (size_t)request);
  if (write(c->fd, req, (size_t)request) != request || shutdown(c->fd, SHUT_WR) < 0) return -1;
  c->sent = 1;
  struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };
  return epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static int rate(int concurrency, long long millis, long long expected) {
  static char buf[1 << 16];
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct conn *conns = calloc((size_t)concurrency, sizeof *conns);
  struct epoll_event *events = calloc((size_t)concurrency, sizeof *events);
  if (ep < 0 || !conns || !events) return perror("load: setup"), 1;
  long long completed = 0, errors = 0, total = 0, t0 = now_ns(), deadline = t0 + millis * 1000000LL, t1 = 0;
  int open = 0;
  for (int i = 0; i < concurrency; i++) {
    if (start(ep, &conns[i], (uint32_t)i) < 0) return perror("load: connect"), 1;
    open++;
  }
  while (open > 0) {
    int n = epoll_wait(ep, events, concurrency, stall_ms);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fprintf(stderr, "load: no progress for %d ms (%d open)\n", stall_ms, open), 1;
    long long t = now_ns();
    if (t >= deadline && t1 == 0 && limit_conns < 0) t1 = t;
    for (int k = 0; k < n; k++) {
      struct conn *c = &conns[events[k].data.u32];
      ssize_t r = -1;
      if (!c->sent) {
        if (send_request(ep, c, events[k].data.u32) == 0) continue;
        goto over; /* refused or reset before the request: an error */
      }
      while ((r = read(c->fd, buf, sizeof buf)) > 0) c->got += r;
      if (r < 0 && errno == EAGAIN) continue;
    over:
      /* EOF, or an error: this connection is over. */
      total++;
      if (r != 0 || c->got != expected) errors++;
      else if (t1 == 0 || limit_conns >= 0) completed++;
      close(c->fd);
      c->fd = -1;
      c->got = 0;
      open--;
      if (limit_conns >= 0 ? total + open < limit_conns : t1 == 0) {
        if (start(ep, c, events[k].data.u32) < 0) return perror("load: connect"), 1;
        open++;
      }
    }
  }
  if (t1 == 0) t1 = now_ns();
  printf("%lld %lld %lld %lld\n", completed, errors, t1 - t0, total);
  return 0;
}

static int hold(long long n, long long expected) {
  static char buf[1 << 16];
  int *fds = calloc((size_t)n, sizeof *fds);
  if (!fds) return perror("load: setup"), 1;
  for (long long i = 0; i < n; i++) {
    fds[i] = open_conn(0);
    if (fds[i] < 0) return perror("load: connect"), 1;
    long long got = 0;
    ssize_t r;
    while ((r = read(fds[i], buf, sizeof buf)) > 0) got += r;
    if (r < 0 || got != expected) return fprintf(stderr, "load: connection %lld got %lld bytes\n", i, got), 1;
  }
  printf("held %lld\n", n);
  fflush(stdout);
  while (read(0, buf, sizeof buf) > 0) {} /* until stdin closes */
  for (long long i = 0; i < n; i++) close(fds[i]);
  return 0;
}

int main(int argc, char **argv) {
  int once_mode = argc == 4 && strcmp(argv[1], "once") == 0;
  int rate_mode = (argc == 6 || argc == 7) && strcmp(argv[1], "rate") == 0;
  int count_mode = argc == 6 && strcmp(argv[1], "count") == 0;
  int hold_mode = argc == 5 && strcmp(argv[1], "hold") == 0;
  if (!once_mode && !rate_mode && !count_mode && !hold_mode) {
    fprintf(stderr, "usage: load once PORT EXPECTED | load rate PORT CONCURRENCY MILLIS EXPECTED [SEND] | "
                    "load count PORT CONCURRENCY N EXPECTED | load hold PORT N EXPECTED\n");
    return 2;
  }
  server.sin_family = AF_INET;
  server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  server.sin_port = htons((unsigned short)atoi(argv[2]));
  if (once_mode) return once(atoll(argv[3]));
  if (hold_mode) return hold(atoll(argv[3]), atoll(argv[4]));
  if (count_mode) {
    limit_conns = atoll(argv[4]);
    stall_ms = 60000;
    return rate(atoi(argv[3]), 0, atoll(argv[5]));
  }
  if (argc == 7) request = atoll(argv[6]);
  return rate(atoi(argv[3]), atoll(argv[4]), atoll(argv[5]));
}
