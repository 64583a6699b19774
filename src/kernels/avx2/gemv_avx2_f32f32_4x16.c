/* AVX2+FMA small-M kernel: up to 4 rows of A against one whole K x 16 fp32
 * panel, streaming the panel once.  K is unrolled U ways into independent
 * accumulators (U = 4, 2, 1, 1 for 1..4 rows) so that even one row keeps
 * eight FMA chains in flight; the partial sums are added in a fixed order.
 * One function per row count, accumulators as named variables (registers). */
#include <immintrin.h>

#include "kernels/ukernel.h"

#define NR 16

static inline void load_b(const float *row, __m256 *lo, __m256 *hi) {
  *lo = _mm256_loadu_ps(row);
  *hi = _mm256_loadu_ps(row + 8);
}

/* Sums of each row into t (row stride NR), then the shared edge store. */
static inline void finish(const float *t, int m, float *c, size_t ldc, int n, const float *bias) {
  tw_ukr_store_tile(t, NR, c, ldc, m, n, 0, bias);
}

static void rows1(size_t k, const float *a, size_t lda, const float *b, float *c, size_t ldc, int n,
                  const float *bias) {
  (void)lda; /* one row */
  __m256 r0u0h0 = _mm256_setzero_ps(), r0u0h1 = r0u0h0, r0u1h0 = r0u0h0, r0u1h1 = r0u0h0, r0u2h0 = r0u0h0, r0u2h1 = r0u0h0, r0u3h0 = r0u0h0, r0u3h1 = r0u0h0;
  __m256 b0, b1, ai;
  size_t p = 0;
  for (; p + 4 <= k; p += 4) {
    load_b(b + (p + 0) * NR, &b0, &b1);
    ai = _mm256_broadcast_ss(a + p + 0);
    r0u0h0 = _mm256_fmadd_ps(ai, b0, r0u0h0);
    r0u0h1 = _mm256_fmadd_ps(ai, b1, r0u0h1);
    load_b(b + (p + 1) * NR, &b0, &b1);
    ai = _mm256_broadcast_ss(a + p + 1);
    r0u1h0 = _mm256_fmadd_ps(ai, b0, r0u1h0);
    r0u1h1 = _mm256_fmadd_ps(ai, b1, r0u1h1);
    load_b(b + (p + 2) * NR, &b0, &b1);
    ai = _mm256_broadcast_ss(a + p + 2);
    r0u2h0 = _mm256_fmadd_ps(ai, b0, r0u2h0);
    r0u2h1 = _mm256_fmadd_ps(ai, b1, r0u2h1);
    load_b(b + (p + 3) * NR, &b0, &b1);
    ai = _mm256_broadcast_ss(a + p + 3);
    r0u3h0 = _mm256_fmadd_ps(ai, b0, r0u3h0);
    r0u3h1 = _mm256_fmadd_ps(ai, b1, r0u3h1);
  }
  for (; p < k; p++) {
    load_b(b + p * NR, &b0, &b1);
    ai = _mm256_broadcast_ss(a + p);
    r0u0h0 = _mm256_fmadd_ps(ai, b0, r0u0h0);
    r0u0h1 = _mm256_fmadd_ps(ai, b1, r0u0h1);
  }
  float t[1 * NR];
  _mm256_storeu_ps(t + 0, _mm256_add_ps(_mm256_add_ps(r0u0h0, r0u1h0), _mm256_add_ps(r0u2h0, r0u3h0)));
  _mm256_storeu_ps(t + 8, _mm256_add_ps(_mm256_add_ps(r0u0h1, r0u1h1), _mm256_add_ps(r0u2h1, r0u3h1)));
  finish(t, 1, c, ldc, n, bias);
}

static void rows2(size_t k, const float *a, size_t lda, const float *b, float *c, size_t ldc, int n,
                  const float *bias) {
  __m256 r0u0h0 = _mm256_setzero_ps(), r0u0h1 = r0u0h0, r0u1h0 = r0u0h0, r0u1h1 = r0u0h0, r1u0h0 = r0u0h0, r1u0h1 = r0u0h0, r1u1h0 = r0u0h0, r1u1h1 = r0u0h0;
  __m256 b0, b1, ai;
  size_t p = 0;
  for (; p + 2 <= k; p += 2) {
    load_b(b + (p + 0) * NR, &b0, &b1);
    ai = _mm256_broadcast_ss(a + p + 0);
    r0u0h0 = _mm256_fmadd_ps(ai, b0, r0u0h0);
    r0u0h1 = _mm256_fmadd_ps(ai, b1, r0u0h1);
    ai = _mm256_broadcast_ss(a + 1 * lda + p + 0);
    r1u0h0 = _mm256_fmadd_ps(ai, b0, r1u0h0);
    r1u0h1 = _mm256_fmadd_ps(ai, b1, r1u0h1);
    load_b(b + (p + 1) * NR, &b0, &b1);
    ai = _mm256_broadcast_ss(a + p + 1);
    r0u1h0 = _mm256_fmadd_ps(ai, b0, r0u1h0);
    r0u1h1 = _mm256_fmadd_ps(ai, b1, r0u1h1);
    ai = _mm256_broadcast_ss(a + 1 * lda + p + 1);
    r1u1h0 = _mm256_fmadd_ps(ai, b0, r1u1h0);
    r1u1h1 = _mm256_fmadd_ps(ai, b1, r1u1h1);
  }
  for (; p < k; p++) {
    load_b(b + p * NR, &b0, &b1);
    ai = _mm256_broadcast_ss(a + p);
    r0u0h0 = _mm256_fmadd_ps(ai, b0, r0u0h0);
    r0u0h1 = _mm256_fmadd_ps(ai, b1, r0u0h1);
    ai = _mm256_broadcast_ss(a + 1 * lda + p);
    r1u0h0 = _mm256_fmadd_ps(ai, b0, r1u0h0);
    r1u0h1 = _mm256_fmadd_ps(ai, b1, r1u0h1);
  }
  float t[2 * NR];
  _mm256_storeu_ps(t + 0, _mm256_add_ps(r0u0h0, r0u1h0));
  _mm256_storeu_ps(t + 8, _mm256_add_ps(r0u0h1, r0u1h1));
  _mm256_storeu_ps(t + 16, _mm256_add_ps(r1u0h0, r1u1h0));
  _mm256_storeu_ps(t + 24, _mm256_add_ps(r1u0h1, r1u1h1));
  finish(t, 2, c, ldc, n, bias);
}

static void rows3(size_t k, const float *a, size_t lda, const float *b, float *c, size_t ldc, int n,
                  const float *bias) {
  __m256 r0u0h0 = _mm256_setzero_ps(), r0u0h1 = r0u0h0, r1u0h0 = r0u0h0, r1u0h1 = r0u0h0, r2u0h0 = r0u0h0, r2u0h1 = r0u0h0;
  __m256 b0, b1, ai;
  size_t p = 0;
  for (; p < k; p++) {
    load_b(b + p * NR, &b0, &b1);
    ai = _mm256_broadcast_ss(a + p);
    r0u0h0 = _mm256_fmadd_ps(ai, b0, r0u0h0);
    r0u0h1 = _mm256_fmadd_ps(ai, b1, r0u0h1);
    ai = _mm256_broadcast_ss(a + 1 * lda + p);
    r1u0h0 = _mm256_fmadd_ps(ai, b0, r1u0h0);
    r1u0h1 = _mm256_fmadd_ps(ai, b1, r1u0h1);
    ai = _mm256_broadcast_ss(a + 2 * lda + p);
    r2u0h0 = _mm256_fmadd_ps(ai, b0, r2u0h0);
    r2u0h1 = _mm256_fmadd_ps(ai, b1, r2u0h1);
  }
  float t[3 * NR];
  _mm256_storeu_ps(t + 0, r0u0h0);
  _mm256_storeu_ps(t + 8, r0u0h1);
  _mm256_storeu_ps(t + 16, r1u0h0);
  _mm256_storeu_ps(t + 24, r1u0h1);
  _mm256_storeu_ps(t + 32, r2u0h0);
  _mm256_storeu_ps(t + 40, r2u0h1);
  finish(t, 3, c, ldc, n, bias);
}

static void rows4(size_t k, const float *a, size_t lda, const float *b, float *c, size_t ldc, int n,
                  const float *bias) {
  __m256 r0u0h0 = _mm256_setzero_ps(), r0u0h1 = r0u0h0, r1u0h0 = r0u0h0, r1u0h1 = r0u0h0, r2u0h0 = r0u0h0, r2u0h1 = r0u0h0, r3u0h0 = r0u0h0, r3u0h1 = r0u0h0;
  __m256 b0, b1, ai;
  size_t p = 0;
  for (; p < k; p++) {
    load_b(b + p * NR, &b0, &b1);
    ai = _mm256_broadcast_ss(a + p);
    r0u0h0 = _mm256_fmadd_ps(ai, b0, r0u0h0);
    r0u0h1 = _mm256_fmadd_ps(ai, b1, r0u0h1);
    ai = _mm256_broadcast_ss(a + 1 * lda + p);
    r1u0h0 = _mm256_fmadd_ps(ai, b0, r1u0h0);
    r1u0h1 = _mm256_fmadd_ps(ai, b1, r1u0h1);
    ai = _mm256_broadcast_ss(a + 2 * lda + p);
    r2u0h0 = _mm256_fmadd_ps(ai, b0, r2u0h0);
    r2u0h1 = _mm256_fmadd_ps(ai, b1, r2u0h1);
    ai = _mm256_broadcast_ss(a + 3 * lda + p);
    r3u0h0 = _mm256_fmadd_ps(ai, b0, r3u0h0);
    r3u0h1 = _mm256_fmadd_ps(ai, b1, r3u0h1);
  }
  float t[4 * NR];
  _mm256_storeu_ps(t + 0, r0u0h0);
  _mm256_storeu_ps(t + 8, r0u0h1);
  _mm256_storeu_ps(t + 16, r1u0h0);
  _mm256_storeu_ps(t + 24, r1u0h1);
  _mm256_storeu_ps(t + 32, r2u0h0);
  _mm256_storeu_ps(t + 40, r2u0h1);
  _mm256_storeu_ps(t + 48, r3u0h0);
  _mm256_storeu_ps(t + 56, r3u0h1);
  finish(t, 4, c, ldc, n, bias);
}

void tw_gemv_avx2_f32f32_4x16(int m, size_t k, const float *a, size_t lda, const void *bv,
                        float *c, size_t ldc, int n, const float *bias) {
  const float *b = bv;
  switch (m) {
    case 1: rows1(k, a, lda, b, c, ldc, n, bias); break;
    case 2: rows2(k, a, lda, b, c, ldc, n, bias); break;
    case 3: rows3(k, a, lda, b, c, ldc, n, bias); break;
    default: rows4(k, a, lda, b, c, ldc, n, bias); break;
  }
}
