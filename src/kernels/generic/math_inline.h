/* Scalar fp32 helpers written so that loops over them vectorize (branch
 * free, bit operations through memcpy), shared by the portable element-wise
 * kernels and the encoder's ops (src/whisper/ops.c); TW_CLONES adds
 * AVX-512 and AVX2 bodies of a function, chosen at load time. */
#ifndef TW_KERNELS_GENERIC_MATH_INLINE_H
#define TW_KERNELS_GENERIC_MATH_INLINE_H

#include <stdint.h>
#include <string.h>

#include "tilewhisper/bf16.h"

/* No clones under ThreadSanitizer: their load-time resolvers would run
 * instrumented before the sanitizer is initialised. */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__) && !defined(__SANITIZE_THREAD__)
#define TW_CLONES __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
#else
#define TW_CLONES
#endif

static inline float tw_f32_from_bits(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

static inline uint32_t tw_bits_of(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}

/* fp32 -> bf16, round to nearest even, for finite values only. */
static inline tw_bf16 tw_bf16_finite(float f) {
  uint32_t u = tw_bits_of(f);
  return (tw_bf16)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

/* e^x for x <= 0 (arguments below -87 give ~1e-38 instead of less).  Split
 * x = n ln2 + r with |r| <= ln2 / 2 (n rounded by the 1.5 * 2^23 trick,
 * ln2 in two parts), e^r = 1 + r + r^2 P(r) with the degree-5 P of Cephes'
 * expf, 2^n added into the exponent bits.  Relative error ~2e-7. */
static inline float tw_exp_nonpos(float x) {
  /* clamp to -87 as an unsigned compare of the bits (a float compare would
   * keep the loop from vectorizing): for x <= 0, larger bits = more negative */
  const uint32_t xb = tw_bits_of(x);
  x = tw_f32_from_bits(xb > 0xc2ae0000u ? 0xc2ae0000u : xb);
  const float shifted = x * 1.44269504088896341f + 12582912.0f;
  const float n = shifted - 12582912.0f;
  const uint32_t n_bits = tw_bits_of(shifted) - 0x4b400000u; /* n as two's complement */
  float r = x - n * 0.693359375f;
  r = r + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  return tw_f32_from_bits(tw_bits_of(p) + (n_bits << 23));
}

/* x (1 + erf(x / sqrt 2)) / 2 with erfc(z) = t P(t) e^{-z^2}, t = 1 / (1 + p z)
 * (Abramowitz & Stegun 7.1.26, |error| <= 1.5e-7 on erf, so the GELU is
 * within 1e-7 |x| of exact: the erf GELU at fp32 precision, not the tanh
 * approximation). */
static inline float tw_gelu_f32(float x) {
  const uint32_t xb = tw_bits_of(x), negative = 0u - (xb >> 31); /* all ones if x < 0 */
  /* z clamped at 6.4 (|x| 9.05), as an unsigned compare of the bits (see
   * tw_exp_nonpos): beyond it half_erfc < 1e-19, and unclamped it ends in
   * subnormal products, each a microcode assist */
  const uint32_t ab = xb & 0x7fffffffu;
  const float z = tw_f32_from_bits(ab > 0x4110cccdu ? 0x4110cccdu : ab) * 0.70710678118654752f;
  const float t = 1.0f / (1.0f + 0.3275911f * z);
  float p = 1.061405429f;
  p = p * t - 1.453152027f;
  p = p * t + 1.421413741f;
  p = p * t - 0.284496736f;
  p = p * t + 0.254829592f;
  const float half_erfc = 0.5f * t * p * tw_exp_nonpos(-z * z);
  /* Phi(x) = half_erfc for x < 0, else 1 - half_erfc (selected bitwise) */
  const uint32_t phi = (tw_bits_of(half_erfc) & negative) | (tw_bits_of(1.0f - half_erfc) & ~negative);
  return x * tw_f32_from_bits(phi);
}

#endif
