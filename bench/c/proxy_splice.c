/* The proxy guest's splice loop in plain C, for the proxy bench (bench/proxy.ts): what the
   design reaches natively, so that the bench can tell the runtime's cost from the machine's.
   The same relay as assembly/proxy/relay.ts: per direction a kernel pipe, socket -> pipe ->
   socket with splice(2), SPLICE_F_MOVE | SPLICE_F_NONBLOCK, asking for 1 MiB; a pipe is only
   refilled once empty; a direction that has moved 1 MiB grows its pipe to 1 MiB
   (F_SETPIPE_SZ, fcntl(2)); a FIN passes on as shutdown(SHUT_WR) unless the other direction
   has ended too; empty pipes are kept for the next connection (at most 128); one write(2)
   per connection's log line, as the guest's (bytes each way, duration). The upstream
   connect is non-blocking, and SO_ERROR is read only when the connect's event carries an
   error or a hangup, as the guest does.
   A bench baseline, not a product: a failure on either side closes both (the guest still
   delivers what a pipe holds toward the surviving side), and there are no connect or idle
   timeouts (the guest's poll carries a clock for them).

   proxy_splice PORT UPSTREAM_PORT   (both on 127.0.0.1) */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ASK (1 << 20)
#define STREAM_AFTER (1 << 20)
#define BIG_PIPE (1 << 20)
#define MAX_SPARE 128
#define MAX_EVENTS 256

struct dir {
  int src, dst, rd, wr;
  long long in_pipe, moved;
  int eof, shut, grown;
};

struct conn {
  int client, upstream, connecting, closed;
  unsigned id;
  long long start;
  struct dir up, down; /* client -> upstream, upstream -> client */
};

static int spare[MAX_SPARE][2], spares;
/* Connections finished during this batch of events: freed after it, since a later event of
   the same batch may still name them. */
static struct conn *dead[2 * MAX_EVENTS]; /* accepts stop at MAX_EVENTS deaths; each event adds at most one */
static int deaths;
static struct sockaddr_in upstream_addr;

static long long now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int take_pipe(struct dir *d) {
  int p[2];
  if (spares > 0) {
    spares--;
    p[0] = spare[spares][0];
    p[1] = spare[spares][1];
  } else if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0) {
    return -1;
  }
  d->rd = p[0];
  d->wr = p[1];
  return 0;
}

static void give_pipe(struct dir *d) {
  if (d->rd < 0) return;
  if (d->in_pipe == 0 && spares < MAX_SPARE) {
    spare[spares][0] = d->rd;
    spare[spares][1] = d->wr;
    spares++;
  } else {
    close(d->rd);
    close(d->wr);
  }
}

/* Moves what can move now; 0, or -1 when either side failed. */
static int pump(struct dir *d, const struct dir *other) {
  if (d->shut) return 0;
  for (;;) {
    int progressed = 0;
    if (!d->eof && d->in_pipe == 0) {
      ssize_t n = splice(d->src, NULL, d->wr, NULL, ASK, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n > 0) { d->in_pipe += n; progressed = 1; }
      else if (n == 0) d->eof = 1;
      else if (errno != EAGAIN) return -1;
    }
    if (d->in_pipe > 0) {
      ssize_t n = splice(d->rd, NULL, d->dst, NULL, (size_t)d->in_pipe, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n > 0) { d->in_pipe -= n; d->moved += n; progressed = 1; }
      else if (n == 0 || errno != EAGAIN) return -1;
    }
    if (!progressed) break;
  }
  if (!d->grown && d->moved >= STREAM_AFTER) {
    d->grown = 1;
    fcntl(d->wr, F_SETPIPE_SZ, BIG_PIPE); /* refused: stays at 64 KiB */
  }
  if (d->eof && d->in_pipe == 0) {
    if (!other->shut) shutdown(d->dst, SHUT_WR);
    d->shut = 1;
  }
  return 0;
}

static void finish(struct conn *c, const char *how) {
  double ms = (double)(now() - c->start) / 1e6;
  dprintf(1, "client #%u: %s, %lld bytes up, %lld bytes down in %.1f ms\n", c->id, how,
          c->up.moved, c->down.moved, ms);
  close(c->client); /* leaves the epoll set: the description has no other descriptor */
  if (c->upstream >= 0) close(c->upstream);
  give_pipe(&c->up);
  give_pipe(&c->down);
  c->closed = 1;
  dead[deaths++] = c;
}

static int connected(struct conn *c, int clean) {
  if (!clean) {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c->upstream, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0) return -1;
  }
  c->connecting = 0;
  c->up = (struct dir){ .src = c->client, .dst = c->upstream, .rd = -1 };
  c->down = (struct dir){ .src = c->upstream, .dst = c->client, .rd = -1 };
  return take_pipe(&c->up) < 0 || take_pipe(&c->down) < 0 ? -1 : 0;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: proxy_splice PORT UPSTREAM_PORT\n");
    return 2;
  }
  struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[1])),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  upstream_addr = addr;
  upstream_addr.sin_port = htons(atoi(argv[2]));
  int one = 1, listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(listener, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(listener, 4096) < 0) {
    perror("proxy_splice: listen");
    return 1;
  }
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
  epoll_ctl(ep, EPOLL_CTL_ADD, listener, &ev);
  unsigned next_id = 1;
  struct epoll_event events[MAX_EVENTS];
  for (;;) {
    int n = epoll_wait(ep, events, MAX_EVENTS, -1);
    if (n < 0 && errno != EINTR) { perror("proxy_splice: epoll_wait"); return 1; }
    for (int i = 0; i < n; i++) {
      /* The low bit of the pointer says which socket: set for the upstream. */
      struct conn *c = (struct conn *)(uintptr_t)(events[i].data.u64 & ~1ULL);
      int is_upstream = events[i].data.u64 & 1;
      if (c == NULL) {
        int fd;
        while (deaths < MAX_EVENTS && (fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
          c = calloc(1, sizeof *c);
          c->client = fd;
          c->id = next_id++;
          c->start = now();
          c->connecting = 1;
          c->up.rd = c->down.rd = -1;
          c->upstream = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
          if (c->upstream < 0 ||
              (connect(c->upstream, (struct sockaddr *)&upstream_addr, sizeof upstream_addr) < 0 && errno != EINPROGRESS)) {
            finish(c, "upstream failed");
            continue;
          }
          /* Edge-triggered: every event pumps both directions until they would block. */
          struct epoll_event e = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.u64 = (uintptr_t)c };
          epoll_ctl(ep, EPOLL_CTL_ADD, c->client, &e);
          e.data.u64 |= 1;
          epoll_ctl(ep, EPOLL_CTL_ADD, c->upstream, &e);
        }
        continue;
      }
      if (c->closed) continue;
      if (c->connecting) {
        if (!is_upstream) continue; /* the client's bytes wait in its socket until then */
        if (connected(c, !(events[i].events & (EPOLLERR | EPOLLHUP)))) { finish(c, "upstream failed"); continue; }
      }
      if (pump(&c->up, &c->down) < 0 || pump(&c->down, &c->up) < 0) finish(c, "reset");
      else if (c->up.shut && c->down.shut) finish(c, "closed");
    }
    while (deaths > 0) free(dead[--deaths]);
  }
}
