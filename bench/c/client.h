/* What the bench's two load generators (load.c, http_load.c) share: their clock, and draining a
   connection to EOF with splice(2) into /dev/null, so that the bytes never reach user space. */
#ifndef BENCH_CLIENT_H
#define BENCH_CLIENT_H
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* A pipe to /dev/null for drain(): its write end in p[1], its read end in p[0]; 0 or -1. */
static int devnull_pipe(int p[2], int *devnull) {
  *devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (*devnull < 0 || pipe2(p, O_CLOEXEC)) return -1;
  fcntl(p[1], F_SETPIPE_SZ, 1 << 20); /* fewer, larger steps; ignored if not permitted */
  return 0;
}

/* Splices socket s through the pipe into /dev/null until EOF, adding the bytes to *total;
   0, or -1 with the failing step reported (perror) under `who`. */
static int drain(const char *who, int s, int p[2], int devnull, long long *total) {
  for (;;) {
    ssize_t r = splice(s, NULL, p[1], NULL, 1 << 20, SPLICE_F_MOVE);
    if (r < 0) return fprintf(stderr, "%s: ", who), perror("splice"), -1;
    if (r == 0) return 0;
    *total += r;
    while (r > 0) {
      ssize_t w = splice(p[0], NULL, devnull, NULL, (size_t)r, SPLICE_F_MOVE);
      if (w <= 0) return fprintf(stderr, "%s: ", who), perror("splice to /dev/null"), -1;
      r -= w;
    }
  }
}
#endif
