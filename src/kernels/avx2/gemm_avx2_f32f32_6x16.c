/* AVX2+FMA 6x16 microkernel, fp32 B: 12 ymm accumulators; per k two B
 * loads, six broadcasts of A and twelve FMAs.  The accumulators are named
 * variables so that they stay in registers.  See docs/microkernel.md. */
#include <immintrin.h>

#include "kernels/ukernel.h"

#define MR 6
#define NR 16

/* One C row: (c + acc) + bias, as the contract orders it. */
static inline void store_row(float *c, __m256 v0, __m256 v1, int accumulate, const float *bias) {
  if (accumulate) {
    v0 = _mm256_add_ps(_mm256_loadu_ps(c), v0);
    v1 = _mm256_add_ps(_mm256_loadu_ps(c + 8), v1);
  }
  if (bias) {
    v0 = _mm256_add_ps(v0, _mm256_loadu_ps(bias));
    v1 = _mm256_add_ps(v1, _mm256_loadu_ps(bias + 8));
  }
  _mm256_storeu_ps(c, v0);
  _mm256_storeu_ps(c + 8, v1);
}

void tw_gemm_avx2_f32f32_6x16(size_t kc, const float *a, const void *bv, float *c, size_t ldc,
                        int m, int n, int accumulate, const float *bias) {
  const float *b = bv;
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  for (size_t p = 0; p < kc; p++) {
    __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
    __m256 ai;
    ai = _mm256_broadcast_ss(a + 0);
    c00 = _mm256_fmadd_ps(ai, b0, c00);
    c01 = _mm256_fmadd_ps(ai, b1, c01);
    ai = _mm256_broadcast_ss(a + 1);
    c10 = _mm256_fmadd_ps(ai, b0, c10);
    c11 = _mm256_fmadd_ps(ai, b1, c11);
    ai = _mm256_broadcast_ss(a + 2);
    c20 = _mm256_fmadd_ps(ai, b0, c20);
    c21 = _mm256_fmadd_ps(ai, b1, c21);
    ai = _mm256_broadcast_ss(a + 3);
    c30 = _mm256_fmadd_ps(ai, b0, c30);
    c31 = _mm256_fmadd_ps(ai, b1, c31);
    ai = _mm256_broadcast_ss(a + 4);
    c40 = _mm256_fmadd_ps(ai, b0, c40);
    c41 = _mm256_fmadd_ps(ai, b1, c41);
    ai = _mm256_broadcast_ss(a + 5);
    c50 = _mm256_fmadd_ps(ai, b0, c50);
    c51 = _mm256_fmadd_ps(ai, b1, c51);
    a += MR;
    b += NR;
  }
  if (m == MR && n == NR) {
    store_row(c, c00, c01, accumulate, bias);
    store_row(c + 1 * ldc, c10, c11, accumulate, bias);
    store_row(c + 2 * ldc, c20, c21, accumulate, bias);
    store_row(c + 3 * ldc, c30, c31, accumulate, bias);
    store_row(c + 4 * ldc, c40, c41, accumulate, bias);
    store_row(c + 5 * ldc, c50, c51, accumulate, bias);
    return;
  }
  float t[MR * NR];
  _mm256_storeu_ps(t + 0, c00);
  _mm256_storeu_ps(t + 8, c01);
  _mm256_storeu_ps(t + 16, c10);
  _mm256_storeu_ps(t + 24, c11);
  _mm256_storeu_ps(t + 32, c20);
  _mm256_storeu_ps(t + 40, c21);
  _mm256_storeu_ps(t + 48, c30);
  _mm256_storeu_ps(t + 56, c31);
  _mm256_storeu_ps(t + 64, c40);
  _mm256_storeu_ps(t + 72, c41);
  _mm256_storeu_ps(t + 80, c50);
  _mm256_storeu_ps(t + 88, c51);
  tw_ukr_store_tile(t, NR, c, ldc, m, n, accumulate, bias);
}
