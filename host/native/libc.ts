// Every libc binding of the runtime, in one place, through koffi.
//
// Convention: each binding returns what the kernel's raw syscall ABI returns: the result
// (>= 0) on success, or -errno on failure. errno is read with koffi.errno() immediately after
// the call, before any other JavaScript can run a libc call that would overwrite it.
// Nothing here knows about WASI; the sandbox layer translates.
import koffi from 'koffi';
import { requireLinux } from './platform.js';

requireLinux();

const libc = koffi.load('libc.so.6');

/**
 * A raw pointer: a host buffer, a view of guest memory, an absolute address (a bigint, or a
 * number below 2^53), or null.
 */
export type Ptr = Uint8Array | bigint | number | null;

type Fn = (...args: any[]) => any;
const bind = (decl: string): Fn => libc.func(decl) as Fn;

/** -1 as a 64-bit result: a constant, since `-1n` in an expression negates a new BigInt each time. */
const MINUS_ONE = -1n;
/** A binding's result in the raw syscall convention: -errno for -1, a number otherwise. */
function result(r: number | bigint): number {
  if (r === -1 || r === MINUS_ONE) return -koffi.errno();
  return typeof r === 'bigint' ? Number(r) : r;
}

/**
 * Wraps a binding that returns -1 and sets errno into one that returns -errno. The wrapper has
 * the declaration's own number of parameters: a rest parameter and a spread would allocate an
 * array per call (and go through V8's varargs call), on every system call the runtime makes.
 */
function sys<A extends unknown[]>(decl: string): (...args: A) => number {
  const f = bind(decl);
  const arity = decl.slice(decl.indexOf('(') + 1, decl.lastIndexOf(')')).split(',')
    .filter((p) => p.trim() !== '' && p.trim() !== 'void').length;
  return withArity(f, arity) as (...args: A) => number;
}

function withArity(f: Fn, arity: number): Fn {
  switch (arity) {
    case 0: return () => result(f());
    case 1: return (a) => result(f(a));
    case 2: return (a, b) => result(f(a, b));
    case 3: return (a, b, c) => result(f(a, b, c));
    case 4: return (a, b, c, d) => result(f(a, b, c, d));
    case 5: return (a, b, c, d, e) => result(f(a, b, c, d, e));
    case 6: return (a, b, c, d, e, g) => result(f(a, b, c, d, e, g));
    default: return (...args) => result(f(...args));
  }
}

/** Wraps a binding that returns the error number itself (posix_fadvise, posix_fallocate). */
function direct<A extends unknown[]>(decl: string): (...args: A) => number {
  const f = bind(decl);
  return (...args: A): number => -f(...args);
}

// --- descriptors -------------------------------------------------------------------------
export const close = sys<[fd: number]>('int close(int)');
export const fcntl = sys<[fd: number, cmd: number, arg: number]>('int fcntl(int, int, long)');
export const read = sys<[fd: number, buf: Ptr, count: number]>('long read(int, void *, size_t)');
export const write = sys<[fd: number, buf: Ptr, count: number]>('long write(int, const void *, size_t)');
export const readv = sys<[fd: number, iov: Ptr, iovcnt: number]>('long readv(int, const void *, int)');
export const writev = sys<[fd: number, iov: Ptr, iovcnt: number]>('long writev(int, const void *, int)');
export const preadv = sys<[fd: number, iov: Ptr, iovcnt: number, offset: bigint]>(
  'long preadv64(int, const void *, int, int64_t)');
export const pwritev = sys<[fd: number, iov: Ptr, iovcnt: number, offset: bigint]>(
  'long pwritev64(int, const void *, int, int64_t)');
export const pread = sys<[fd: number, buf: Ptr, count: number, offset: bigint]>(
  'long pread64(int, void *, size_t, int64_t)');
export const pwrite = sys<[fd: number, buf: Ptr, count: number, offset: bigint]>(
  'long pwrite64(int, const void *, size_t, int64_t)');
/** pwritev2(2); with RWF_APPEND the offset is ignored and the bytes go to the end of the file. */
export const pwritev2 = sys<[fd: number, iov: Ptr, iovcnt: number, offset: bigint, flags: number]>(
  'long pwritev2(int, const void *, int, int64_t, int)');
export const lseek = sys<[fd: number, offset: bigint | number, whence: number]>(
  'int64_t lseek64(int, int64_t, int)');
export const ftruncate = sys<[fd: number, length: bigint]>('int ftruncate64(int, int64_t)');
export const fsync = sys<[fd: number]>('int fsync(int)');
export const fdatasync = sys<[fd: number]>('int fdatasync(int)');
export const posix_fadvise = direct<[fd: number, offset: bigint, len: bigint, advice: number]>(
  'int posix_fadvise64(int, int64_t, int64_t, int)');
export const posix_fallocate = direct<[fd: number, offset: bigint, len: bigint]>(
  'int posix_fallocate64(int, int64_t, int64_t)');
export const futimens = sys<[fd: number, times: Ptr]>('int futimens(int, const void *)');
export const getdents64 = sys<[fd: number, buf: Ptr, count: number]>('long getdents64(int, void *, size_t)');
export const isatty = bind('int isatty(int)') as (fd: number) => number;
export const strerror = bind('const char *strerror(int)') as (errnum: number) => string;

// --- paths (always relative to a directory descriptor) ------------------------------------
const SYS_openat2 = 437; // the same number on x86-64 and arm64 (syscalls after 424 are unified)
const openat2Raw = sys<[nr: number, dirfd: number, path: string, how: Ptr, size: number]>(
  'long syscall(long, int, const char *, const void *, size_t)');
const openHow = Buffer.alloc(24);
/** openat2(2): struct open_how { u64 flags; u64 mode; u64 resolve; }. */
export function openat2(dirfd: number, path: string, flags: number, mode: number, resolve: number): number {
  openHow.writeBigUInt64LE(BigInt(flags >>> 0), 0);
  openHow.writeBigUInt64LE(BigInt(mode >>> 0), 8);
  openHow.writeBigUInt64LE(BigInt(resolve >>> 0), 16);
  return openat2Raw(SYS_openat2, dirfd, path, openHow, 24);
}
export const openat = sys<[dirfd: number, path: string, flags: number, mode: number]>(
  'int openat(int, const char *, int, unsigned int)');
export const statx = sys<[dirfd: number, path: string, flags: number, mask: number, buf: Ptr]>(
  'int statx(int, const char *, int, unsigned int, void *)');
export const mkdirat = sys<[dirfd: number, path: string, mode: number]>('int mkdirat(int, const char *, unsigned int)');
export const unlinkat = sys<[dirfd: number, path: string, flags: number]>('int unlinkat(int, const char *, int)');
export const renameat = sys<[olddirfd: number, oldpath: string, newdirfd: number, newpath: string]>(
  'int renameat(int, const char *, int, const char *)');
export const linkat = sys<[olddirfd: number, oldpath: string, newdirfd: number, newpath: string, flags: number]>(
  'int linkat(int, const char *, int, const char *, int)');
export const symlinkat = sys<[target: string, dirfd: number, path: string]>('int symlinkat(const char *, int, const char *)');
export const readlinkat = sys<[dirfd: number, path: string, buf: Ptr, size: number]>(
  'long readlinkat(int, const char *, void *, size_t)');
export const utimensat = sys<[dirfd: number, path: string, times: Ptr, flags: number]>(
  'int utimensat(int, const char *, const void *, int)');

// --- zero-copy transfers -----------------------------------------------------------------
// Offsets are passed as pointers (loff_t *) so that the kernel reads and writes them itself.
// Pointers that are usually NULL or an address already are declared uint64_t: koffi converts
// a JavaScript null for a `void *` at ~330 instructions more than a 0 for an integer (callgrind).
/** A pointer argument as koffi's uint64_t: 0 for null, an absolute address, or a buffer's address. */
function address(p: Ptr): bigint | number {
  return p === null ? 0 : typeof p === 'bigint' || typeof p === 'number' ? p : addressOf(p);
}
/** sendfile(2) with the offset pointer as an address (0 for NULL): the runtime's hot path. */
export const sendfileAt = sys<[outFd: number, inFd: number, offset: bigint | number, count: bigint | number]>(
  'long sendfile64(int, int, uint64_t, size_t)');
export const sendfile = (outFd: number, inFd: number, offset: Ptr, count: bigint | number): number =>
  sendfileAt(outFd, inFd, address(offset), count);
const spliceRaw = sys<[fdIn: number, offIn: bigint | number, fdOut: number, offOut: bigint | number, len: bigint | number,
  flags: number]>('long splice(int, uint64_t, int, uint64_t, size_t, unsigned int)');
export const splice = (fdIn: number, offIn: Ptr, fdOut: number, offOut: Ptr, len: bigint | number, flags: number): number =>
  spliceRaw(fdIn, address(offIn), fdOut, address(offOut), len, flags);
export const tee = sys<[fdIn: number, fdOut: number, len: bigint | number, flags: number]>(
  'long tee(int, int, size_t, unsigned int)');
export const pipe2 = sys<[fds: Ptr, flags: number]>('int pipe2(void *, int)');
const copyFileRangeRaw = sys<[fdIn: number, offIn: bigint | number, fdOut: number, offOut: bigint | number,
  len: bigint | number, flags: number]>('long copy_file_range(int, uint64_t, int, uint64_t, size_t, unsigned int)');
export const copy_file_range = (fdIn: number, offIn: Ptr, fdOut: number, offOut: Ptr, len: bigint | number,
  flags: number): number => copyFileRangeRaw(fdIn, address(offIn), fdOut, address(offOut), len, flags);

// --- time, randomness, processes ---------------------------------------------------------
export const clock_gettime = sys<[clock: number, ts: Ptr]>('int clock_gettime(int, void *)');
export const clock_getres = sys<[clock: number, ts: Ptr]>('int clock_getres(int, void *)');
export const poll = sys<[fds: Ptr, nfds: number, timeout: number]>('int poll(void *, unsigned long, int)');
export const sched_yield = sys<[]>('int sched_yield(void)');

// --- sockets -----------------------------------------------------------------------------
export const socket = sys<[domain: number, type: number, protocol: number]>('int socket(int, int, int)');
export const bind_ = sys<[fd: number, addr: Ptr, len: number]>('int bind(int, const void *, unsigned int)');
export const listen = sys<[fd: number, backlog: number]>('int listen(int, int)');
const accept4Raw = sys<[fd: number, addr: bigint | number, len: bigint | number, flags: number]>(
  'int accept4(int, uint64_t, uint64_t, int)');
export const accept4 = (fd: number, addr: Ptr, len: Ptr, flags: number): number =>
  accept4Raw(fd, address(addr), address(len), flags);
export const connect = sys<[fd: number, addr: Ptr, len: number]>('int connect(int, const void *, unsigned int)');
export const setsockopt = sys<[fd: number, level: number, name: number, val: Ptr, len: number]>(
  'int setsockopt(int, int, int, const void *, unsigned int)');
export const getsockopt = sys<[fd: number, level: number, name: number, val: Ptr, len: Ptr]>(
  'int getsockopt(int, int, int, void *, void *)');
export const getsockname = sys<[fd: number, addr: Ptr, len: Ptr]>('int getsockname(int, void *, void *)');
export const getpeername = sys<[fd: number, addr: Ptr, len: Ptr]>('int getpeername(int, void *, void *)');
export const shutdown = sys<[fd: number, how: number]>('int shutdown(int, int)');
export const recvmsg = sys<[fd: number, msg: Ptr, flags: number]>('long recvmsg(int, void *, int)');
export const sendmsg = sys<[fd: number, msg: Ptr, flags: number]>('long sendmsg(int, const void *, int)');

// --- the hot path's pointers as addresses ------------------------------------------------
// koffi checks a buffer passed for a `void *` (its type, its backing store, its length) at a
// few hundred instructions; a number for a uint64_t costs next to nothing. These take the
// address of a host buffer the caller keeps for good (addressOf, once: a buffer's backing store
// never moves once it has an address), for calls a server makes on every connection.
export const clockGettimeAt = sys<[clock: number, ts: number]>('int clock_gettime(int, uint64_t)');
export const getpeernameAt = sys<[fd: number, addr: number, len: number]>('int getpeername(int, uint64_t, uint64_t)');
export const epollCtlAt = sys<[epfd: number, op: number, fd: number, event: number]>('int epoll_ctl(int, int, int, uint64_t)');
export const ioctlAt = sys<[fd: number, request: number, arg: number]>('int ioctl(int, unsigned long, uint64_t)');

/** The absolute address of a buffer's first byte (for iovec arrays and loff_t pointers). */
const memsetAddr = bind('void *memset(void *, int, size_t)');
export function addressOf(buf: ArrayBufferView | ArrayBuffer): bigint {
  const view = buf instanceof ArrayBuffer ? new Uint8Array(buf) : new Uint8Array(buf.buffer, buf.byteOffset, 0);
  return BigInt(memsetAddr(view, 0, 0));
}

/**
 * A host buffer kept for good, with what the hot path hands the kernel and reads back: its
 * address as a number (exact below 2^53; a buffer's backing store never moves once it has an
 * address), for the `...At` bindings above, where koffi would check a buffer at every call; and
 * a DataView, whose accessors TurboFan inlines, where Buffer methods are looked up per call.
 */
export function keptBuffer(size: number): { buf: Buffer; at: number; view: DataView } {
  const buf = Buffer.alloc(size);
  return { buf, at: Number(addressOf(buf)), view: new DataView(buf.buffer, buf.byteOffset, buf.length) };
}
export const ioctlInt = sys<[fd: number, request: number, arg: Ptr]>('int ioctl(int, unsigned long, void *)');
/**
 * ppoll(2): poll with a struct timespec timeout (nanoseconds, where poll(2) has milliseconds),
 * or null to wait without limit; no signal mask.
 */
export const ppoll = sys<[fds: Ptr, nfds: number, timeout: Ptr, sigmask: Ptr]>(
  'int ppoll(void *, unsigned long, const void *, const void *)');
/** socketpair(2) (the tests make connected socket pairs with it). */
export const socketpair = sys<[domain: number, type: number, protocol: number, fds: Ptr]>(
  'int socketpair(int, int, int, void *)');

// --- interrupting a thread that waits in a system call (host/sandbox/interrupt.ts) ---------
export const gettid = bind('int gettid(void)') as () => number;
export const tgkill = sys<[tgid: number, tid: number, sig: number]>('int tgkill(int, int, int)');
/** sigaction(2) with glibc's struct sigaction (handler @0, sa_mask @8, sa_flags @136, 152 bytes). */
export const sigaction = sys<[sig: number, act: Ptr, oldact: Ptr]>('int sigaction(int, const void *, void *)');
const dlsymRaw = bind('void *dlsym(void *, const char *)');
/** The address of a libc function (dlsym(3), RTLD_DEFAULT), or 0n. */
export function symbolAddress(name: string): bigint {
  const p = dlsymRaw(null, name);
  return p === null ? 0n : BigInt(p);
}

// --- epoll (poll_oneoff's persistent interest set) ------------------------------------------
export const epoll_create1 = sys<[flags: number]>('int epoll_create1(int)');
export const epoll_ctl = sys<[epfd: number, op: number, fd: number, event: Ptr]>('int epoll_ctl(int, int, int, void *)');
export const epoll_wait = sys<[epfd: number, events: Ptr, maxevents: number, timeoutMs: number]>(
  'int epoll_wait(int, void *, int, int)');
const SYS_epoll_pwait2 = 441; // Linux 5.11; the same number on x86-64 and arm64
const epollPwait2Raw = sys<[nr: number, epfd: number, events: Ptr, maxevents: number, timeout: Ptr, sigmask: number,
  sigsetsize: number]>('long syscall(long, int, void *, int, const void *, long, size_t)');
/**
 * epoll_pwait2(2): epoll_wait with a struct timespec timeout (nanoseconds), or null to wait
 * without limit; no signal mask. -ENOSYS before Linux 5.11.
 */
export function epoll_pwait2(epfd: number, events: Ptr, maxevents: number, timeout: Ptr): number {
  return epollPwait2Raw(SYS_epoll_pwait2, epfd, events, maxevents, timeout, 0, 8);
}
/**
 * struct epoll_event { uint32_t events; epoll_data_t data; }: packed on x86-64 (12 bytes),
 * naturally aligned elsewhere (16 bytes), as <sys/epoll.h> declares it.
 */
export const EPOLL_EVENT_SIZE = process.arch === 'x64' ? 12 : 16;
export const EPOLL_DATA_OFFSET = process.arch === 'x64' ? 4 : 8;
/** getrlimit(2) into a struct rlimit { rlim_t cur, max; } (two u64). */
export const getrlimit = sys<[resource: number, rlim: Ptr]>('int getrlimit(int, void *)');
/** setrlimit(2) (the tests lower RLIMIT_NOFILE to check poll_oneoff's bound). */
export const setrlimit = sys<[resource: number, rlim: Ptr]>('int setrlimit(int, const void *)');
