/* The C baseline of section (f): connect to 127.0.0.1:PORT and send FILE's first SIZE bytes
 * with sendfile(2), as a native program would. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 4) return 2;
  int in = open(argv[2], O_RDONLY);
  long size = atol(argv[3]);
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[1])) };
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (in < 0 || s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) != 0) return 1;
  for (long left = size; left > 0;) {
    ssize_t n = sendfile(s, in, NULL, (size_t)left);
    if (n <= 0) return 1;
    left -= n;
  }
  return close(s) == 0 ? 0 : 1;
}
