/* The receiving side: accepts connections on 127.0.0.1 one after another and reads each to
   EOF into a 1 MiB buffer, printing "<bytes> <nanoseconds from accept to EOF>" per connection.
   It prints its port first. Reading into a large buffer keeps it from being the bottleneck. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static char buf[1 << 20];

int main(void) {
  int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  socklen_t len = sizeof a;
  if (bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, 16)) return 1;
  getsockname(s, (struct sockaddr *)&a, &len);
  printf("%d\n", ntohs(a.sin_port));
  fflush(stdout);
  for (;;) {
    int c = accept(s, NULL, NULL);
    if (c < 0) return 1;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long long total = 0;
    ssize_t r;
    while ((r = read(c, buf, sizeof buf)) > 0) total += r;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    close(c);
    printf("%lld %lld\n", total, (long long)((t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec)));
    fflush(stdout);
  }
}
