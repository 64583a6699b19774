/* The erf GELU on 16 lanes: the formula of src/whisper/ops.c's gelu()
 * (Abramowitz & Stegun 7.1.26: erfc(z) = t P(t) e^{-z^2}, t = 1 / (1 + p z),
 * |error| <= 1.5e-7 on erf), with t from VRCP14PS and one Newton step
 * instead of a division (VDIVPS issues about once per 16 cycles for 16
 * lanes on the Xeons here: half the time of the auto-vectorised loop) and
 * e^{-z^2} as 2^{-y^2} by tw_exp2_512: 26 vector operations per 16 lanes.
 * With AMX products the epilogue costs about what mlp.0's product does, so
 * each operation counts.  bf16 output is rounded with integer operations
 * (AVX-512 F only: the avx512 kernel set runs where AVX512-BF16 is
 * absent). */
#include <immintrin.h>
#include <stdint.h>

#include "kernels/avx512/exp512.h"
#include "kernels/elementwise.h"

static inline __m512 gelu16(__m512 x) {
  /* |x| clamped at 9: beyond it erfc(|x| / sqrt 2) / 2 < 1.2e-19 (so the
   * clamp moves GELU by less than 1.2e-19 |x|), and unclamped it ends in
   * subnormal products, each a microcode assist: a 1500 x 512 x 2048
   * product with GELU took 15-23 ms instead of 4 when its outputs were
   * large (|x| of tens) */
  const __m512 ax = _mm512_min_ps(_mm512_abs_ps(x), _mm512_set1_ps(9.0f));
  /* t = 1 / (1 + p z), z = |x| / sqrt(2) folded into the coefficient */
  const __m512 d = _mm512_fmadd_ps(ax, _mm512_set1_ps(0.3275911f * 0.70710678118654752f),
                                   _mm512_set1_ps(1.0f));
  __m512 t = _mm512_rcp14_ps(d); /* relative error < 2^-14, then one Newton step: < 2^-27 */
  t = _mm512_mul_ps(t, _mm512_fnmadd_ps(d, t, _mm512_set1_ps(2.0f)));
  /* A&S's coefficients halved: h = t P(t) e^{-z^2} / 2 = erfc(z) / 2 */
  __m512 p = _mm512_set1_ps(0.5f * 1.061405429f);
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.5f * -1.453152027f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.5f * 1.421413741f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.5f * -0.284496736f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.5f * 0.254829592f));
  /* e^{-z^2} = 2^{-y^2}, y = x sqrt(log2(e) / 2): the base-2 exp is five
   * operations fewer than tw_exp512 */
  const __m512 y = _mm512_mul_ps(ax, _mm512_set1_ps(0.84932180028801907f));
  const __m512 e = tw_exp2_512(_mm512_fnmadd_ps(y, y, _mm512_setzero_ps()));
  const __m512 h = _mm512_mul_ps(_mm512_mul_ps(p, t), e);
  /* GELU = x Phi(x), Phi(x) = h for x < 0, else 1 - h: x h, or x - x h */
  const __m512 xh = _mm512_mul_ps(x, h);
  const __mmask16 nonneg = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GE_OQ);
  return _mm512_mask_sub_ps(xh, nonneg, x, xh);
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
