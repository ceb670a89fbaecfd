/* What a module without libc defines itself, for the components built from freestanding C
 * (this example, and the bench's bench/component/bench_component.c): memcpy and memset, which
 * the compiler calls for structure copies, and the canonical ABI's cabi_realloc, which the
 * host's glue calls to place lists and strings in this memory (CanonicalABI.md, "Lifting and
 * Lowering": a string or list result is written where the module's realloc says). Include it in
 * one source file per module: it defines, where wasi2.h only declares.
 *
 * cabi_realloc is a bump allocator over a static arena of ARENA_SIZE bytes (define it before
 * including to change it): these programs ask for little, once (their arguments and
 * preopens), and never free. Past the arena it traps. */
#ifndef FREESTANDING_H
#define FREESTANDING_H
#include <stdint.h>

#ifndef ARENA_SIZE
#define ARENA_SIZE (64 * 1024)
#endif

void *memcpy(void *dst, const void *src, unsigned long n) {
  unsigned char *d = dst;
  const unsigned char *s = src;
  while (n--) *d++ = *s++;
  return dst;
}
void *memset(void *dst, int c, unsigned long n) {
  unsigned char *d = dst;
  while (n--) *d++ = (unsigned char)c;
  return dst;
}

static unsigned char arena[ARENA_SIZE];
static uint32_t arena_used;
__attribute__((export_name("cabi_realloc")))
void *cabi_realloc(void *old, uint32_t old_size, uint32_t align, uint32_t size) {
  (void)old; (void)old_size;
  uint32_t at = (arena_used + align - 1) & ~(align - 1);
  if (at + size > sizeof arena) __builtin_trap();
  arena_used = at + size;
  return arena + at;
}
#endif
