#include "core/mem.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static atomic_long fail_countdown;

void tw_mem_fail_after(long n) { atomic_store(&fail_countdown, n); }
long tw_mem_fail_pending(void) { return atomic_load(&fail_countdown); }

static int injected_failure(void) {
  long n = atomic_load(&fail_countdown);
  while (n > 0) {
    if (atomic_compare_exchange_weak(&fail_countdown, &n, n - 1)) return n == 1;
  }
  return 0;
}

void *tw_malloc_aligned(size_t bytes) {
  if (injected_failure()) return NULL;
  if (bytes == 0) bytes = 1;
  size_t rounded = (bytes + TW_ALIGN - 1) / TW_ALIGN * TW_ALIGN;
  if (rounded < bytes) return NULL;
  return aligned_alloc(TW_ALIGN, rounded);
}

void *tw_calloc_aligned(size_t count, size_t size) {
  size_t bytes;
  if (tw_mul_size(count, size, &bytes)) return NULL;
  void *p = tw_malloc_aligned(bytes);
  if (p) memset(p, 0, bytes);
  return p;
}

void tw_free(void *p) { free(p); }

int tw_mul_size(size_t a, size_t b, size_t *out) {
  if (a != 0 && b > SIZE_MAX / a) return -1;
  *out = a * b;
  return 0;
}

int tw_mul3_size(size_t a, size_t b, size_t c, size_t *out) {
  size_t ab;
  if (tw_mul_size(a, b, &ab)) return -1;
  return tw_mul_size(ab, c, out);
}
