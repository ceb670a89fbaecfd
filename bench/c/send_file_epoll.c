/* The seed server in C with epoll(7): the best C does with many idle connections, for the
   bench's (d) with idle connections held open (bench/servers.ts). The same behaviour as
   bench/c/send_file.c (sendfile(2) from a per-connection offset until EAGAIN, shutdown and
   drain, one write(2) per log line, the 60 s timeout and the linger, accept paused on EMFILE),
   but a wakeup costs what is ready, not every connection: the interest set lives in the
   kernel, and timeouts are swept once per tick instead of on every wakeup.

   send_file_epoll PORT FILE [LINGER_MS] */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TICK_NS 200000000LL          /* timeouts are swept this often */
#define TIMEOUT_NS 60000000000LL     /* a client that takes nothing this long is closed */
#define ACCEPT_PAUSE_NS 100000000LL  /* how long accepting pauses after accept failed */
#define MAX_EVENTS 256

struct conn {
  int fd, draining, registered;
  unsigned id;
  size_t slot; /* its place in `all`, for removal */
  off_t offset;
  long long start, progress;
  char peer[64];
};

static long long linger_ns = 5000000000LL;
static int ep, file;
static off_t size;
static struct conn **all;
static size_t count, capacity;

static long long now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void log_line(struct conn *c, const char *what) {
  double ms = (double)(now() - c->start) / 1e6;
  dprintf(1, "client #%u %s: %s in %.1f ms\n", c->id, c->peer, what, ms);
}

static void finish(struct conn *c) {
  close(c->fd); /* leaves the epoll set: the description has no other descriptor */
  all[c->slot] = all[--count];
  all[c->slot]->slot = c->slot;
  free(c);
}

/* Sends what the socket takes now; 1 while the connection stays open. */
static int pump(struct conn *c, long long t) {
  char what[96];
  while (c->offset < size) {
    ssize_t n = sendfile(c->fd, file, &c->offset, (size_t)(size - c->offset));
    if (n < 0 && errno == EAGAIN) return 1;
    if (n < 0) {
      snprintf(what, sizeof what, "aborted (errno %d) after %lld bytes", errno, (long long)c->offset);
      log_line(c, what);
      return 0;
    }
    if (n == 0) break;
    c->progress = t;
  }
  snprintf(what, sizeof what, "%lld bytes", (long long)c->offset);
  log_line(c, what);
  shutdown(c->fd, SHUT_WR);
  c->draining = 1;
  c->start = t;
  if (c->registered) {
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
  }
  return 1;
}

static int drain(struct conn *c) {
  static char scratch[4096];
  ssize_t n = recv(c->fd, scratch, sizeof scratch, 0);
  if (n < 0 && errno == EAGAIN) return 1;
  return n > 0;
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

int main(int argc, char **argv) {
  if (argc != 3 && argc != 4) return fprintf(stderr, "usage: send_file_epoll PORT FILE [LINGER_MS]\n"), 2;
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
  ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event lev = { .events = EPOLLIN, .data.ptr = NULL }; /* NULL: the listener */
  if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, l, &lev)) return perror("epoll"), 1;

  capacity = 16;
  all = malloc(capacity * sizeof *all);
  struct epoll_event events[MAX_EVENTS];
  unsigned next_id = 1;
  long long accept_paused_until = 0, next_sweep = now() + TICK_NS;
  int accept_failing = 0;
  for (;;) {
    long long t = now();
    long long until = accept_paused_until ? accept_paused_until : next_sweep;
    int n = epoll_wait(ep, events, MAX_EVENTS, until > t ? (int)((until - t + 999999) / 1000000) : 0);
    if (n < 0 && errno != EINTR) return perror("epoll_wait"), 1;
    t = now();
    if (accept_paused_until && t >= accept_paused_until) {
      accept_paused_until = 0;
      epoll_ctl(ep, EPOLL_CTL_ADD, l, &lev);
    }
    for (int k = 0; k < n; k++) {
      struct conn *c = events[k].data.ptr;
      if (c != NULL) {
        if (!(c->draining ? drain(c) : pump(c, t))) finish(c);
        continue;
      }
      for (;;) { /* accept what is pending; a new connection is tried at once */
        int fd = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0 && errno == EAGAIN) break;
        if (fd < 0) {
          if (!accept_failing) dprintf(2, "send_file: accept: errno %d; pausing accepts for 100 ms at a time\n", errno);
          accept_failing = 1;
          accept_paused_until = now() + ACCEPT_PAUSE_NS;
          epoll_ctl(ep, EPOLL_CTL_DEL, l, NULL);
          break;
        }
        if (accept_failing) dprintf(2, "send_file: accepting again\n");
        accept_failing = 0;
        if (count == capacity) all = realloc(all, (capacity *= 2) * sizeof *all);
        struct conn *nc = malloc(sizeof *nc);
        *nc = (struct conn){ .fd = fd, .id = next_id++, .slot = count, .start = now() };
        nc->progress = nc->start;
        all[count++] = nc;
        peer_text(fd, nc->peer, sizeof nc->peer);
        if (!pump(nc, now())) { finish(nc); continue; }
        /* Registered once its first send is done: waiting to write, or already draining. */
        struct epoll_event ev = { .events = nc->draining ? EPOLLIN : EPOLLOUT, .data.ptr = nc };
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
        nc->registered = 1;
      }
    }
    if (t >= next_sweep) { /* timeouts and lingers, once per tick */
      next_sweep = t + TICK_NS;
      for (size_t i = 0; i < count;) {
        struct conn *c = all[i];
        if (!c->draining && t - c->progress > TIMEOUT_NS) {
          char what[64];
          snprintf(what, sizeof what, "timed out after %lld bytes", (long long)c->offset);
          log_line(c, what);
          finish(c);
        } else if (c->draining && t - c->start > linger_ns) {
          finish(c);
        } else {
          i++;
        }
      }
    }
  }
}
