/* The seed server in C with poll(2), for the server bench (bench/servers.ts): the same server
   as the AssemblyScript guest assembly/guests/send_file.ts, on Linux directly, in the plain
   poll(2) style: each wakeup rebuilds the pollfd array and walks every connection. (The guest,
   like bench/c/send_file_epoll.c, writes only the subscriptions that changed and sweeps
   timeouts once per tick, so that idle connections cost it nothing per wakeup.)

   send_file PORT FILE [LINGER_MS]
   One poll(2) loop over the listener on 127.0.0.1:PORT and every connection; what a connection
   does is seed.h's (sendfile until EAGAIN, shutdown and drain, the 60 s timeout and the
   linger, one write(2) per log line); accept failing (EMFILE) pauses accepting for 100 ms. */
#define _GNU_SOURCE
#include <poll.h>
#include "seed.h"

#define TICK_MS 200 /* poll wakes at least this often */

struct conn {
  struct seed_conn s;
  int ready; /* poll reported it this wakeup */
};

int main(int argc, char **argv) {
  int l, status = seed_setup(argc, argv, "send_file", &l);
  if (status) return status;

  size_t count = 0, capacity = 16;
  struct conn *conns = malloc(capacity * sizeof *conns);
  struct pollfd *fds = malloc((capacity + 1) * sizeof *fds);
  unsigned next_id = 1;
  long long accept_paused_until = 0;
  for (;;) {
    if (accept_paused_until && now() >= accept_paused_until) accept_paused_until = 0;
    /* A negative fd is ignored by poll(2): the listener sits out a pause. */
    fds[0] = (struct pollfd){ .fd = accept_paused_until ? -1 : l, .events = POLLIN };
    for (size_t i = 0; i < count; i++)
      fds[i + 1] = (struct pollfd){ .fd = conns[i].s.fd, .events = conns[i].s.draining ? POLLIN : POLLOUT };
    if (poll(fds, count + 1, accept_paused_until ? ACCEPT_PAUSE_NS / 1000000 : TICK_MS) < 0 && errno != EINTR)
      return perror("poll"), 1;
    for (size_t i = 0; i < count; i++) if (fds[i + 1].revents) conns[i].ready = 1;
    if (fds[0].revents) {
      for (;;) { /* accept what is pending; a new connection is tried at once */
        int fd = seed_accept(l);
        if (fd == -1) break;
        if (fd == -2) {
          accept_paused_until = now() + ACCEPT_PAUSE_NS;
          break;
        }
        if (count == capacity) {
          capacity *= 2;
          conns = realloc(conns, capacity * sizeof *conns);
          fds = realloc(fds, (capacity + 1) * sizeof *fds);
        }
        struct conn *c = &conns[count++];
        seed_open(&c->s, fd, next_id++);
        c->ready = 1;
      }
    }
    long long t = now();
    size_t kept = 0;
    for (size_t i = 0; i < count; i++) {
      struct conn *c = &conns[i];
      int open = 1;
      if (c->ready) {
        c->ready = 0;
        open = c->s.draining ? drain(&c->s) : pump(&c->s, t);
      }
      if (open && expired(&c->s, t)) open = 0;
      if (open) conns[kept++] = *c;
      else close(c->s.fd);
    }
    count = kept;
  }
}
