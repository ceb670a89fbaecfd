/* A WASI 0.2 command that serves one file to every client of a TCP listener with sendfile,
 * through the WIT interface wasm-zerocopy:zerocopy/zerocopy@0.1.0: the bytes go from the file
 * to the socket inside the kernel (sendfile(2)); the guest never sees them.
 *
 *   wasm-zerocopy run --listen 127.0.0.1:8080 --dir examples::/ \
 *     examples/send_file_component/send_file.wasm 127.0.0.1:8080 hello.txt [CLIENTS]
 *
 * It binds to the address given, which the host answers with its --listen listener, opens the
 * file beneath the first preopen, and serves CLIENTS clients (default: without end), one after
 * another, logging one line each on stderr. Freestanding C (no libc) against wasi2.h (the imports)
 * and freestanding.h (what libc would give: memcpy, memset, an allocator); built by
 * scripts/build-component-example.js. */
#include "wasi2.h"
#include "freestanding.h"

static handle stderr_stream;

static uint32_t length(const char *s) { uint32_t n = 0; while (s[n]) n++; return n; }

static void say(const char *s, uint32_t len) {
  result_unit r;
  output_stream_blocking_write_and_flush(stderr_stream, s, len, &r);
}

static void say_line(const char *a, uint64_t n, const char *b) {
  char buf[128];
  uint32_t at = 0;
  for (uint32_t i = 0; a[i] && at < 64; i++) buf[at++] = a[i];
  char digits[20];
  int d = 0;
  do { digits[d++] = (char)('0' + n % 10); n /= 10; } while (n > 0);
  while (d > 0) buf[at++] = digits[--d];
  for (uint32_t i = 0; b[i] && at < 126; i++) buf[at++] = b[i];
  buf[at++] = '\n';
  say(buf, at);
}

static int fail(const char *what) {
  say(what, length(what));
  say("\n", 1);
  return 1;
}

/* "a.b.c.d:port" into its parts; 0 if it is not one. */
static int parse_addr(string s, int32_t *addr, int32_t *port) {
  uint32_t i = 0;
  for (int part = 0; part < 5; part++) {
    uint32_t v = 0, digits = 0;
    while (i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9') { v = v * 10 + (uint32_t)(s.ptr[i++] - '0'); digits++; }
    if (digits == 0 || (part < 4 && v > 255) || v > 65535) return 0;
    if (part < 4) addr[part] = (int32_t)v; else *port = (int32_t)v;
    if (part < 3 && (i >= s.len || s.ptr[i++] != '.')) return 0;
    if (part == 3 && (i >= s.len || s.ptr[i++] != ':')) return 0;
  }
  return i == s.len;
}

static int serve(void) {
  stderr_stream = cli_get_stderr();
  list_string args;
  cli_get_arguments(&args);
  if (args.len < 3) return fail("usage: send_file.wasm HOST:PORT FILE [CLIENTS]");
  int32_t addr[4], port;
  if (!parse_addr(args.ptr[1], addr, &port)) return fail("send_file: expected IPv4:PORT");
  uint64_t clients = 0; /* 0: without end */
  if (args.len > 3) for (uint32_t i = 0; i < args.ptr[3].len; i++) clients = clients * 10 + (uint64_t)(args.ptr[3].ptr[i] - '0');

  list_preopen dirs;
  filesystem_get_directories(&dirs);
  if (dirs.len == 0) return fail("send_file: no directory was given (--dir)");
  result_handle opened;
  descriptor_open_at(dirs.ptr[0].dir, 0, args.ptr[2].ptr, args.ptr[2].len, 0, DESCRIPTOR_FLAGS_READ, &opened);
  if (opened.is_err) return fail("send_file: cannot open the file");
  handle file = opened.val.ok;
  result_stat st;
  descriptor_stat(file, &st);
  if (st.is_err) return fail("send_file: cannot stat the file");

  handle network = sockets_instance_network();
  result_handle created;
  sockets_create_tcp_socket(0 /* ipv4 */, &created);
  if (created.is_err) return fail("send_file: cannot create a socket");
  handle listener = created.val.ok;
  result_unit r;
  tcp_socket_start_bind(listener, network, 0, port, addr[0], addr[1], addr[2], addr[3], 0, 0, 0, 0, 0, 0, &r);
  if (r.is_err) return fail("send_file: cannot bind (was the address given with --listen?)");
  tcp_socket_finish_bind(listener, &r);
  tcp_socket_start_listen(listener, &r);
  if (r.is_err) return fail("send_file: cannot listen");
  tcp_socket_finish_listen(listener, &r);

  for (uint64_t served = 0; clients == 0 || served < clients; served++) {
    result_accept a;
    for (;;) {
      tcp_socket_accept(listener, &a);
      if (!a.is_err) break;
      if ((uint8_t)a.socket != SOCKETS_ERROR_WOULD_BLOCK) return fail("send_file: accept failed");
      handle ready = tcp_socket_subscribe(listener);
      pollable_block(ready);
      pollable_drop(ready);
    }
    uint64_t offset = 0;
    while (offset < st.ok.size) {
      result_u64 sent;
      zerocopy_sendfile(file, offset, a.output, st.ok.size - offset, &sent);
      if (sent.is_err || sent.val == 0) break;
      offset += sent.val;
    }
    say_line("client: ", offset, " bytes sent with sendfile");
    tcp_socket_shutdown(a.socket, SHUTDOWN_SEND, &r);
    output_stream_drop(a.output);
    input_stream_drop(a.input);
    tcp_socket_drop(a.socket);
  }
  tcp_socket_drop(listener);
  network_drop(network);
  descriptor_drop(file);
  return 0;
}

/* wasi:cli/run: result<_, _> flattens to its tag. */
__attribute__((export_name("wasi:cli/run@0.2.3#run")))
int32_t run(void) {
  return serve();
}
