/* The bench's component (npm run bench, sections e and f): freestanding C against the
 * canonical ABI, with the example's declarations (examples/send_file_component/wasi2.h) and its
 * memcpy, memset and cabi_realloc (freestanding.h).
 *
 *   calls N        N zerocopy.sendfile(file, 0, stdout, 0): each is all overhead; prints ns/call
 *   sendfile SIZE  the file to stdout with zerocopy.sendfile
 *   splice SIZE    the file to stdout with output-stream.blocking-splice (standard WASI 0.2)
 *   connect SIZE PORT  the same into a TCP connection it makes to 127.0.0.1:PORT (wasi:sockets)
 *
 * The file is "in" beneath the first preopen; stdout is whatever the host gives (a socket).
 * Built with -DPORTABLE (world bench-portable) it has no zerocopy import and only `splice`, to
 * run on hosts without the interface. Rebuilt by scripts/build-component-example.js. */
#include "../../examples/send_file_component/wasi2.h"
#define ARENA_SIZE (16 * 1024)
#include "../../examples/send_file_component/freestanding.h"

IMPORT("wasi:cli/stdout@0.2.3", "get-stdout") handle cli_get_stdout(void);
IMPORT("wasi:clocks/monotonic-clock@0.2.3", "now") uint64_t monotonic_now(void);
IMPORT("wasi:filesystem/types@0.2.3", "[method]descriptor.read-via-stream")
void descriptor_read_via_stream(handle self, uint64_t offset, void *ret);
IMPORT("wasi:io/streams@0.2.3", "[method]output-stream.blocking-splice")
void output_stream_blocking_splice(handle self, handle src, uint64_t len, void *ret);
IMPORT("wasi:io/streams@0.2.3", "[method]output-stream.blocking-flush")
void output_stream_blocking_flush(handle self, void *ret);
typedef struct { uint8_t is_err; uint64_t val; } result_u64_stream; /* err: stream-error at 8 */
/* start-connect(network, ip-socket-address): flattened as start-bind's (wasi2.h). */
IMPORT("wasi:sockets/tcp@0.2.3", "[method]tcp-socket.start-connect")
void tcp_socket_start_connect(handle self, handle network, int32_t tag, int32_t a0, int32_t a1, int32_t a2,
                              int32_t a3, int32_t a4, int32_t a5, int32_t a6, int32_t a7, int32_t a8,
                              int32_t a9, int32_t a10, void *ret);
IMPORT("wasi:sockets/tcp@0.2.3", "[method]tcp-socket.finish-connect")
void tcp_socket_finish_connect(handle self, void *ret);
typedef struct { uint8_t is_err; union { struct { handle input, output; } ok; uint8_t err; } val; } result_streams;

static int equal(string s, const char *t) {
  uint32_t i = 0;
  for (; i < s.len; i++) if (t[i] != s.ptr[i]) return 0;
  return t[i] == 0;
}

static uint64_t number(string s) {
  uint64_t n = 0;
  for (uint32_t i = 0; i < s.len; i++) n = n * 10 + (uint64_t)(s.ptr[i] - '0');
  return n;
}

__attribute__((unused)) static void print(uint64_t n) {
  char buf[24];
  int at = 23;
  buf[at] = '\n';
  do { buf[--at] = (char)('0' + n % 10); n /= 10; } while (n > 0);
  result_unit r;
  output_stream_blocking_write_and_flush(cli_get_stderr(), buf + at, (uint32_t)(24 - at), &r);
}

static int bench(void) {
  list_string args;
  cli_get_arguments(&args);
  if (args.len < 3) return 1;
  list_preopen dirs;
  filesystem_get_directories(&dirs);
  if (dirs.len == 0) return 1;
  result_handle opened;
  descriptor_open_at(dirs.ptr[0].dir, 0, "in", 2, 0, DESCRIPTOR_FLAGS_READ, &opened);
  if (opened.is_err) return 1;
  handle file = opened.val.ok, out = cli_get_stdout();
  uint64_t n = number(args.ptr[2]);
#ifndef PORTABLE
  if (equal(args.ptr[1], "calls")) {
    result_u64 sent;
    uint64_t t0 = monotonic_now();
    for (uint64_t i = 0; i < n; i++) {
      zerocopy_sendfile(file, 0, out, 0, &sent);
      if (sent.is_err) return 1;
    }
    print((monotonic_now() - t0) / n);
    return 0;
  }
  if (equal(args.ptr[1], "sendfile")) {
    for (uint64_t off = 0; off < n;) {
      result_u64 sent;
      zerocopy_sendfile(file, off, out, n - off, &sent);
      if (sent.is_err || sent.val == 0) return 1;
      off += sent.val;
    }
    return 0;
  }
#endif
  if (equal(args.ptr[1], "connect")) {
    /* A connection of its own, for hosts whose stdout cannot take a splice (preview2-shim's
     * stdout goes through its I/O thread's process.stdout, which only the blocked main thread
     * would drain). */
    if (args.len < 4) return 1;
    uint64_t port = number(args.ptr[3]);
    handle network = sockets_instance_network();
    result_handle created;
    sockets_create_tcp_socket(0 /* ipv4 */, &created);
    if (created.is_err) return 1;
    handle sock = created.val.ok;
    result_unit started;
    tcp_socket_start_connect(sock, network, 0, (int32_t)port, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, &started);
    if (started.is_err) return 1;
    result_streams connected;
    for (;;) {
      tcp_socket_finish_connect(sock, &connected);
      if (!connected.is_err) break;
      if (connected.val.err != SOCKETS_ERROR_WOULD_BLOCK) return 1;
      handle ready = tcp_socket_subscribe(sock);
      pollable_block(ready);
      pollable_drop(ready);
    }
    out = connected.val.ok.output;
  }
  if (equal(args.ptr[1], "splice") || equal(args.ptr[1], "connect")) {
    result_handle in;
    descriptor_read_via_stream(file, 0, &in);
    if (in.is_err) return 1;
    for (uint64_t moved = 0; moved < n;) {
      result_u64_stream r;
      output_stream_blocking_splice(out, in.val.ok, n - moved, &r);
      if (r.is_err) return 1;
      moved += r.val;
    }
    result_unit flushed;
    output_stream_blocking_flush(out, &flushed);
    return flushed.is_err;
  }
  return 1;
}

__attribute__((export_name("wasi:cli/run@0.2.3#run")))
int32_t run(void) {
  return bench();
}
