/* N calls of clock_time_get(MONOTONIC): the cheapest host call a preview1 program makes. Made
 * a component by `componentize`, each is one wasi:clocks/monotonic-clock.now through the
 * adapter and jco's glue: test/component_glue.test.ts counts what the glue does per call. */
#include <stdlib.h>
#include <wasi/api.h>

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 1000;
  __wasi_timestamp_t t, sum = 0;
  for (long i = 0; i < n; i++) {
    if (__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t) != 0) return 2;
    sum += t;
  }
  return sum == 0 ? 1 : 0;
}
