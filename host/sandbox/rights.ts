// WASI preview1 rights (witx `rights`) and file types (witx `filetype`).
// Rights are u64 in the ABI but only bits 0..29 are defined, so they fit a JS number.

export const R = {
  FD_DATASYNC: 1 << 0, FD_READ: 1 << 1, FD_SEEK: 1 << 2, FD_FDSTAT_SET_FLAGS: 1 << 3,
  FD_SYNC: 1 << 4, FD_TELL: 1 << 5, FD_WRITE: 1 << 6, FD_ADVISE: 1 << 7, FD_ALLOCATE: 1 << 8,
  PATH_CREATE_DIRECTORY: 1 << 9, PATH_CREATE_FILE: 1 << 10, PATH_LINK_SOURCE: 1 << 11,
  PATH_LINK_TARGET: 1 << 12, PATH_OPEN: 1 << 13, FD_READDIR: 1 << 14, PATH_READLINK: 1 << 15,
  PATH_RENAME_SOURCE: 1 << 16, PATH_RENAME_TARGET: 1 << 17, PATH_FILESTAT_GET: 1 << 18,
  PATH_FILESTAT_SET_SIZE: 1 << 19, PATH_FILESTAT_SET_TIMES: 1 << 20, FD_FILESTAT_GET: 1 << 21,
  FD_FILESTAT_SET_SIZE: 1 << 22, FD_FILESTAT_SET_TIMES: 1 << 23, PATH_SYMLINK: 1 << 24,
  PATH_REMOVE_DIRECTORY: 1 << 25, PATH_UNLINK_FILE: 1 << 26, POLL_FD_READWRITE: 1 << 27,
  SOCK_SHUTDOWN: 1 << 28, SOCK_ACCEPT: 1 << 29,
} as const;

export const ALL_RIGHTS = (1 << 30) - 1;

/** Narrows a guest-supplied u64 rights value to the defined bits. */
export function rightsFrom(v: bigint): number {
  return Number(v & BigInt(ALL_RIGHTS));
}

/**
 * Rights that need the descriptor to be open for reading, or for writing (open(2) mode).
 * fd_datasync and fd_sync need neither: fdatasync(2) and fsync(2) work on a descriptor open
 * for reading only. ftruncate(2) and fallocate(2) need one open for writing.
 */
export const READ_RIGHTS = R.FD_READ | R.FD_READDIR;
export const WRITE_RIGHTS = R.FD_WRITE | R.FD_ALLOCATE | R.FD_FILESTAT_SET_SIZE;

export const FILE_RIGHTS = R.FD_DATASYNC | R.FD_READ | R.FD_SEEK | R.FD_FDSTAT_SET_FLAGS |
  R.FD_SYNC | R.FD_TELL | R.FD_WRITE | R.FD_ADVISE | R.FD_ALLOCATE | R.FD_FILESTAT_GET |
  R.FD_FILESTAT_SET_SIZE | R.FD_FILESTAT_SET_TIMES | R.POLL_FD_READWRITE;

export const DIRECTORY_RIGHTS = R.FD_FDSTAT_SET_FLAGS | R.FD_SYNC | R.FD_ADVISE |
  R.PATH_CREATE_DIRECTORY | R.PATH_CREATE_FILE | R.PATH_LINK_SOURCE | R.PATH_LINK_TARGET |
  R.PATH_OPEN | R.FD_READDIR | R.PATH_READLINK | R.PATH_RENAME_SOURCE | R.PATH_RENAME_TARGET |
  R.PATH_FILESTAT_GET | R.PATH_FILESTAT_SET_SIZE | R.PATH_FILESTAT_SET_TIMES |
  R.FD_FILESTAT_GET | R.FD_FILESTAT_SET_TIMES | R.PATH_SYMLINK | R.PATH_REMOVE_DIRECTORY |
  R.PATH_UNLINK_FILE | R.POLL_FD_READWRITE;

/**
 * Pipes and character devices. They keep fd_seek and fd_tell so that the kernel answers
 * ESPIPE as it would natively; only terminals lose them (see TTY_RIGHTS).
 */
export const STREAM_RIGHTS = R.FD_SEEK | R.FD_TELL | R.FD_READ | R.FD_WRITE | R.FD_FDSTAT_SET_FLAGS |
  R.FD_FILESTAT_GET | R.POLL_FD_READWRITE | R.FD_DATASYNC | R.FD_SYNC | R.FD_ADVISE |
  R.FD_ALLOCATE | R.FD_FILESTAT_SET_SIZE | R.FD_FILESTAT_SET_TIMES;

/** wasi-libc's isatty(3) takes "a character device without fd_seek and fd_tell" for a tty. */
export const TTY_RIGHTS = STREAM_RIGHTS & ~(R.FD_SEEK | R.FD_TELL);

export const SOCKET_RIGHTS = R.FD_READ | R.FD_WRITE | R.FD_FDSTAT_SET_FLAGS |
  R.FD_FILESTAT_GET | R.POLL_FD_READWRITE | R.SOCK_SHUTDOWN | R.SOCK_ACCEPT;

export const FILETYPE = {
  UNKNOWN: 0, BLOCK_DEVICE: 1, CHARACTER_DEVICE: 2, DIRECTORY: 3, REGULAR_FILE: 4,
  SOCKET_DGRAM: 5, SOCKET_STREAM: 6, SYMBOLIC_LINK: 7,
} as const;

/** The base and inheriting rights a descriptor of this type can ever have. */
export function maxRights(filetype: number): [base: number, inheriting: number] {
  switch (filetype) {
    case FILETYPE.DIRECTORY: return [DIRECTORY_RIGHTS, ALL_RIGHTS];
    case FILETYPE.REGULAR_FILE: return [FILE_RIGHTS, 0];
    case FILETYPE.SOCKET_STREAM: case FILETYPE.SOCKET_DGRAM: return [SOCKET_RIGHTS, 0];
    case FILETYPE.BLOCK_DEVICE: return [FILE_RIGHTS, 0];
    default: return [STREAM_RIGHTS, 0];
  }
}
