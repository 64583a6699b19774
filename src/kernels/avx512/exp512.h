/* e^x and 2^x on 16 fp32 lanes for the avx512 attention kernels (x <= 0). */
#ifndef TW_KERNELS_AVX512_EXP512_H
#define TW_KERNELS_AVX512_EXP512_H

#include <immintrin.h>

/* e^x for x <= 0 (clamped at -87): x = n ln2 + r, e^r by the degree-5
 * polynomial of Cephes' expf, 2^n by VSCALEFPS.  Relative error ~2e-7. */
static inline __m512 tw_exp512(__m512 x) {
  x = _mm512_max_ps(x, _mm512_set1_ps(-87.0f));
  __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                  _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fmadd_ps(n, _mm512_set1_ps(2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_fmadd_ps(_mm512_mul_ps(p, r), r, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  return _mm512_scalef_ps(p, n);
}

/* 2^x for x <= 0 (clamped at -126, so never subnormal): x = n + r with
 * |r| <= 1/2, 2^r by a degree-5 polynomial fitted for relative error
 * (Lawson-reweighted least squares; 7.5e-8 in exact arithmetic, ~2e-7 as
 * evaluated in fp32), 2^n by VSCALEFPS.  Fewer operations than tw_exp512
 * for callers that can keep their arguments in base 2. */
static inline __m512 tw_exp2_512(__m512 x) {
  x = _mm512_max_ps(x, _mm512_set1_ps(-126.0f));
  __m512 n = _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_sub_ps(x, n);
  __m512 p = _mm512_set1_ps(1.327640493e-03f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(9.675548412e-03f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.550713465e-02f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(2.402212024e-01f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(6.931469440e-01f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.000000119e+00f));
  return _mm512_scalef_ps(p, n);
}

#endif
