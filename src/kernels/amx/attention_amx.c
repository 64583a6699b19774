/* AMX fused attention for one block of queries (kernels/attention.h): both
 * products on the tile unit (TDPBF16PS: the two exact products of a bf16
 * pair added into each fp32 element), the online softmax between them on
 * AVX-512.  Per tile of BK keys:
 *   scores  S[i][j] = Q[i] . K[j]: the block's Q rounded to bf16 row by row
 *           (qb, features padded to a multiple of 32) is the A operand as
 *           it stands; K comes packed per head (tw_attn_amx_pack) as B
 *           tiles of 16 feature pairs x 16 keys, 1 KiB each and contiguous.
 *           The fp32 score tiles go to st, a query per row;
 *   softmax per query row: the row's max over the tile (of the raw
 *           scores; times scale log2(e), base 2, so the exps are 2^x),
 *           the new running max m', P = 2^(scale2 x - m') by a degree-3
 *           polynomial (P is rounded to bf16 at once) into pb (the A
 *           operand of the next product; zero past the last key) and its
 *           lane sums; then, for 16 rows at a time, alpha = 2^(m - m'),
 *           the per-lane running sums l = alpha l + those sums, and alpha
 *           kept;
 *   P.V     P V on fresh C tiles (fp32, a query per row), 32 keys a step,
 *           V packed per head as B tiles of 16 key pairs x 16 features,
 *           stored to its own buffer and folded later: O = alpha O + P V
 *           (fp32; on AVX-512 while the tile unit works on other tiles).
 * The tile unit and the vector units work at once (a software pipeline,
 * see tw_attn_block_amx), though only in part: while TDPBF16PS runs, the
 * core issues 512-bit FP operations on one port instead of two (measured
 * here: 4 TDPBF16PS and 64 FMA take as long as the TDPBF16PS alone, with
 * 128 FMA as long as both), and the exps are most of the vector work.
 * Measured alone (T 1500, 8 heads of 64, one thread): the tile work 4.4
 * ms, the vector work 5.2 ms, both 8.2 ms.  Finer interleaving (a few
 * TDPBF16PS between rows instead of whole units) did not change that.
 * K and V are packed once per head, padded with zero keys (and zero
 * features past d) to whole tiles, so the tile loads never read past the
 * buffers and padded keys, whose P is 0, add nothing (0 x 0, never 0 x
 * garbage).  Numerics as the VDPBF16PS kernel: Q, K, V and P rounded to
 * bf16 (RNE), scores, max, exps, sums and O fp32; the exps of P to
 * 7.5e-5, well inside P's rounding, and never below 2^-125.5 (subnormals
 * cost an assist each).  Tiles stay configured after a call (amx.h). */
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
#define NV (BK / 16) /* zmm per score row of a key tile */

_Static_assert(BQ == 32, "BQ: 2 row tiles (score_pair, pv_unit)");
_Static_assert(BK % 32 == 0 && BK <= 256, "key tiles of whole 32-key steps");
_Static_assert(TW_ATTN_MAX_D % 32 == 0, "qb rows of whole 32-feature steps");
_Static_assert(TW_ATTN_AMX_WORK_BYTES == (size_t)BQ * TW_ATTN_MAX_D * 2 + sizeof(float[2][BQ * BK]) +
                   sizeof(uint16_t[2][BQ * BK]) + sizeof(float[3][BQ * TW_ATTN_MAX_D]),
               "the work layout of tw_attn_block_amx");

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

/* The block's fixed operands and buffers. */
typedef struct blk {
  size_t d, dpad, steps, ct_n; /* feature steps of 32 for S; groups of 16 for O */
  int rt;                      /* row tiles in use (1 or 2) */
  const uint16_t *qb;          /* Q rounded, dpad per row */
} blk;

/* Tile work of one pipeline step: the scores of the next key tile (pairs
 * of key groups) and P.V of the previous one (per pair of 16-feature
 * groups), issued a unit at a time between softmax rows. */
typedef struct tile_work {
  size_t groups;      /* key groups of the scores' tile (0: none) */
  const uint32_t *kg; /* its first B tile of K */
  float *st;          /* its scores */
  size_t ksteps;      /* 32-key steps of P.V (0: none) */
  const uint16_t *pb; /* P of that tile */
  const uint32_t *vk; /* its first B tile of V */
  float *pv;          /* P.V out, d per row */
  size_t s_units, units;
} tile_work;

/* S for key groups n and n + 1 (if `two`): C tiles 0-3 (row tile x group:
 * four independent sums, so that consecutive TDPBF16PS do not wait on one
 * another), A tiles 4-5 (the row tiles' Q), B tiles 6-7 (the groups' K). */
static void score_pair(const blk *b, const tile_work *w, size_t n, int two) {
  const size_t lda = b->dpad * 2, lds = BK * sizeof(float);
  const int r1 = b->rt > 1;
  const uint32_t *k0 = w->kg + n * b->steps * 256, *k1 = k0 + b->steps * 256;
  _tile_zero(0);
  if (r1) _tile_zero(1);
  if (two) _tile_zero(2);
  if (two && r1) _tile_zero(3);
  for (size_t s = 0; s < b->steps; s++) {
    const uint16_t *a = b->qb + 32 * s;
    _tile_loadd(4, a, lda);
    _tile_loadd(6, k0 + s * 256, 64);
    _tile_dpbf16ps(0, 4, 6);
    if (r1) {
      _tile_loadd(5, a + 16 * b->dpad, lda);
      _tile_dpbf16ps(1, 5, 6);
    }
    if (two) {
      _tile_loadd(7, k1 + s * 256, 64);
      _tile_dpbf16ps(2, 4, 7);
      if (r1) _tile_dpbf16ps(3, 5, 7);
    }
  }
  float *st = w->st + 16 * n;
  _tile_stored(0, st, lds);
  if (r1) _tile_stored(1, st + 16 * BK, lds);
  if (two) _tile_stored(2, st + 16, lds);
  if (two && r1) _tile_stored(3, st + 16 * BK + 16, lds);
}

/* P.V for features 16 c0 .. 16 c0 + 31 (group c0 + 1 if `two`) of both row
 * tiles into pv: C tiles 0-3 (row tile x feature group), A tiles 4-5 (the
 * row tiles' P), B tiles 6-7 (the groups' V): each V tile is loaded once
 * per key tile, from L2, and used twice. */
static void pv_unit(const blk *b, const tile_work *w, size_t c0, int two) {
  const size_t ldo = b->d * sizeof(float), ldp = BK * 2, ct_n = b->ct_n;
  const int r1 = b->rt > 1;
  _tile_zero(0);
  if (two) _tile_zero(1);
  if (r1) _tile_zero(2);
  if (r1 && two) _tile_zero(3);
  for (size_t kk = 0; kk < w->ksteps; kk++) {
    const uint32_t *v = w->vk + (kk * ct_n + c0) * 256;
    const uint16_t *p = w->pb + 32 * kk;
    _tile_loadd(4, p, ldp);
    _tile_loadd(6, v, 64);
    _tile_dpbf16ps(0, 4, 6);
    if (two) {
      _tile_loadd(7, v + 256, 64);
      _tile_dpbf16ps(1, 4, 7);
    }
    if (r1) {
      _tile_loadd(5, p + 16 * BK, ldp);
      _tile_dpbf16ps(2, 5, 6);
      if (two) _tile_dpbf16ps(3, 5, 7);
    }
  }
  float *o = w->pv + 16 * c0;
  _tile_stored(0, o, ldo);
  if (two) _tile_stored(1, o + 16, ldo);
  if (r1) _tile_stored(2, o + 16 * b->d, ldo);
  if (r1 && two) _tile_stored(3, o + 16 * b->d + 16, ldo);
}

static void run_unit(const blk *b, const tile_work *w, size_t u) {
  if (u < w->s_units) {
    score_pair(b, w, 2 * u, 2 * u + 1 < w->groups);
  } else {
    const size_t c0 = 2 * (u - w->s_units);
    pv_unit(b, w, c0, c0 + 1 < b->ct_n);
  }
}

static void work_init(const blk *b, tile_work *w) {
  w->s_units = (w->groups + 1) / 2;
  w->units = w->s_units + (w->ksteps ? (b->ct_n + 1) / 2 : 0);
}

/* 2^x on 16 lanes for P, which is rounded to bf16 (relative error 2^-9)
 * right after: 2^r on |r| <= 1/2 by the degree-3 polynomial of least
 * maximum relative error (Remez; 7.5e-5), two multiply-adds fewer than
 * tw_exp2_512's degree 5.  x is clamped at -125, not -126 as there:
 * this polynomial is below 1 at r = 0, and 2^-126 times it would be
 * subnormal (an assist in every operation it enters). */
static inline __m512 exp2_p(__m512 x) {
  x = _mm512_max_ps(x, _mm512_set1_ps(-125.0f));
  const __m512 n = _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m512 r = _mm512_sub_ps(x, n);
  __m512 p = _mm512_set1_ps(5.517166907e-02f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(2.426111222e-01f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(6.932609855e-01f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(9.999280735e-01f));
  return _mm512_scalef_ps(p, n);
}

/* The max of 16 lanes in every lane. */
static inline __m512 max_all(__m512 v) {
  v = _mm512_max_ps(v, _mm512_shuffle_f32x4(v, v, 0x4e));
  v = _mm512_max_ps(v, _mm512_shuffle_f32x4(v, v, 0xb1));
  v = _mm512_max_ps(v, _mm512_permute_ps(v, 0x4e));
  return _mm512_max_ps(v, _mm512_permute_ps(v, 0xb1));
}

/* Query row i's softmax step over a tile of nk keys (scores at x, BK of
 * room, those past nk not read): the new running max *m' = max(*m, scale2
 * max x), P = 2^(scale2 x - m') as bf16 into p (BK of them, zero past nk)
 * and P's lane sums into *sum.  alpha = 2^(m - m') and the running sums are
 * left to the caller, for 16 rows at a time (rows_alpha).  No branch on the
 * data: whether the max grew was a branch the predictor missed often, and
 * the rows overlap only while nothing waits on their maxima.  Inlined with
 * nk = BK for whole tiles. */
static inline __attribute__((always_inline)) void softmax_row(size_t nk, float scale2,
                                                              const float *x, uint16_t *p,
                                                              float *m, __m512 *sum) {
  const __m512 sc = _mm512_set1_ps(scale2);
  __mmask16 k[NV];
#pragma GCC unroll 16
  for (size_t u = 0; u < NV; u++)
    k[u] = (__mmask16)(nk >= 16 * u + 16 ? 0xffff : nk > 16 * u ? (1u << (nk - 16 * u)) - 1 : 0);
  /* the max of the raw scores, as a tree: scale2 > 0 and rounding is
   * monotonic, so scaling it gives the max of the scaled ones; then
   * scale2 x - m' is one multiply-add per lane */
  __m512 s[NV], mx[4];
#pragma GCC unroll 16
  for (size_t u = 0; u < NV; u++) {
    s[u] = _mm512_maskz_load_ps(k[u], x + 16 * u);
    const __m512 v = _mm512_mask_mov_ps(_mm512_set1_ps(-INFINITY), k[u], s[u]);
    mx[u % 4] = u < 4 ? v : _mm512_max_ps(mx[u % 4], v);
  }
  const __m512 mnew = _mm512_max_ps(
      _mm512_set1_ps(*m),
      _mm512_mul_ps(max_all(_mm512_max_ps(_mm512_max_ps(mx[0], mx[1]), _mm512_max_ps(mx[2], mx[3]))),
                    sc));
  *m = _mm512_cvtss_f32(mnew);
  const __m512 negm = _mm512_sub_ps(_mm512_setzero_ps(), mnew);
  __m512 acc = _mm512_setzero_ps(), e[NV];
#pragma GCC unroll 16
  for (size_t u = 0; u < NV; u++) {
    e[u] = _mm512_maskz_mov_ps(k[u], exp2_p(_mm512_fmadd_ps(s[u], sc, negm)));
    acc = _mm512_add_ps(acc, e[u]);
  }
#pragma GCC unroll 8
  for (size_t u = 0; u < NV; u += 2)
    _mm512_store_si512((void *)(p + 16 * u), (__m512i)_mm512_cvtne2ps_pbh(e[u + 1], e[u]));
  *sum = acc;
}

/* For rows [0, nq) after their softmax step: alpha = 2^(m - m') (m' the
 * new running maxima, m the old ones; at the first tile m = -inf and alpha
 * is 2^-126, clamped, times l = 0 and O = 0), kept for the fold, the
 * running lane sums l = alpha l + the step's sums, and m = m'. */
static inline void rows_alpha(size_t nq, float *m, const float *mnew, __m512 *l, const __m512 *sum,
                              float *alpha) {
  for (size_t i0 = 0; i0 < nq; i0 += 16) {
    const __mmask16 k = (__mmask16)(nq - i0 >= 16 ? 0xffff : (1u << (nq - i0)) - 1);
    const __m512 mo = _mm512_maskz_loadu_ps(k, m + i0), mn = _mm512_maskz_loadu_ps(k, mnew + i0);
    _mm512_mask_storeu_ps(alpha + i0, k, tw_exp2_512(_mm512_sub_ps(mo, mn)));
    _mm512_mask_storeu_ps(m + i0, k, mn);
  }
  for (size_t i = 0; i < nq; i++) l[i] = _mm512_fmadd_ps(l[i], _mm512_set1_ps(alpha[i]), sum[i]);
}

/* O row = alpha O row + the row of a key tile's P.V (alpha 1 when the max
 * did not grow: then exactly O + P.V). */
static inline void fold_row(size_t d, float alpha, const float *pv, float *o) {
  const __m512 a = _mm512_set1_ps(alpha);
  for (size_t c = 0; c < d; c += 16)
    _mm512_store_ps(o + c, _mm512_fmadd_ps(_mm512_load_ps(o + c), a, _mm512_load_ps(pv + c)));
}

/* The rows' softmax for key tile c (nk keys; sm), the fold of tile c - 2's
 * P.V (fold), and between rows the tile unit's work w, spread evenly so
 * that it runs while the vector units compute the exps. */
static inline __attribute__((always_inline)) void step_rows(
    size_t nq, size_t nk, int sm, int fold, float scale2, const float *st, uint16_t *pb,
    float *m, __m512 *l, float *alpha_sm, const float *alpha_fold, const float *pv, float *o,
    const blk *b, const tile_work *w) {
  float mnew[BQ];
  __m512 sum[BQ];
  size_t u = 0;
  for (size_t i = 0; i < nq; i++) {
    if (sm) {
      mnew[i] = m[i];
      softmax_row(nk, scale2, st + i * BK, pb + i * BK, &mnew[i], &sum[i]);
    }
    if (fold) fold_row(b->d, alpha_fold[i], pv + i * b->d, o + i * b->d);
    for (; u < w->units && u * nq < (i + 1) * w->units; u++) run_unit(b, w, u);
  }
  for (; u < w->units; u++) run_unit(b, w, u);
  if (sm) rows_alpha(nq, m, mnew, l, sum, alpha_sm);
}

/* Software pipeline over the key tiles c = 0 .. C - 1: step c computes the
 * softmax of tile c on the vector units while the tile unit computes the
 * scores of tile c + 1 and P.V of tile c - 1; P.V of a tile goes to its
 * own buffer and is folded into O (O = alpha O + P.V) at step c + 2, when
 * it is long finished.  Without this the two units take turns: the exps
 * cost about as much as both products. */
void tw_attn_block_amx(size_t nq, size_t T, size_t d, float scale, const float *q, size_t ldq,
                       const uint32_t *kp, const uint32_t *vp, float *out, size_t ldo,
                       void *work) {
  tw_amx_configure(&cfg_attn);
  /* the buffers, in `work` (TW_ATTN_AMX_WORK_BYTES): 128 KiB on the stack
   * asked callers' threads for that much stack; every part a multiple of
   * 64 bytes */
  uint16_t *qb = work;                            /* BQ x TW_ATTN_MAX_D */
  float(*st)[BQ * BK] = (void *)(qb + BQ * TW_ATTN_MAX_D);
  uint16_t(*pb)[BQ * BK] = (void *)(st + 2);
  float(*pv)[BQ * TW_ATTN_MAX_D] = (void *)(pb + 2);
  float *o = pv[2];
  float m[BQ], alpha[3][BQ];
  __m512 l[BQ];
  blk b = {.d = d, .dpad = dpad_of(d), .ct_n = d / 16, .rt = (int)((nq + 15) / 16), .qb = qb};
  b.steps = b.dpad / 32;
  const size_t rows = 16 * (size_t)b.rt; /* rows past nq: Q = 0, P = 0, not stored */
  const size_t C = (T + BK - 1) / BK, kstride = BK / 16 * b.steps * 256;
  const float scale2 = scale * 1.44269504088896341f;
  for (size_t i = 0; i < rows; i++)
    for (size_t p0 = 0; p0 < b.dpad; p0 += 32) {
      const size_t n = i < nq && p0 < d ? (d - p0 < 32 ? d - p0 : 32) : 0;
      _mm512_store_si512((void *)(qb + i * b.dpad + p0), bf16_32(q + i * ldq + p0, n));
    }
  memset(o, 0, nq * d * sizeof(float));
  memset(pb[0] + nq * BK, 0, (rows - nq) * BK * sizeof(uint16_t));
  memset(pb[1] + nq * BK, 0, (rows - nq) * BK * sizeof(uint16_t));
  for (size_t i = 0; i < nq; i++) m[i] = -INFINITY, l[i] = _mm512_setzero_ps();
  tile_work w0 = {.groups = ((T < BK ? T : BK) + 15) / 16, .kg = kp, .st = st[0]};
  work_init(&b, &w0);
  for (size_t u = 0; u < w0.units; u++) run_unit(&b, &w0, u);
  for (size_t c = 0; c < C + 2; c++) {
    tile_work w = {0};
    if (c + 1 < C) {
      const size_t j = (c + 1) * BK;
      w.groups = ((T - j < BK ? T - j : BK) + 15) / 16;
      w.kg = kp + (c + 1) * kstride;
      w.st = st[(c + 1) & 1];
    }
    if (c >= 1 && c - 1 < C) {
      const size_t j = (c - 1) * BK;
      w.ksteps = ((T - j < BK ? T - j : BK) + 31) / 32;
      w.pb = pb[(c - 1) & 1];
      w.vk = vp + j / 32 * b.ct_n * 256;
      w.pv = pv[(c - 1) & 1];
    }
    work_init(&b, &w);
    const int sm = c < C, fold = c >= 2;
    const size_t nk = sm && T - c * BK < BK ? T - c * BK : BK;
    float *a_sm = alpha[c % 3];
    const float *a_fold = alpha[(c + 1) % 3]; /* (c - 2) % 3 */
    if (nk == BK)
      step_rows(nq, BK, sm, fold, scale2, st[c & 1], pb[c & 1], m, l, a_sm, a_fold, pv[c & 1], o,
                &b, &w);
    else
      step_rows(nq, nk, sm, fold, scale2, st[c & 1], pb[c & 1], m, l, a_sm, a_fold, pv[c & 1], o,
                &b, &w);
  }
  for (size_t i = 0; i < nq; i++) {
    const __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(l[i]));
    for (size_t c = 0; c < d; c += 16)
      _mm512_storeu_ps(out + i * ldo + c, _mm512_mul_ps(_mm512_load_ps(o + i * d + c), inv));
  }
}
