/* AMX fused attention for one block of queries (kernels/attention.h): both
 * products on the tile unit (TDPBF16PS: the two exact products of a bf16
 * pair added into each fp32 element), the online softmax between them on
 * AVX-512.  Per tile of BK keys:
 *   scores  S[i][j] = Q[i] . K[j]: the block's Q rounded to bf16 row by row
 *           (qb, features padded to a multiple of 32) is the A operand as
 *           it stands; K comes packed per head (tw_attn_amx_pack) as B
 *           tiles of 16 feature pairs x 16 keys, 1 KiB each and contiguous.
 *           The fp32 score tiles go to st, a query per row;
 *   softmax per query row: the scores times scale log2(e) (base 2, so the
 *           exps are 2^x), the row's max over the tile, the new running max
 *           m', alpha = 2^(m - m'), P = 2^(x - m') rounded to bf16 into pb
 *           (the A operand of the next product; zero past the last key),
 *           the per-lane running sums l = alpha l + P and the row of O
 *           scaled by alpha when the max grew;
 *   P.V     O += P V: O (fp32, a query per row) is loaded into C tiles,
 *           accumulated over the tile's keys 32 at a time with V packed
 *           per head as B tiles of 16 key pairs x 16 features, stored back.
 * K and V are packed once per head, padded with zero keys (and zero
 * features past d) to whole tiles, so the tile loads never read past the
 * buffers and padded keys, whose P is 0, add nothing (0 x 0, never 0 x
 * garbage).  Numerics as the VDPBF16PS kernel: Q, K, V and P rounded to
 * bf16 (RNE), scores, max, exps, sums and O fp32, values below 2^-126
 * flushed to zero.  Tiles stay configured after a call (amx.h). */
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernels/amx/amx.h"
#include "kernels/attention.h"
#include "kernels/avx512/exp512.h"
#include "kernels/avx512/transpose16.h"

#define BQ TW_ATTN_AMX_BQ
#define BK TW_ATTN_AMX_BK
#define RT (BQ / 16) /* row tiles of queries */
#define NV (BK / 16) /* zmm per score row of a key tile */

_Static_assert(BQ == 32 || BQ == 64, "BQ: 2 or 4 row tiles");
_Static_assert(BK % 32 == 0 && BK <= 256, "key tiles of whole 32-key steps");
_Static_assert(TW_ATTN_MAX_D % 32 == 0, "qb rows of whole 32-feature steps");

/* Every tile 16 rows of 64 bytes: A (16 x 32 bf16), B (16 pairs x 16 words)
 * and C (16 x 16 fp32) alike.  The same shape as the GEMM's tiles, but a
 * configuration of its own: a call reconfigures when the thread's tiles
 * last ran the other kernel (once per task, not per tile). */
static const tw_amx_cfg cfg_attn = {
    .palette = 1,
    .colsb = {64, 64, 64, 64, 64, 64, 64, 64},
    .rows = {16, 16, 16, 16, 16, 16, 16, 16},
};

static inline size_t dpad_of(size_t d) { return (d + 31) / 32 * 32; }

size_t tw_attn_amx_k_words(size_t T, size_t d) { return (T + 15) / 16 * 16 * (dpad_of(d) / 2); }

size_t tw_attn_amx_pack_words(size_t T, size_t d) {
  return tw_attn_amx_k_words(T, d) + (T + 31) / 32 * 16 * d;
}

/* 16-bit lanes: (x[c], x[16 + c]) into word c, for c < 16. */
static inline __m512i pair_index(void) {
  static const uint16_t idx[32] = {0, 16, 1, 17, 2,  18, 3,  19, 4,  20, 5,  21, 6,  22, 7,  23,
                                   8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31};
  return _mm512_loadu_si512((const void *)idx);
}

/* 32 fp32 from x (n of them, zeros after) as 32 bf16, RNE. */
static inline __m512i bf16_32(const float *x, size_t n) {
  const __mmask16 lo = (__mmask16)(n >= 16 ? 0xffff : (1u << n) - 1);
  const __mmask16 hi = (__mmask16)(n >= 32 ? 0xffff : n > 16 ? (1u << (n - 16)) - 1 : 0);
  return (__m512i)_mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(hi, x + 16),
                                      _mm512_maskz_loadu_ps(lo, x));
}

/* K as B tiles: per group g of 16 keys and step s of 32 features, 16 rows
 * (feature pairs w) of 16 words (keys n), word = (K[16g+n][32s+2w],
 * K[16g+n][32s+2w+1]): a key's 32 features rounded to bf16 are its 16 pair
 * words, and a 16 x 16 transpose turns keys into columns.  V as B tiles:
 * per step kk of 32 keys and group ct of 16 features, 16 rows (key pairs
 * w) of 16 words (features c) = (V[32kk+2w][16ct+c], V[32kk+2w+1][16ct+c]). */
void tw_attn_amx_pack(size_t T, size_t d, const float *k, size_t ldk, const float *v, size_t ldv,
                      uint32_t *kp, uint32_t *vp) {
  const size_t steps = dpad_of(d) / 32, groups = (T + 15) / 16;
  for (size_t g = 0; g < groups; g++)
    for (size_t s = 0; s < steps; s++) {
      __m512 r[16];
      const size_t cols = d - 32 * s < 32 ? d - 32 * s : 32;
#pragma GCC unroll 16
      for (size_t n = 0; n < 16; n++)
        r[n] = 16 * g + n < T ? (__m512)bf16_32(k + (16 * g + n) * ldk + 32 * s, cols)
                              : _mm512_setzero_ps();
      tw_transpose16(r);
      float *dst = (float *)(void *)(kp + (g * steps + s) * 256);
      for (size_t w = 0; w < 16; w++) _mm512_storeu_ps(dst + 16 * w, r[w]);
    }
  const __m512i idx = pair_index();
  const size_t ct_n = d / 16;
  for (size_t kk = 0; kk < (T + 31) / 32; kk++)
    for (size_t ct = 0; ct < ct_n; ct++) {
      uint32_t *dst = vp + (kk * ct_n + ct) * 256;
      for (size_t w = 0; w < 16; w++) {
        const size_t j = 32 * kk + 2 * w;
        __m512 a = j < T ? _mm512_loadu_ps(v + j * ldv + 16 * ct) : _mm512_setzero_ps();
        __m512 b = j + 1 < T ? _mm512_loadu_ps(v + (j + 1) * ldv + 16 * ct) : _mm512_setzero_ps();
        __m512i wv = _mm512_permutexvar_epi16(idx, (__m512i)_mm512_cvtne2ps_pbh(b, a));
        _mm512_storeu_si512((void *)(dst + 16 * w), wv);
      }
    }
}

/* st[r rows][16 keys] for the key group at kg (n key groups), all row tiles
 * (the block's first `rt`), accumulated over the feature steps: C tiles
 * 0..3 (row tiles), A tiles 5-7 in turn, B tile 4. */
static inline void tile_scores(size_t groups, size_t steps, const uint16_t *qb, size_t dpad,
                               const uint32_t *kg, float *st, int rt) {
  const size_t lda = dpad * 2, lds = BK * sizeof(float);
  for (size_t n = 0; n < groups; n++) {
    _tile_zero(0);
    if (rt > 1) _tile_zero(1);
#if RT > 2
    if (rt > 2) _tile_zero(2);
    if (rt > 3) _tile_zero(3);
#endif
    for (size_t s = 0; s < steps; s++) {
      const uint16_t *a = qb + 32 * s;
      _tile_loadd(4, kg + (n * steps + s) * 256, 64);
      _tile_loadd(5, a, lda);
      _tile_dpbf16ps(0, 5, 4);
      if (rt > 1) {
        _tile_loadd(6, a + 16 * dpad, lda);
        _tile_dpbf16ps(1, 6, 4);
      }
#if RT > 2
      if (rt > 2) {
        _tile_loadd(7, a + 32 * dpad, lda);
        _tile_dpbf16ps(2, 7, 4);
      }
      if (rt > 3) {
        _tile_loadd(5, a + 48 * dpad, lda);
        _tile_dpbf16ps(3, 5, 4);
      }
#endif
    }
    _tile_stored(0, st + 16 * n, lds);
    if (rt > 1) _tile_stored(1, st + 16 * BK + 16 * n, lds);
#if RT > 2
    if (rt > 2) _tile_stored(2, st + 32 * BK + 16 * n, lds);
    if (rt > 3) _tile_stored(3, st + 48 * BK + 16 * n, lds);
#endif
  }
}

/* Query row i's softmax step over a tile of nk keys (scores at x, BK of
 * room, those past nk not read): the row max, the new running max *m,
 * P = 2^(scale2 x - *m) as bf16 into p (BK of them, zero past nk), lane
 * sums into
 * *l (scaled by alpha first), and the row of O scaled by alpha when the
 * max grew.  Inlined with nk = BK for whole tiles. */
static inline __attribute__((always_inline)) void softmax_row(size_t nk, float scale2,
                                                              const float *x, uint16_t *p,
                                                              float *m, __m512 *l, float *o,
                                                              size_t d) {
  const __m512 sc = _mm512_set1_ps(scale2);
  __mmask16 k[NV];
#pragma GCC unroll 16
  for (size_t u = 0; u < NV; u++)
    k[u] = (__mmask16)(nk >= 16 * u + 16 ? 0xffff : nk > 16 * u ? (1u << (nk - 16 * u)) - 1 : 0);
  __m512 s[NV], mx = _mm512_set1_ps(-INFINITY);
#pragma GCC unroll 16
  for (size_t u = 0; u < NV; u++) {
    s[u] = _mm512_mul_ps(_mm512_maskz_load_ps(k[u], x + 16 * u), sc);
    mx = _mm512_mask_max_ps(mx, k[u], mx, s[u]);
  }
  const float mold = *m, mnew = fmaxf(mold, _mm512_reduce_max_ps(mx));
  const __m512 mv = _mm512_set1_ps(mnew);
  __m512 sum = _mm512_setzero_ps(), e[NV];
#pragma GCC unroll 16
  for (size_t u = 0; u < NV; u++) {
    e[u] = _mm512_maskz_mov_ps(k[u], tw_exp2_512(_mm512_sub_ps(s[u], mv)));
    sum = _mm512_add_ps(sum, e[u]);
  }
#pragma GCC unroll 8
  for (size_t u = 0; u < NV; u += 2)
    _mm512_store_si512((void *)(p + 16 * u), (__m512i)_mm512_cvtne2ps_pbh(e[u + 1], e[u]));
  if (mnew != mold) {
    /* the first tile: m = -inf, alpha = 2^-126 (clamped) times l = 0 and O = 0 */
    const __m512 alpha = tw_exp2_512(_mm512_set1_ps(mold - mnew));
    *l = _mm512_fmadd_ps(*l, alpha, sum);
    for (size_t c = 0; c < d; c += 16)
      _mm512_storeu_ps(o + c, _mm512_mul_ps(_mm512_loadu_ps(o + c), alpha));
    *m = mnew;
  } else {
    *l = _mm512_add_ps(*l, sum);
  }
}

/* O[rows of row tile r][0:d) += P[r rows][0:32 ksteps) V: C tiles 0-3 (up
 * to four groups of 16 features at a time), A tile 4, B tiles 5-7 in turn.
 * vk: the tile's first V step; ct_n = d/16. */
static inline void tile_pv(size_t ksteps, const uint16_t *pr, const uint32_t *vk, size_t ct_n,
                           float *orow, size_t d) {
  const size_t ldo = d * sizeof(float), ldp = BK * 2;
  for (size_t c0 = 0; c0 < ct_n; c0 += 4) {
    const size_t nc = ct_n - c0 < 4 ? ct_n - c0 : 4;
    float *o = orow + 16 * c0;
    _tile_loadd(0, o, ldo);
    if (nc > 1) _tile_loadd(1, o + 16, ldo);
    if (nc > 2) _tile_loadd(2, o + 32, ldo);
    if (nc > 3) _tile_loadd(3, o + 48, ldo);
    for (size_t kk = 0; kk < ksteps; kk++) {
      const uint32_t *b = vk + (kk * ct_n + c0) * 256;
      _tile_loadd(4, pr + 32 * kk, ldp);
      _tile_loadd(5, b, 64);
      _tile_dpbf16ps(0, 4, 5);
      if (nc > 1) {
        _tile_loadd(6, b + 256, 64);
        _tile_dpbf16ps(1, 4, 6);
      }
      if (nc > 2) {
        _tile_loadd(7, b + 512, 64);
        _tile_dpbf16ps(2, 4, 7);
      }
      if (nc > 3) {
        _tile_loadd(5, b + 768, 64);
        _tile_dpbf16ps(3, 4, 5);
      }
    }
    _tile_stored(0, o, ldo);
    if (nc > 1) _tile_stored(1, o + 16, ldo);
    if (nc > 2) _tile_stored(2, o + 32, ldo);
    if (nc > 3) _tile_stored(3, o + 48, ldo);
  }
}

void tw_attn_block_amx(size_t nq, size_t T, size_t d, float scale, const float *q, size_t ldq,
                       const uint32_t *kp, const uint32_t *vp, float *out, size_t ldo) {
  tw_amx_configure(&cfg_attn);
  _Alignas(64) uint16_t qb[BQ * TW_ATTN_MAX_D];
  _Alignas(64) float st[BQ * BK];
  _Alignas(64) uint16_t pb[BQ * BK];
  _Alignas(64) float o[BQ * TW_ATTN_MAX_D];
  const size_t dpad = dpad_of(d), steps = dpad / 32, ct_n = d / 16;
  const int rt = (int)((nq + 15) / 16);
  const size_t rows = 16 * (size_t)rt; /* rows past nq: Q = 0, P = 0, not stored */
  const float scale2 = scale * 1.44269504088896341f;
  for (size_t i = 0; i < rows; i++)
    for (size_t p0 = 0; p0 < dpad; p0 += 32) {
      const size_t n = i < nq && p0 < d ? (d - p0 < 32 ? d - p0 : 32) : 0;
      _mm512_store_si512((void *)(qb + i * dpad + p0), bf16_32(q + i * ldq + p0, n));
    }
  memset(o, 0, rows * d * sizeof(float));
  memset(pb + nq * BK, 0, (rows - nq) * BK * sizeof(uint16_t));
  float m[BQ];
  __m512 l[BQ];
  for (size_t i = 0; i < nq; i++) m[i] = -INFINITY, l[i] = _mm512_setzero_ps();
  for (size_t j0 = 0; j0 < T; j0 += BK) {
    const size_t nk = T - j0 < BK ? T - j0 : BK;
    tile_scores((nk + 15) / 16, steps, qb, dpad, kp + j0 / 16 * steps * 256, st, rt);
    if (nk == BK)
      for (size_t i = 0; i < nq; i++)
        softmax_row(BK, scale2, st + i * BK, pb + i * BK, &m[i], &l[i], o + i * d, d);
    else
      for (size_t i = 0; i < nq; i++)
        softmax_row(nk, scale2, st + i * BK, pb + i * BK, &m[i], &l[i], o + i * d, d);
    const uint32_t *vk = vp + j0 / 32 * ct_n * 256;
    for (int r = 0; r < rt; r++)
      tile_pv((nk + 31) / 32, pb + (size_t)r * 16 * BK, vk, ct_n, o + (size_t)r * 16 * d, d);
  }
  for (size_t i = 0; i < nq; i++) {
    const __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(l[i]));
    for (size_t c = 0; c < d; c += 16)
      _mm512_storeu_ps(out + i * ldo + c, _mm512_mul_ps(_mm512_loadu_ps(o + i * d + c), inv));
  }
}
