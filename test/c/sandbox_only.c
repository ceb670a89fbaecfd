/*
 * The answers the sandbox adds on its own (docs/ABI.md, "Errors"): `fault` for a pointer not
 * wholly inside guest memory, checked before the system call so that nothing moves; `notcapable`
 * for a right the guest gave up. These have no native counterpart, so this program is built
 * for wasm32-wasi only and test/c_conformance.test.ts checks its lines against the spec.
 *
 * usage: sandbox_only DIR
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <wasi/api.h>
#include "zerocopy.h"

static char pathbuf[4096];
static const char *path(const char *dir, const char *name) {
  size_t n = strlen(dir);
  snprintf(pathbuf, sizeof pathbuf, "%s%s%s", dir, (n && dir[n - 1] == '/') ? "" : "/", name);
  return pathbuf;
}

static long long size_of(int fd) {
  off_t end = lseek(fd, 0, SEEK_END);
  lseek(fd, 0, SEEK_SET);
  return (long long)end;
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  const char *dir = argv[1];
  int fd = open(path(dir, "src.txt"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  write(fd, "0123456789", 10);
  close(fd);
  int in = open(path(dir, "src.txt"), O_RDONLY);
  int out = open(path(dir, "out.txt"), O_RDWR | O_CREAT | O_TRUNC, 0644);
  uintptr_t end = __builtin_wasm_memory_size(0) * 65536;
  uint64_t n = 0;
  zerocopy_errno_t e;

  e = zerocopy_sendfile(out, in, (int64_t *)(end - 4), 4, &n);
  printf("offset pointer straddling the end of memory: %d, out size %lld, in position %lld\n", e,
         size_of(out), (long long)lseek(in, 0, SEEK_CUR));
  e = zerocopy_sendfile(out, in, NULL, 4, (uint64_t *)(end - 4));
  printf("result pointer straddling the end of memory: %d, out size %lld, in position %lld\n", e,
         size_of(out), (long long)lseek(in, 0, SEEK_CUR));
  e = zerocopy_sendfile(out, in, (int64_t *)(uintptr_t)0xfffffff0u, 4, &n);
  printf("offset pointer far past memory: %d, out size %lld\n", e, size_of(out));
  e = zerocopy_splice(in, (int64_t *)end, out, NULL, 4, 0, &n);
  printf("splice offset pointer at the end of memory: %d\n", e);
  e = zerocopy_copy_file_range(in, NULL, out, NULL, 4, 0, (uint64_t *)(end - 1));
  printf("copy_file_range result pointer past memory: %d, out size %lld, in position %lld\n", e,
         size_of(out), (long long)lseek(in, 0, SEEK_CUR));
  e = (zerocopy_errno_t)__zerocopy_pipe(0, (uint32_t *)(end - 4));
  int probe = open(path(dir, "src.txt"), O_RDONLY);
  printf("pipe result pointer past memory: %d, next descriptor %d (in was %d, out %d)\n", e, probe, in, out);
  close(probe);

  e = zerocopy_sendfile(out, 4242, NULL, 4, &n);
  printf("a descriptor the guest does not hold: %d\n", e);

  __wasi_fdstat_t st;
  (void)__wasi_fd_fdstat_get(in, &st);
  (void)__wasi_fd_fdstat_set_rights(in, st.fs_rights_base & ~__WASI_RIGHTS_FD_READ, st.fs_rights_inheriting);
  e = zerocopy_sendfile(out, in, NULL, 4, &n);
  printf("sendfile from a descriptor that gave up fd_read: %d, out size %lld\n", e, size_of(out));
  (void)__wasi_fd_fdstat_get(out, &st);
  (void)__wasi_fd_fdstat_set_rights(out, st.fs_rights_base & ~__WASI_RIGHTS_FD_WRITE, st.fs_rights_inheriting);
  int p[2];
  zerocopy_pipe(0, p);
  write(p[1], "abc", 3);
  e = zerocopy_splice(p[0], NULL, out, NULL, 3, 0, &n);
  printf("splice into a descriptor that gave up fd_write: %d\n", e);
  int in2 = open(path(dir, "src.txt"), O_RDONLY);
  (void)__wasi_fd_fdstat_get(in2, &st);
  (void)__wasi_fd_fdstat_set_rights(in2, st.fs_rights_base & ~__WASI_RIGHTS_FD_SEEK, st.fs_rights_inheriting);
  int64_t off = 0;
  e = zerocopy_sendfile(p[1], in2, &off, 4, &n);
  printf("sendfile at an offset from a descriptor that gave up fd_seek: %d\n", e);
  e = zerocopy_sendfile(p[1], in2, NULL, 4, &n);
  printf("sendfile from the position of that descriptor: %d, n %llu\n", e, (unsigned long long)n);
  return 0;
}
