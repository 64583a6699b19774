/* Fused multi-head attention through the engine, for devices that offer
 * it (the cpu device); others decline and the caller runs the planned
 * per-head products, whose invocation counts are part of the study. */
#ifndef TW_GEMM_ATTENTION_H
#define TW_GEMM_ATTENTION_H

#include <stddef.h>

#include "tilewhisper/gemm.h"

/* out[t][h*d + c] = sum_s softmax_s(scale q_h[t] . k_h[s]) v_h[s][c] for
 * heads h < n_head (columns h*d .. h*d+d-1 of T x n_head*d fp32 q, k, v
 * with row stride ld, out with ldo).  allow_bf16: the device may round Q,
 * K, V and the softmax numerators to bf16 before their products, as the
 * planned products do with bf16 activations (the cpu device does where its
 * calibration found VDPBF16PS faster than fp32 FMA); 0 keeps fp32.
 * Returns TW_OK, TW_EUNSUPPORTED when the device has no fused attention or
 * declines this shape (nothing is recorded as an error: run the products),
 * or another negative status.  A successful call counts in the stream's
 * statistics as one call of 4 T^2 d n_head flops. */
int tw_attention(tw_stream *s, size_t T, size_t n_head, size_t d, float scale, const float *q,
                 const float *k, const float *v, size_t ld, float *out, size_t ldo,
                 int allow_bf16);

/* A decoding step's self-attention for n_seq sequences: row s of q (head h
 * at columns h*d) over sequence s's n_keys cached keys k[s] (row stride
 * ldk) and transposed values vt[s] (row h*d + c, stride ldvt), into row s
 * of out; the caches hold kv_type (F32 or BF16).  Same returns as
 * tw_attention; one call of 4 n_seq n_keys d n_head flops. */
int tw_attention_step(tw_stream *s, size_t n_seq, size_t n_head, size_t d, size_t n_keys,
                      float scale, const float *q, size_t ldq, tw_dtype kv_type,
                      const void *const *k, size_t ldk, const void *const *vt, size_t ldvt,
                      float *out, size_t ldo);

/* Cross-attention of m rows over per-head K^T (kt[h], d x T) and V (v[h],
 * T x d) weights prepared on the stream's device (device.h,
 * tw_attention_cross_args, which this fills from the weights).  Same
 * returns; TW_EUNSUPPORTED too when a weight is not a direct one of this
 * device.  One call of 4 m T d n_head flops. */
int tw_attention_cross(tw_stream *s, size_t m, size_t n_head, size_t d, size_t T, float scale,
                       const float *q, size_t ldq, const tw_weight *const *kt,
                       const tw_weight *const *v, float *out, size_t ldo, int round_bf16);

#endif
