/* AVX512-BF16 small-M kernel: up to 8 rows of A, as bf16 k-pairs (word q of
 * row i = bf16 A[i][2q] low, A[i][2q+1] high), against one whole K x 32
 * bf16 panel in the k-pair layout (tw_cpu_bf16_index), streaming the panel
 * once.  A panel row pair is two 64-byte loads used as they are: one
 * VDPBF16PS per row and 16 columns adds both products of the pair, so no
 * widening instructions compete with the loads (the FMA kernel spends two
 * per load).  Rows are a compile-time count per instance; for few rows the
 * pairs alternate between two accumulator sets so enough dot-product chains
 * are in flight.  Partial sums are added in a fixed order. */
#include <immintrin.h>

#include "kernels/ukernel.h"

#define NR 32

static inline __attribute__((always_inline)) void dp_rows(const int M, size_t k,
                                                          const uint32_t *a, size_t lda,
                                                          const uint16_t *b, float *c,
                                                          size_t ldc, int n, const float *bias) {
  /* acc[s][i][h]: set s (alternating pairs when M < 4), row i, half h */
  __m512 acc[2][8][2];
  const int sets = M < 4 ? 2 : 1;
  for (int s = 0; s < 2; s++)
    for (int i = 0; i < 8; i++) acc[s][i][0] = acc[s][i][1] = _mm512_setzero_ps();
  const size_t pairs = (k + 1) / 2;
  size_t q = 0;
  if (sets == 2)
    for (; q + 2 <= pairs; q += 2)
      for (int s = 0; s < 2; s++) {
        const __m512bh b0 = (__m512bh)_mm512_loadu_si512((const void *)(b + (q + s) * 2 * NR));
        const __m512bh b1 =
            (__m512bh)_mm512_loadu_si512((const void *)(b + (q + s) * 2 * NR + NR));
        for (int i = 0; i < M; i++) {
          const __m512bh ai = (__m512bh)_mm512_set1_epi32((int)a[i * lda + q + s]);
          acc[s][i][0] = _mm512_dpbf16_ps(acc[s][i][0], ai, b0);
          acc[s][i][1] = _mm512_dpbf16_ps(acc[s][i][1], ai, b1);
        }
      }
  for (; q < pairs; q++) {
    const __m512bh b0 = (__m512bh)_mm512_loadu_si512((const void *)(b + q * 2 * NR));
    const __m512bh b1 = (__m512bh)_mm512_loadu_si512((const void *)(b + q * 2 * NR + NR));
    for (int i = 0; i < M; i++) {
      const __m512bh ai = (__m512bh)_mm512_set1_epi32((int)a[i * lda + q]);
      acc[0][i][0] = _mm512_dpbf16_ps(acc[0][i][0], ai, b0);
      acc[0][i][1] = _mm512_dpbf16_ps(acc[0][i][1], ai, b1);
    }
  }
  /* straight to C with masked stores (a panel is narrow: with K = 64, as
   * cross-attention's K_h^T, a scalar edge copy would cost as much as the
   * dot products) */
  const __mmask16 m0 = n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1);
  const __mmask16 m1 = n >= 32 ? (__mmask16)0xFFFF : n > 16 ? (__mmask16)((1u << (n - 16)) - 1) : 0;
  const __m512 b0 = bias ? _mm512_maskz_loadu_ps(m0, bias) : _mm512_setzero_ps();
  const __m512 b1 = bias ? _mm512_maskz_loadu_ps(m1, bias + 16) : _mm512_setzero_ps();
  for (int i = 0; i < M; i++) {
    float *ci = c + (size_t)i * ldc;
    _mm512_mask_storeu_ps(ci, m0, _mm512_add_ps(_mm512_add_ps(acc[0][i][0], acc[1][i][0]), b0));
    _mm512_mask_storeu_ps(ci + 16, m1,
                          _mm512_add_ps(_mm512_add_ps(acc[0][i][1], acc[1][i][1]), b1));
  }
}

void tw_gemv_avx512bf16_bf16bf16_8x32(int m, size_t k, const uint32_t *a, size_t lda,
                                      const void *bv, float *c, size_t ldc, int n,
                                      const float *bias) {
  const uint16_t *b = bv;
  switch (m) {
    case 1: dp_rows(1, k, a, lda, b, c, ldc, n, bias); break;
    case 2: dp_rows(2, k, a, lda, b, c, ldc, n, bias); break;
    case 3: dp_rows(3, k, a, lda, b, c, ldc, n, bias); break;
    case 4: dp_rows(4, k, a, lda, b, c, ldc, n, bias); break;
    case 5: dp_rows(5, k, a, lda, b, c, ldc, n, bias); break;
    case 6: dp_rows(6, k, a, lda, b, c, ldc, n, bias); break;
    case 7: dp_rows(7, k, a, lda, b, c, ldc, n, bias); break;
    default: dp_rows(8, k, a, lda, b, c, ldc, n, bias); break;
  }
}
