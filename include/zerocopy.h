/*
 * zerocopy.h: the `zerocopy` import module, ABI v1 (docs/ABI.md), for C programs.
 *
 * Built for wasm32-wasi (clang --target=wasm32-wasi, wasi-libc), the functions are imports
 * of the wasm-zerocopy host. Built natively on Linux, the same functions call the Linux
 * system calls directly and translate errno into the same WASI numbers, so one program can
 * be compiled both ways and print the same results: that is how the conformance suite checks
 * the sandbox against the kernel.
 *
 * Every function returns a WASI errno (0 on success); results go through pointers; a NULL
 * offset pointer means "use and advance the file position".
 */
#ifndef ZEROCOPY_H
#define ZEROCOPY_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* splice(2) and tee(2) flags, Linux's values. */
#define ZEROCOPY_SPLICE_F_MOVE 1u
#define ZEROCOPY_SPLICE_F_NONBLOCK 2u
#define ZEROCOPY_SPLICE_F_MORE 4u
#define ZEROCOPY_SPLICE_F_GIFT 8u

/* The one fdflag zerocopy_pipe accepts (WASI's fdflags.nonblock). */
#define ZEROCOPY_PIPE_NONBLOCK 4u

typedef uint16_t zerocopy_errno_t;

#ifdef __wasm__

#define ZEROCOPY_IMPORT(name) __attribute__((import_module("zerocopy"), import_name(name)))

/* The raw imports, with the exact wasm signatures of ABI v1. */
int32_t __zerocopy_sendfile(int32_t out_fd, int32_t in_fd, int64_t *offset, int64_t count,
                            uint64_t *ret_sent) ZEROCOPY_IMPORT("sendfile");
int32_t __zerocopy_splice(int32_t fd_in, int64_t *off_in, int32_t fd_out, int64_t *off_out,
                          int64_t len, int32_t flags, uint64_t *ret_moved) ZEROCOPY_IMPORT("splice");
int32_t __zerocopy_tee(int32_t fd_in, int32_t fd_out, int64_t len, int32_t flags,
                       uint64_t *ret_copied) ZEROCOPY_IMPORT("tee");
int32_t __zerocopy_pipe(int32_t fdflags, uint32_t ret_fds[2]) ZEROCOPY_IMPORT("pipe");
int32_t __zerocopy_copy_file_range(int32_t fd_in, int64_t *off_in, int32_t fd_out, int64_t *off_out,
                                   int64_t len, int32_t flags, uint64_t *ret_copied)
    ZEROCOPY_IMPORT("copy_file_range");

/* sendfile(2): copies up to count bytes from in_fd to out_fd inside the kernel. */
static inline zerocopy_errno_t zerocopy_sendfile(int out_fd, int in_fd, int64_t *offset,
                                                 uint64_t count, uint64_t *sent) {
  return (zerocopy_errno_t)__zerocopy_sendfile(out_fd, in_fd, offset, (int64_t)count, sent);
}

/* splice(2): moves up to len bytes between a pipe and another descriptor. */
static inline zerocopy_errno_t zerocopy_splice(int fd_in, int64_t *off_in, int fd_out, int64_t *off_out,
                                               uint64_t len, unsigned flags, uint64_t *moved) {
  return (zerocopy_errno_t)__zerocopy_splice(fd_in, off_in, fd_out, off_out, (int64_t)len, (int32_t)flags, moved);
}

/* tee(2): duplicates up to len bytes from one pipe to another without consuming them. */
static inline zerocopy_errno_t zerocopy_tee(int fd_in, int fd_out, uint64_t len, unsigned flags,
                                            uint64_t *copied) {
  return (zerocopy_errno_t)__zerocopy_tee(fd_in, fd_out, (int64_t)len, (int32_t)flags, copied);
}

/* pipe2(2): fds[0] is the read end, fds[1] the write end. */
static inline zerocopy_errno_t zerocopy_pipe(unsigned fdflags, int fds[2]) {
  uint32_t out[2];
  int32_t e = __zerocopy_pipe((int32_t)fdflags, out);
  if (e == 0) {
    fds[0] = (int)out[0];
    fds[1] = (int)out[1];
  }
  return (zerocopy_errno_t)e;
}

/* copy_file_range(2): copies up to len bytes between two regular files inside the kernel. */
static inline zerocopy_errno_t zerocopy_copy_file_range(int fd_in, int64_t *off_in, int fd_out,
                                                        int64_t *off_out, uint64_t len, unsigned flags,
                                                        uint64_t *copied) {
  return (zerocopy_errno_t)__zerocopy_copy_file_range(fd_in, off_in, fd_out, off_out, (int64_t)len,
                                                      (int32_t)flags, copied);
}

int32_t __zerocopy_sock_cork(int32_t fd, int32_t enable) ZEROCOPY_IMPORT("sock_cork");

/* TCP_CORK on a TCP socket (tcp(7)), as sendfile(2) advises for a header followed by a file. */
static inline zerocopy_errno_t zerocopy_sock_cork(int fd, int enable) {
  return (zerocopy_errno_t)__zerocopy_sock_cork(fd, enable);
}

int32_t __zerocopy_sock_peername(int32_t fd, char *buf, uint32_t buf_len, uint32_t *ret_len)
    ZEROCOPY_IMPORT("sock_peername");

/* The peer's address as text, not NUL-terminated: "a.b.c.d:port" or "[v6]:port". */
static inline zerocopy_errno_t zerocopy_sock_peername(int fd, char *buf, uint32_t buf_len, uint32_t *len) {
  return (zerocopy_errno_t)__zerocopy_sock_peername(fd, buf, buf_len, len);
}

#else /* native Linux: the same API over the real system calls */

#ifndef _GNU_SOURCE
#error "zerocopy.h needs _GNU_SOURCE natively (splice, tee, pipe2, copy_file_range): define it before any #include"
#endif
#include <errno.h>
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

/* Linux errno -> WASI errno by name, as the host's table (host/sandbox/errno.ts) does. */
static inline zerocopy_errno_t zerocopy_errno_from_linux(int e) {
  switch (e) {
  case E2BIG: return 1; case EACCES: return 2; case EADDRINUSE: return 3;
  case EADDRNOTAVAIL: return 4; case EAFNOSUPPORT: return 5; case EAGAIN: return 6;
  case EALREADY: return 7; case EBADF: return 8; case EBADMSG: return 9; case EBUSY: return 10;
  case ECANCELED: return 11; case ECHILD: return 12; case ECONNABORTED: return 13;
  case ECONNREFUSED: return 14; case ECONNRESET: return 15; case EDEADLK: return 16;
  case EDESTADDRREQ: return 17; case EDOM: return 18; case EDQUOT: return 19; case EEXIST: return 20;
  case EFAULT: return 21; case EFBIG: return 22; case EHOSTUNREACH: return 23; case EIDRM: return 24;
  case EILSEQ: return 25; case EINPROGRESS: return 26; case EINTR: return 27; case EINVAL: return 28;
  case EIO: return 29; case EISCONN: return 30; case EISDIR: return 31; case ELOOP: return 32;
  case EMFILE: return 33; case EMLINK: return 34; case EMSGSIZE: return 35; case EMULTIHOP: return 36;
  case ENAMETOOLONG: return 37; case ENETDOWN: return 38; case ENETRESET: return 39;
  case ENETUNREACH: return 40; case ENFILE: return 41; case ENOBUFS: return 42; case ENODEV: return 43;
  case ENOENT: return 44; case ENOEXEC: return 45; case ENOLCK: return 46; case ENOLINK: return 47;
  case ENOMEM: return 48; case ENOMSG: return 49; case ENOPROTOOPT: return 50; case ENOSPC: return 51;
  case ENOSYS: return 52; case ENOTCONN: return 53; case ENOTDIR: return 54; case ENOTEMPTY: return 55;
  case ENOTRECOVERABLE: return 56; case ENOTSOCK: return 57; case ENOTSUP: return 58;
  case ENOTTY: return 59; case ENXIO: return 60; case EOVERFLOW: return 61; case EOWNERDEAD: return 62;
  case EPERM: return 63; case EPIPE: return 64; case EPROTO: return 65; case EPROTONOSUPPORT: return 66;
  case EPROTOTYPE: return 67; case ERANGE: return 68; case EROFS: return 69; case ESPIPE: return 70;
  case ESRCH: return 71; case ESTALE: return 72; case ETIMEDOUT: return 73; case ETXTBSY: return 74;
  case EXDEV: return 75;
  default: return 29; /* io, as the host does for an errno it has no name for */
  }
}

#define ZEROCOPY__RESULT(r, out)                                                                   \
  do {                                                                                             \
    if ((r) < 0) return zerocopy_errno_from_linux(errno);                                          \
    *(out) = (uint64_t)(r);                                                                        \
    return 0;                                                                                      \
  } while (0)

static inline zerocopy_errno_t zerocopy_sendfile(int out_fd, int in_fd, int64_t *offset,
                                                 uint64_t count, uint64_t *sent) {
  ssize_t r = sendfile(out_fd, in_fd, (off_t *)offset, (size_t)count);
  ZEROCOPY__RESULT(r, sent);
}

static inline zerocopy_errno_t zerocopy_splice(int fd_in, int64_t *off_in, int fd_out, int64_t *off_out,
                                               uint64_t len, unsigned flags, uint64_t *moved) {
  ssize_t r = splice(fd_in, (loff_t *)off_in, fd_out, (loff_t *)off_out, (size_t)len, flags);
  ZEROCOPY__RESULT(r, moved);
}

static inline zerocopy_errno_t zerocopy_tee(int fd_in, int fd_out, uint64_t len, unsigned flags,
                                            uint64_t *copied) {
  ssize_t r = tee(fd_in, fd_out, (size_t)len, flags);
  ZEROCOPY__RESULT(r, copied);
}

static inline zerocopy_errno_t zerocopy_pipe(unsigned fdflags, int fds[2]) {
  if (fdflags & ~ZEROCOPY_PIPE_NONBLOCK) return 28; /* inval */
  if (pipe2(fds, O_CLOEXEC | ((fdflags & ZEROCOPY_PIPE_NONBLOCK) ? O_NONBLOCK : 0)) < 0)
    return zerocopy_errno_from_linux(errno);
  return 0;
}

static inline zerocopy_errno_t zerocopy_copy_file_range(int fd_in, int64_t *off_in, int fd_out,
                                                        int64_t *off_out, uint64_t len, unsigned flags,
                                                        uint64_t *copied) {
  ssize_t r = copy_file_range(fd_in, (loff_t *)off_in, fd_out, (loff_t *)off_out, (size_t)len, flags);
  ZEROCOPY__RESULT(r, copied);
}

static inline zerocopy_errno_t zerocopy_sock_cork(int fd, int enable) {
  if (enable != 0 && enable != 1) return 28; /* inval */
  if (setsockopt(fd, 6 /* IPPROTO_TCP */, 3 /* TCP_CORK */, &enable, sizeof enable) < 0)
    return zerocopy_errno_from_linux(errno);
  return 0;
}

#endif /* __wasm__ */

#ifdef __cplusplus
}
#endif

#endif /* ZEROCOPY_H */
