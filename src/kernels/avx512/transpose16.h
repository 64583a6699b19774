/* 16x16 transpose of 32-bit lanes in registers, for the avx512 kernels. */
#ifndef TW_KERNELS_AVX512_TRANSPOSE16_H
#define TW_KERNELS_AVX512_TRANSPOSE16_H

#include <immintrin.h>

/* r[0..15] rows -> r[c] = column c. */
static inline void tw_transpose16(__m512 r[16]) {
  __m512 t[16], u[16];
  for (int i = 0; i < 8; i++) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; i++) {
    __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 1]);
    __m512d c = _mm512_castps_pd(t[4 * i + 2]), d = _mm512_castps_pd(t[4 * i + 3]);
    u[4 * i + 0] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
    u[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
    u[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
    u[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
  }
  for (int j = 0; j < 4; j++) {
    __m512 w0 = _mm512_shuffle_f32x4(u[j], u[4 + j], 0x44);
    __m512 w1 = _mm512_shuffle_f32x4(u[j], u[4 + j], 0xee);
    __m512 x0 = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0x44);
    __m512 x1 = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0xee);
    r[0 + j] = _mm512_shuffle_f32x4(w0, x0, 0x88);
    r[4 + j] = _mm512_shuffle_f32x4(w0, x0, 0xdd);
    r[8 + j] = _mm512_shuffle_f32x4(w1, x1, 0x88);
    r[12 + j] = _mm512_shuffle_f32x4(w1, x1, 0xdd);
  }
}

#endif
