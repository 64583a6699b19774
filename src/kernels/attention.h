/* Fused (flash-style) attention kernels: one head, one block of queries,
 * softmax(scale Q K^T) V without the T x T score matrix.  The keys are
 * walked in tiles; per tile the scores, the running max per query, the
 * exps and their running sum, and P.V stay in L1, and the partial output
 * is rescaled when the max grows (Milakov & Gimelshein 2018, "Online
 * normalizer calculation for softmax"; Dao et al. 2022, FlashAttention).
 * Everything in fp32, except in the bf16 kernels (VDPBF16PS, and AMX
 * TDPBF16PS), whose two products take bf16 operands.  Called by src/device/cpu/attention.c. */
#ifndef TW_KERNELS_ATTENTION_H
#define TW_KERNELS_ATTENTION_H

#include <stddef.h>
#include <stdint.h>

/* Queries per block and keys per tile (the avx512 kernel vectorises across
 * the 32 queries: two zmm per key). */
#define TW_ATTN_BQ 32
#define TW_ATTN_BK 128
#define TW_ATTN_MAX_D 128
/* The same for the bf16 kernel (its nq <= TW_ATTN_BF16_BQ). */
#define TW_ATTN_BF16_BQ 32
#define TW_ATTN_BF16_BK 128

/* out[i][c] = sum_j softmax_j(scale q_i . k_j) v_j[c] for i < nq (<= BQ),
 * j < T, c < d (<= TW_ATTN_MAX_D): q row i at q + i*ldq, key j at
 * k + j*ldk, value j at v + j*ldv, output row i at out + i*ldo. */
typedef void (*tw_attn_block_fn)(size_t nq, size_t T, size_t d, float scale, const float *q,
                                 size_t ldq, const float *k, size_t ldk, const float *v,
                                 size_t ldv, float *out, size_t ldo);

/* Portable C, any d <= TW_ATTN_MAX_D. */
void tw_attn_block_generic(size_t nq, size_t T, size_t d, float scale, const float *q, size_t ldq,
                           const float *k, size_t ldk, const float *v, size_t ldv, float *out,
                           size_t ldo);
/* AVX-512 F, d a multiple of 8 (<= TW_ATTN_MAX_D). */
void tw_attn_block_avx512(size_t nq, size_t T, size_t d, float scale, const float *q, size_t ldq,
                          const float *k, size_t ldk, const float *v, size_t ldv, float *out,
                          size_t ldo);
/* AVX512-BF16 (VDPBF16PS), d a multiple of 8 (<= TW_ATTN_MAX_D), nq <=
 * TW_ATTN_BF16_BQ: Q, K, V and the exps P rounded to bf16 (RNE) before
 * their products, everything else fp32.  K and V of the head come packed
 * by tw_attn_bf16_pack: kb holds T*d/2 words, kb[j*d/2 + w] = (K[j][2w],
 * K[j][2w+1]) as bf16 (low half first); vp holds (T+1)/2*d words, vp[q*d +
 * c] = (V[2q][c], V[2q+1][c]), zero in place of V[T] when T is odd.  Key
 * tiles start on even keys (TW_ATTN_BF16_BK is even). */
void tw_attn_bf16_pack(size_t T, size_t d, const float *k, size_t ldk, const float *v,
                       size_t ldv, uint32_t *kb, uint32_t *vp);
void tw_attn_block_avx512bf16(size_t nq, size_t T, size_t d, float scale, const float *q,
                              size_t ldq, const uint32_t *kb, const uint32_t *vp, float *out,
                              size_t ldo);
/* Words of one head's kb plus vp. */
static inline size_t tw_attn_bf16_pack_words(size_t T, size_t d) {
  return T * (d / 2) + (T + 1) / 2 * d;
}

/* AMX (TDPBF16PS on tiles; src/kernels/amx), d a multiple of 16 (<=
 * TW_ATTN_MAX_D), nq <= TW_ATTN_AMX_BQ, on a thread whose process may use
 * the tiles (tw_amx_usable): the numerics of the bf16 kernel above.  K and
 * V of the head come packed by tw_attn_amx_pack as B tiles (the layout is
 * the kernel's own, see attention_amx.c): tw_attn_amx_pack_words(T, d)
 * words, vp at kp + tw_attn_amx_k_words(T, d).  The calling thread's tiles
 * stay configured: release them (tw_amx_release) at the end of the task.
 * Queries per block and keys per tile chosen by measurement. */
#define TW_ATTN_AMX_BQ 32
#define TW_ATTN_AMX_BK 192
/* Bytes of `work` (64-byte aligned) a block needs: its Q, two key tiles'
 * scores and P, two tiles' P.V and O (128 KiB, the caller's per-thread
 * scratch rather than the stack). */
#define TW_ATTN_AMX_WORK_BYTES                                                      \
  ((size_t)TW_ATTN_AMX_BQ * TW_ATTN_MAX_D * 2 + 2 * TW_ATTN_AMX_BQ * TW_ATTN_AMX_BK * 4 + \
   2 * TW_ATTN_AMX_BQ * TW_ATTN_AMX_BK * 2 + 3 * TW_ATTN_AMX_BQ * TW_ATTN_MAX_D * 4)
size_t tw_attn_amx_k_words(size_t T, size_t d);
size_t tw_attn_amx_pack_words(size_t T, size_t d);
void tw_attn_amx_pack(size_t T, size_t d, const float *k, size_t ldk, const float *v, size_t ldv,
                      uint32_t *kp, uint32_t *vp);
void tw_attn_block_amx(size_t nq, size_t T, size_t d, float scale, const float *q, size_t ldq,
                       const uint32_t *kp, const uint32_t *vp, float *out, size_t ldo,
                       void *work);

/* One decoding step of one head: a single query over n_keys cached keys.
 * out[c] = sum_j softmax_j(scale q . k_j) vt[c][j] for c < d: key j at
 * k + j*ldk, the values transposed (row c at vt + c*ldvt, as the decoder's
 * cache keeps them); scores is n_keys floats of scratch.  All fp32. */
#define TW_ATTN_STEP_MAX_KEYS 4096
typedef void (*tw_attn_step_fn)(size_t n_keys, size_t d, float scale, const float *q,
                                const float *k, size_t ldk, const float *vt, size_t ldvt,
                                float *scores, float *out);
void tw_attn_step_generic(size_t n_keys, size_t d, float scale, const float *q, const float *k,
                          size_t ldk, const float *vt, size_t ldvt, float *scores, float *out);
/* AVX-512 F, any d. */
void tw_attn_step_avx512(size_t n_keys, size_t d, float scale, const float *q, const float *k,
                         size_t ldk, const float *vt, size_t ldvt, float *scores, float *out);
/* The same over bf16 caches (k and vt hold bf16 values, strides in
 * elements), computed in fp32. */
typedef void (*tw_attn_step_bf16_fn)(size_t n_keys, size_t d, float scale, const float *q,
                                     const uint16_t *k, size_t ldk, const uint16_t *vt,
                                     size_t ldvt, float *scores, float *out);
void tw_attn_step_bf16_generic(size_t n_keys, size_t d, float scale, const float *q,
                               const uint16_t *k, size_t ldk, const uint16_t *vt, size_t ldvt,
                               float *scores, float *out);
void tw_attn_step_bf16_avx512(size_t n_keys, size_t d, float scale, const float *q,
                              const uint16_t *k, size_t ldk, const uint16_t *vt, size_t ldvt,
                              float *scores, float *out);

/* x[j] = softmax_j(scale x) for j < n, in place (the cross-attention's rows). */
typedef void (*tw_softmax_row_fn)(size_t n, float scale, float *x);
void tw_softmax_row_generic(size_t n, float scale, float *x);
void tw_softmax_row_avx512(size_t n, float scale, float *x);

#endif
