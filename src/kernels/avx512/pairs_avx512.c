/* bf16 k-pair words of a product's block, column pairs to rows
 * (kernels/elementwise.h, tw_pair_cols): the decoder's per-head K_h^T
 * written from each finished block of the K | V product.  Word (q, r) is
 * (c[r][2q], c[r][2q + 1]) as bf16: the 2q-th and (2q+1)-th bf16 of row
 * r, so a row's 32 values rounded in order are its 16 words, and a 16 x 16
 * transpose of 16 rows turns them into 16 output rows of 16 words.  The
 * portable version stores each word alone, 128 bytes from the last: a base
 * window's head writes took 4.0 ms with it and 2.4 ms with this, at 2
 * threads on the AMX Xeon (the product itself 3.9 ms).  Rounding as the
 * portable one: RNE with integer operations (AVX-512 F/BW only), finite
 * values. */
#include <immintrin.h>
#include <stdint.h>

#include "kernels/avx512/transpose16.h"
#include "kernels/elementwise.h"

/* 16 fp32 (n of them, zeros after) -> 16 bf16, RNE. */
static inline __m256i bf16_16(const float *x, __mmask16 k) {
  const __m512i u = _mm512_castps_si512(_mm512_maskz_loadu_ps(k, x));
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
  const __m512i r = _mm512_add_epi32(_mm512_add_epi32(u, _mm512_set1_epi32(0x7fff)), lsb);
  return _mm512_cvtepi32_epi16(_mm512_srli_epi32(r, 16));
}

void tw_pair_cols_avx512(const float *c, size_t ldc, size_t m, size_t pairs, uint32_t *dst,
                         size_t ld_dst) {
  for (size_t r0 = 0; r0 < m; r0 += 16) {
    const size_t rows = m - r0 < 16 ? m - r0 : 16;
    const __mmask16 kr = (__mmask16)(rows == 16 ? 0xffff : (1u << rows) - 1);
    for (size_t q0 = 0; q0 < pairs; q0 += 16) {
      const size_t np = pairs - q0 < 16 ? pairs - q0 : 16, vals = 2 * np;
      const __mmask16 k0 = (__mmask16)(vals >= 16 ? 0xffff : (1u << vals) - 1);
      const __mmask16 k1 = (__mmask16)(vals >= 32 ? 0xffff : vals > 16 ? (1u << (vals - 16)) - 1 : 0);
      __m512 v[16];
#pragma GCC unroll 16
      for (size_t i = 0; i < 16; i++) {
        if (i >= rows) {
          v[i] = _mm512_setzero_ps();
          continue;
        }
        const float *row = c + (r0 + i) * ldc + 2 * q0;
        v[i] = _mm512_castsi512_ps(_mm512_inserti64x4(
            _mm512_castsi256_si512(bf16_16(row, k0)), bf16_16(row + 16, k1), 1));
      }
      tw_transpose16(v); /* v[q]: word q of rows r0 .. r0 + 15 */
      for (size_t q = 0; q < np; q++)
        _mm512_mask_storeu_ps(dst + (q0 + q) * ld_dst + r0, kr, v[q]);
    }
  }
}
