/** @module Interface wasm-zerocopy:zerocopy/zerocopy@0.1.0 **/
/**
 * sendfile(2): up to `count` bytes of the file `in`, from `offset` (the descriptor has no
 * position in WASI 0.2), to `out`. Returns the bytes sent; 0 at the end of the file.
 */
export function sendfile(in_: Descriptor, offset: Filesize, out: OutputStream, count: bigint): bigint;
/**
 * splice(2): moves up to `len` bytes from `in` to `out`; one of them must be a pipe (a
 * stream from `pipe`, or a standard stream that is one). Returns 0 at the end of the input.
 */
export function splice(in_: InputStream, out: OutputStream, len: bigint): bigint;
/**
 * tee(2): duplicates up to `len` bytes from pipe `in` to pipe `out` without consuming them.
 */
export function tee(in_: InputStream, out: OutputStream, len: bigint): bigint;
/**
 * copy_file_range(2): copies up to `len` bytes between two regular files inside the kernel
 * (reflinks where the filesystem can), from and to the offsets given.
 */
export function copyFileRange(in_: Descriptor, inOffset: Filesize, out: Descriptor, outOffset: Filesize, len: bigint): bigint;
/**
 * pipe2(2): a kernel pipe, as its reading and writing ends.
 */
export function pipe(): [InputStream, OutputStream];
/**
 * TCP_CORK (tcp(7)): while set, partial frames are held back, so that a header written to the
 * socket's stream and a file sent after it leave in full packets.
 */
export function cork(socket: TcpSocket, enable: boolean): void;
export type InputStream = import('./wasi-io-streams.js').InputStream;
export type OutputStream = import('./wasi-io-streams.js').OutputStream;
export type Descriptor = import('./wasi-filesystem-types.js').Descriptor;
export type Filesize = import('./wasi-filesystem-types.js').Filesize;
export type TcpSocket = import('./wasi-sockets-tcp.js').TcpSocket;
/**
 * Why a call failed: the Linux errno, by the name WASI gives it.
 * # Variants
 * 
 * ## `"access"`
 * 
 * EACCES
 * ## `"bad-descriptor"`
 * 
 * EBADF: not open for reading (the source) or writing (the destination), or dropped.
 * ## `"invalid"`
 * 
 * EINVAL: not a file where one is needed, not a pipe for tee, overlapping ranges.
 * ## `"io"`
 * 
 * EIO, and any errno without a case here.
 * ## `"is-directory"`
 * 
 * EISDIR
 * ## `"pipe"`
 * 
 * EPIPE: the reading end is closed.
 * ## `"invalid-seek"`
 * 
 * ESPIPE: an offset on a descriptor that has none.
 * ## `"not-permitted"`
 * 
 * EPERM
 * ## `"unsupported"`
 * 
 * EOPNOTSUPP
 * ## `"insufficient-memory"`
 * 
 * ENOMEM
 * ## `"insufficient-space"`
 * 
 * ENOSPC
 * ## `"file-too-large"`
 * 
 * EFBIG
 * ## `"overflow"`
 * 
 * EOVERFLOW
 * ## `"connection-reset"`
 * 
 * ECONNRESET
 * ## `"not-socket"`
 * 
 * ENOTSOCK
 * ## `"cross-device"`
 * 
 * EXDEV: copy-file-range across filesystems the kernel cannot copy between.
 * ## `"descriptor-limit"`
 * 
 * EMFILE, ENFILE: `pipe` would give the guest more descriptors than the host allows it.
 */
export type ErrorCode = 'access' | 'bad-descriptor' | 'invalid' | 'io' | 'is-directory' | 'pipe' | 'invalid-seek' | 'not-permitted' | 'unsupported' | 'insufficient-memory' | 'insufficient-space' | 'file-too-large' | 'overflow' | 'connection-reset' | 'not-socket' | 'cross-device' | 'descriptor-limit';
