/* AVX-512 small-M kernel: up to 4 rows of A against one whole K x 32 bf16
 * panel in the k-pair layout (tw_cpu_bf16_index), streaming the panel once:
 * per pair of k two 64-byte loads, widened by a shift (row 2q) and a mask
 * (row 2q+1).  Even and odd k (and, for one row, two pairs) go to separate
 * accumulators so that enough FMA chains are in flight; the partial sums are
 * added in a fixed order.  One function per row count, accumulators as
 * named variables (registers). */
#include <immintrin.h>

#include "kernels/ukernel.h"

#define NR 32

static inline __m512 even_row(const uint16_t *x) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_loadu_si512((const void *)x), 16));
}

static inline __m512 odd_row(const uint16_t *x) {
  return _mm512_castsi512_ps(
      _mm512_and_si512(_mm512_loadu_si512((const void *)x), _mm512_set1_epi32((int)0xffff0000u)));
}

static void rows1(size_t k, const float *a, size_t lda, const uint16_t *b, float *c, size_t ldc, int n,
                  const float *bias) {
  (void)lda; /* one row */
  __m512 r0s0h0 = _mm512_setzero_ps();
  __m512 r0s0h1 = r0s0h0;
  __m512 r0s1h0 = r0s0h0;
  __m512 r0s1h1 = r0s0h0;
  __m512 r0s2h0 = r0s0h0;
  __m512 r0s2h1 = r0s0h0;
  __m512 r0s3h0 = r0s0h0;
  __m512 r0s3h1 = r0s0h0;
  __m512 b0, b1, ai;
  size_t p = 0;
  for (; p + 4 <= k; p += 4) {
    b0 = even_row(b + (p) * NR);
    b1 = even_row(b + (p) * NR + 32);
    ai = _mm512_set1_ps(a[p]);
    r0s0h0 = _mm512_fmadd_ps(ai, b0, r0s0h0);
    r0s0h1 = _mm512_fmadd_ps(ai, b1, r0s0h1);
    b0 = odd_row(b + (p) * NR);
    b1 = odd_row(b + (p) * NR + 32);
    ai = _mm512_set1_ps(a[p + 1]);
    r0s1h0 = _mm512_fmadd_ps(ai, b0, r0s1h0);
    r0s1h1 = _mm512_fmadd_ps(ai, b1, r0s1h1);
    b0 = even_row(b + (p + 2) * NR);
    b1 = even_row(b + (p + 2) * NR + 32);
    ai = _mm512_set1_ps(a[p + 2]);
    r0s2h0 = _mm512_fmadd_ps(ai, b0, r0s2h0);
    r0s2h1 = _mm512_fmadd_ps(ai, b1, r0s2h1);
    b0 = odd_row(b + (p + 2) * NR);
    b1 = odd_row(b + (p + 2) * NR + 32);
    ai = _mm512_set1_ps(a[p + 3]);
    r0s3h0 = _mm512_fmadd_ps(ai, b0, r0s3h0);
    r0s3h1 = _mm512_fmadd_ps(ai, b1, r0s3h1);
  }
  for (; p + 2 <= k; p += 2) {
    b0 = even_row(b + (p) * NR);
    b1 = even_row(b + (p) * NR + 32);
    ai = _mm512_set1_ps(a[p]);
    r0s0h0 = _mm512_fmadd_ps(ai, b0, r0s0h0);
    r0s0h1 = _mm512_fmadd_ps(ai, b1, r0s0h1);
    b0 = odd_row(b + (p) * NR);
    b1 = odd_row(b + (p) * NR + 32);
    ai = _mm512_set1_ps(a[p + 1]);
    r0s1h0 = _mm512_fmadd_ps(ai, b0, r0s1h0);
    r0s1h1 = _mm512_fmadd_ps(ai, b1, r0s1h1);
  }
  if (p < k) {
    b0 = even_row(b + (p) * NR);
    b1 = even_row(b + (p) * NR + 32);
    ai = _mm512_set1_ps(a[p]);
    r0s0h0 = _mm512_fmadd_ps(ai, b0, r0s0h0);
    r0s0h1 = _mm512_fmadd_ps(ai, b1, r0s0h1);
  }
  float t[1 * NR];
  _mm512_storeu_ps(t + 0, _mm512_add_ps(_mm512_add_ps(r0s0h0, r0s1h0), _mm512_add_ps(r0s2h0, r0s3h0)));
  _mm512_storeu_ps(t + 16, _mm512_add_ps(_mm512_add_ps(r0s0h1, r0s1h1), _mm512_add_ps(r0s2h1, r0s3h1)));
  tw_ukr_store_tile(t, NR, c, ldc, 1, n, 0, bias);
}

static void rows2(size_t k, const float *a, size_t lda, const uint16_t *b, float *c, size_t ldc, int n,
                  const float *bias) {
  __m512 r0s0h0 = _mm512_setzero_ps();
  __m512 r0s0h1 = r0s0h0;
  __m512 r0s1h0 = r0s0h0;
  __m512 r0s1h1 = r0s0h0;
  __m512 r1s0h0 = r0s0h0;
  __m512 r1s0h1 = r0s0h0;
  __m512 r1s1h0 = r0s0h0;
  __m512 r1s1h1 = r0s0h0;
  __m512 b0, b1, ai;
  size_t p = 0;
  for (; p + 2 <= k; p += 2) {
    b0 = even_row(b + (p) * NR);
    b1 = even_row(b + (p) * NR + 32);
    ai = _mm512_set1_ps(a[p]);
    r0s0h0 = _mm512_fmadd_ps(ai, b0, r0s0h0);
    r0s0h1 = _mm512_fmadd_ps(ai, b1, r0s0h1);
    ai = _mm512_set1_ps(a[1 * lda + p]);
    r1s0h0 = _mm512_fmadd_ps(ai, b0, r1s0h0);
    r1s0h1 = _mm512_fmadd_ps(ai, b1, r1s0h1);
    b0 = odd_row(b + (p) * NR);
    b1 = odd_row(b + (p) * NR + 32);
    ai = _mm512_set1_ps(a[p + 1]);
    r0s1h0 = _mm512_fmadd_ps(ai, b0, r0s1h0);
    r0s1h1 = _mm512_fmadd_ps(ai, b1, r0s1h1);
    ai = _mm512_set1_ps(a[1 * lda + p + 1]);
    r1s1h0 = _mm512_fmadd_ps(ai, b0, r1s1h0);
    r1s1h1 = _mm512_fmadd_ps(ai, b1, r1s1h1);
  }
  for (; p + 2 <= k; p += 2) {
    b0 = even_row(b + (p) * NR);
    b1 = even_row(b + (p) * NR + 32);
    ai = _mm512_set1_ps(a[p]);
    r0s0h0 = _mm512_fmadd_ps(ai, b0, r0s0h0);
    r0s0h1 = _mm512_fmadd_ps(ai, b1, r0s0h1);
    ai = _mm512_set1_ps(a[1 * lda + p]);
    r1s0h0 = _mm512_fmadd_ps(ai, b0, r1s0h0);
    r1s0h1 = _mm512_fmadd_ps(ai, b1, r1s0h1);
    b0 = odd_row(b + (p) * NR);
    b1 = odd_row(b + (p) * NR + 32);
    ai = _mm512_set1_ps(a[p + 1]);
    r0s1h0 = _mm512_fmadd_ps(ai, b0, r0s1h0);
    r0s1h1 = _mm512_fmadd_ps(ai, b1, r0s1h1);
    ai = _mm512_set1_ps(a[1 * lda + p + 1]);
    r1s1h0 = _mm512_fmadd_ps(ai, b0, r1s1h0);
    r1s1h1 = _mm512_fmadd_ps(ai, b1, r1s1h1);
  }
  if (p < k) {
    b0 = even_row(b + (p) * NR);
    b1 = even_row(b + (p) * NR + 32);
    ai = _mm512_set1_ps(a[p]);
    r0s0h0 = _mm512_fmadd_ps(ai, b0, r0s0h0);
    r0s0h1 = _mm512_fmadd_ps(ai, b1, r0s0h1);
    ai = _mm512_set1_ps(a[1 * lda + p]);
    r1s0h0 = _mm512_fmadd_ps(ai, b0, r1s0h0);
    r1s0h1 = _mm512_fmadd_ps(ai, b1, r1s0h1);
  }
  float t[2 * NR];
  _mm512_storeu_ps(t + 0, _mm512_add_ps(r0s0h0, r0s1h0));
  _mm512_storeu_ps(t + 16, _mm512_add_ps(r0s0h1, r0s1h1));
  _mm512_storeu_ps(t + 32, _mm512_add_ps(r1s0h0, r1s1h0));
  _mm512_storeu_ps(t + 48, _mm512_add_ps(r1s0h1, r1s1h1));
  tw_ukr_store_tile(t, NR, c, ldc, 2, n, 0, bias);
}

static void rows3(size_t k, const float *a, size_t lda, const uint16_t *b, float *c, size_t ldc, int n,
                  const float *bias) {
  __m512 r0s0h0 = _mm512_setzero_ps();
  __m512 r0s0h1 = r0s0h0;
  __m512 r0s1h0 = r0s0h0;
  __m512 r0s1h1 = r0s0h0;
  __m512 r1s0h0 = r0s0h0;
  __m512 r1s0h1 = r0s0h0;
  __m512 r1s1h0 = r0s0h0;
  __m512 r1s1h1 = r0s0h0;
  __m512 r2s0h0 = r0s0h0;
  __m512 r2s0h1 = r0s0h0;
  __m512 r2s1h0 = r0s0h0;
  __m512 r2s1h1 = r0s0h0;
  __m512 b0, b1, ai;
  size_t p = 0;
  for (; p + 2 <= k; p += 2) {
    b0 = even_row(b + (p) * NR);
    b1 = even_row(b + (p) * NR + 32);
    ai = _mm512_set1_ps(a[p]);
    r0s0h0 = _mm512_fmadd_ps(ai, b0, r0s0h0);
    r0s0h1 = _mm512_fmadd_ps(ai, b1, r0s0h1);
    ai = _mm512_set1_ps(a[1 * lda + p]);
    r1s0h0 = _mm512_fmadd_ps(ai, b0, r1s0h0);
    r1s0h1 = _mm512_fmadd_ps(ai, b1, r1s0h1);
    ai = _mm512_set1_ps(a[2 * lda + p]);
    r2s0h0 = _mm512_fmadd_ps(ai, b0, r2s0h0);
    r2s0h1 = _mm512_fmadd_ps(ai, b1, r2s0h1);
    b0 = odd_row(b + (p) * NR);
    b1 = odd_row(b + (p) * NR + 32);
    ai = _mm512_set1_ps(a[p + 1]);
    r0s1h0 = _mm512_fmadd_ps(ai, b0, r0s1h0);
    r0s1h1 = _mm512_fmadd_ps(ai, b1, r0s1h1);
    ai = _mm512_set1_ps(a[1 * lda + p + 1]);
    r1s1h0 = _mm512_fmadd_ps(ai, b0, r1s1h0);
    r1s1h1 = _mm512_fmadd_ps(ai, b1, r1s1h1);
    ai = _mm512_set1_ps(a[2 * lda + p + 1]);
    r2s1h0 = _mm512_fmadd_ps(ai, b0, r2s1h0);
    r2s1h1 = _mm512_fmadd_ps(ai, b1, r2s1h1);
  }
  for (; p + 2 <= k; p += 2) {
    b0 = even_row(b + (p) * NR);
    b1 = even_row(b + (p) * NR + 32);
    ai = _mm512_set1_ps(a[p]);
    r0s0h0 = _mm512_fmadd_ps(ai, b0, r0s0h0);
    r0s0h1 = _mm512_fmadd_ps(ai, b1, r0s0h1);
    ai = _mm512_set1_ps(a[1 * lda + p]);
    r1s0h0 = _mm512_fmadd_ps(ai, b0, r1s0h0);
    r1s0h1 = _mm512_fmadd_ps(ai, b1, r1s0h1);
    ai = _mm512_set1_ps(a[2 * lda + p]);
    r2s0h0 = _mm512_fmadd_ps(ai, b0, r2s0h0);
    r2s0h1 = _mm512_fmadd_ps(ai, b1, r2s0h1);
    b0 = odd_row(b + (p) * NR);
    b1 = odd_row(b + (p) * NR + 32);
    ai = _mm512_set1_ps(a[p + 1]);
    r0s1h0 = _mm512_fmadd_ps(ai, b0, r0s1h0);
    r0s1h1 = _mm512_fmadd_ps(ai, b1, r0s1h1);
    ai = _mm512_set1_ps(a[1 * lda + p + 1]);
    r1s1h0 = _mm512_fmadd_ps(ai, b0, r1s1h0);
    r1s1h1 = _mm512_fmadd_ps(ai, b1, r1s1h1);
    ai = _mm512_set1_ps(a[2 * lda + p + 1]);
    r2s1h0 = _mm512_fmadd_ps(ai, b0, r2s1h0);
    r2s1h1 = _mm512_fmadd_ps(ai, b1, r2s1h1);
  }
  if (p < k) {
    b0 = even_row(b + (p) * NR);
    b1 = even_row(b + (p) * NR + 32);
    ai = _mm512_set1_ps(a[p]);
    r0s0h0 = _mm512_fmadd_ps(ai, b0, r0s0h0);
    r0s0h1 = _mm512_fmadd_ps(ai, b1, r0s0h1);
    ai = _mm512_set1_ps(a[1 * lda + p]);
    r1s0h0 = _mm512_fmadd_ps(ai, b0, r1s0h0);
    r1s0h1 = _mm512_fmadd_ps(ai, b1, r1s0h1);
    ai = _mm512_set1_ps(a[2 * lda + p]);
    r2s0h0 = _mm512_fmadd_ps(ai, b0, r2s0h0);
    r2s0h1 = _mm512_fmadd_ps(ai, b1, r2s0h1);
  }
  float t[3 * NR];
  _mm512_storeu_ps(t + 0, _mm512_add_ps(r0s0h0, r0s1h0));
  _mm512_storeu_ps(t + 16, _mm512_add_ps(r0s0h1, r0s1h1));
  _mm512_storeu_ps(t + 32, _mm512_add_ps(r1s0h0, r1s1h0));
  _mm512_storeu_ps(t + 48, _mm512_add_ps(r1s0h1, r1s1h1));
  _mm512_storeu_ps(t + 64, _mm512_add_ps(r2s0h0, r2s1h0));
  _mm512_storeu_ps(t + 80, _mm512_add_ps(r2s0h1, r2s1h1));
  tw_ukr_store_tile(t, NR, c, ldc, 3, n, 0, bias);
}

static void rows4(size_t k, const float *a, size_t lda, const uint16_t *b, float *c, size_t ldc, int n,
                  const float *bias) {
  __m512 r0s0h0 = _mm512_setzero_ps();
  __m512 r0s0h1 = r0s0h0;
  __m512 r0s1h0 = r0s0h0;
  __m512 r0s1h1 = r0s0h0;
  __m512 r1s0h0 = r0s0h0;
  __m512 r1s0h1 = r0s0h0;
  __m512 r1s1h0 = r0s0h0;
  __m512 r1s1h1 = r0s0h0;
  __m512 r2s0h0 = r0s0h0;
  __m512 r2s0h1 = r0s0h0;
  __m512 r2s1h0 = r0s0h0;
  __m512 r2s1h1 = r0s0h0;
  __m512 r3s0h0 = r0s0h0;
  __m512 r3s0h1 = r0s0h0;
  __m512 r3s1h0 = r0s0h0;
  __m512 r3s1h1 = r0s0h0;
  __m512 b0, b1, ai;
  size_t p = 0;
  for (; p + 2 <= k; p += 2) {
    b0 = even_row(b + (p) * NR);
    b1 = even_row(b + (p) * NR + 32);
    ai = _mm512_set1_ps(a[p]);
    r0s0h0 = _mm512_fmadd_ps(ai, b0, r0s0h0);
    r0s0h1 = _mm512_fmadd_ps(ai, b1, r0s0h1);
    ai = _mm512_set1_ps(a[1 * lda + p]);
    r1s0h0 = _mm512_fmadd_ps(ai, b0, r1s0h0);
    r1s0h1 = _mm512_fmadd_ps(ai, b1, r1s0h1);
    ai = _mm512_set1_ps(a[2 * lda + p]);
    r2s0h0 = _mm512_fmadd_ps(ai, b0, r2s0h0);
    r2s0h1 = _mm512_fmadd_ps(ai, b1, r2s0h1);
    ai = _mm512_set1_ps(a[3 * lda + p]);
    r3s0h0 = _mm512_fmadd_ps(ai, b0, r3s0h0);
    r3s0h1 = _mm512_fmadd_ps(ai, b1, r3s0h1);
    b0 = odd_row(b + (p) * NR);
    b1 = odd_row(b + (p) * NR + 32);
    ai = _mm512_set1_ps(a[p + 1]);
    r0s1h0 = _mm512_fmadd_ps(ai, b0, r0s1h0);
    r0s1h1 = _mm512_fmadd_ps(ai, b1, r0s1h1);
    ai = _mm512_set1_ps(a[1 * lda + p + 1]);
    r1s1h0 = _mm512_fmadd_ps(ai, b0, r1s1h0);
    r1s1h1 = _mm512_fmadd_ps(ai, b1, r1s1h1);
    ai = _mm512_set1_ps(a[2 * lda + p + 1]);
    r2s1h0 = _mm512_fmadd_ps(ai, b0, r2s1h0);
    r2s1h1 = _mm512_fmadd_ps(ai, b1, r2s1h1);
    ai = _mm512_set1_ps(a[3 * lda + p + 1]);
    r3s1h0 = _mm512_fmadd_ps(ai, b0, r3s1h0);
    r3s1h1 = _mm512_fmadd_ps(ai, b1, r3s1h1);
  }
  for (; p + 2 <= k; p += 2) {
    b0 = even_row(b + (p) * NR);
    b1 = even_row(b + (p) * NR + 32);
    ai = _mm512_set1_ps(a[p]);
    r0s0h0 = _mm512_fmadd_ps(ai, b0, r0s0h0);
    r0s0h1 = _mm512_fmadd_ps(ai, b1, r0s0h1);
    ai = _mm512_set1_ps(a[1 * lda + p]);
    r1s0h0 = _mm512_fmadd_ps(ai, b0, r1s0h0);
    r1s0h1 = _mm512_fmadd_ps(ai, b1, r1s0h1);
    ai = _mm512_set1_ps(a[2 * lda + p]);
    r2s0h0 = _mm512_fmadd_ps(ai, b0, r2s0h0);
    r2s0h1 = _mm512_fmadd_ps(ai, b1, r2s0h1);
    ai = _mm512_set1_ps(a[3 * lda + p]);
    r3s0h0 = _mm512_fmadd_ps(ai, b0, r3s0h0);
    r3s0h1 = _mm512_fmadd_ps(ai, b1, r3s0h1);
    b0 = odd_row(b + (p) * NR);
    b1 = odd_row(b + (p) * NR + 32);
    ai = _mm512_set1_ps(a[p + 1]);
    r0s1h0 = _mm512_fmadd_ps(ai, b0, r0s1h0);
    r0s1h1 = _mm512_fmadd_ps(ai, b1, r0s1h1);
    ai = _mm512_set1_ps(a[1 * lda + p + 1]);
    r1s1h0 = _mm512_fmadd_ps(ai, b0, r1s1h0);
    r1s1h1 = _mm512_fmadd_ps(ai, b1, r1s1h1);
    ai = _mm512_set1_ps(a[2 * lda + p + 1]);
    r2s1h0 = _mm512_fmadd_ps(ai, b0, r2s1h0);
    r2s1h1 = _mm512_fmadd_ps(ai, b1, r2s1h1);
    ai = _mm512_set1_ps(a[3 * lda + p + 1]);
    r3s1h0 = _mm512_fmadd_ps(ai, b0, r3s1h0);
    r3s1h1 = _mm512_fmadd_ps(ai, b1, r3s1h1);
  }
  if (p < k) {
    b0 = even_row(b + (p) * NR);
    b1 = even_row(b + (p) * NR + 32);
    ai = _mm512_set1_ps(a[p]);
    r0s0h0 = _mm512_fmadd_ps(ai, b0, r0s0h0);
    r0s0h1 = _mm512_fmadd_ps(ai, b1, r0s0h1);
    ai = _mm512_set1_ps(a[1 * lda + p]);
    r1s0h0 = _mm512_fmadd_ps(ai, b0, r1s0h0);
    r1s0h1 = _mm512_fmadd_ps(ai, b1, r1s0h1);
    ai = _mm512_set1_ps(a[2 * lda + p]);
    r2s0h0 = _mm512_fmadd_ps(ai, b0, r2s0h0);
    r2s0h1 = _mm512_fmadd_ps(ai, b1, r2s0h1);
    ai = _mm512_set1_ps(a[3 * lda + p]);
    r3s0h0 = _mm512_fmadd_ps(ai, b0, r3s0h0);
    r3s0h1 = _mm512_fmadd_ps(ai, b1, r3s0h1);
  }
  float t[4 * NR];
  _mm512_storeu_ps(t + 0, _mm512_add_ps(r0s0h0, r0s1h0));
  _mm512_storeu_ps(t + 16, _mm512_add_ps(r0s0h1, r0s1h1));
  _mm512_storeu_ps(t + 32, _mm512_add_ps(r1s0h0, r1s1h0));
  _mm512_storeu_ps(t + 48, _mm512_add_ps(r1s0h1, r1s1h1));
  _mm512_storeu_ps(t + 64, _mm512_add_ps(r2s0h0, r2s1h0));
  _mm512_storeu_ps(t + 80, _mm512_add_ps(r2s0h1, r2s1h1));
  _mm512_storeu_ps(t + 96, _mm512_add_ps(r3s0h0, r3s1h0));
  _mm512_storeu_ps(t + 112, _mm512_add_ps(r3s0h1, r3s1h1));
  tw_ukr_store_tile(t, NR, c, ldc, 4, n, 0, bias);
}

void tw_gemv_avx512_bf16f32_4x32(int m, size_t k, const float *a, size_t lda, const void *bv,
                           float *c, size_t ldc, int n, const float *bias) {
  const uint16_t *b = bv;
  switch (m) {
    case 1: rows1(k, a, lda, b, c, ldc, n, bias); break;
    case 2: rows2(k, a, lda, b, c, ldc, n, bias); break;
    case 3: rows3(k, a, lda, b, c, ldc, n, bias); break;
    default: rows4(k, a, lda, b, c, ldc, n, bias); break;
  }
}
