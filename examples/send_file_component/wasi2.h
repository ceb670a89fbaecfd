/* The canonical-ABI imports the example uses, written by hand for wasm32 from wit/ (world
 * send-file), as wit-bindgen's C output would declare them: each WIT function is a core import
 * named "<interface>" / "<function>", its parameters flattened (component model, Explainer.md,
 * "Flattening"), a result that does not fit one core value returned through `ret`. Layouts are
 * the canonical ABI's (CanonicalABI.md): a result<T, E> is its u8 tag, then the payload at T's
 * and E's largest alignment. */
#ifndef WASI2_H
#define WASI2_H
#include <stdint.h>

#define IMPORT(module, name) __attribute__((import_module(module), import_name(name)))

typedef int32_t handle;

/* wasi:cli */
IMPORT("wasi:cli/environment@0.2.3", "get-arguments") void cli_get_arguments(void *ret /* list<string> */);
IMPORT("wasi:cli/stderr@0.2.3", "get-stderr") handle cli_get_stderr(void);

/* wasi:io */
IMPORT("wasi:io/streams@0.2.3", "[method]output-stream.blocking-write-and-flush")
void output_stream_blocking_write_and_flush(handle self, const void *ptr, uint32_t len, void *ret);
IMPORT("wasi:io/streams@0.2.3", "[resource-drop]output-stream") void output_stream_drop(handle h);
IMPORT("wasi:io/streams@0.2.3", "[resource-drop]input-stream") void input_stream_drop(handle h);
IMPORT("wasi:io/poll@0.2.3", "[method]pollable.block") void pollable_block(handle self);
IMPORT("wasi:io/poll@0.2.3", "[resource-drop]pollable") void pollable_drop(handle h);

/* wasi:filesystem */
IMPORT("wasi:filesystem/preopens@0.2.3", "get-directories") void filesystem_get_directories(void *ret);
IMPORT("wasi:filesystem/types@0.2.3", "[method]descriptor.open-at")
void descriptor_open_at(handle self, int32_t path_flags, const char *path, uint32_t path_len,
                        int32_t open_flags, int32_t flags, void *ret);
IMPORT("wasi:filesystem/types@0.2.3", "[method]descriptor.stat") void descriptor_stat(handle self, void *ret);
IMPORT("wasi:filesystem/types@0.2.3", "[resource-drop]descriptor") void descriptor_drop(handle h);
#define DESCRIPTOR_FLAGS_READ 1

/* wasi:sockets */
IMPORT("wasi:sockets/instance-network@0.2.3", "instance-network") handle sockets_instance_network(void);
IMPORT("wasi:sockets/network@0.2.3", "[resource-drop]network") void network_drop(handle h);
IMPORT("wasi:sockets/tcp-create-socket@0.2.3", "create-tcp-socket") void sockets_create_tcp_socket(int32_t family, void *ret);
/* start-bind(network, ip-socket-address): the variant flattens to its case and 11 slots (the
 * ipv6 case's; ipv4 uses the first five: port and the four address bytes). */
IMPORT("wasi:sockets/tcp@0.2.3", "[method]tcp-socket.start-bind")
void tcp_socket_start_bind(handle self, handle network, int32_t tag, int32_t a0, int32_t a1, int32_t a2,
                           int32_t a3, int32_t a4, int32_t a5, int32_t a6, int32_t a7, int32_t a8,
                           int32_t a9, int32_t a10, void *ret);
IMPORT("wasi:sockets/tcp@0.2.3", "[method]tcp-socket.finish-bind") void tcp_socket_finish_bind(handle self, void *ret);
IMPORT("wasi:sockets/tcp@0.2.3", "[method]tcp-socket.start-listen") void tcp_socket_start_listen(handle self, void *ret);
IMPORT("wasi:sockets/tcp@0.2.3", "[method]tcp-socket.finish-listen") void tcp_socket_finish_listen(handle self, void *ret);
IMPORT("wasi:sockets/tcp@0.2.3", "[method]tcp-socket.accept") void tcp_socket_accept(handle self, void *ret);
IMPORT("wasi:sockets/tcp@0.2.3", "[method]tcp-socket.subscribe") handle tcp_socket_subscribe(handle self);
IMPORT("wasi:sockets/tcp@0.2.3", "[method]tcp-socket.shutdown") void tcp_socket_shutdown(handle self, int32_t how, void *ret);
IMPORT("wasi:sockets/tcp@0.2.3", "[resource-drop]tcp-socket") void tcp_socket_drop(handle h);
#define SOCKETS_ERROR_WOULD_BLOCK 8
#define SHUTDOWN_SEND 1

/* wasm-zerocopy:zerocopy */
IMPORT("wasm-zerocopy:zerocopy/zerocopy@0.1.0", "sendfile")
void zerocopy_sendfile(handle in, uint64_t offset, handle out, uint64_t count, void *ret /* result<u64, error-code> */);
IMPORT("wasm-zerocopy:zerocopy/zerocopy@0.1.0", "cork")
void zerocopy_cork(handle socket, int32_t enable, void *ret);

/* result<_, E> with a u8 E, result<handle, E>, result<u64, E> as the ABI lays them out. */
typedef struct { uint8_t is_err; uint8_t err; } result_unit;
typedef struct { uint8_t is_err; union { handle ok; uint8_t err; } val; } result_handle;
typedef struct { uint8_t is_err; uint64_t val; } result_u64; /* val is the error code when is_err */
typedef struct { uint8_t is_err; int32_t socket, input, output; } result_accept;
typedef struct { const char *ptr; uint32_t len; } string;
typedef struct { string *ptr; uint32_t len; } list_string;
typedef struct { handle dir; string name; } preopen;
typedef struct { preopen *ptr; uint32_t len; } list_preopen;
/* result<descriptor-stat, error-code>: the record is 8-aligned, so it starts at 8. */
typedef struct { uint8_t type; uint64_t link_count, size; uint8_t timestamps[72]; } descriptor_stat_t;
typedef struct { uint8_t is_err; descriptor_stat_t ok; } result_stat;

#endif
