// WASI preview1 constants and struct layouts (wasi_snapshot_preview1 typenames.witx).
// Sizes and offsets are for wasm32: pointers and `size` are u32, little-endian.

/** fdflags (u16). */
export const FDFLAGS = { APPEND: 1, DSYNC: 2, NONBLOCK: 4, RSYNC: 8, SYNC: 16 } as const;
/** oflags (u16). */
export const OFLAGS = { CREAT: 1, DIRECTORY: 2, EXCL: 4, TRUNC: 8 } as const;
/** lookupflags (u32). */
export const LOOKUP_SYMLINK_FOLLOW = 1;
/** whence (u8): the same numbers as Linux's SEEK_SET, SEEK_CUR, SEEK_END. */
export const WHENCE = { SET: 0, CUR: 1, END: 2 } as const;
/** clockid (u32): the same numbers as Linux's CLOCK_* ids. */
export const CLOCK = { REALTIME: 0, MONOTONIC: 1, PROCESS_CPUTIME_ID: 2, THREAD_CPUTIME_ID: 3 } as const;
/** advice (u8): the same numbers as Linux's POSIX_FADV_*. */
export const ADVICE_MAX = 5;
/** fstflags (u16) for the *_set_times calls. */
export const FSTFLAGS = { ATIM: 1, ATIM_NOW: 2, MTIM: 4, MTIM_NOW: 8 } as const;
/** preopentype (u8). */
export const PREOPENTYPE_DIR = 0;
/** eventtype (u8). */
export const EVENTTYPE = { CLOCK: 0, FD_READ: 1, FD_WRITE: 2 } as const;
/** subclockflags (u16). */
export const SUBSCRIPTION_CLOCK_ABSTIME = 1;
/** eventrwflags (u16). */
export const EVENT_FD_READWRITE_HANGUP = 1;
/** riflags, roflags, sdflags, siflags for the sock_* calls. */
export const RIFLAGS = { RECV_PEEK: 1, RECV_WAITALL: 2 } as const;
export const ROFLAGS_RECV_DATA_TRUNCATED = 1;
export const SDFLAGS = { RD: 1, WR: 2 } as const;

/** struct iovec / ciovec { buf: u32, buf_len: u32 } */
export const IOVEC_SIZE = 8;
/** struct fdstat { filetype: u8 @0, flags: u16 @2, rights_base: u64 @8, rights_inheriting: u64 @16 } */
export const FDSTAT = { SIZE: 24, FILETYPE: 0, FLAGS: 2, RIGHTS_BASE: 8, RIGHTS_INHERITING: 16 } as const;
/** struct filestat { dev @0, ino @8, filetype: u8 @16, nlink @24, size @32, atim @40, mtim @48, ctim @56 } */
export const FILESTAT = { SIZE: 64, DEV: 0, INO: 8, FILETYPE: 16, NLINK: 24, FILESIZE: 32, ATIM: 40, MTIM: 48, CTIM: 56 } as const;
/** struct prestat { tag: u8 @0, pr_name_len: u32 @4 } */
export const PRESTAT = { SIZE: 8, TAG: 0, NAME_LEN: 4 } as const;
/** struct dirent { d_next @0, d_ino @8, d_namlen: u32 @16, d_type: u8 @20 }, then the name */
export const DIRENT = { SIZE: 24, NEXT: 0, INO: 8, NAMLEN: 16, TYPE: 20 } as const;
/** struct subscription { userdata @0, u: { tag: u8 @8, clock or fd_readwrite @16 } }, 48 bytes */
export const SUBSCRIPTION = {
  SIZE: 48, USERDATA: 0, TAG: 8,
  CLOCK_ID: 16, CLOCK_TIMEOUT: 24, CLOCK_PRECISION: 32, CLOCK_FLAGS: 40,
  FD: 16,
} as const;
/** struct event { userdata @0, error: u16 @8, type: u8 @10, fd_readwrite { nbytes @16, flags: u16 @24 } }, 32 bytes */
export const EVENT = { SIZE: 32, USERDATA: 0, ERROR: 8, TYPE: 10, NBYTES: 16, FLAGS: 24 } as const;
