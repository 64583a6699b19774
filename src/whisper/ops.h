/* The encoder's and decoder's non-GEMM work: LayerNorm, softmax, GELU, residual add and
 * im2col, each over rows of a row-major matrix and spread over a thread pool
 * (NULL = run on the calling thread).
 *
 * Inputs are fp32.  An op that produces the next GEMM's A operand writes it
 * in the encoder's activation type `yt` (TW_DTYPE_F32 or TW_DTYPE_BF16,
 * rounded to nearest even), so the engine need not convert it again.  None of
 * these functions allocates. */
#ifndef TW_WHISPER_OPS_H
#define TW_WHISPER_OPS_H

#include <stddef.h>

#include "core/threadpool.h"
#include "tilewhisper/gemm.h"


/* y[r] = (x[r] - mean) / sqrt(var + eps) * w + b over n columns (biased
 * variance, as torch.nn.LayerNorm). */
void tw_op_layernorm(tw_threadpool *pool, size_t rows, size_t n, const float *x, size_t ldx,
                     const float *w, const float *b, float eps, void *y, tw_dtype yt,
                     size_t ldy);

/* y[r] = softmax(scale * x[r]) over n columns, max-subtracted; scale > 0.
 * scratch: tw_threadpool_size(pool) * n floats. */
void tw_op_softmax(tw_threadpool *pool, size_t rows, size_t n, const float *x, size_t ldx,
                   float scale, void *y, tw_dtype yt, size_t ldy, float *scratch);

/* The decoder's masked softmax: row r is softmax(scale * x[r]) over its
 * first min(n_first + r, n) columns (the keys up to its own position, the
 * first n_first >= 1 of them cached) and 0 in the remaining columns up to
 * n.  scratch as tw_op_softmax. */
void tw_op_softmax_causal(tw_threadpool *pool, size_t rows, size_t n, size_t n_first,
                          const float *x, size_t ldx, float scale, void *y, tw_dtype yt,
                          size_t ldy, float *scratch);

/* y = x * (1 + erf(x / sqrt 2)) / 2, the exact GELU; in place allowed. */
void tw_op_gelu(tw_threadpool *pool, size_t rows, size_t n, const float *x, size_t ldx, void *y,
                tw_dtype yt, size_t ldy);

/* dst[j][i] = src[i][j] for i < rows, j < cols: src fp32 (lds), dst of type
 * yt (ldd), cols x rows. */
void tw_op_transpose(tw_threadpool *pool, size_t rows, size_t cols, const float *src, size_t lds,
                     void *dst, tw_dtype yt, size_t ldd);

/* x[r] += y[r] over n columns. */
void tw_op_add(tw_threadpool *pool, size_t rows, size_t n, float *x, size_t ldx, const float *y,
               size_t ldy);

/* im2col for a kernel-3, padding-1 convolution along time.  Input element
 * (channel c, time s) is x[c * c_stride + s * t_stride] for s in [0, t_in);
 * output row t (t in [0, t_out)) holds, at column c * 3 + tap, the input at
 * time t * stride + tap - 1 (zero outside), which matches a PyTorch Conv1d
 * weight [out, channels, 3] read as an N x K matrix. */
void tw_op_im2col_k3(tw_threadpool *pool, const float *x, size_t channels, size_t t_in,
                     size_t c_stride, size_t t_stride, size_t stride, size_t t_out, void *col,
                     tw_dtype yt);

/* log sum_j e^x[j] (max taken out, fp32 exps as PyTorch's float32
 * log_softmax, summed in double); -inf when every x is -inf or n = 0.
 * Relative error of each exp ~2e-7. */
double tw_op_logsumexp(const float *x, size_t n);
/* w[j] = e^((x[j] - max x) / temperature) in double (0 where x[j] = -inf;
 * relative error ~1e-16, no value below e^-708); returns sum_j w[j], 0 when
 * every x is -inf (w then untouched).  temperature > 0. */
double tw_op_exp_weights(const float *x, size_t n, double temperature, double *w);

#endif
