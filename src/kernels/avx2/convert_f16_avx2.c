/* IEEE binary16 -> binary32 with F16C (exact; NaN payloads kept). */
#include <immintrin.h>

#include "kernels/ukernel.h"

void tw_f16_to_f32_n_avx2(const uint16_t *src, float *dst, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
  if (i < n) {
    uint16_t h[8] = {0};
    float f[8];
    for (size_t j = 0; j < n - i; j++) h[j] = src[i + j];
    _mm256_storeu_ps(f, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)h)));
    for (size_t j = 0; j < n - i; j++) dst[i + j] = f[j];
  }
}
