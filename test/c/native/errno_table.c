/* Prints "<linux errno> <WASI errno>" for every Linux errno number, as include/zerocopy.h's
   native branch translates it; test/c_conformance.test.ts compares each line with the host's
   table (host/sandbox/errno.ts), so the two translations cannot drift apart. */
#define _GNU_SOURCE
#include "zerocopy.h"

int main(void) {
  for (int e = 1; e < 4096; e++) printf("%d %u\n", e, (unsigned)zerocopy_errno_from_linux(e));
  return 0;
}
