/* AVX2+FMA 6x16 microkernel, bf16 B: 12 ymm accumulators; per k one 32-byte B load
 * widened by a shift (columns 0-7) and a mask (8-15), six broadcasts, twelve
 * FMAs.  See docs/microkernel.md and tw_cpu_bf16_slot. */
#include <immintrin.h>

#include "device/cpu/kernels.h"

#define MR 6
#define NR 16

void tw_gemm_avx2_bf16f32_6x16(size_t kc, const float *a, const void *bv, float *c, size_t ldc,
                              int m, int n, int accumulate, const float *bias) {
  const uint16_t *b = bv;
  const __m256 hi_mask = _mm256_castsi256_ps(_mm256_set1_epi32((int)0xffff0000u));
  __m256 acc[MR][2];
#pragma GCC unroll 6
  for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
#pragma GCC unroll 4
  for (size_t p = 0; p < kc; p++) {
    __m256i x = _mm256_loadu_si256((const __m256i *)(b + p * NR));
    __m256 b0 = _mm256_castsi256_ps(_mm256_slli_epi32(x, 16));
    __m256 b1 = _mm256_and_ps(_mm256_castsi256_ps(x), hi_mask);
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
