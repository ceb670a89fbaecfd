// wasi_snapshot_preview1 functions that @assemblyscript/wasi-shim's bindings predate.

/** Accept a new incoming connection. `fd`: Output, the new descriptor. Returns an errno. */
// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "sock_accept")
export declare function sock_accept(sock: u32, flags: u16, fd: usize): u16;
