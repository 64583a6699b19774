/* Allocation with an injectable failure, as libuv does, so tests can make the
 * n-th allocation fail and check that every error path cleans up. */
#ifndef TW_CORE_MEM_H
#define TW_CORE_MEM_H

#include <stddef.h>
#include <stdint.h>

#define TW_ALIGN 64

/* Zeroed, 64-byte aligned. NULL on failure or when bytes == 0 overflows. */
void *tw_calloc_aligned(size_t count, size_t size);
/* Uninitialised, 64-byte aligned. */
void *tw_malloc_aligned(size_t bytes);
void tw_free(void *p);

/* a*b and a*b*c without wrap-around: return 0 and store, or -1. */
int tw_mul_size(size_t a, size_t b, size_t *out);
int tw_mul3_size(size_t a, size_t b, size_t c, size_t *out);

/* Testing hook: the n-th allocation from now (1-based) fails; 0 disables. */
void tw_mem_fail_after(long n);
/* Allocations still to go before the injected failure; 0 once it has
 * happened (or when none is armed). */
long tw_mem_fail_pending(void);

#endif
