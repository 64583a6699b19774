#define _DEFAULT_SOURCE /* madvise */
#include "core/mem.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

/* Buffers from this size on (packed weights, caches, activations) are
 * aligned to 2 MiB and offered to the kernel as transparent huge pages
 * (MADV_HUGEPAGE; a no-op where THP is off).  Why: a model's ~150 MB of
 * packed weights in 4 KiB pages cost ~37k page faults to prepare, expensive
 * on virtual machines, and a decoder step that streams 97 MB of weights
 * walks ~24k pages through the TLB. */
#define HUGE_FROM (4u << 20)
#define HUGE_ALIGN (2u << 20)

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
  const size_t align = bytes >= HUGE_FROM ? HUGE_ALIGN : TW_ALIGN;
  size_t rounded = (bytes + align - 1) / align * align;
  if (rounded < bytes) return NULL;
  void *p = aligned_alloc(align, rounded);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (p && align == HUGE_ALIGN) (void)madvise(p, rounded, MADV_HUGEPAGE);
#endif
  return p;
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
