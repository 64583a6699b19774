/* AVX-512 packing of one 14-row A panel (docs/microkernel.md): 16 columns at
 * a time, the 14 rows (plus two zero rows) are loaded, rounded to bf16 if
 * asked (RNE, NaN kept quiet, as tw_fp32_to_bf16), transposed 16x16 in
 * registers and stored as 16 groups of 14 with masked stores. */
#include <immintrin.h>

#include "kernels/avx512/transpose16.h"
#include "kernels/ukernel.h"

#define MR 14

static inline __m512 round_bf16(__m512 x) {
  __m512i u = _mm512_castps_si512(x);
  __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
  __m512i r = _mm512_add_epi32(_mm512_add_epi32(u, _mm512_set1_epi32(0x7fff)), lsb);
  __mmask16 nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
  r = _mm512_mask_or_epi32(r, nan, u, _mm512_set1_epi32(0x00400000));
  return _mm512_castsi512_ps(_mm512_and_si512(r, _mm512_set1_epi32((int)0xffff0000u)));
}

void tw_pack_a_avx512_14(const void *a, int a_bf16, size_t lda, int round, size_t rows,
                         size_t kc, float *dst) {
  const __mmask16 store_mask = (1u << MR) - 1;
  for (size_t p = 0; p < kc; p += 16) {
    size_t cols = kc - p < 16 ? kc - p : 16;
    __mmask16 load_mask = (__mmask16)((1u << cols) - 1);
    __m512 r[16];
    for (size_t i = 0; i < 16; i++) {
      if (i >= rows) {
        r[i] = _mm512_setzero_ps();
      } else if (a_bf16) {
        __m256i h = _mm256_maskz_loadu_epi16(load_mask, (const uint16_t *)a + i * lda + p);
        r[i] = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
      } else {
        r[i] = _mm512_maskz_loadu_ps(load_mask, (const float *)a + i * lda + p);
        if (round) r[i] = round_bf16(r[i]);
      }
    }
    tw_transpose16(r);
    for (size_t c = 0; c < cols; c++) _mm512_mask_storeu_ps(dst + (p + c) * MR, store_mask, r[c]);
  }
}
