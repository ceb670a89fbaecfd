/* The HTTP client of the HTTP bench (bench/http.ts): the load generator when wrk is not
   installed, and the timer of one large download either way.

   http_load once PORT PATH EXPECTED
       One GET of PATH on 127.0.0.1:PORT with "Connection: close", the response drained with
       splice(2) into /dev/null (the body never reaches user space) until the server closes.
       Checks the status is 200 and exactly EXPECTED body bytes came. Prints
       "<body bytes> <ns from connect to EOF>".
   http_load keepalive PORT CONNECTIONS MILLIS PATH EXPECTED
       CONNECTIONS keep-alive connections, each sending GET PATH, reading the whole response
       (status 200, Content-Length EXPECTED, that many body bytes), then the next request, as
       wrk does, for MILLIS ms. Prints "<responses> <errors> <ns> <body bytes>"; an error is a
       response other than that, or a connection the server closed. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "client.h"

static struct sockaddr_in server;
static char request[1024];
static size_t request_len;

static int open_conn(void) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
  if (s < 0) return -1;
  setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(s, (struct sockaddr *)&server, sizeof server) < 0) {
    close(s);
    return -1;
  }
  return s;
}

static int write_all(int s, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(s, p, n);
    if (w <= 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Reads a head into buf (at most cap bytes) up to its empty line. Returns the head's length
   and leaves in *extra the body bytes read after it; -1 on EOF or error. */
static long read_head(int s, char *buf, size_t cap, size_t *have) {
  for (;;) {
    buf[*have] = 0;
    char *end = strstr(buf, "\r\n\r\n");
    if (end) return end + 4 - buf;
    if (*have + 1 >= cap) return -1;
    ssize_t r = read(s, buf + *have, cap - 1 - *have);
    if (r <= 0) return -1;
    *have += (size_t)r;
  }
}

/* 200 and its Content-Length from a head, or -1. */
static long long head_length(const char *head) {
  if (strncmp(head, "HTTP/1.1 200 ", 13) != 0) return -1;
  const char *cl = strcasestr(head, "\r\ncontent-length:");
  if (!cl) return -1;
  return atoll(cl + 17);
}

static int once(const char *path, long long expected) {
  static char buf[16384];
  int devnull, p[2];
  if (devnull_pipe(p, &devnull)) return perror("http_load: setup"), 1;
  long long t0 = now_ns();
  int s = open_conn();
  if (s < 0) return perror("http_load: connect"), 1;
  int n = snprintf(request, sizeof request, "GET %s HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n", path);
  if (write_all(s, request, (size_t)n)) return perror("http_load: write"), 1;
  size_t have = 0;
  long head = read_head(s, buf, sizeof buf, &have);
  if (head < 0) return fprintf(stderr, "http_load: no response head\n"), 1;
  long long length = head_length(buf);
  if (length != expected) return fprintf(stderr, "http_load: %.*s\n", (int)head, buf), 1;
  long long total = (long long)have - head;
  if (drain("http_load", s, p, devnull, &total)) return 1;
  long long t1 = now_ns();
  close(s);
  printf("%lld %lld\n", total, t1 - t0);
  return total == expected ? 0 : 1;
}

struct conn {
  int fd;
  size_t have;     /* head bytes read so far */
  long long left;  /* body bytes still to come once the head is read, else -1 */
  char head[4096];
};

static int keepalive(int concurrency, long long millis, long long expected) {
  static char sink[1 << 18];
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct conn *conns = calloc((size_t)concurrency, sizeof *conns);
  struct epoll_event *events = calloc((size_t)concurrency, sizeof *events);
  if (ep < 0 || !conns || !events) return perror("http_load: setup"), 1;
  long long responses = 0, errors = 0, bytes = 0, t0 = now_ns(), deadline = t0 + millis * 1000000LL;
  int open = 0;
  for (int i = 0; i < concurrency; i++) {
    struct conn *c = &conns[i];
    c->fd = open_conn();
    if (c->fd < 0 || write_all(c->fd, request, request_len)) return perror("http_load: connect"), 1;
    c->left = -1;
    fcntl(c->fd, F_SETFL, O_NONBLOCK);
    struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
    open++;
  }
  while (open > 0) {
    int n = epoll_wait(ep, events, concurrency, 1000);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fprintf(stderr, "http_load: no progress for a second (%d open)\n", open), 1;
    for (int k = 0; k < n; k++) {
      struct conn *c = &conns[events[k].data.u32];
      int done = 0, failed = 0;
      for (;;) {
        ssize_t r;
        if (c->left < 0) { /* the head */
          r = read(c->fd, c->head + c->have, sizeof c->head - 1 - c->have);
          if (r > 0) {
            c->have += (size_t)r;
            c->head[c->have] = 0;
            char *end = strstr(c->head, "\r\n\r\n");
            if (end) {
              long long after = (long long)c->have - (end + 4 - c->head);
              if (head_length(c->head) != expected || after > expected) { failed = 1; break; }
              c->left = expected - after;
              bytes += after;
              if (c->left == 0) { done = 1; break; }
            } else if (c->have + 1 >= sizeof c->head) { failed = 1; break; }
            continue;
          }
        } else { /* the body */
          r = read(c->fd, sink, c->left < (long long)sizeof sink ? (size_t)c->left : sizeof sink);
          if (r > 0) {
            c->left -= r;
            bytes += r;
            if (c->left == 0) { done = 1; break; }
            continue;
          }
        }
        if (r < 0 && errno == EAGAIN) break;
        failed = 1; /* EOF or an error before the response was complete */
        break;
      }
      if (!done && !failed) continue;
      if (done) responses++;
      if (failed) errors++;
      c->left = -1;
      c->have = 0;
      if (!failed && now_ns() < deadline && write_all(c->fd, request, request_len) == 0) continue;
      close(c->fd);
      open--;
    }
  }
  printf("%lld %lld %lld %lld\n", responses, errors, now_ns() - t0, bytes);
  return 0;
}

int main(int argc, char **argv) {
  int once_mode = argc == 5 && strcmp(argv[1], "once") == 0;
  int ka_mode = argc == 7 && strcmp(argv[1], "keepalive") == 0;
  if (!once_mode && !ka_mode) {
    fprintf(stderr, "usage: http_load once PORT PATH EXPECTED | http_load keepalive PORT CONNECTIONS MILLIS PATH EXPECTED\n");
    return 2;
  }
  server.sin_family = AF_INET;
  server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  server.sin_port = htons((unsigned short)atoi(argv[2]));
  if (once_mode) return once(argv[3], atoll(argv[4]));
  request_len = (size_t)snprintf(request, sizeof request, "GET %s HTTP/1.1\r\nHost: bench\r\n\r\n", argv[5]);
  return keepalive(atoi(argv[3]), atoll(argv[4]), atoll(argv[6]));
}
