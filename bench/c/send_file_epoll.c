/* The seed server in C with epoll(7): the best C does with many idle connections, for the
   bench's (d) with idle connections held open (bench/servers.ts). The same connections as
   bench/c/send_file.c (seed.h: sendfile(2) until EAGAIN, shutdown and drain, one write(2) per
   log line, the 60 s timeout and the linger; accept paused on EMFILE), but a wakeup costs what
   is ready, not every connection: the interest set lives in the kernel, and timeouts are swept
   once per tick instead of on every wakeup.

   send_file_epoll PORT FILE [LINGER_MS] */
#define _GNU_SOURCE
#include <sys/epoll.h>
#include "seed.h"

#define TICK_NS 200000000LL /* timeouts are swept this often */
#define MAX_EVENTS 256

struct conn {
  struct seed_conn s;
  int registered;
  size_t slot; /* its place in `all`, for removal */
};

static int ep;
static struct conn **all;
static size_t count, capacity;

static void finish(struct conn *c) {
  close(c->s.fd); /* leaves the epoll set: the description has no other descriptor */
  all[c->slot] = all[--count];
  all[c->slot]->slot = c->slot;
  free(c);
}

/* seed.h's pump, then waiting for the client's reads once the last byte went out. */
static int send_more(struct conn *c, long long t) {
  int was_draining = c->s.draining;
  if (!pump(&c->s, t)) return 0;
  if (c->registered && c->s.draining && !was_draining) {
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
    epoll_ctl(ep, EPOLL_CTL_MOD, c->s.fd, &ev);
  }
  return 1;
}

int main(int argc, char **argv) {
  int l, status = seed_setup(argc, argv, "send_file_epoll", &l);
  if (status) return status;
  ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event lev = { .events = EPOLLIN, .data.ptr = NULL }; /* NULL: the listener */
  if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, l, &lev)) return perror("epoll"), 1;

  capacity = 16;
  all = malloc(capacity * sizeof *all);
  struct epoll_event events[MAX_EVENTS];
  unsigned next_id = 1;
  long long accept_paused_until = 0, next_sweep = now() + TICK_NS;
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
        if (!(c->s.draining ? drain(&c->s) : send_more(c, t))) finish(c);
        continue;
      }
      for (;;) { /* accept what is pending; a new connection is tried at once */
        int fd = seed_accept(l);
        if (fd == -1) break;
        if (fd == -2) {
          accept_paused_until = now() + ACCEPT_PAUSE_NS;
          epoll_ctl(ep, EPOLL_CTL_DEL, l, NULL);
          break;
        }
        if (count == capacity) all = realloc(all, (capacity *= 2) * sizeof *all);
        struct conn *nc = malloc(sizeof *nc);
        seed_open(&nc->s, fd, next_id++);
        nc->registered = 0;
        nc->slot = count;
        all[count++] = nc;
        if (!send_more(nc, now())) { finish(nc); continue; }
        /* Registered once its first send is done: waiting to write, or already draining. */
        struct epoll_event ev = { .events = nc->s.draining ? EPOLLIN : EPOLLOUT, .data.ptr = nc };
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
        nc->registered = 1;
      }
    }
    if (t >= next_sweep) { /* timeouts and lingers, once per tick */
      next_sweep = t + TICK_NS;
      for (size_t i = 0; i < count;) {
        struct conn *c = all[i];
        if (expired(&c->s, t)) finish(c);
        else i++;
      }
    }
  }
}
