/*
 * The zerocopy conformance cases, in C. The same source is built twice: natively (the calls
 * go straight to Linux) and for wasm32-wasi (the calls go through the wasm-zerocopy sandbox).
 * Both builds print one line per case; test/c_conformance.test.ts requires the two outputs to
 * be identical, and checks the man pages' expectations on top.
 *
 * usage: conformance DIR   (DIR: a scratch directory; under wasm, the preopen, e.g. "/")
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "zerocopy.h"

static const char *names[] = {
  "success", "2big", "acces", "addrinuse", "addrnotavail", "afnosupport", "again", "already",
  "badf", "badmsg", "busy", "canceled", "child", "connaborted", "connrefused", "connreset",
  "deadlk", "destaddrreq", "dom", "dquot", "exist", "fault", "fbig", "hostunreach", "idrm",
  "ilseq", "inprogress", "intr", "inval", "io", "isconn", "isdir", "loop", "mfile", "mlink",
  "msgsize", "multihop", "nametoolong", "netdown", "netreset", "netunreach", "nfile", "nobufs",
  "nodev", "noent", "noexec", "nolck", "nolink", "nomem", "nomsg", "noprotoopt", "nospc", "nosys",
  "notconn", "notdir", "notempty", "notrecoverable", "notsock", "notsup", "notty", "nxio",
  "overflow", "ownerdead", "perm", "pipe", "proto", "protonosupport", "prototype", "range",
  "rofs", "spipe", "srch", "stale", "timedout", "txtbsy", "xdev", "notcapable",
};

static const char *dir;
static const char *SRC = "0123456789abcdefghij"; /* 20 bytes */

static const char *path(const char *name) {
  static char buf[4096];
  size_t n = strlen(dir);
  snprintf(buf, sizeof buf, "%s%s%s", dir, (n && dir[n - 1] == '/') ? "" : "/", name);
  return buf;
}

static int open_file(const char *name, int flags) {
  int fd = open(path(name), flags, 0644);
  if (fd < 0) { printf("setup: open %s failed: %s\n", name, strerror(errno)); _exit(2); }
  return fd;
}

/* A fresh file holding `content`. */
static void make_file(const char *name, const char *content) {
  int fd = open_file(name, O_WRONLY | O_CREAT | O_TRUNC);
  if (write(fd, content, strlen(content)) != (ssize_t)strlen(content)) _exit(2);
  close(fd);
}

static long long pos(int fd) {
  if (fd < 0) return -1;
  off_t p = lseek(fd, 0, SEEK_CUR);
  return p < 0 ? -1 : (long long)p;
}

/* The content of a file, as hex (it may hold holes of zero bytes). */
static const char *file_hex(const char *name) {
  static char out[512];
  unsigned char buf[128];
  int fd = open_file(name, O_RDONLY);
  ssize_t n = read(fd, buf, sizeof buf);
  close(fd);
  out[0] = 0;
  for (ssize_t i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", buf[i]);
  return n == 0 ? "empty" : out;
}

/* Exactly n bytes from a pipe known to hold at least n, as hex. */
static const char *pipe_hex(int fd, size_t n) {
  static char out[512];
  unsigned char buf[128];
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, buf + got, n - got);
    if (r <= 0) break;
    got += (size_t)r;
  }
  out[0] = 0;
  for (size_t i = 0; i < got; i++) sprintf(out + 2 * i, "%02x", buf[i]);
  return got == 0 ? "empty" : out;
}

static void line(const char *name, zerocopy_errno_t e, uint64_t n, const int64_t *off, int in, int out,
                 const char *data) {
  printf("%s: errno=%s n=%llu", name, e < sizeof names / sizeof *names ? names[e] : "?",
         e == 0 ? (unsigned long long)n : 0ULL);
  if (off) printf(" off=%lld", (long long)*off); else printf(" off=-");
  printf(" pos_in=%lld pos_out=%lld data=%s\n", pos(in), pos(out), data ? data : "-");
}

/* Fills a non-blocking pipe until the kernel says EAGAIN. */
static void fill(int wfd) {
  char chunk[4096];
  memset(chunk, 'x', sizeof chunk);
  while (write(wfd, chunk, sizeof chunk) > 0) {}
  if (errno != EAGAIN) { printf("setup: fill: %s\n", strerror(errno)); _exit(2); }
  /* the last page may still take a partial write */
  while (write(wfd, chunk, 1) > 0) {}
}

static void closep(int p[2]) { close(p[0]); close(p[1]); }

int main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: conformance DIR\n"); return 2; }
  dir = argv[1];
  uint64_t n;
  int64_t off;
  zerocopy_errno_t e;
  make_file("src.txt", SRC);
  int in = open_file("src.txt", O_RDONLY);

  /* sendfile(2): "If offset is not NULL ... sendfile() will start reading data from *offset
     ... *offset will be set to the offset of the byte following the last byte that was read
     ... sendfile() does not modify the file offset of in_fd". */
  int out = open_file("out.txt", O_WRONLY | O_CREAT | O_TRUNC);
  off = 5; n = 0;
  e = zerocopy_sendfile(out, in, &off, 4, &n);
  line("sendfile with an offset reads from it, advances it, and leaves the position", e, n, &off, in, out, file_hex("out.txt"));
  close(out);

  /* "If offset is NULL, then data will be read from in_fd starting at the file offset, and
     the file offset will be updated by the call." */
  out = open_file("out.txt", O_WRONLY | O_CREAT | O_TRUNC);
  lseek(in, 3, SEEK_SET);
  e = zerocopy_sendfile(out, in, NULL, 4, &n);
  line("sendfile without an offset uses and advances the file position", e, n, NULL, in, out, file_hex("out.txt"));
  lseek(in, 0, SEEK_SET);

  off = 0;
  e = zerocopy_sendfile(out, in, &off, 0, &n);
  line("sendfile of zero bytes returns zero", e, n, &off, in, out, NULL);

  off = 15;
  e = zerocopy_sendfile(out, in, &off, 100, &n);
  line("sendfile near the end returns what is there", e, n, &off, in, out, NULL);

  off = 20;
  e = zerocopy_sendfile(out, in, &off, 100, &n);
  line("sendfile at end of file returns zero", e, n, &off, in, out, NULL);

  off = 1000;
  e = zerocopy_sendfile(out, in, &off, 100, &n);
  line("sendfile past end of file returns zero", e, n, &off, in, out, NULL);

  off = -1;
  e = zerocopy_sendfile(out, in, &off, 4, &n);
  line("sendfile with a negative offset is inval", e, n, &off, in, out, NULL);

  off = 0;
  e = zerocopy_sendfile(out, in, &off, (uint64_t)1 << 63, &n);
  line("sendfile with a count of 2^63 is inval", e, n, &off, in, out, NULL);

  off = 0;
  e = zerocopy_sendfile(out, in, &off, 1ULL << 40, &n);
  line("sendfile with a huge count sends the whole file", e, n, &off, in, out, NULL);
  close(out);

  int wronly = open_file("src.txt", O_WRONLY);
  out = open_file("out.txt", O_WRONLY | O_CREAT | O_TRUNC);
  off = 0;
  e = zerocopy_sendfile(out, wronly, &off, 4, &n);
  line("sendfile from a write-only descriptor is badf", e, n, &off, -1, out, NULL);
  close(wronly);
  close(out);

  int rdonly = open_file("out.txt", O_RDONLY);
  off = 0;
  e = zerocopy_sendfile(rdonly, in, &off, 4, &n);
  line("sendfile to a read-only descriptor is badf", e, n, &off, in, -1, NULL);
  close(rdonly);

  off = 0;
  e = zerocopy_sendfile(1000, in, &off, 4, &n);
  line("sendfile to a descriptor that is not open is badf", e, n, &off, in, -1, NULL);

  int p[2];
  e = zerocopy_pipe(0, p);
  off = 6;
  e = zerocopy_sendfile(p[1], in, &off, 8, &n);
  line("sendfile into a pipe", e, n, &off, in, -1, e == 0 ? pipe_hex(p[0], (size_t)n) : NULL);
  closep(p);

  e = zerocopy_pipe(ZEROCOPY_PIPE_NONBLOCK, p);
  line("pipe with NONBLOCK", e, 0, NULL, -1, -1, NULL);
  fill(p[1]);
  off = 0;
  e = zerocopy_sendfile(p[1], in, &off, 10, &n);
  line("sendfile into a full non-blocking pipe is again and moves nothing", e, n, &off, in, -1, NULL);
  closep(p);

  e = zerocopy_pipe(1, p);
  line("pipe with an unknown flag is inval", e, 0, NULL, -1, -1, NULL);

  /* docs/ABI.md: a result pointer is not optional; NULL is FAULT and nothing moves. */
  e = zerocopy_pipe(0, NULL);
  line("pipe with a NULL array is fault", e, 0, NULL, -1, -1, NULL);
  out = open_file("out.txt", O_WRONLY | O_CREAT | O_TRUNC);
  e = zerocopy_sendfile(out, in, NULL, 4, NULL);
  line("sendfile with a NULL result pointer is fault and moves nothing", e, 0, NULL, in, out, file_hex("out.txt"));
  close(out);

  /* splice(2) */
  zerocopy_pipe(0, p);
  off = 2;
  e = zerocopy_splice(in, &off, p[1], NULL, 5, 0, &n);
  line("splice from a file at an offset into a pipe", e, n, &off, in, -1, e == 0 ? pipe_hex(p[0], (size_t)n) : NULL);

  out = open_file("out.txt", O_WRONLY | O_CREAT | O_TRUNC);
  write(p[1], "XYZ", 3);
  e = zerocopy_splice(p[0], NULL, out, NULL, 3, 0, &n);
  line("splice from a pipe into a file advances the file position", e, n, NULL, -1, out, file_hex("out.txt"));

  write(p[1], "XYZ", 3);
  off = 0;
  e = zerocopy_splice(p[0], &off, out, NULL, 3, 0, &n);
  line("splice with an offset on the pipe side is spipe", e, n, &off, -1, out, NULL);
  e = zerocopy_splice(in, NULL, p[1], &off, 3, 0, &n);
  line("splice with an offset on the output pipe is spipe", e, n, &off, in, -1, NULL);
  pipe_hex(p[0], 3);

  e = zerocopy_splice(in, NULL, out, NULL, 3, 0, &n);
  line("splice between two files is inval", e, n, NULL, in, out, NULL);

  e = zerocopy_splice(p[0], NULL, out, NULL, 3, 0x100, &n);
  line("splice with an unknown flag is inval", e, n, NULL, -1, out, NULL);

  e = zerocopy_splice(p[0], NULL, out, NULL, 3, ZEROCOPY_SPLICE_F_NONBLOCK, &n);
  line("splice from an empty pipe with SPLICE_F_NONBLOCK is again", e, n, NULL, -1, out, NULL);

  e = zerocopy_splice(p[0], NULL, out, NULL, 0, 0, &n);
  line("splice of zero bytes returns zero", e, n, NULL, -1, out, NULL);

  rdonly = open_file("out.txt", O_RDONLY);
  write(p[1], "XYZ", 3);
  e = zerocopy_splice(p[0], NULL, rdonly, NULL, 3, 0, &n);
  line("splice into a read-only file is badf", e, n, NULL, -1, rdonly, NULL);
  close(rdonly);
  pipe_hex(p[0], 3);

  close(p[1]);
  e = zerocopy_splice(p[0], NULL, out, NULL, 3, 0, &n);
  line("splice from a pipe whose writers are gone returns zero", e, n, NULL, -1, out, NULL);
  close(p[0]);
  close(out);

  zerocopy_pipe(ZEROCOPY_PIPE_NONBLOCK, p);
  fill(p[1]);
  off = 0;
  e = zerocopy_splice(in, &off, p[1], NULL, 10, ZEROCOPY_SPLICE_F_NONBLOCK, &n);
  line("splice into a full pipe with SPLICE_F_NONBLOCK is again", e, n, &off, in, -1, NULL);
  closep(p);

  /* tee(2): "tee() duplicates up to len bytes of data from the pipe referred to by fd_in to
     the pipe referred to by fd_out. It does not consume the data that is duplicated" */
  int q[2];
  zerocopy_pipe(0, p);
  zerocopy_pipe(0, q);
  write(p[1], "hello", 5);
  e = zerocopy_tee(p[0], q[1], 100, 0, &n);
  line("tee duplicates the data", e, n, NULL, -1, -1, e == 0 ? pipe_hex(q[0], (size_t)n) : NULL);
  line("tee leaves its source intact", 0, 5, NULL, -1, -1, pipe_hex(p[0], 5));

  e = zerocopy_tee(in, q[1], 5, 0, &n);
  line("tee from a file is inval", e, n, NULL, in, -1, NULL);

  e = zerocopy_tee(p[0], q[1], 5, ZEROCOPY_SPLICE_F_NONBLOCK, &n);
  line("tee from an empty pipe with SPLICE_F_NONBLOCK is again", e, n, NULL, -1, -1, NULL);

  e = zerocopy_tee(p[0], q[1], 0, 0, &n);
  line("tee of zero bytes returns zero", e, n, NULL, -1, -1, NULL);
  closep(q);

  /* copy_file_range(2) */
  out = open_file("copy.txt", O_RDWR | O_CREAT | O_TRUNC);
  int64_t off_out = 2;
  off = 3;
  e = zerocopy_copy_file_range(in, &off, out, &off_out, 5, 0, &n);
  line("copy_file_range with offsets advances them and leaves both positions", e, n, &off, in, out, file_hex("copy.txt"));
  printf("  off_out=%lld\n", (long long)off_out);

  lseek(in, 4, SEEK_SET);
  ftruncate(out, 0);
  lseek(out, 0, SEEK_SET);
  e = zerocopy_copy_file_range(in, NULL, out, NULL, 6, 0, &n);
  line("copy_file_range without offsets uses and advances both positions", e, n, NULL, in, out, file_hex("copy.txt"));
  lseek(in, 0, SEEK_SET);

  off = 18;
  e = zerocopy_copy_file_range(in, &off, out, NULL, 10, 0, &n);
  line("copy_file_range near the end copies what is there", e, n, &off, in, out, NULL);

  off = 20;
  e = zerocopy_copy_file_range(in, &off, out, NULL, 10, 0, &n);
  line("copy_file_range at end of file returns zero", e, n, &off, in, out, NULL);

  off = 0;
  e = zerocopy_copy_file_range(in, &off, out, NULL, 5, 1, &n);
  line("copy_file_range with flags other than zero is inval", e, n, &off, in, out, NULL);

  off = -4;
  e = zerocopy_copy_file_range(in, &off, out, NULL, 5, 0, &n);
  line("copy_file_range with a negative offset is the kernel's overflow", e, n, &off, in, out, NULL);

  int64_t a = 0, b = 2;
  e = zerocopy_copy_file_range(out, &a, out, &b, 4, 0, &n);
  line("copy_file_range within one file over overlapping ranges is inval", e, n, &a, out, out, NULL);

  write(p[1], "pipe!", 5);
  e = zerocopy_copy_file_range(p[0], NULL, out, NULL, 5, 0, &n);
  line("copy_file_range from a pipe is inval", e, n, NULL, -1, out, NULL);

  rdonly = open_file("copy.txt", O_RDONLY);
  off = 0;
  e = zerocopy_copy_file_range(in, &off, rdonly, NULL, 5, 0, &n);
  line("copy_file_range into a read-only descriptor is badf", e, n, &off, in, rdonly, NULL);
  close(rdonly);
  closep(p);
  close(out);
  close(in);
  return 0;
}
