/* AVX-512 small-M kernel: up to 4 rows of A against one whole K x 32 fp32
 * panel, streaming the panel once.  K is unrolled U ways into independent
 * accumulators (U = 4, 2, 1, 1 for 1..4 rows) so that even one row keeps
 * eight FMA chains in flight; the partial sums are added in a fixed order.
 * One function per row count, accumulators as named variables (registers). */
#include <immintrin.h>

#include "kernels/ukernel.h"

#define NR 32

static inline void load_b(const float *row, __m512 *lo, __m512 *hi) {
  *lo = _mm512_loadu_ps(row);
  *hi = _mm512_loadu_ps(row + 16);
}

static void rows1(size_t k, const float *a, size_t lda, const float *b, float *c, size_t ldc, int n,
                  const float *bias) {
  (void)lda; /* one row */
  __m512 r0u0h0 = _mm512_setzero_ps();
  __m512 r0u0h1 = r0u0h0;
  __m512 r0u1h0 = r0u0h0;
  __m512 r0u1h1 = r0u0h0;
  __m512 r0u2h0 = r0u0h0;
  __m512 r0u2h1 = r0u0h0;
  __m512 r0u3h0 = r0u0h0;
  __m512 r0u3h1 = r0u0h0;
  __m512 b0, b1, ai;
  size_t p = 0;
  for (; p + 4 <= k; p += 4) {
    load_b(b + (p + 0) * NR, &b0, &b1);
    ai = _mm512_set1_ps(a[p + 0]);
    r0u0h0 = _mm512_fmadd_ps(ai, b0, r0u0h0);
    r0u0h1 = _mm512_fmadd_ps(ai, b1, r0u0h1);
    load_b(b + (p + 1) * NR, &b0, &b1);
    ai = _mm512_set1_ps(a[p + 1]);
    r0u1h0 = _mm512_fmadd_ps(ai, b0, r0u1h0);
    r0u1h1 = _mm512_fmadd_ps(ai, b1, r0u1h1);
    load_b(b + (p + 2) * NR, &b0, &b1);
    ai = _mm512_set1_ps(a[p + 2]);
    r0u2h0 = _mm512_fmadd_ps(ai, b0, r0u2h0);
    r0u2h1 = _mm512_fmadd_ps(ai, b1, r0u2h1);
    load_b(b + (p + 3) * NR, &b0, &b1);
    ai = _mm512_set1_ps(a[p + 3]);
    r0u3h0 = _mm512_fmadd_ps(ai, b0, r0u3h0);
    r0u3h1 = _mm512_fmadd_ps(ai, b1, r0u3h1);
  }
  for (; p < k; p++) {
    load_b(b + p * NR, &b0, &b1);
    ai = _mm512_set1_ps(a[p]);
    r0u0h0 = _mm512_fmadd_ps(ai, b0, r0u0h0);
    r0u0h1 = _mm512_fmadd_ps(ai, b1, r0u0h1);
  }
  float t[1 * NR];
  _mm512_storeu_ps(t + 0, _mm512_add_ps(_mm512_add_ps(r0u0h0, r0u1h0), _mm512_add_ps(r0u2h0, r0u3h0)));
  _mm512_storeu_ps(t + 16, _mm512_add_ps(_mm512_add_ps(r0u0h1, r0u1h1), _mm512_add_ps(r0u2h1, r0u3h1)));
  tw_ukr_store_tile(t, NR, c, ldc, 1, n, 0, bias);
}

static void rows2(size_t k, const float *a, size_t lda, const float *b, float *c, size_t ldc, int n,
                  const float *bias) {
  __m512 r0u0h0 = _mm512_setzero_ps();
  __m512 r0u0h1 = r0u0h0;
  __m512 r0u1h0 = r0u0h0;
  __m512 r0u1h1 = r0u0h0;
  __m512 r1u0h0 = r0u0h0;
  __m512 r1u0h1 = r0u0h0;
  __m512 r1u1h0 = r0u0h0;
  __m512 r1u1h1 = r0u0h0;
  __m512 b0, b1, ai;
  size_t p = 0;
  for (; p + 2 <= k; p += 2) {
    load_b(b + (p + 0) * NR, &b0, &b1);
    ai = _mm512_set1_ps(a[p + 0]);
    r0u0h0 = _mm512_fmadd_ps(ai, b0, r0u0h0);
    r0u0h1 = _mm512_fmadd_ps(ai, b1, r0u0h1);
    ai = _mm512_set1_ps(a[1 * lda + p + 0]);
    r1u0h0 = _mm512_fmadd_ps(ai, b0, r1u0h0);
    r1u0h1 = _mm512_fmadd_ps(ai, b1, r1u0h1);
    load_b(b + (p + 1) * NR, &b0, &b1);
    ai = _mm512_set1_ps(a[p + 1]);
    r0u1h0 = _mm512_fmadd_ps(ai, b0, r0u1h0);
    r0u1h1 = _mm512_fmadd_ps(ai, b1, r0u1h1);
    ai = _mm512_set1_ps(a[1 * lda + p + 1]);
    r1u1h0 = _mm512_fmadd_ps(ai, b0, r1u1h0);
    r1u1h1 = _mm512_fmadd_ps(ai, b1, r1u1h1);
  }
  for (; p < k; p++) {
    load_b(b + p * NR, &b0, &b1);
    ai = _mm512_set1_ps(a[p]);
    r0u0h0 = _mm512_fmadd_ps(ai, b0, r0u0h0);
    r0u0h1 = _mm512_fmadd_ps(ai, b1, r0u0h1);
    ai = _mm512_set1_ps(a[1 * lda + p]);
    r1u0h0 = _mm512_fmadd_ps(ai, b0, r1u0h0);
    r1u0h1 = _mm512_fmadd_ps(ai, b1, r1u0h1);
  }
  float t[2 * NR];
  _mm512_storeu_ps(t + 0, _mm512_add_ps(r0u0h0, r0u1h0));
  _mm512_storeu_ps(t + 16, _mm512_add_ps(r0u0h1, r0u1h1));
  _mm512_storeu_ps(t + 32, _mm512_add_ps(r1u0h0, r1u1h0));
  _mm512_storeu_ps(t + 48, _mm512_add_ps(r1u0h1, r1u1h1));
  tw_ukr_store_tile(t, NR, c, ldc, 2, n, 0, bias);
}

static void rows3(size_t k, const float *a, size_t lda, const float *b, float *c, size_t ldc, int n,
                  const float *bias) {
  __m512 r0u0h0 = _mm512_setzero_ps();
  __m512 r0u0h1 = r0u0h0;
  __m512 r1u0h0 = r0u0h0;
  __m512 r1u0h1 = r0u0h0;
  __m512 r2u0h0 = r0u0h0;
  __m512 r2u0h1 = r0u0h0;
  __m512 b0, b1, ai;
  size_t p = 0;
  for (; p < k; p++) {
    load_b(b + p * NR, &b0, &b1);
    ai = _mm512_set1_ps(a[p]);
    r0u0h0 = _mm512_fmadd_ps(ai, b0, r0u0h0);
    r0u0h1 = _mm512_fmadd_ps(ai, b1, r0u0h1);
    ai = _mm512_set1_ps(a[1 * lda + p]);
    r1u0h0 = _mm512_fmadd_ps(ai, b0, r1u0h0);
    r1u0h1 = _mm512_fmadd_ps(ai, b1, r1u0h1);
    ai = _mm512_set1_ps(a[2 * lda + p]);
    r2u0h0 = _mm512_fmadd_ps(ai, b0, r2u0h0);
    r2u0h1 = _mm512_fmadd_ps(ai, b1, r2u0h1);
  }
  float t[3 * NR];
  _mm512_storeu_ps(t + 0, r0u0h0);
  _mm512_storeu_ps(t + 16, r0u0h1);
  _mm512_storeu_ps(t + 32, r1u0h0);
  _mm512_storeu_ps(t + 48, r1u0h1);
  _mm512_storeu_ps(t + 64, r2u0h0);
  _mm512_storeu_ps(t + 80, r2u0h1);
  tw_ukr_store_tile(t, NR, c, ldc, 3, n, 0, bias);
}

static void rows4(size_t k, const float *a, size_t lda, const float *b, float *c, size_t ldc, int n,
                  const float *bias) {
  __m512 r0u0h0 = _mm512_setzero_ps();
  __m512 r0u0h1 = r0u0h0;
  __m512 r1u0h0 = r0u0h0;
  __m512 r1u0h1 = r0u0h0;
  __m512 r2u0h0 = r0u0h0;
  __m512 r2u0h1 = r0u0h0;
  __m512 r3u0h0 = r0u0h0;
  __m512 r3u0h1 = r0u0h0;
  __m512 b0, b1, ai;
  size_t p = 0;
  for (; p < k; p++) {
    load_b(b + p * NR, &b0, &b1);
    ai = _mm512_set1_ps(a[p]);
    r0u0h0 = _mm512_fmadd_ps(ai, b0, r0u0h0);
    r0u0h1 = _mm512_fmadd_ps(ai, b1, r0u0h1);
    ai = _mm512_set1_ps(a[1 * lda + p]);
    r1u0h0 = _mm512_fmadd_ps(ai, b0, r1u0h0);
    r1u0h1 = _mm512_fmadd_ps(ai, b1, r1u0h1);
    ai = _mm512_set1_ps(a[2 * lda + p]);
    r2u0h0 = _mm512_fmadd_ps(ai, b0, r2u0h0);
    r2u0h1 = _mm512_fmadd_ps(ai, b1, r2u0h1);
    ai = _mm512_set1_ps(a[3 * lda + p]);
    r3u0h0 = _mm512_fmadd_ps(ai, b0, r3u0h0);
    r3u0h1 = _mm512_fmadd_ps(ai, b1, r3u0h1);
  }
  float t[4 * NR];
  _mm512_storeu_ps(t + 0, r0u0h0);
  _mm512_storeu_ps(t + 16, r0u0h1);
  _mm512_storeu_ps(t + 32, r1u0h0);
  _mm512_storeu_ps(t + 48, r1u0h1);
  _mm512_storeu_ps(t + 64, r2u0h0);
  _mm512_storeu_ps(t + 80, r2u0h1);
  _mm512_storeu_ps(t + 96, r3u0h0);
  _mm512_storeu_ps(t + 112, r3u0h1);
  tw_ukr_store_tile(t, NR, c, ldc, 4, n, 0, bias);
}

void tw_gemv_avx512_f32f32_4x32(int m, size_t k, const float *a, size_t lda, const void *bv,
                          float *c, size_t ldc, int n, const float *bias) {
  const float *b = bv;
  switch (m) {
    case 1: rows1(k, a, lda, b, c, ldc, n, bias); break;
    case 2: rows2(k, a, lda, b, c, ldc, n, bias); break;
    case 3: rows3(k, a, lda, b, c, ldc, n, bias); break;
    default: rows4(k, a, lda, b, c, ldc, n, bias); break;
  }
}
