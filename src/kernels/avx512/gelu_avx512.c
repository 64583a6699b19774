/* The erf GELU on 16 lanes: the formula of src/whisper/ops.c's gelu()
 * (Abramowitz & Stegun 7.1.26: erfc(z) = t P(t) e^{-z^2}, t = 1 / (1 + p z),
 * |error| <= 1.5e-7 on erf), with t from VRCP14PS and one Newton step
 * instead of a division (VDIVPS issues about once per 16 cycles for 16
 * lanes on the Xeons here: half the time of the auto-vectorised loop) and
 * e^{-z^2} by tw_exp512.  bf16 output is rounded with integer operations
 * (AVX-512 F only: the avx512 kernel set runs where AVX512-BF16 is
 * absent). */
#include <immintrin.h>
#include <stdint.h>

#include "kernels/avx512/exp512.h"
#include "kernels/elementwise.h"

static inline __m512 gelu16(__m512 x) {
  const __m512 ax = _mm512_abs_ps(x);
  const __m512 z = _mm512_mul_ps(ax, _mm512_set1_ps(0.70710678118654752f));
  const __m512 d = _mm512_fmadd_ps(z, _mm512_set1_ps(0.3275911f), _mm512_set1_ps(1.0f));
  __m512 t = _mm512_rcp14_ps(d); /* relative error < 2^-14, then one Newton step: < 2^-27 */
  t = _mm512_mul_ps(t, _mm512_fnmadd_ps(d, t, _mm512_set1_ps(2.0f)));
  __m512 p = _mm512_set1_ps(1.061405429f);
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-1.453152027f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(1.421413741f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-0.284496736f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.254829592f));
  const __m512 e = tw_exp512(_mm512_mul_ps(_mm512_sub_ps(_mm512_setzero_ps(), z), z));
  const __m512 half_erfc = _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), t), _mm512_mul_ps(p, e));
  /* Phi(x) = half_erfc for x < 0, else 1 - half_erfc */
  const __mmask16 neg = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
  const __m512 phi = _mm512_mask_blend_ps(neg, _mm512_sub_ps(_mm512_set1_ps(1.0f), half_erfc),
                                          half_erfc);
  return _mm512_mul_ps(x, phi);
}

/* 16 fp32 -> bf16, round to nearest even (finite values). */
static inline __m256i bf16x16(__m512 v) {
  const __m512i u = _mm512_castps_si512(v);
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
  const __m512i r = _mm512_add_epi32(_mm512_add_epi32(u, _mm512_set1_epi32(0x7fff)), lsb);
  return _mm512_cvtepi32_epi16(_mm512_srli_epi32(r, 16));
}

void tw_gelu_row_avx512(const float *x, size_t n, void *y, int y_bf16) {
  size_t j = 0;
  for (; j + 16 <= n; j += 16) {
    const __m512 g = gelu16(_mm512_loadu_ps(x + j));
    if (y_bf16) _mm256_storeu_si256((__m256i *)((uint16_t *)y + j), bf16x16(g));
    else _mm512_storeu_ps((float *)y + j, g);
  }
  if (j < n) {
    const __mmask16 k = (__mmask16)((1u << (n - j)) - 1);
    const __m512 g = gelu16(_mm512_maskz_loadu_ps(k, x + j));
    if (y_bf16) _mm256_mask_storeu_epi16((uint16_t *)y + j, k, bf16x16(g));
    else _mm512_mask_storeu_ps((float *)y + j, k, g);
  }
}
