/* AVX2+FMA 6x16 microkernel, fp32 B: 12 ymm accumulators, per k two B loads,
 * six broadcasts of A and twelve FMAs.  See docs/microkernel.md. */
#include <immintrin.h>

#include "device/cpu/kernels.h"

#define MR 6
#define NR 16

void tw_gemm_avx2_f32f32_6x16(size_t kc, const float *a, const void *bv, float *c, size_t ldc,
                              int m, int n, int accumulate, const float *bias) {
  const float *b = bv;
  __m256 acc[MR][2];
#pragma GCC unroll 6
  for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
#pragma GCC unroll 4
  for (size_t p = 0; p < kc; p++) {
    __m256 b0 = _mm256_loadu_ps(b + p * NR), b1 = _mm256_loadu_ps(b + p * NR + 8);
#pragma GCC unroll 6
    for (int i = 0; i < MR; i++) {
      __m256 ai = _mm256_broadcast_ss(a + p * MR + (size_t)i);
      acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
    }
  }
  if (m == MR && n == NR) {
#pragma GCC unroll 6
    for (int i = 0; i < MR; i++) {
      float *ci = c + (size_t)i * ldc;
      __m256 v0 = acc[i][0], v1 = acc[i][1];
      if (accumulate) {
        v0 = _mm256_add_ps(_mm256_loadu_ps(ci), v0);
        v1 = _mm256_add_ps(_mm256_loadu_ps(ci + 8), v1);
      }
      if (bias) {
        v0 = _mm256_add_ps(v0, _mm256_loadu_ps(bias));
        v1 = _mm256_add_ps(v1, _mm256_loadu_ps(bias + 8));
      }
      _mm256_storeu_ps(ci, v0);
      _mm256_storeu_ps(ci + 8, v1);
    }
    return;
  }
  float t[MR * NR];
  for (int i = 0; i < MR; i++) {
    _mm256_storeu_ps(t + i * NR, acc[i][0]);
    _mm256_storeu_ps(t + i * NR + 8, acc[i][1]);
  }
  tw_ukr_store_tile(t, NR, c, ldc, m, n, accumulate, bias);
}
