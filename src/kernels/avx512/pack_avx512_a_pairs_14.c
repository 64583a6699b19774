/* AVX-512 packing of one 14-row A panel as bf16 k-pairs for the VDPBF16PS
 * kernel: 32 columns at a time, each row is rounded to bf16 (RNE, NaN kept
 * quiet, as tw_fp32_to_bf16) and its halves gathered into 16 pair words, the
 * 14 rows (plus two zero rows) are transposed 16x16 as 32-bit words and
 * stored as 16 groups of 14 with masked stores. */
#include <immintrin.h>

#include "kernels/avx512/transpose16.h"
#include "kernels/ukernel.h"

#define MR 14

/* bf16 bits of 16 floats, in the high half of each 32-bit lane. */
static inline __m512i round_bits(__m512 x) {
  __m512i u = _mm512_castps_si512(x);
  __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
  __m512i r = _mm512_add_epi32(_mm512_add_epi32(u, _mm512_set1_epi32(0x7fff)), lsb);
  __mmask16 nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
  return _mm512_mask_or_epi32(r, nan, u, _mm512_set1_epi32(0x00400000));
}

void tw_pack_a_pairs_avx512_14(const void *a, int a_bf16, size_t lda, size_t rows, size_t kc,
                               uint32_t *dst) {
  const __mmask16 store_mask = (1u << MR) - 1;
  /* 16-bit lanes 4w+1 and 4w+3 of (lo, hi): the high halves of floats 2w, 2w+1 */
  __m512i idx = _mm512_set_epi16(63, 61, 59, 57, 55, 53, 51, 49, 47, 45, 43, 41, 39, 37, 35, 33,
                                 31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
  for (size_t p = 0; p < kc; p += 32) {
    size_t cols = kc - p < 32 ? kc - p : 32;
    __mmask32 mask32 = (__mmask32)(cols == 32 ? 0xffffffffu : (1u << cols) - 1);
    __mmask16 mask_lo = (__mmask16)(mask32 & 0xffff), mask_hi = (__mmask16)(mask32 >> 16);
    __m512 r[16];
    for (size_t i = 0; i < 16; i++) {
      __m512i words;
      if (i >= rows) {
        words = _mm512_setzero_si512();
      } else if (a_bf16) {
        words = _mm512_maskz_loadu_epi16(mask32, (const uint16_t *)a + i * lda + p);
      } else {
        const float *row = (const float *)a + i * lda + p;
        __m512i lo = round_bits(_mm512_maskz_loadu_ps(mask_lo, row));
        __m512i hi = round_bits(_mm512_maskz_loadu_ps(mask_hi, row + 16));
        words = _mm512_permutex2var_epi16(lo, idx, hi);
      }
      r[i] = _mm512_castsi512_ps(words);
    }
    tw_transpose16(r);
    size_t pairs = (cols + 1) / 2;
    for (size_t q = 0; q < pairs; q++)
      _mm512_mask_storeu_epi32(dst + (p / 2 + q) * MR, store_mask, _mm512_castps_si512(r[q]));
  }
}
