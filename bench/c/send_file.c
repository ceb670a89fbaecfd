/* The seed server in C with poll(2), for the server bench (bench/servers.ts): the same server
   as the AssemblyScript guest assembly/guests/send_file.ts, on Linux directly, in the plain
   poll(2) style: each wakeup rebuilds the pollfd array and walks every connection. (The guest,
   like bench/c/send_file_epoll.c, writes only the subscriptions that changed and sweeps
   timeouts once per tick, so that idle connections cost it nothing per wakeup.)

   send_file PORT FILE [LINGER_MS]
   One poll(2) loop over the listener on 127.0.0.1:PORT and every connection; non-blocking
   sockets; sendfile(2) from a per-connection offset until EAGAIN; after the last byte,
   shutdown(SHUT_WR) and drain what the client sends until it closes (or lingers 5 s); a client
   that takes nothing for 60 s is closed; accept failing (EMFILE) pauses accepting for 100 ms;
   one log line per client written with one write(2), as the guest's fd_write: stdout is not
   buffered across clients, so both servers make the same system calls. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TICK_MS 200                  /* poll wakes at least this often */
#define TIMEOUT_NS 60000000000LL     /* a client that takes nothing this long is closed */
#define ACCEPT_PAUSE_NS 100000000LL  /* how long accepting pauses after accept failed */

struct conn {
  int fd, draining, ready;
  unsigned id;
  off_t offset;
  long long start, progress;
  char peer[64];
};

static long long now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void log_line(struct conn *c, const char *what) {
  double ms = (double)(now() - c->start) / 1e6;
  dprintf(1, "client #%u %s: %s in %.1f ms\n", c->id, c->peer, what, ms);
}

static int file;
static off_t size;
static long long linger_ns = 5000000000LL; /* how long a finished connection waits for the client */

/* Sends what the socket takes now (t: the time now); 1 while the connection stays open. */
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
  if (argc != 3 && argc != 4) return fprintf(stderr, "usage: send_file PORT FILE [LINGER_MS]\n"), 2;
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

  size_t count = 0, capacity = 16;
  struct conn *conns = malloc(capacity * sizeof *conns);
  struct pollfd *fds = malloc((capacity + 1) * sizeof *fds);
  unsigned next_id = 1;
  long long accept_paused_until = 0;
  int accept_failing = 0;
  for (;;) {
    if (accept_paused_until && now() >= accept_paused_until) accept_paused_until = 0;
    /* A negative fd is ignored by poll(2): the listener sits out a pause. */
    fds[0] = (struct pollfd){ .fd = accept_paused_until ? -1 : l, .events = POLLIN };
    for (size_t i = 0; i < count; i++)
      fds[i + 1] = (struct pollfd){ .fd = conns[i].fd, .events = conns[i].draining ? POLLIN : POLLOUT };
    if (poll(fds, count + 1, accept_paused_until ? ACCEPT_PAUSE_NS / 1000000 : TICK_MS) < 0 && errno != EINTR)
      return perror("poll"), 1;
    for (size_t i = 0; i < count; i++) if (fds[i + 1].revents) conns[i].ready = 1;
    if (fds[0].revents) {
      for (;;) { /* accept what is pending; a new connection is tried at once */
        int fd = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0 && errno == EAGAIN) break;
        if (fd < 0) {
          if (!accept_failing) dprintf(2, "send_file: accept: errno %d; pausing accepts for 100 ms at a time\n", errno);
          accept_failing = 1;
          accept_paused_until = now() + ACCEPT_PAUSE_NS;
          break;
        }
        if (accept_failing) dprintf(2, "send_file: accepting again\n");
        accept_failing = 0;
        if (count == capacity) {
          capacity *= 2;
          conns = realloc(conns, capacity * sizeof *conns);
          fds = realloc(fds, (capacity + 1) * sizeof *fds);
        }
        struct conn *c = &conns[count++];
        *c = (struct conn){ .fd = fd, .ready = 1, .id = next_id++, .start = now() };
        c->progress = c->start;
        peer_text(fd, c->peer, sizeof c->peer);
      }
    }
    long long t = now();
    size_t kept = 0;
    for (size_t i = 0; i < count; i++) {
      struct conn *c = &conns[i];
      int open = 1;
      if (c->ready) {
        c->ready = 0;
        open = c->draining ? drain(c) : pump(c, t);
      }
      if (open && !c->draining && t - c->progress > TIMEOUT_NS) {
        char what[64];
        snprintf(what, sizeof what, "timed out after %lld bytes", (long long)c->offset);
        log_line(c, what);
        open = 0;
      }
      if (open && c->draining && t - c->start > linger_ns) open = 0;
      if (open) conns[kept++] = *c;
      else close(c->fd);
    }
    count = kept;
  }
}
