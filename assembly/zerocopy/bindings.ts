// The raw `zerocopy` import module, ABI v2 (docs/ABI.md), exactly as the host exports it.
// Every function returns a WASI errno; results go through pointers (Output). An offset of 0
// (NULL) means the file position; a result pointer of 0 is `fault` (docs/ABI.md, "Conventions").

/** sendfile(2). `offset`: Input/Output, an i64 or 0. `ret_sent`: Output, a u64. */
// @ts-ignore: decorator
@external("zerocopy", "sendfile")
export declare function sendfile(out_fd: u32, in_fd: u32, offset: usize, count: u64, ret_sent: usize): u16;

/** splice(2). `off_in`, `off_out`: Input/Output, an i64 or 0. `ret_moved`: Output, a u64. */
// @ts-ignore: decorator
@external("zerocopy", "splice")
export declare function splice(fd_in: u32, off_in: usize, fd_out: u32, off_out: usize, len: u64, flags: u32, ret_moved: usize): u16;

/** tee(2). `ret_copied`: Output, a u64. */
// @ts-ignore: decorator
@external("zerocopy", "tee")
export declare function tee(fd_in: u32, fd_out: u32, len: u64, flags: u32, ret_copied: usize): u16;

/** pipe2(2). `ret_fds`: Output, two u32: the read end, then the write end. */
// @ts-ignore: decorator
@external("zerocopy", "pipe")
export declare function pipe(fdflags: u32, ret_fds: usize): u16;

/** copy_file_range(2). `off_in`, `off_out`: Input/Output, an i64 or 0. `ret_copied`: Output, a u64. */
// @ts-ignore: decorator
@external("zerocopy", "copy_file_range")
export declare function copy_file_range(fd_in: u32, off_in: usize, fd_out: u32, off_out: usize, len: u64, flags: u32, ret_copied: usize): u16;

/** setsockopt(TCP_CORK): `enable` 1 holds partial frames back, 0 sends them. */
// @ts-ignore: decorator
@external("zerocopy", "sock_cork")
export declare function sock_cork(fd: u32, enable: u32): u16;

/** getpeername(2) as text ("a.b.c.d:port" or "[v6]:port"). `ret_len`: Output, a u32. */
// @ts-ignore: decorator
@external("zerocopy", "sock_peername")
export declare function sock_peername(fd: u32, buf: usize, buf_len: u32, ret_len: usize): u16;

// ABI v2.

/**
 * socket(2) + connect(2) to a TCP address the host granted. `addr`: Input, the address as
 * text ("a.b.c.d:port" or "[v6]:port"), exactly as granted. `fdflags`: 0 or NONBLOCK (4).
 * `ret_fd`: Output, a u32, the new descriptor.
 */
// @ts-ignore: decorator
@external("zerocopy", "sock_connect")
export declare function sock_connect(addr: usize, addr_len: u32, fdflags: u32, ret_fd: usize): u16;

/** getsockopt(SO_ERROR): the pending error, cleared. `ret_errno`: Output, a u16 WASI errno. */
// @ts-ignore: decorator
@external("zerocopy", "sock_error")
export declare function sock_error(fd: u32, ret_errno: usize): u16;

/** fcntl(F_SETPIPE_SZ): a pipe's capacity, at least `size`. `ret_size`: Output, a u32, the capacity set. */
// @ts-ignore: decorator
@external("zerocopy", "pipe_set_size")
export declare function pipe_set_size(fd: u32, size: u32, ret_size: usize): u16;
