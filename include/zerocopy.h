/*
 * zerocopy.h: the `zerocopy` import module, ABI v2 (docs/ABI.md), for C programs.
 *
 * Built for wasm32-wasi (clang --target=wasm32-wasi, wasi-libc), the functions are imports
 * of the wasm-zerocopy host, which makes the Linux system call on the host descriptors the
 * guest's numbers stand for. Built natively on Linux, the same functions call the system
 * calls directly and translate errno into the same WASI numbers, so one program compiles both
 * ways and prints the same results: that is how test/c_conformance.test.ts checks the sandbox
 * against the kernel.
 *
 * Conventions, both ways:
 *  - every function returns a WASI errno, __WASI_ERRNO_SUCCESS (0) on success; the errno of a
 *    failed system call is the WASI errno of the same name (EBADF -> __WASI_ERRNO_BADF, ...);
 *  - results go through pointers, and are written only on success; a NULL result pointer is
 *    FAULT, before anything happens (nothing is ever written at address 0);
 *  - an offset pointer of NULL means "use and advance the file position"; a non-NULL one is
 *    read, used and advanced instead, and the file position is left alone.
 * The sandbox adds three answers of its own (docs/ABI.md, "Errors"): BADF for a descriptor
 * the guest does not hold, FAULT for a pointer outside guest memory (before any byte moves),
 * NOTCAPABLE for a descriptor without a right the call needs (fd_read on the input, fd_write
 * on the output, fd_seek with an offset), never granted or given up. Each comes where the
 * kernel's own EBADF or EFAULT would come, in the kernel's order of checks.
 *
 * Natively, define _GNU_SOURCE before the first #include (splice, tee, pipe2 and
 * copy_file_range are GNU extensions in glibc).
 */
#ifndef ZEROCOPY_H
#define ZEROCOPY_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* splice(2) and tee(2) flags, Linux's values (include/linux/splice.h). */
#define ZEROCOPY_SPLICE_F_MOVE 1u     /* a hint: move pages instead of copying */
#define ZEROCOPY_SPLICE_F_NONBLOCK 2u /* do not block on the pipe: EAGAIN instead */
#define ZEROCOPY_SPLICE_F_MORE 4u     /* more data will follow (a hint for sockets) */
#define ZEROCOPY_SPLICE_F_GIFT 8u     /* unused for splice(2); vmsplice(2) only */

/* The one flag zerocopy_pipe accepts: WASI's fdflags.nonblock, O_NONBLOCK on both ends. */
#define ZEROCOPY_PIPE_NONBLOCK 4u

/* The one flag zerocopy_sock_connect accepts (v2): WASI's fdflags.nonblock. */
#define ZEROCOPY_CONNECT_NONBLOCK 4u

/* The ABI version these declarations describe (docs/ABI.md, "Versions"). */
#define ZEROCOPY_ABI_VERSION 2

/* A WASI errno (wasi_snapshot_preview1 `errno`, a u16): one of __WASI_ERRNO_*. */
typedef uint16_t zerocopy_errno_t;

#if defined(__wasi__)
#include <wasi/api.h> /* __WASI_ERRNO_*, from wasi-libc */
#elif !defined(__WASI_ERRNO_SUCCESS)
/* Natively there is no wasi/api.h: the same names and values (witx `errno`, in order). */
#define __WASI_ERRNO_SUCCESS (UINT16_C(0))
#define __WASI_ERRNO_2BIG (UINT16_C(1))
#define __WASI_ERRNO_ACCES (UINT16_C(2))
#define __WASI_ERRNO_ADDRINUSE (UINT16_C(3))
#define __WASI_ERRNO_ADDRNOTAVAIL (UINT16_C(4))
#define __WASI_ERRNO_AFNOSUPPORT (UINT16_C(5))
#define __WASI_ERRNO_AGAIN (UINT16_C(6))
#define __WASI_ERRNO_ALREADY (UINT16_C(7))
#define __WASI_ERRNO_BADF (UINT16_C(8))
#define __WASI_ERRNO_BADMSG (UINT16_C(9))
#define __WASI_ERRNO_BUSY (UINT16_C(10))
#define __WASI_ERRNO_CANCELED (UINT16_C(11))
#define __WASI_ERRNO_CHILD (UINT16_C(12))
#define __WASI_ERRNO_CONNABORTED (UINT16_C(13))
#define __WASI_ERRNO_CONNREFUSED (UINT16_C(14))
#define __WASI_ERRNO_CONNRESET (UINT16_C(15))
#define __WASI_ERRNO_DEADLK (UINT16_C(16))
#define __WASI_ERRNO_DESTADDRREQ (UINT16_C(17))
#define __WASI_ERRNO_DOM (UINT16_C(18))
#define __WASI_ERRNO_DQUOT (UINT16_C(19))
#define __WASI_ERRNO_EXIST (UINT16_C(20))
#define __WASI_ERRNO_FAULT (UINT16_C(21))
#define __WASI_ERRNO_FBIG (UINT16_C(22))
#define __WASI_ERRNO_HOSTUNREACH (UINT16_C(23))
#define __WASI_ERRNO_IDRM (UINT16_C(24))
#define __WASI_ERRNO_ILSEQ (UINT16_C(25))
#define __WASI_ERRNO_INPROGRESS (UINT16_C(26))
#define __WASI_ERRNO_INTR (UINT16_C(27))
#define __WASI_ERRNO_INVAL (UINT16_C(28))
#define __WASI_ERRNO_IO (UINT16_C(29))
#define __WASI_ERRNO_ISCONN (UINT16_C(30))
#define __WASI_ERRNO_ISDIR (UINT16_C(31))
#define __WASI_ERRNO_LOOP (UINT16_C(32))
#define __WASI_ERRNO_MFILE (UINT16_C(33))
#define __WASI_ERRNO_MLINK (UINT16_C(34))
#define __WASI_ERRNO_MSGSIZE (UINT16_C(35))
#define __WASI_ERRNO_MULTIHOP (UINT16_C(36))
#define __WASI_ERRNO_NAMETOOLONG (UINT16_C(37))
#define __WASI_ERRNO_NETDOWN (UINT16_C(38))
#define __WASI_ERRNO_NETRESET (UINT16_C(39))
#define __WASI_ERRNO_NETUNREACH (UINT16_C(40))
#define __WASI_ERRNO_NFILE (UINT16_C(41))
#define __WASI_ERRNO_NOBUFS (UINT16_C(42))
#define __WASI_ERRNO_NODEV (UINT16_C(43))
#define __WASI_ERRNO_NOENT (UINT16_C(44))
#define __WASI_ERRNO_NOEXEC (UINT16_C(45))
#define __WASI_ERRNO_NOLCK (UINT16_C(46))
#define __WASI_ERRNO_NOLINK (UINT16_C(47))
#define __WASI_ERRNO_NOMEM (UINT16_C(48))
#define __WASI_ERRNO_NOMSG (UINT16_C(49))
#define __WASI_ERRNO_NOPROTOOPT (UINT16_C(50))
#define __WASI_ERRNO_NOSPC (UINT16_C(51))
#define __WASI_ERRNO_NOSYS (UINT16_C(52))
#define __WASI_ERRNO_NOTCONN (UINT16_C(53))
#define __WASI_ERRNO_NOTDIR (UINT16_C(54))
#define __WASI_ERRNO_NOTEMPTY (UINT16_C(55))
#define __WASI_ERRNO_NOTRECOVERABLE (UINT16_C(56))
#define __WASI_ERRNO_NOTSOCK (UINT16_C(57))
#define __WASI_ERRNO_NOTSUP (UINT16_C(58))
#define __WASI_ERRNO_NOTTY (UINT16_C(59))
#define __WASI_ERRNO_NXIO (UINT16_C(60))
#define __WASI_ERRNO_OVERFLOW (UINT16_C(61))
#define __WASI_ERRNO_OWNERDEAD (UINT16_C(62))
#define __WASI_ERRNO_PERM (UINT16_C(63))
#define __WASI_ERRNO_PIPE (UINT16_C(64))
#define __WASI_ERRNO_PROTO (UINT16_C(65))
#define __WASI_ERRNO_PROTONOSUPPORT (UINT16_C(66))
#define __WASI_ERRNO_PROTOTYPE (UINT16_C(67))
#define __WASI_ERRNO_RANGE (UINT16_C(68))
#define __WASI_ERRNO_ROFS (UINT16_C(69))
#define __WASI_ERRNO_SPIPE (UINT16_C(70))
#define __WASI_ERRNO_SRCH (UINT16_C(71))
#define __WASI_ERRNO_STALE (UINT16_C(72))
#define __WASI_ERRNO_TIMEDOUT (UINT16_C(73))
#define __WASI_ERRNO_TXTBSY (UINT16_C(74))
#define __WASI_ERRNO_XDEV (UINT16_C(75))
#define __WASI_ERRNO_NOTCAPABLE (UINT16_C(76))
#endif

/*
 * The API. Counts are uint64_t and reach the kernel as size_t; a count above MAX_RW_COUNT
 * is clamped by the kernel, one of 2^63 or more is EINVAL there. The man pages say the rest.
 *
 * zerocopy_sendfile    sendfile(2): up to count bytes from in_fd (a file that can be read
 *                      at an offset) to out_fd (any descriptor). *sent = bytes written.
 * zerocopy_splice      splice(2): up to len bytes between two descriptors, one a pipe; an
 *                      offset on the pipe side is SPIPE. *moved = bytes moved, 0 = end of input.
 * zerocopy_tee         tee(2): up to len bytes from pipe fd_in to pipe fd_out, without
 *                      consuming them. *copied = bytes duplicated.
 * zerocopy_pipe        pipe2(2): fds[0] is the read end, fds[1] the write end; fdflags is 0
 *                      or ZEROCOPY_PIPE_NONBLOCK (any other bit is INVAL). Close-on-exec.
 * zerocopy_copy_file_range  copy_file_range(2): up to len bytes between two regular files;
 *                      flags must be 0. *copied = bytes copied, 0 = end of file.
 * zerocopy_sock_cork   setsockopt(TCP_CORK), tcp(7): enable 1 holds partial frames back
 *                      (sendfile(2), NOTES, for a header followed by a file), 0 releases them.
 * zerocopy_sock_peername  getpeername(2) as text, not NUL-terminated: "a.b.c.d:port" or
 *                      "[v6]:port"; NAMETOOLONG if it does not fit in buf_len bytes.
 * zerocopy_sock_connect (v2) socket(2) + connect(2) to addr, len bytes of text ("a.b.c.d:port"
 *                      or "[v6]:port"). In the sandbox it must be an address the host granted
 *                      (--connect), byte for byte, else NOTCAPABLE; natively any address.
 *                      fdflags 0 waits for the outcome (CONNREFUSED, TIMEDOUT, ...);
 *                      ZEROCOPY_CONNECT_NONBLOCK returns at once, the connection under way:
 *                      poll for POLLOUT, then zerocopy_sock_error. Close-on-exec.
 * zerocopy_sock_error  (v2) getsockopt(SO_ERROR): *err = the pending error as a WASI errno
 *                      (SUCCESS for none), cleared; the outcome of a non-blocking connect.
 * zerocopy_pipe_set_size (v2) fcntl(F_SETPIPE_SZ): the pipe's capacity, at least size bytes;
 *                      *set = the capacity the kernel chose. In the sandbox PERM past
 *                      /proc/sys/fs/pipe-max-size or its budget for enlarged pipes (docs/ABI.md).
 */

#ifdef __wasm__

#define ZEROCOPY__IMPORT(name) __attribute__((import_module("zerocopy"), import_name(name)))

/*
 * The raw imports, with the exact wasm signatures of ABI v2: descriptors and flags i32,
 * counts i64, pointers i32 (wasm32), the result an i32 holding the WASI errno.
 */
int32_t __zerocopy_sendfile(int32_t out_fd, int32_t in_fd, int64_t *offset, int64_t count,
                            uint64_t *ret_sent) ZEROCOPY__IMPORT("sendfile");
int32_t __zerocopy_splice(int32_t fd_in, int64_t *off_in, int32_t fd_out, int64_t *off_out,
                          int64_t len, int32_t flags, uint64_t *ret_moved) ZEROCOPY__IMPORT("splice");
int32_t __zerocopy_tee(int32_t fd_in, int32_t fd_out, int64_t len, int32_t flags,
                       uint64_t *ret_copied) ZEROCOPY__IMPORT("tee");
int32_t __zerocopy_pipe(int32_t fdflags, uint32_t ret_fds[2]) ZEROCOPY__IMPORT("pipe");
int32_t __zerocopy_copy_file_range(int32_t fd_in, int64_t *off_in, int32_t fd_out, int64_t *off_out,
                                   int64_t len, int32_t flags, uint64_t *ret_copied)
    ZEROCOPY__IMPORT("copy_file_range");
int32_t __zerocopy_sock_cork(int32_t fd, int32_t enable) ZEROCOPY__IMPORT("sock_cork");
int32_t __zerocopy_sock_peername(int32_t fd, char *buf, uint32_t buf_len, uint32_t *ret_len)
    ZEROCOPY__IMPORT("sock_peername");
int32_t __zerocopy_sock_connect(const char *addr, uint32_t addr_len, int32_t fdflags, uint32_t *ret_fd)
    ZEROCOPY__IMPORT("sock_connect");
int32_t __zerocopy_sock_error(int32_t fd, uint16_t *ret_errno) ZEROCOPY__IMPORT("sock_error");
int32_t __zerocopy_pipe_set_size(int32_t fd, uint32_t size, uint32_t *ret_size) ZEROCOPY__IMPORT("pipe_set_size");

static inline zerocopy_errno_t zerocopy_sendfile(int out_fd, int in_fd, int64_t *offset,
                                                 uint64_t count, uint64_t *sent) {
  return (zerocopy_errno_t)__zerocopy_sendfile(out_fd, in_fd, offset, (int64_t)count, sent);
}

static inline zerocopy_errno_t zerocopy_splice(int fd_in, int64_t *off_in, int fd_out, int64_t *off_out,
                                               uint64_t len, unsigned flags, uint64_t *moved) {
  return (zerocopy_errno_t)__zerocopy_splice(fd_in, off_in, fd_out, off_out, (int64_t)len, (int32_t)flags, moved);
}

static inline zerocopy_errno_t zerocopy_tee(int fd_in, int fd_out, uint64_t len, unsigned flags,
                                            uint64_t *copied) {
  return (zerocopy_errno_t)__zerocopy_tee(fd_in, fd_out, (int64_t)len, (int32_t)flags, copied);
}

static inline zerocopy_errno_t zerocopy_pipe(unsigned fdflags, int fds[2]) {
  uint32_t out[2];
  if (fds == 0) return __WASI_ERRNO_FAULT; /* as the host answers for a NULL ret_fds */
  int32_t e = __zerocopy_pipe((int32_t)fdflags, out);
  if (e == __WASI_ERRNO_SUCCESS) {
    fds[0] = (int)out[0];
    fds[1] = (int)out[1];
  }
  return (zerocopy_errno_t)e;
}

static inline zerocopy_errno_t zerocopy_copy_file_range(int fd_in, int64_t *off_in, int fd_out,
                                                        int64_t *off_out, uint64_t len, unsigned flags,
                                                        uint64_t *copied) {
  return (zerocopy_errno_t)__zerocopy_copy_file_range(fd_in, off_in, fd_out, off_out, (int64_t)len,
                                                      (int32_t)flags, copied);
}

static inline zerocopy_errno_t zerocopy_sock_cork(int fd, int enable) {
  return (zerocopy_errno_t)__zerocopy_sock_cork(fd, enable);
}

static inline zerocopy_errno_t zerocopy_sock_peername(int fd, char *buf, uint32_t buf_len, uint32_t *len) {
  return (zerocopy_errno_t)__zerocopy_sock_peername(fd, buf, buf_len, len);
}

static inline zerocopy_errno_t zerocopy_sock_connect(const char *addr, uint32_t len, unsigned fdflags, int *fd) {
  uint32_t out;
  int32_t e = __zerocopy_sock_connect(addr, len, (int32_t)fdflags, &out);
  if (e == __WASI_ERRNO_SUCCESS) *fd = (int)out;
  return (zerocopy_errno_t)e;
}

static inline zerocopy_errno_t zerocopy_sock_error(int fd, zerocopy_errno_t *err) {
  return (zerocopy_errno_t)__zerocopy_sock_error(fd, err);
}

static inline zerocopy_errno_t zerocopy_pipe_set_size(int fd, uint32_t size, uint32_t *set) {
  return (zerocopy_errno_t)__zerocopy_pipe_set_size(fd, size, set);
}

#else /* native Linux: the same API over the real system calls */

#ifndef _GNU_SOURCE
#error "zerocopy.h needs _GNU_SOURCE natively (splice, tee, pipe2, copy_file_range): define it before any #include"
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

/*
 * Linux errno -> WASI errno, the table of host/sandbox/errno.ts: by name where WASI has the
 * name, else the nearest meaning; `io` for anything else. test/c_conformance.test.ts compares
 * the two over every errno number.
 */
#define ZEROCOPY__E(name) case E##name: return __WASI_ERRNO_##name;
static inline zerocopy_errno_t zerocopy_errno_from_linux(int e) {
  switch (e) {
  ZEROCOPY__E(2BIG) ZEROCOPY__E(ACCES) ZEROCOPY__E(ADDRINUSE) ZEROCOPY__E(ADDRNOTAVAIL)
  ZEROCOPY__E(AFNOSUPPORT) ZEROCOPY__E(AGAIN) ZEROCOPY__E(ALREADY) ZEROCOPY__E(BADF)
  ZEROCOPY__E(BADMSG) ZEROCOPY__E(BUSY) ZEROCOPY__E(CANCELED) ZEROCOPY__E(CHILD)
  ZEROCOPY__E(CONNABORTED) ZEROCOPY__E(CONNREFUSED) ZEROCOPY__E(CONNRESET) ZEROCOPY__E(DEADLK)
  ZEROCOPY__E(DESTADDRREQ) ZEROCOPY__E(DOM) ZEROCOPY__E(DQUOT) ZEROCOPY__E(EXIST)
  ZEROCOPY__E(FAULT) ZEROCOPY__E(FBIG) ZEROCOPY__E(HOSTUNREACH) ZEROCOPY__E(IDRM)
  ZEROCOPY__E(ILSEQ) ZEROCOPY__E(INPROGRESS) ZEROCOPY__E(INTR) ZEROCOPY__E(INVAL)
  ZEROCOPY__E(IO) ZEROCOPY__E(ISCONN) ZEROCOPY__E(ISDIR) ZEROCOPY__E(LOOP)
  ZEROCOPY__E(MFILE) ZEROCOPY__E(MLINK) ZEROCOPY__E(MSGSIZE) ZEROCOPY__E(MULTIHOP)
  ZEROCOPY__E(NAMETOOLONG) ZEROCOPY__E(NETDOWN) ZEROCOPY__E(NETRESET) ZEROCOPY__E(NETUNREACH)
  ZEROCOPY__E(NFILE) ZEROCOPY__E(NOBUFS) ZEROCOPY__E(NODEV) ZEROCOPY__E(NOENT)
  ZEROCOPY__E(NOEXEC) ZEROCOPY__E(NOLCK) ZEROCOPY__E(NOLINK) ZEROCOPY__E(NOMEM)
  ZEROCOPY__E(NOMSG) ZEROCOPY__E(NOPROTOOPT) ZEROCOPY__E(NOSPC) ZEROCOPY__E(NOSYS)
  ZEROCOPY__E(NOTCONN) ZEROCOPY__E(NOTDIR) ZEROCOPY__E(NOTEMPTY) ZEROCOPY__E(NOTRECOVERABLE)
  ZEROCOPY__E(NOTSOCK) ZEROCOPY__E(NOTSUP) ZEROCOPY__E(NOTTY) ZEROCOPY__E(NXIO)
  ZEROCOPY__E(OVERFLOW) ZEROCOPY__E(OWNERDEAD) ZEROCOPY__E(PERM) ZEROCOPY__E(PIPE)
  ZEROCOPY__E(PROTO) ZEROCOPY__E(PROTONOSUPPORT) ZEROCOPY__E(PROTOTYPE) ZEROCOPY__E(RANGE)
  ZEROCOPY__E(ROFS) ZEROCOPY__E(SPIPE) ZEROCOPY__E(SRCH) ZEROCOPY__E(STALE)
  ZEROCOPY__E(TIMEDOUT) ZEROCOPY__E(TXTBSY) ZEROCOPY__E(XDEV)
  /* No WASI namesake: the nearest meaning, as host/sandbox/errno.ts `nearest` (EOPNOTSUPP
     is ENOTSUP on Linux; EWOULDBLOCK and EDEADLOCK are EAGAIN and EDEADLK). */
  case ENOTBLK: return __WASI_ERRNO_NOTSUP;
  case ENODATA: return __WASI_ERRNO_NOMSG;
  case ENOSR: return __WASI_ERRNO_NOBUFS;
  case ENOSTR: return __WASI_ERRNO_INVAL;
  case ETIME: return __WASI_ERRNO_TIMEDOUT;
  case ESHUTDOWN: return __WASI_ERRNO_PIPE;
  case ETOOMANYREFS: return __WASI_ERRNO_MLINK;
  case EHOSTDOWN: return __WASI_ERRNO_HOSTUNREACH;
  case ESOCKTNOSUPPORT: return __WASI_ERRNO_PROTONOSUPPORT;
  case EPFNOSUPPORT: return __WASI_ERRNO_AFNOSUPPORT;
  case ENOTUNIQ: return __WASI_ERRNO_INVAL;
  case EUSERS: return __WASI_ERRNO_NFILE;
  case EREMOTEIO: return __WASI_ERRNO_IO;
  case ENOMEDIUM: return __WASI_ERRNO_NODEV;
  case EMEDIUMTYPE: return __WASI_ERRNO_NODEV;
  case EKEYEXPIRED: return __WASI_ERRNO_ACCES;
  case EKEYREJECTED: return __WASI_ERRNO_ACCES;
  case EKEYREVOKED: return __WASI_ERRNO_ACCES;
  case ENOKEY: return __WASI_ERRNO_ACCES;
  case ERFKILL: return __WASI_ERRNO_NETDOWN;
  case EHWPOISON: return __WASI_ERRNO_IO;
  default: return __WASI_ERRNO_IO; /* an errno with no name in the table, as the host does */
  }
}
#undef ZEROCOPY__E

/* A NULL result pointer is FAULT before the system call, as in the sandbox. */
#define ZEROCOPY__NEED(out)                                                                        \
  do {                                                                                             \
    if ((out) == NULL) return __WASI_ERRNO_FAULT;                                                  \
  } while (0)

/* A syscall's result: its errno translated, or the count stored and success. */
#define ZEROCOPY__RESULT(r, out)                                                                   \
  do {                                                                                             \
    if ((r) < 0) return zerocopy_errno_from_linux(errno);                                          \
    *(out) = (uint64_t)(r);                                                                        \
    return __WASI_ERRNO_SUCCESS;                                                                   \
  } while (0)

static inline zerocopy_errno_t zerocopy_sendfile(int out_fd, int in_fd, int64_t *offset,
                                                 uint64_t count, uint64_t *sent) {
  ZEROCOPY__NEED(sent);
  ssize_t r = sendfile(out_fd, in_fd, (off_t *)offset, (size_t)count);
  ZEROCOPY__RESULT(r, sent);
}

static inline zerocopy_errno_t zerocopy_splice(int fd_in, int64_t *off_in, int fd_out, int64_t *off_out,
                                               uint64_t len, unsigned flags, uint64_t *moved) {
  ZEROCOPY__NEED(moved);
  ssize_t r = splice(fd_in, (loff_t *)off_in, fd_out, (loff_t *)off_out, (size_t)len, flags);
  ZEROCOPY__RESULT(r, moved);
}

static inline zerocopy_errno_t zerocopy_tee(int fd_in, int fd_out, uint64_t len, unsigned flags,
                                            uint64_t *copied) {
  ZEROCOPY__NEED(copied);
  ssize_t r = tee(fd_in, fd_out, (size_t)len, flags);
  ZEROCOPY__RESULT(r, copied);
}

static inline zerocopy_errno_t zerocopy_pipe(unsigned fdflags, int fds[2]) {
  /* The host takes WASI fdflags, not O_* flags: only NONBLOCK, checked before pipe2(2). */
  if (fds == NULL) return __WASI_ERRNO_FAULT;
  if (fdflags & ~ZEROCOPY_PIPE_NONBLOCK) return __WASI_ERRNO_INVAL;
  if (pipe2(fds, O_CLOEXEC | ((fdflags & ZEROCOPY_PIPE_NONBLOCK) ? O_NONBLOCK : 0)) < 0)
    return zerocopy_errno_from_linux(errno);
  return __WASI_ERRNO_SUCCESS;
}

static inline zerocopy_errno_t zerocopy_copy_file_range(int fd_in, int64_t *off_in, int fd_out,
                                                        int64_t *off_out, uint64_t len, unsigned flags,
                                                        uint64_t *copied) {
  ZEROCOPY__NEED(copied);
  ssize_t r = copy_file_range(fd_in, (loff_t *)off_in, fd_out, (loff_t *)off_out, (size_t)len, flags);
  ZEROCOPY__RESULT(r, copied);
}

#undef ZEROCOPY__RESULT
#undef ZEROCOPY__NEED

static inline zerocopy_errno_t zerocopy_sock_cork(int fd, int enable) {
  /* The host looks the descriptor up (BADF) before it checks `enable` (INVAL). */
  if (fcntl(fd, F_GETFD) < 0) return zerocopy_errno_from_linux(errno);
  if (enable != 0 && enable != 1) return __WASI_ERRNO_INVAL;
  if (setsockopt(fd, IPPROTO_TCP, 3 /* TCP_CORK, netinet/tcp.h */, &enable, sizeof enable) < 0)
    return zerocopy_errno_from_linux(errno);
  return __WASI_ERRNO_SUCCESS;
}

static inline zerocopy_errno_t zerocopy_sock_peername(int fd, char *buf, uint32_t buf_len, uint32_t *len) {
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  char text[64];
  int n;
  if (len == NULL || buf == NULL) return __WASI_ERRNO_FAULT;
  if (getpeername(fd, (struct sockaddr *)&ss, &sl) < 0) return zerocopy_errno_from_linux(errno);
  if (ss.ss_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
    const unsigned char *b = (const unsigned char *)&a->sin_addr;
    n = snprintf(text, sizeof text, "%u.%u.%u.%u:%u", b[0], b[1], b[2], b[3], ntohs(a->sin_port));
  } else if (ss.ss_family == AF_INET6) {
    /* The host's spelling: eight hex groups, the first run of two or more zero groups as "::". */
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
    const unsigned char *b = a->sin6_addr.s6_addr;
    unsigned g[8];
    int i, from = -1, to = -1;
    for (i = 0; i < 8; i++) g[i] = (unsigned)b[2 * i] << 8 | b[2 * i + 1];
    for (i = 0; i < 8 && from < 0; i++) {
      int j = i;
      while (j < 8 && g[j] == 0) j++;
      if (j - i >= 2) from = i, to = j;
    }
    n = snprintf(text, sizeof text, "[");
    for (i = 0; i < 8; i++) {
      if (i == from) { n += snprintf(text + n, sizeof text - n, "::"); i = to - 1; continue; }
      n += snprintf(text + n, sizeof text - n, "%s%x", (i == 0 || i == to) ? "" : ":", g[i]);
    }
    n += snprintf(text + n, sizeof text - n, "]:%u", ntohs(a->sin6_port));
  } else {
    return __WASI_ERRNO_AFNOSUPPORT;
  }
  if ((uint32_t)n > buf_len) return __WASI_ERRNO_NAMETOOLONG;
  memcpy(buf, text, (size_t)n);
  *len = (uint32_t)n;
  return __WASI_ERRNO_SUCCESS;
}

static inline zerocopy_errno_t zerocopy_sock_connect(const char *addr, uint32_t len, unsigned fdflags, int *fd) {
  /* Natively nothing is granted or refused: the text is parsed as the host parses a grant. */
  struct sockaddr_storage ss;
  socklen_t sl;
  char host[64];
  const char *colon;
  unsigned long port;
  char *end;
  int s;
  if (fdflags & ~ZEROCOPY_CONNECT_NONBLOCK) return __WASI_ERRNO_INVAL;
  if (len == 0 || len >= sizeof host) return __WASI_ERRNO_INVAL;
  memcpy(host, addr, len);
  host[len] = 0;
  colon = strrchr(host, ':');
  if (colon == NULL) return __WASI_ERRNO_INVAL;
  port = strtoul(colon + 1, &end, 10);
  if (*end != 0 || colon[1] == 0 || port == 0 || port > 65535) return __WASI_ERRNO_INVAL;
  memset(&ss, 0, sizeof ss);
  host[colon - host] = 0;
  if (host[0] == '[' && colon > host + 1 && colon[-1] == ']') {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    host[colon - host - 1] = 0;
    if (inet_pton(AF_INET6, host + 1, &a->sin6_addr) != 1) return __WASI_ERRNO_INVAL;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)port);
    sl = sizeof *a;
  } else {
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    if (inet_pton(AF_INET, host, &a->sin_addr) != 1) return __WASI_ERRNO_INVAL;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    sl = sizeof *a;
  }
  s = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | ((fdflags & ZEROCOPY_CONNECT_NONBLOCK) ? SOCK_NONBLOCK : 0), 0);
  if (s < 0) return zerocopy_errno_from_linux(errno);
  if (connect(s, (struct sockaddr *)&ss, sl) < 0 &&
      !(errno == EINPROGRESS && (fdflags & ZEROCOPY_CONNECT_NONBLOCK))) {
    int e = errno;
    close(s);
    return zerocopy_errno_from_linux(e);
  }
  *fd = s;
  return __WASI_ERRNO_SUCCESS;
}

static inline zerocopy_errno_t zerocopy_sock_error(int fd, zerocopy_errno_t *err) {
  int e = 0;
  socklen_t l = sizeof e;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l) < 0) return zerocopy_errno_from_linux(errno);
  *err = e == 0 ? __WASI_ERRNO_SUCCESS : zerocopy_errno_from_linux(e);
  return __WASI_ERRNO_SUCCESS;
}

static inline zerocopy_errno_t zerocopy_pipe_set_size(int fd, uint32_t size, uint32_t *set) {
  int r = fcntl(fd, F_SETPIPE_SZ, (int)size);
  if (r < 0) return zerocopy_errno_from_linux(errno);
  *set = (uint32_t)r;
  return __WASI_ERRNO_SUCCESS;
}

#endif /* __wasm__ */

#ifdef __cplusplus
}
#endif

#endif /* ZEROCOPY_H */
