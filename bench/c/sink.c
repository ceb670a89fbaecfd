/* The receiving side: accepts connections on 127.0.0.1 one after another and drains each to
   EOF, printing "<bytes> <nanoseconds from accept to EOF>" per connection; it prints its port
   first. `sink splice` moves the bytes socket -> pipe -> /dev/null with splice(2), so the
   receiver never copies them to user space; `sink read` (the default) reads into a 1 MiB
   buffer. Either way the receiver is cheaper than any sender, so it is not the bottleneck. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static char buf[1 << 20];

/* Drains c through a pipe into /dev/null; returns the bytes received or -1. */
static long long drain_splice(int c, int devnull) {
  int p[2];
  long long total = 0;
  if (pipe(p)) return -1;
  fcntl(p[1], F_SETPIPE_SZ, 1 << 20); /* fewer, larger steps; ignored if not permitted */
  for (;;) {
    ssize_t r = splice(c, NULL, p[1], NULL, 1 << 20, SPLICE_F_MOVE);
    if (r <= 0) { total = r < 0 ? -1 : total; break; }
    total += r;
    while (r > 0) {
      ssize_t w = splice(p[0], NULL, devnull, NULL, r, SPLICE_F_MOVE);
      if (w <= 0) { total = -1; goto out; }
      r -= w;
    }
  }
out:
  close(p[0]);
  close(p[1]);
  return total;
}

static long long drain_read(int c) {
  long long total = 0;
  ssize_t r;
  while ((r = read(c, buf, sizeof buf)) > 0) total += r;
  return r < 0 ? -1 : total;
}

int main(int argc, char **argv) {
  int use_splice = argc > 1 && strcmp(argv[1], "splice") == 0;
  int devnull = open("/dev/null", O_WRONLY);
  int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  socklen_t len = sizeof a;
  if (devnull < 0 || bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, 16)) return 1;
  getsockname(s, (struct sockaddr *)&a, &len);
  printf("%d\n", ntohs(a.sin_port));
  fflush(stdout);
  for (;;) {
    int c = accept(s, NULL, NULL);
    if (c < 0) return 1;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long long total = use_splice ? drain_splice(c, devnull) : drain_read(c);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    close(c);
    printf("%lld %lld\n", total, (long long)((t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec)));
    fflush(stdout);
  }
}
