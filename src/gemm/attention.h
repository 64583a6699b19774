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

#endif
