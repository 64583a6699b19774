/* AVX512-BF16 fused attention for one block of queries (kernels/attention.h):
 * the structure of attention_avx512.c (vectorised across the block's
 * queries, online softmax per query vector), with both products on
 * VDPBF16PS, which adds the two products of a bf16 pair into each fp32
 * lane (exact products, fp32 sums):
 *   scores  S^T[j][i] = scale sum_p K[j][p] Q[i][p]: Q^T of the block as
 *           pair words Qp[p/2][i] = (Q[i][p], Q[i][p+1]), formed once; a key
 *           row rounded to bf16 in its own layout is a row of such pairs, so
 *           (K[j][p], K[j][p+1]) is one 32-bit broadcast.  The scores are
 *           kept in base 2 (times log2 e), so the exps are 2^x;
 *   P.V     O^T[c][i] += sum_j V[j][c] P[j][i]: the exps become key pairs
 *           Pp[j/2][i] = (P[j][i], P[j+1][i]) in place of the scores, and V
 *           comes as pairs Vp[j/2][c] = (V[j][c], V[j+1][c]), broadcast.
 * K and V are converted once per head by tw_attn_bf16_pack (not once per
 * block and tile): the head's 4 T d bytes are then read from L2 by every
 * block, where the fp32 rows, T strided 256-byte pieces at d = 64, crowd
 * a few L2 sets and come from L3 each time.  A tile with an odd key count
 * ends on a pair whose second key has P = 0 and V = 0.  Q, K, V and P are
 * rounded to bf16 (RNE, VCVTNE(2)PS2BF16), as the planned products round
 * them with bf16 activations; the scores, max, exps, sums and O stay fp32.
 * Values below 2^-126 are flushed to zero (by the conversion and by
 * VDPBF16PS; the exps are clamped at 2^-126, the smallest normal). */
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernels/attention.h"
#include "kernels/avx512/exp512.h"
#include "kernels/avx512/transpose16.h"

#define BQ TW_ATTN_BF16_BQ
#define BK TW_ATTN_BF16_BK
#define NV (BQ / 16)         /* zmm per vector of the block's queries */
#define RK (16 / NV)         /* keys per score pass, features per P.V pass */
#define HMAX (TW_ATTN_MAX_D / 2)

_Static_assert(BQ == 32 || BQ == 64, "BQ: 2 or 4 zmm per query vector");
_Static_assert(BK % 2 == 0, "tiles hold whole key pairs");

static inline __m512bh as_bh(__m512i x) { return (__m512bh)x; }

/* 16-bit lanes: (x[c], x[16 + c]) into word c, for c < 16. */
static inline __m512i pair_index(void) {
  static const uint16_t idx[32] = {0, 16, 1, 17, 2,  18, 3,  19, 4,  20, 5,  21, 6,  22, 7,  23,
                                   8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31};
  return _mm512_loadu_si512((const void *)idx);
}

/* Words (bf16 a[c], bf16 b[c]) for c < 16. */
static inline __m512i pairs16(__m512 a, __m512 b, __m512i idx) {
  return _mm512_permutexvar_epi16(idx, (__m512i)_mm512_cvtne2ps_pbh(b, a));
}

/* x[0:d) rounded to bf16 in place order: word w = (x[2w], x[2w+1]). */
static inline void row_bf16(const float *x, size_t d, uint32_t *w) {
  size_t p = 0;
  for (; p + 16 <= d; p += 16)
    _mm256_storeu_si256((void *)(w + p / 2), (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(x + p)));
  if (p < d) /* d % 16 == 8 */
    _mm_storeu_si128((void *)(w + p / 2), (__m128i)_mm256_cvtneps_pbh(_mm256_loadu_ps(x + p)));
}

/* Qp[p/2][i] for i < BQ (zero past nq: finite scores): per 16 queries and
 * 32 features, the rows rounded to bf16 are rows of 16 pair words, then
 * transposed. */
static void load_q(size_t nq, size_t d, const float *q, size_t ldq, uint32_t *qp) {
  for (size_t p0 = 0; p0 < d; p0 += 32) {
    const size_t cols = d - p0 < 32 ? d - p0 : 32; /* a multiple of 8 */
    const __mmask16 lo = (__mmask16)(cols >= 16 ? 0xffff : 0xff);
    const __mmask16 hi = (__mmask16)(cols == 32 ? 0xffff : cols == 24 ? 0xff : 0);
    for (size_t i0 = 0; i0 < BQ; i0 += 16) {
      __m512 r[16];
#pragma GCC unroll 16
      for (size_t i = 0; i < 16; i++) {
        r[i] = _mm512_setzero_ps();
        if (i0 + i < nq) {
          const float *row = q + (i0 + i) * ldq + p0;
          r[i] = (__m512)_mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(hi, row + 16),
                                             _mm512_maskz_loadu_ps(lo, row));
        }
      }
      tw_transpose16(r);
      for (size_t w = 0; w < cols / 2; w++) _mm512_store_ps(qp + (p0 / 2 + w) * BQ + i0, r[w]);
    }
  }
}

/* St[j][0:BQ] = scale2 sum_p K[j][p] Q[0:BQ][p] for j < nk (kb: the tile's
 * first key row; scale2 = scale log2(e): scores in base 2); mx = max(mx, St). */
static void tile_scores(size_t nk, size_t d, float scale2, const uint32_t *qp, const uint32_t *kb,
                        float *st, __m512 mx[NV]) {
  const size_t h = d / 2;
  const __m512 sc = _mm512_set1_ps(scale2);
  size_t j = 0;
  for (; j + RK <= nk; j += RK) {
    const uint32_t *kj = kb + j * h;
    __m512 acc[RK][NV];
#pragma GCC unroll 16
    for (int r = 0; r < RK; r++)
#pragma GCC unroll 4
      for (int u = 0; u < NV; u++) acc[r][u] = _mm512_setzero_ps();
    for (size_t pp = 0; pp < h; pp++) {
      __m512bh qv[NV];
#pragma GCC unroll 4
      for (int u = 0; u < NV; u++) qv[u] = as_bh(_mm512_load_si512(qp + pp * BQ + 16 * u));
#pragma GCC unroll 16
      for (int r = 0; r < RK; r++) {
        __m512bh b = as_bh(_mm512_set1_epi32((int)kj[(size_t)r * h + pp]));
#pragma GCC unroll 4
        for (int u = 0; u < NV; u++) acc[r][u] = _mm512_dpbf16_ps(acc[r][u], b, qv[u]);
      }
    }
#pragma GCC unroll 16
    for (int r = 0; r < RK; r++)
#pragma GCC unroll 4
      for (int u = 0; u < NV; u++) {
        __m512 s = _mm512_mul_ps(acc[r][u], sc);
        mx[u] = _mm512_max_ps(mx[u], s);
        _mm512_store_ps(st + (j + (size_t)r) * BQ + 16 * u, s);
      }
  }
  for (; j < nk; j++) {
    __m512 acc[NV];
#pragma GCC unroll 4
    for (int u = 0; u < NV; u++) acc[u] = _mm512_setzero_ps();
    for (size_t pp = 0; pp < h; pp++) {
      __m512bh b = as_bh(_mm512_set1_epi32((int)kb[j * h + pp]));
#pragma GCC unroll 4
      for (int u = 0; u < NV; u++)
        acc[u] = _mm512_dpbf16_ps(acc[u], b, as_bh(_mm512_load_si512(qp + pp * BQ + 16 * u)));
    }
#pragma GCC unroll 4
    for (int u = 0; u < NV; u++) {
      __m512 s = _mm512_mul_ps(acc[u], sc);
      mx[u] = _mm512_max_ps(mx[u], s);
      _mm512_store_ps(st + j * BQ + 16 * u, s);
    }
  }
}

/* The tile's scores become 2^(S - mx), summed per query into sum, and are
 * rewritten in place as key pairs: pair row q (BQ words) goes over score
 * row q, which has been read by then (rows 2q and 2q + 1 are read first). */
static void tile_exp(size_t nk, float *st, const __m512 mx[NV], __m512 sum[NV], __m512i idx) {
  void *pp = st;
  __m512 s[NV];
#pragma GCC unroll 4
  for (int u = 0; u < NV; u++) s[u] = _mm512_setzero_ps();
  for (size_t q = 0; q < (nk + 1) / 2; q++) {
    const int odd = 2 * q + 1 == nk; /* the last key has no partner */
    __m512i w[NV];
#pragma GCC unroll 4
    for (int u = 0; u < NV; u++) {
      __m512 a = tw_exp2_512(_mm512_sub_ps(_mm512_load_ps(st + 2 * q * BQ + 16 * u), mx[u]));
      __m512 b = odd ? _mm512_setzero_ps()
                     : tw_exp2_512(_mm512_sub_ps(_mm512_load_ps(st + (2 * q + 1) * BQ + 16 * u),
                                                 mx[u]));
      s[u] = _mm512_add_ps(s[u], _mm512_add_ps(a, b));
      w[u] = pairs16(a, b, idx);
    }
#pragma GCC unroll 4
    for (int u = 0; u < NV; u++) _mm512_store_si512((char *)pp + (q * BQ + 16 * u) * 4, w[u]);
  }
#pragma GCC unroll 4
  for (int u = 0; u < NV; u++) sum[u] = s[u];
}

void tw_attn_bf16_pack(size_t T, size_t d, const float *k, size_t ldk, const float *v,
                       size_t ldv, uint32_t *kb, uint32_t *vp) {
  const __m512i idx = pair_index();
  for (size_t j = 0; j < T; j++) row_bf16(k + j * ldk, d, kb + j * (d / 2));
  for (size_t q = 0; q < (T + 1) / 2; q++) {
    const int odd = 2 * q + 1 == T; /* the last key has no partner: zeros */
    const float *a = v + 2 * q * ldv, *b = odd ? a : a + ldv;
    uint32_t *w = vp + q * d;
    size_t c = 0;
    for (; c + 16 <= d; c += 16) {
      __m512 vb = odd ? _mm512_setzero_ps() : _mm512_loadu_ps(b + c);
      _mm512_storeu_si512((void *)(w + c), pairs16(_mm512_loadu_ps(a + c), vb, idx));
    }
    if (c < d) { /* d % 16 == 8 */
      __m512 vb = odd ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(0xff, b + c);
      _mm512_mask_storeu_epi32(w + c, 0xff, pairs16(_mm512_maskz_loadu_ps(0xff, a + c), vb, idx));
    }
  }
}

/* O^T[c][0:BQ] = alpha O^T[c][0:BQ] + sum_q Vp[q][c] . Pp[q][0:BQ], d % RK == 0. */
static void tile_pv(size_t np, size_t d, const void *pp, const uint32_t *vp,
                    const __m512 alpha[NV], float *ot) {
  for (size_t c0 = 0; c0 < d; c0 += RK) {
    __m512 acc[RK][NV];
#pragma GCC unroll 16
    for (int r = 0; r < RK; r++)
#pragma GCC unroll 4
      for (int u = 0; u < NV; u++)
        acc[r][u] = _mm512_mul_ps(alpha[u], _mm512_load_ps(ot + (c0 + (size_t)r) * BQ + 16 * u));
    for (size_t q = 0; q < np; q++) {
      __m512bh pv[NV];
#pragma GCC unroll 4
      for (int u = 0; u < NV; u++)
        pv[u] = as_bh(_mm512_load_si512((const char *)pp + (q * BQ + 16 * u) * 4));
      const uint32_t *vq = vp + q * d + c0;
#pragma GCC unroll 16
      for (int r = 0; r < RK; r++) {
        __m512bh b = as_bh(_mm512_set1_epi32((int)vq[r]));
#pragma GCC unroll 4
        for (int u = 0; u < NV; u++) acc[r][u] = _mm512_dpbf16_ps(acc[r][u], b, pv[u]);
      }
    }
#pragma GCC unroll 16
    for (int r = 0; r < RK; r++)
#pragma GCC unroll 4
      for (int u = 0; u < NV; u++) _mm512_store_ps(ot + (c0 + (size_t)r) * BQ + 16 * u, acc[r][u]);
  }
}

/* out[i][0:d) = O^T[0:d)[i] / l[i] for i < nq, 16 x 16 at a time. */
static void store_out(size_t nq, size_t d, const float *ot, const float *inv, float *out,
                      size_t ldo) {
  for (size_t i0 = 0; i0 < nq; i0 += 16) {
    const __m512 s = _mm512_load_ps(inv + i0);
    for (size_t c0 = 0; c0 < d; c0 += 16) {
      const __mmask16 m = (__mmask16)(d - c0 >= 16 ? 0xffff : 0xff); /* d % 16 == 8 */
      __m512 r[16];
#pragma GCC unroll 16
      for (size_t c = 0; c < 16; c++)
        r[c] = c0 + c < d ? _mm512_mul_ps(_mm512_load_ps(ot + (c0 + c) * BQ + i0), s)
                          : _mm512_setzero_ps();
      tw_transpose16(r);
      for (size_t i = 0; i < 16 && i0 + i < nq; i++)
        _mm512_mask_storeu_ps(out + (i0 + i) * ldo + c0, m, r[i]);
    }
  }
}

void tw_attn_block_avx512bf16(size_t nq, size_t T, size_t d, float scale, const float *q,
                              size_t ldq, const uint32_t *kb, const uint32_t *vp, float *out,
                              size_t ldo) {
  _Alignas(64) uint32_t qp[HMAX * BQ];
  _Alignas(64) float ot[TW_ATTN_MAX_D * BQ];
  _Alignas(64) float st[BK * BQ];
  const __m512i idx = pair_index();
  const float scale2 = scale * 1.44269504088896341f;
  load_q(nq, d, q, ldq, qp);
  memset(ot, 0, d * BQ * sizeof(float));
  __m512 m[NV], l[NV];
#pragma GCC unroll 4
  for (int u = 0; u < NV; u++) m[u] = _mm512_set1_ps(-INFINITY), l[u] = _mm512_setzero_ps();
  for (size_t j0 = 0; j0 < T; j0 += BK) {
    size_t nk = T - j0 < BK ? T - j0 : BK;
    __m512 n[NV], alpha[NV], s[NV];
#pragma GCC unroll 4
    for (int u = 0; u < NV; u++) n[u] = m[u];
    tile_scores(nk, d, scale2, qp, kb + j0 * (d / 2), st, n);
    /* the first tile's alpha is 2^-126 (m = -inf, clamped): l and O are 0 */
#pragma GCC unroll 4
    for (int u = 0; u < NV; u++) alpha[u] = tw_exp2_512(_mm512_sub_ps(m[u], n[u]));
    tile_exp(nk, st, n, s, idx);
#pragma GCC unroll 4
    for (int u = 0; u < NV; u++) l[u] = _mm512_fmadd_ps(l[u], alpha[u], s[u]), m[u] = n[u];
    tile_pv((nk + 1) / 2, d, st, vp + j0 / 2 * d, alpha, ot);
  }
  _Alignas(64) float inv[BQ];
#pragma GCC unroll 4
  for (int u = 0; u < NV; u++)
    _mm512_store_ps(inv + 16 * u, _mm512_div_ps(_mm512_set1_ps(1.0f), l[u]));
  store_out(nq, d, ot, inv, out, ldo);
}
