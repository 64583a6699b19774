/* AVX2 packing of one 6-row A panel (docs/microkernel.md): 8 columns at a
 * time, the 6 rows (plus two zero rows) are loaded, rounded to bf16 if asked
 * (RNE, NaN kept quiet, as tw_fp32_to_bf16), transposed 8x8 in registers and
 * stored as 8 groups of 6: each group with an 8-wide store whose last two
 * lanes the next group overwrites, the last group with a masked store. */
#include <immintrin.h>
#include <string.h>

#include "kernels/ukernel.h"

#define MR 6

static inline __m256 round_bf16(__m256 x) {
  __m256i u = _mm256_castps_si256(x);
  __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
  __m256i r = _mm256_add_epi32(_mm256_add_epi32(u, _mm256_set1_epi32(0x7fff)), lsb);
  __m256i q = _mm256_or_si256(u, _mm256_set1_epi32(0x00400000));
  __m256 nan = _mm256_cmp_ps(x, x, _CMP_UNORD_Q);
  r = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(r), _mm256_castsi256_ps(q), nan));
  return _mm256_castsi256_ps(_mm256_and_si256(r, _mm256_set1_epi32((int)0xffff0000u)));
}

/* r[0..7] rows -> r[c] = column c. */
static inline void transpose8(__m256 r[8]) {
  __m256 t[8], u[8];
  for (int i = 0; i < 4; i++) {
    t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 2; i++) {
    u[4 * i + 0] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
    u[4 * i + 1] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0xee);
    u[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
    u[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xee);
  }
  for (int j = 0; j < 4; j++) {
    r[j] = _mm256_permute2f128_ps(u[j], u[4 + j], 0x20);
    r[4 + j] = _mm256_permute2f128_ps(u[j], u[4 + j], 0x31);
  }
}

void tw_pack_a_avx2_6(const void *a, int a_bf16, size_t lda, int round, size_t rows, size_t kc,
                      float *dst) {
  const __m256i last_mask = _mm256_setr_epi32(-1, -1, -1, -1, -1, -1, 0, 0);
  for (size_t p = 0; p < kc; p += 8) {
    size_t cols = kc - p < 8 ? kc - p : 8;
    __m256 r[8];
    for (size_t i = 0; i < 8; i++) {
      if (i >= rows) {
        r[i] = _mm256_setzero_ps();
      } else if (a_bf16) {
        uint16_t h[8] = {0};
        memcpy(h, (const uint16_t *)a + i * lda + p, cols * sizeof h[0]);
        __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)h));
        r[i] = _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
      } else {
        const float *row = (const float *)a + i * lda + p;
        if (cols == 8) {
          r[i] = _mm256_loadu_ps(row);
        } else {
          float f[8] = {0};
          memcpy(f, row, cols * sizeof f[0]);
          r[i] = _mm256_loadu_ps(f);
        }
        if (round) r[i] = round_bf16(r[i]);
      }
    }
    transpose8(r);
    for (size_t c = 0; c + 1 < cols; c++) _mm256_storeu_ps(dst + (p + c) * MR, r[c]);
    _mm256_maskstore_ps(dst + (p + cols - 1) * MR, last_mask, r[cols - 1]);
  }
}
