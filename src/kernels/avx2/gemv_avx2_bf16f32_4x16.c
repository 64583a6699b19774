/* AVX2+FMA small-M kernel: up to 4 rows of A against one whole K x 16 bf16
 * panel (interleaved rows, widened by a shift and a mask), streaming the panel once.  K is unrolled U ways into independent
 * accumulators (U = 4, 2, 1 for 1, 2, 3-4 rows) so that even one row keeps
 * eight FMA chains in flight; the U partial sums are added in a fixed order. */
#include <immintrin.h>

#include "device/cpu/kernels.h"

#define NR 16

static inline __attribute__((always_inline)) void load_b(const uint16_t *row, __m256 *lo,
                                                         __m256 *hi) {
  __m256i x = _mm256_loadu_si256((const __m256i *)row);
  *lo = _mm256_castsi256_ps(_mm256_slli_epi32(x, 16));
  *hi = _mm256_and_ps(_mm256_castsi256_ps(x), _mm256_castsi256_ps(_mm256_set1_epi32((int)0xffff0000u)));
}

static inline __attribute__((always_inline)) void gemv_rows(const int M, const int U, size_t k,
                                                            const float *a, size_t lda,
                                                            const uint16_t *b, float *c, size_t ldc,
                                                            int n, const float *bias) {
  __m256 acc[TW_CPU_GEMV_MAX_M][4][2];
#pragma GCC unroll 4
  for (int i = 0; i < M; i++)
#pragma GCC unroll 4
    for (int u = 0; u < U; u++) acc[i][u][0] = acc[i][u][1] = _mm256_setzero_ps();
  size_t p = 0;
  for (; p + (size_t)U <= k; p += (size_t)U) {
#pragma GCC unroll 4
    for (int u = 0; u < U; u++) {
      __m256 b0, b1;
      load_b(b + (p + (size_t)u) * NR, &b0, &b1);
#pragma GCC unroll 4
      for (int i = 0; i < M; i++) {
        __m256 ai = _mm256_broadcast_ss(a + (size_t)i * lda + p + (size_t)u);
        acc[i][u][0] = _mm256_fmadd_ps(ai, b0, acc[i][u][0]);
        acc[i][u][1] = _mm256_fmadd_ps(ai, b1, acc[i][u][1]);
      }
    }
  }
  for (; p < k; p++) {
    __m256 b0, b1;
    load_b(b + p * NR, &b0, &b1);
#pragma GCC unroll 4
    for (int i = 0; i < M; i++) {
      __m256 ai = _mm256_broadcast_ss(a + (size_t)i * lda + p);
      acc[i][0][0] = _mm256_fmadd_ps(ai, b0, acc[i][0][0]);
      acc[i][0][1] = _mm256_fmadd_ps(ai, b1, acc[i][0][1]);
    }
  }
  float t[TW_CPU_GEMV_MAX_M * NR];
#pragma GCC unroll 4
  for (int i = 0; i < M; i++)
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++) {
      __m256 s = acc[i][0][h];
      if (U == 2) s = _mm256_add_ps(s, acc[i][1][h]);
      if (U == 4)
        s = _mm256_add_ps(_mm256_add_ps(s, acc[i][1][h]), _mm256_add_ps(acc[i][2][h], acc[i][3][h]));
      _mm256_storeu_ps(t + i * NR + h * 8, s);
    }
  tw_ukr_store_tile(t, NR, c, ldc, M, n, 0, bias);
}

void tw_gemv_avx2_bf16f32_4x16(int m, size_t k, const float *a, size_t lda, const void *bv,
                              float *c, size_t ldc, int n, const float *bias) {
  const uint16_t *b = bv;
  switch (m) {
    case 1: gemv_rows(1, 4, k, a, lda, b, c, ldc, n, bias); break;
    case 2: gemv_rows(2, 2, k, a, lda, b, c, ldc, n, bias); break;
    case 3: gemv_rows(3, 1, k, a, lda, b, c, ldc, n, bias); break;
    default: gemv_rows(4, 1, k, a, lda, b, c, ldc, n, bias); break;
  }
}
