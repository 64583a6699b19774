/* bf16 k-pair words from fp32 rows (kernels/elementwise.h), for writing a
 * product's output straight into k-pair weights; portable C, vectorized by
 * the compiler in the AVX-512 and AVX2 clones. */
#include "kernels/elementwise.h"
#include "kernels/generic/math_inline.h"

/* fp32 -> bf16 bits, round to nearest even (finite values). */
static inline uint32_t rne16(float f) {
  const uint32_t u = tw_bits_of(f);
  return (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
}

/* Static clones behind plain wrappers: the resolvers of exported clones
 * would be exported too. */
TW_CLONES static void pair_rows(const float *r0, const float *r1, size_t n, uint32_t *dst) {
  if (!r1) {
    for (size_t j = 0; j < n; j++) dst[j] = rne16(r0[j]);
    return;
  }
  for (size_t j = 0; j < n; j++) dst[j] = rne16(r0[j]) | rne16(r1[j]) << 16;
}

TW_CLONES static void pair_cols(const float *c, size_t ldc, size_t m, size_t pairs,
                                uint32_t *dst, size_t ld_dst) {
  for (size_t r = 0; r < m; r++) {
    const float *row = c + r * ldc;
    for (size_t q = 0; q < pairs; q++)
      dst[q * ld_dst + r] = rne16(row[2 * q]) | rne16(row[2 * q + 1]) << 16;
  }
}

void tw_pair_rows(const float *r0, const float *r1, size_t n, uint32_t *dst) {
  pair_rows(r0, r1, n, dst);
}

void tw_pair_cols_generic(const float *c, size_t ldc, size_t m, size_t pairs, uint32_t *dst,
                          size_t ld_dst) {
  pair_cols(c, ldc, m, pairs, dst, ld_dst);
}
