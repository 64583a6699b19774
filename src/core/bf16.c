#include "tilewhisper/bf16.h"

#include <stdint.h>

/* Branch-free forms of the scalar conversions so the compiler vectorizes
 * them; target_clones picks the AVX2 body at load time where available. */
/* No clones under ThreadSanitizer: their load-time resolvers would run
 * instrumented before the sanitizer is initialised. */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__) && !defined(__SANITIZE_THREAD__)
#define TW_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define TW_CLONES
#endif

/* The clones are internal (static): an exported ifunc would export its
 * resolver symbol too, which the public API does not declare. */
TW_CLONES static void fp32_to_bf16_n(const float *src, tw_bf16 *dst, size_t n) {
  for (size_t i = 0; i < n; i++) {
    uint32_t u;
    memcpy(&u, &src[i], sizeof u);
    uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
    uint32_t quiet_nan = (u >> 16) | 0x0040u;
    dst[i] = (tw_bf16)(((u & 0x7fffffffu) > 0x7f800000u) ? quiet_nan : rounded);
  }
}

TW_CLONES static void bf16_to_fp32_n(const tw_bf16 *src, float *dst, size_t n) {
  for (size_t i = 0; i < n; i++) {
    uint32_t u = (uint32_t)src[i] << 16;
    memcpy(&dst[i], &u, sizeof u);
  }
}

void tw_fp32_to_bf16_n(const float *src, tw_bf16 *dst, size_t n) { fp32_to_bf16_n(src, dst, n); }
void tw_bf16_to_fp32_n(const tw_bf16 *src, float *dst, size_t n) { bf16_to_fp32_n(src, dst, n); }
