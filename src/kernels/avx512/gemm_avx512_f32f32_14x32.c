/* AVX-512 14x32 microkernel, fp32 B: 28 zmm accumulators; per k two B loads,
 * 14 broadcasts of A and 28 FMAs.  The accumulators are named variables so
 * that they stay in registers.  See docs/microkernel.md. */
#include <immintrin.h>

#include "kernels/ukernel.h"

#define MR 14
#define NR 32

/* One C row: (c + acc) + bias, as the contract orders it. */
static inline void store_row(float *c, __m512 v0, __m512 v1, int accumulate, const float *bias) {
  if (accumulate) {
    v0 = _mm512_add_ps(_mm512_loadu_ps(c), v0);
    v1 = _mm512_add_ps(_mm512_loadu_ps(c + 16), v1);
  }
  if (bias) {
    v0 = _mm512_add_ps(v0, _mm512_loadu_ps(bias));
    v1 = _mm512_add_ps(v1, _mm512_loadu_ps(bias + 16));
  }
  _mm512_storeu_ps(c, v0);
  _mm512_storeu_ps(c + 16, v1);
}

void tw_gemm_avx512_f32f32_14x32(size_t kc, const float *a, const void *bv, float *c, size_t ldc,
                           int m, int n, int accumulate, const float *bias) {
  const float *b = bv;
  __m512 c00 = _mm512_setzero_ps(), c01 = c00;
  __m512 c10 = c00, c11 = c00;
  __m512 c20 = c00, c21 = c00;
  __m512 c30 = c00, c31 = c00;
  __m512 c40 = c00, c41 = c00;
  __m512 c50 = c00, c51 = c00;
  __m512 c60 = c00, c61 = c00;
  __m512 c70 = c00, c71 = c00;
  __m512 c80 = c00, c81 = c00;
  __m512 c90 = c00, c91 = c00;
  __m512 c100 = c00, c101 = c00;
  __m512 c110 = c00, c111 = c00;
  __m512 c120 = c00, c121 = c00;
  __m512 c130 = c00, c131 = c00;
  for (int i = 0; i < MR; i++) {  /* C rows: fetch while the k loop runs */
    _mm_prefetch((const char *)(c + (size_t)i * ldc), _MM_HINT_T0);
    _mm_prefetch((const char *)(c + (size_t)i * ldc + 16), _MM_HINT_T0);
  }
  for (size_t p = 0; p < kc; p++) {
    __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
    __m512 ai;
    ai = _mm512_set1_ps(a[0]);
    c00 = _mm512_fmadd_ps(ai, b0, c00);
    c01 = _mm512_fmadd_ps(ai, b1, c01);
    ai = _mm512_set1_ps(a[1]);
    c10 = _mm512_fmadd_ps(ai, b0, c10);
    c11 = _mm512_fmadd_ps(ai, b1, c11);
    ai = _mm512_set1_ps(a[2]);
    c20 = _mm512_fmadd_ps(ai, b0, c20);
    c21 = _mm512_fmadd_ps(ai, b1, c21);
    ai = _mm512_set1_ps(a[3]);
    c30 = _mm512_fmadd_ps(ai, b0, c30);
    c31 = _mm512_fmadd_ps(ai, b1, c31);
    ai = _mm512_set1_ps(a[4]);
    c40 = _mm512_fmadd_ps(ai, b0, c40);
    c41 = _mm512_fmadd_ps(ai, b1, c41);
    ai = _mm512_set1_ps(a[5]);
    c50 = _mm512_fmadd_ps(ai, b0, c50);
    c51 = _mm512_fmadd_ps(ai, b1, c51);
    ai = _mm512_set1_ps(a[6]);
    c60 = _mm512_fmadd_ps(ai, b0, c60);
    c61 = _mm512_fmadd_ps(ai, b1, c61);
    ai = _mm512_set1_ps(a[7]);
    c70 = _mm512_fmadd_ps(ai, b0, c70);
    c71 = _mm512_fmadd_ps(ai, b1, c71);
    ai = _mm512_set1_ps(a[8]);
    c80 = _mm512_fmadd_ps(ai, b0, c80);
    c81 = _mm512_fmadd_ps(ai, b1, c81);
    ai = _mm512_set1_ps(a[9]);
    c90 = _mm512_fmadd_ps(ai, b0, c90);
    c91 = _mm512_fmadd_ps(ai, b1, c91);
    ai = _mm512_set1_ps(a[10]);
    c100 = _mm512_fmadd_ps(ai, b0, c100);
    c101 = _mm512_fmadd_ps(ai, b1, c101);
    ai = _mm512_set1_ps(a[11]);
    c110 = _mm512_fmadd_ps(ai, b0, c110);
    c111 = _mm512_fmadd_ps(ai, b1, c111);
    ai = _mm512_set1_ps(a[12]);
    c120 = _mm512_fmadd_ps(ai, b0, c120);
    c121 = _mm512_fmadd_ps(ai, b1, c121);
    ai = _mm512_set1_ps(a[13]);
    c130 = _mm512_fmadd_ps(ai, b0, c130);
    c131 = _mm512_fmadd_ps(ai, b1, c131);
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
    store_row(c + 6 * ldc, c60, c61, accumulate, bias);
    store_row(c + 7 * ldc, c70, c71, accumulate, bias);
    store_row(c + 8 * ldc, c80, c81, accumulate, bias);
    store_row(c + 9 * ldc, c90, c91, accumulate, bias);
    store_row(c + 10 * ldc, c100, c101, accumulate, bias);
    store_row(c + 11 * ldc, c110, c111, accumulate, bias);
    store_row(c + 12 * ldc, c120, c121, accumulate, bias);
    store_row(c + 13 * ldc, c130, c131, accumulate, bias);
    return;
  }
  float t[MR * NR];
  _mm512_storeu_ps(t + 0, c00);
  _mm512_storeu_ps(t + 16, c01);
  _mm512_storeu_ps(t + 32, c10);
  _mm512_storeu_ps(t + 48, c11);
  _mm512_storeu_ps(t + 64, c20);
  _mm512_storeu_ps(t + 80, c21);
  _mm512_storeu_ps(t + 96, c30);
  _mm512_storeu_ps(t + 112, c31);
  _mm512_storeu_ps(t + 128, c40);
  _mm512_storeu_ps(t + 144, c41);
  _mm512_storeu_ps(t + 160, c50);
  _mm512_storeu_ps(t + 176, c51);
  _mm512_storeu_ps(t + 192, c60);
  _mm512_storeu_ps(t + 208, c61);
  _mm512_storeu_ps(t + 224, c70);
  _mm512_storeu_ps(t + 240, c71);
  _mm512_storeu_ps(t + 256, c80);
  _mm512_storeu_ps(t + 272, c81);
  _mm512_storeu_ps(t + 288, c90);
  _mm512_storeu_ps(t + 304, c91);
  _mm512_storeu_ps(t + 320, c100);
  _mm512_storeu_ps(t + 336, c101);
  _mm512_storeu_ps(t + 352, c110);
  _mm512_storeu_ps(t + 368, c111);
  _mm512_storeu_ps(t + 384, c120);
  _mm512_storeu_ps(t + 400, c121);
  _mm512_storeu_ps(t + 416, c130);
  _mm512_storeu_ps(t + 432, c131);
  tw_ukr_store_tile(t, NR, c, ldc, m, n, accumulate, bias);
}
