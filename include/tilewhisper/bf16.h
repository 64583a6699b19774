/* bfloat16: the top 16 bits of an IEEE-754 binary32.
 *
 * fp32 -> bf16 rounds to nearest, ties to even; NaN stays NaN (made quiet,
 * sign kept); values past the largest finite bf16 round to infinity;
 * subnormals round like any other value; -0 stays -0. */
#ifndef TILEWHISPER_BF16_H
#define TILEWHISPER_BF16_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tilewhisper/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef uint16_t tw_bf16;

static inline tw_bf16 tw_fp32_to_bf16(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  if ((u & 0x7fffffffu) > 0x7f800000u) /* NaN: keep sign and payload top, force quiet */
    return (tw_bf16)((u >> 16) | 0x0040u);
  /* Adding 0x7fff plus the lsb of the kept half rounds to nearest even; a
   * carry out of the mantissa correctly bumps the exponent, up to inf. */
  u += 0x7fffu + ((u >> 16) & 1u);
  return (tw_bf16)(u >> 16);
}

static inline float tw_bf16_to_fp32(tw_bf16 h) {
  uint32_t u = (uint32_t)h << 16;
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

/* fp32 rounded to the nearest bf16, returned as fp32. */
static inline float tw_round_bf16(float f) { return tw_bf16_to_fp32(tw_fp32_to_bf16(f)); }

/* Bulk conversions; vectorized where the CPU allows.  n may be 0. */
TW_API void tw_fp32_to_bf16_n(const float *src, tw_bf16 *dst, size_t n);
TW_API void tw_bf16_to_fp32_n(const tw_bf16 *src, float *dst, size_t n);

#ifdef __cplusplus
}
#endif
#endif
