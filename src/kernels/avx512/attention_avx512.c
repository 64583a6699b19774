/* AVX-512 fused attention for one block of 32 queries (kernels/attention.h).
 * Everything is vectorised across the queries, so that no step needs a
 * horizontal reduction: the block's Q is transposed once (Qt[p][i], scale
 * folded in), each key tile's scores are computed as St[j][i] (8 keys x 32
 * queries in 16 accumulators, K read in its own row layout), the running
 * max, exps and sums are per-query vectors, and the output is kept
 * transposed, Ot[c][i] += V[j][c] * Pt[j][i] (8 features x 32 queries per
 * pass), then transposed back and divided by the sums once at the end.
 * Qt, St and Ot (16 KB each at d = 128) live on the stack, in L1. */
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "kernels/attention.h"
#include "kernels/avx512/exp512.h"

#define BQ TW_ATTN_BQ
#define BK TW_ATTN_BK

/* St[j][0:32] = sum_p K[j][p] Qt[p][0:32] for j < nk. */
static void tile_scores(size_t nk, size_t d, const float *qt, const float *k, size_t ldk,
                        float *st) {
  size_t j = 0;
  for (; j + 8 <= nk; j += 8) {
    __m512 acc[8][2];
#pragma GCC unroll 8
    for (int r = 0; r < 8; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    const float *kj = k + j * ldk;
    for (size_t p = 0; p < d; p++) {
      __m512 q0 = _mm512_load_ps(qt + p * BQ), q1 = _mm512_load_ps(qt + p * BQ + 16);
#pragma GCC unroll 8
      for (int r = 0; r < 8; r++) {
        __m512 b = _mm512_set1_ps(kj[(size_t)r * ldk + p]);
        acc[r][0] = _mm512_fmadd_ps(b, q0, acc[r][0]);
        acc[r][1] = _mm512_fmadd_ps(b, q1, acc[r][1]);
      }
    }
#pragma GCC unroll 8
    for (int r = 0; r < 8; r++) {
      _mm512_store_ps(st + (j + (size_t)r) * BQ, acc[r][0]);
      _mm512_store_ps(st + (j + (size_t)r) * BQ + 16, acc[r][1]);
    }
  }
  for (; j < nk; j++) {
    __m512 a0 = _mm512_setzero_ps(), a1 = a0;
    for (size_t p = 0; p < d; p++) {
      __m512 b = _mm512_set1_ps(k[j * ldk + p]);
      a0 = _mm512_fmadd_ps(b, _mm512_load_ps(qt + p * BQ), a0);
      a1 = _mm512_fmadd_ps(b, _mm512_load_ps(qt + p * BQ + 16), a1);
    }
    _mm512_store_ps(st + j * BQ, a0);
    _mm512_store_ps(st + j * BQ + 16, a1);
  }
}

/* Ot[c][0:32] = alpha Ot[c][0:32] + sum_j V[j][c] Pt[j][0:32], d % 8 == 0. */
static void tile_pv(size_t nk, size_t d, const float *pt, const float *v, size_t ldv,
                    __m512 alpha0, __m512 alpha1, float *ot) {
  for (size_t c0 = 0; c0 < d; c0 += 8) {
    __m512 acc[8][2];
#pragma GCC unroll 8
    for (int r = 0; r < 8; r++) {
      acc[r][0] = _mm512_mul_ps(alpha0, _mm512_load_ps(ot + (c0 + (size_t)r) * BQ));
      acc[r][1] = _mm512_mul_ps(alpha1, _mm512_load_ps(ot + (c0 + (size_t)r) * BQ + 16));
    }
    for (size_t j = 0; j < nk; j++) {
      __m512 p0 = _mm512_load_ps(pt + j * BQ), p1 = _mm512_load_ps(pt + j * BQ + 16);
      const float *vj = v + j * ldv + c0;
#pragma GCC unroll 8
      for (int r = 0; r < 8; r++) {
        __m512 b = _mm512_set1_ps(vj[r]);
        acc[r][0] = _mm512_fmadd_ps(b, p0, acc[r][0]);
        acc[r][1] = _mm512_fmadd_ps(b, p1, acc[r][1]);
      }
    }
#pragma GCC unroll 8
    for (int r = 0; r < 8; r++) {
      _mm512_store_ps(ot + (c0 + (size_t)r) * BQ, acc[r][0]);
      _mm512_store_ps(ot + (c0 + (size_t)r) * BQ + 16, acc[r][1]);
    }
  }
}

/* The scores of a tile become exps against the new running max; returns
 * their per-query sums in *s0, *s1. */
static void tile_exp(size_t nk, float *st, __m512 m0, __m512 m1, __m512 *s0, __m512 *s1) {
  __m512 a0 = _mm512_setzero_ps(), a1 = a0;
  for (size_t j = 0; j < nk; j++) {
    __m512 e0 = tw_exp512(_mm512_sub_ps(_mm512_load_ps(st + j * BQ), m0));
    __m512 e1 = tw_exp512(_mm512_sub_ps(_mm512_load_ps(st + j * BQ + 16), m1));
    _mm512_store_ps(st + j * BQ, e0);
    _mm512_store_ps(st + j * BQ + 16, e1);
    a0 = _mm512_add_ps(a0, e0);
    a1 = _mm512_add_ps(a1, e1);
  }
  *s0 = a0;
  *s1 = a1;
}

void tw_attn_block_avx512(size_t nq, size_t T, size_t d, float scale, const float *q, size_t ldq,
                          const float *k, size_t ldk, const float *v, size_t ldv, float *out,
                          size_t ldo) {
  _Alignas(64) float qt[TW_ATTN_MAX_D * BQ];
  _Alignas(64) float ot[TW_ATTN_MAX_D * BQ];
  _Alignas(64) float st[BK * BQ];
  for (size_t p = 0; p < d; p++) /* padding queries are zero: finite scores */
    for (size_t i = 0; i < BQ; i++) qt[p * BQ + i] = i < nq ? scale * q[i * ldq + p] : 0.0f;
  memset(ot, 0, d * BQ * sizeof(float));
  __m512 m0 = _mm512_set1_ps(-INFINITY), m1 = m0, l0 = _mm512_setzero_ps(), l1 = l0;
  for (size_t j0 = 0; j0 < T; j0 += BK) {
    size_t nk = T - j0 < BK ? T - j0 : BK;
    tile_scores(nk, d, qt, k + j0 * ldk, ldk, st);
    __m512 n0 = m0, n1 = m1;
    for (size_t j = 0; j < nk; j++) {
      n0 = _mm512_max_ps(n0, _mm512_load_ps(st + j * BQ));
      n1 = _mm512_max_ps(n1, _mm512_load_ps(st + j * BQ + 16));
    }
    /* the first tile's alpha is e^-87 (m = -inf, clamped): l and Ot are 0 */
    __m512 alpha0 = tw_exp512(_mm512_sub_ps(m0, n0)), alpha1 = tw_exp512(_mm512_sub_ps(m1, n1));
    __m512 s0, s1;
    tile_exp(nk, st, n0, n1, &s0, &s1);
    l0 = _mm512_fmadd_ps(l0, alpha0, s0);
    l1 = _mm512_fmadd_ps(l1, alpha1, s1);
    tile_pv(nk, d, st, v + j0 * ldv, ldv, alpha0, alpha1, ot);
    m0 = n0;
    m1 = n1;
  }
  _Alignas(64) float inv[BQ];
  _mm512_store_ps(inv, _mm512_div_ps(_mm512_set1_ps(1.0f), l0));
  _mm512_store_ps(inv + 16, _mm512_div_ps(_mm512_set1_ps(1.0f), l1));
  for (size_t i = 0; i < nq; i++)
    for (size_t c = 0; c < d; c++) out[i * ldo + c] = ot[c * BQ + i] * inv[i];
}
