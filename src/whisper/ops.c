#include "whisper/ops.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernels/elementwise.h"
#include "kernels/generic/math_inline.h"
#include "tilewhisper/bf16.h"

/* ---- vectorizable elementwise math ----
 * Branch-free inline functions over fixed blocks of 8 so that the compiler
 * turns the row loops into SIMD; target_clones adds AVX-512 (x86-64-v4)
 * and AVX2 bodies chosen at load time where the CPU has them.  The AVX-512
 * body took the base encoder's time outside its products and attention
 * from 0.030 to 0.019 s of ~0.27 s at 1 thread (AMD EPYC VM). */

#define BLOCK 8

/* ---- softmax ---- */

typedef struct softmax_args {
  size_t n, ldx, ldy;
  const float *x;
  float scale;
  void *y;
  tw_dtype yt;
  float *scratch; /* n floats per task */
  int causal;     /* row r covers the first causal_first + r columns only */
  size_t causal_first;
} softmax_args;

TW_CLONES static float row_max(const float *x, size_t n) {
  float m[BLOCK];
  for (int i = 0; i < BLOCK; i++) m[i] = x[0];
  size_t j = 0;
  for (; j + BLOCK <= n; j += BLOCK)
    for (int i = 0; i < BLOCK; i++) m[i] = x[j + i] > m[i] ? x[j + i] : m[i];
  for (; j < n; j++) m[0] = x[j] > m[0] ? x[j] : m[0];
  float mx = m[0];
  for (int i = 1; i < BLOCK; i++) mx = m[i] > mx ? m[i] : mx;
  return mx;
}

/* e[j] = e^{(x[j] - mx) scale}; returns their sum. */
TW_CLONES static float row_exp(const float *x, size_t n, float mx, float scale, float *e) {
  float s[BLOCK] = {0};
  size_t j = 0;
  for (; j + BLOCK <= n; j += BLOCK)
    for (int i = 0; i < BLOCK; i++) {
      e[j + i] = tw_exp_nonpos((x[j + i] - mx) * scale);
      s[i] += e[j + i];
    }
  for (; j < n; j++) {
    e[j] = tw_exp_nonpos((x[j] - mx) * scale);
    s[0] += e[j];
  }
  float sum = 0.0f;
  for (int i = 0; i < BLOCK; i++) sum += s[i];
  return sum;
}

TW_CLONES static void row_scale_f32(const float *x, size_t n, float k, float *y) {
  for (size_t j = 0; j < n; j++) y[j] = x[j] * k;
}

TW_CLONES static void row_scale_bf16(const float *x, size_t n, float k, tw_bf16 *y) {
  for (size_t j = 0; j < n; j++) y[j] = tw_bf16_finite(x[j] * k);
}

/* Three passes over a row: the max and the exps read x (the exps go to the
 * task's scratch row, which stays in L1), the last writes y; x is never
 * written, so its cache lines are not written back. */
static void softmax_rows(void *arg, size_t r0, size_t r1, size_t task) {
  const softmax_args *a = arg;
  float *e = a->scratch + task * a->n;
  for (size_t r = r0; r < r1; r++) {
    const float *x = a->x + r * a->ldx;
    size_t len = a->n;
    if (a->causal && a->causal_first + r < len) len = a->causal_first + r;
    const float sum = row_exp(x, len, row_max(x, len), a->scale, e);
    /* masked columns: probability 0 */
    for (size_t j = len; j < a->n; j++) e[j] = 0.0f;
    if (a->yt == TW_DTYPE_BF16)
      row_scale_bf16(e, a->n, 1.0f / sum, (tw_bf16 *)a->y + r * a->ldy);
    else
      row_scale_f32(e, a->n, 1.0f / sum, (float *)a->y + r * a->ldy);
  }
}

void tw_op_softmax(tw_threadpool *pool, size_t rows, size_t n, const float *x, size_t ldx,
                   float scale, void *y, tw_dtype yt, size_t ldy, float *scratch) {
  softmax_args a = {n, ldx, ldy, x, scale, y, yt, scratch, 0, 0};
  tw_parallel_rows(pool, rows, softmax_rows, &a);
}

void tw_op_softmax_causal(tw_threadpool *pool, size_t rows, size_t n, size_t n_first,
                          const float *x, size_t ldx, float scale, void *y, tw_dtype yt,
                          size_t ldy, float *scratch) {
  softmax_args a = {n, ldx, ldy, x, scale, y, yt, scratch, 1, n_first};
  tw_parallel_rows(pool, rows, softmax_rows, &a);
}

/* ---- GELU ---- */

typedef struct gelu_args {
  size_t n, ldx, ldy;
  const float *x;
  void *y;
  tw_dtype yt;
} gelu_args;

static void gelu_rows(void *arg, size_t r0, size_t r1, size_t task) {
  (void)task;
  const gelu_args *a = arg;
  const tw_gelu_row_fn gelu = tw_gelu_row_kernel();
  const int bf16 = a->yt == TW_DTYPE_BF16;
  for (size_t r = r0; r < r1; r++)
    gelu(a->x + r * a->ldx,
         a->n, bf16 ? (void *)((tw_bf16 *)a->y + r * a->ldy) : (void *)((float *)a->y + r * a->ldy),
         bf16);
}

void tw_op_gelu(tw_threadpool *pool, size_t rows, size_t n, const float *x, size_t ldx, void *y,
                tw_dtype yt, size_t ldy) {
  gelu_args a = {n, ldx, ldy, x, y, yt};
  tw_parallel_rows(pool, rows, gelu_rows, &a);
}

/* ---- LayerNorm ---- */

typedef struct ln_args {
  size_t n, ldx, ldy;
  const float *x, *w, *b;
  float eps;
  void *y;
  tw_dtype yt;
} ln_args;

/* Mean and 1 / sqrt(variance + eps) of a row, two passes with double sums
 * in BLOCK lanes: rows with a large common offset (the residual stream's
 * outlier channels) keep their precision, and the loops still vectorize. */
TW_CLONES static void row_moments(const float *x, size_t n, float eps, double *mean,
                                      double *rstd) {
  double s[BLOCK] = {0}, q[BLOCK] = {0};
  size_t j = 0;
  for (; j + BLOCK <= n; j += BLOCK)
    for (int i = 0; i < BLOCK; i++) s[i] += x[j + i];
  for (; j < n; j++) s[0] += x[j];
  double sum = 0.0;
  for (int i = 0; i < BLOCK; i++) sum += s[i];
  const double m = sum / (double)n;
  for (j = 0; j + BLOCK <= n; j += BLOCK)
    for (int i = 0; i < BLOCK; i++) q[i] += (x[j + i] - m) * (x[j + i] - m);
  for (; j < n; j++) q[0] += (x[j] - m) * (x[j] - m);
  double ss = 0.0;
  for (int i = 0; i < BLOCK; i++) ss += q[i];
  *mean = m;
  *rstd = 1.0 / sqrt(ss / (double)n + eps);
}

/* (x - mean) rstd w + b in float, the mean split into hi + lo parts so that
 * x - mean keeps double accuracy where x is close to the mean. */
TW_CLONES static void row_normalize_f32(const float *x, size_t n, double mean, double rstd,
                                            const float *w, const float *b, float *y) {
  const float hi = (float)mean, lo = (float)(mean - hi), r = (float)rstd;
  for (size_t j = 0; j < n; j++) y[j] = ((x[j] - hi) - lo) * r * w[j] + b[j];
}

TW_CLONES static void row_normalize_bf16(const float *x, size_t n, double mean, double rstd,
                                             const float *w, const float *b, tw_bf16 *y) {
  const float hi = (float)mean, lo = (float)(mean - hi), r = (float)rstd;
  for (size_t j = 0; j < n; j++) y[j] = tw_bf16_finite(((x[j] - hi) - lo) * r * w[j] + b[j]);
}

static void ln_rows(void *arg, size_t r0, size_t r1, size_t task) {
  (void)task;
  const ln_args *a = arg;
  for (size_t r = r0; r < r1; r++) {
    const float *x = a->x + r * a->ldx;
    double mean, rstd;
    row_moments(x, a->n, a->eps, &mean, &rstd);
    if (a->yt == TW_DTYPE_BF16)
      row_normalize_bf16(x, a->n, mean, rstd, a->w, a->b, (tw_bf16 *)a->y + r * a->ldy);
    else
      row_normalize_f32(x, a->n, mean, rstd, a->w, a->b, (float *)a->y + r * a->ldy);
  }
}

void tw_op_layernorm(tw_threadpool *pool, size_t rows, size_t n, const float *x, size_t ldx,
                     const float *w, const float *b, float eps, void *y, tw_dtype yt,
                     size_t ldy) {
  ln_args a = {n, ldx, ldy, x, w, b, eps, y, yt};
  tw_parallel_rows(pool, rows, ln_rows, &a);
}

/* ---- residual add ---- */

typedef struct add_args {
  size_t n, ldx, ldy;
  float *x;
  const float *y;
} add_args;

static void add_rows(void *arg, size_t r0, size_t r1, size_t task) {
  (void)task;
  const add_args *a = arg;
  for (size_t r = r0; r < r1; r++) {
    float *x = a->x + r * a->ldx;
    const float *y = a->y + r * a->ldy;
    for (size_t j = 0; j < a->n; j++) x[j] += y[j];
  }
}

void tw_op_add(tw_threadpool *pool, size_t rows, size_t n, float *x, size_t ldx, const float *y,
               size_t ldy) {
  add_args a = {n, ldx, ldy, x, y};
  tw_parallel_rows(pool, rows, add_rows, &a);
}

/* ---- transpose ---- */

typedef struct transpose_args {
  size_t rows, lds, ldd;
  const float *src;
  void *dst;
  tw_dtype yt;
} transpose_args;

/* dst rows [j0, j1) = src columns; src read in tiles of 32 rows so the
 * cache lines of a tile serve 16 consecutive dst rows. */
static void transpose_rows(void *arg, size_t j0, size_t j1, size_t task) {
  (void)task;
  const transpose_args *a = arg;
  for (size_t i0 = 0; i0 < a->rows; i0 += 32) {
    const size_t i1 = i0 + 32 < a->rows ? i0 + 32 : a->rows;
    for (size_t j = j0; j < j1; j++) {
      const float *s = a->src + j;
      if (a->yt == TW_DTYPE_BF16) {
        tw_bf16 *d = (tw_bf16 *)a->dst + j * a->ldd;
        for (size_t i = i0; i < i1; i++) d[i] = tw_fp32_to_bf16(s[i * a->lds]);
      } else {
        float *d = (float *)a->dst + j * a->ldd;
        for (size_t i = i0; i < i1; i++) d[i] = s[i * a->lds];
      }
    }
  }
}

void tw_op_transpose(tw_threadpool *pool, size_t rows, size_t cols, const float *src, size_t lds,
                     void *dst, tw_dtype yt, size_t ldd) {
  transpose_args a = {rows, lds, ldd, src, dst, yt};
  tw_parallel_rows(pool, cols, transpose_rows, &a);
}

/* ---- im2col, kernel 3, padding 1 ---- */

typedef struct im2col_args {
  const float *x;
  size_t channels, t_in, c_stride, t_stride, stride;
  void *col;
  tw_dtype yt;
} im2col_args;

static void im2col_rows(void *arg, size_t r0, size_t r1, size_t task) {
  (void)task;
  const im2col_args *a = arg;
  const size_t k = a->channels * 3;
  for (size_t t = r0; t < r1; t++) {
    const size_t s0 = t * a->stride; /* input time of tap 1; tap 0 is s0 - 1 */
    const int has_l = s0 >= 1, has_c = s0 < a->t_in, has_r = s0 + 1 < a->t_in;
    const float *xl = a->x + (s0 - (size_t)has_l) * a->t_stride;
    const float *xc = a->x + (has_c ? s0 : 0) * a->t_stride;
    const float *xr = a->x + (has_r ? s0 + 1 : 0) * a->t_stride;
    if (a->yt == TW_DTYPE_BF16) {
      tw_bf16 *o = (tw_bf16 *)a->col + t * k;
      for (size_t c = 0; c < a->channels; c++) {
        const size_t off = c * a->c_stride;
        o[c * 3 + 0] = tw_fp32_to_bf16(has_l ? xl[off] : 0.0f);
        o[c * 3 + 1] = tw_fp32_to_bf16(has_c ? xc[off] : 0.0f);
        o[c * 3 + 2] = tw_fp32_to_bf16(has_r ? xr[off] : 0.0f);
      }
    } else {
      float *o = (float *)a->col + t * k;
      for (size_t c = 0; c < a->channels; c++) {
        const size_t off = c * a->c_stride;
        o[c * 3 + 0] = has_l ? xl[off] : 0.0f;
        o[c * 3 + 1] = has_c ? xc[off] : 0.0f;
        o[c * 3 + 2] = has_r ? xr[off] : 0.0f;
      }
    }
  }
}

void tw_op_im2col_k3(tw_threadpool *pool, const float *x, size_t channels, size_t t_in,
                     size_t c_stride, size_t t_stride, size_t stride, size_t t_out, void *col,
                     tw_dtype yt) {
  im2col_args a = {x, channels, t_in, c_stride, t_stride, stride, col, yt};
  tw_parallel_rows(pool, t_out, im2col_rows, &a);
}

/* ---- exponential sums of the decoding rules ----
 * A step of beam search takes log_softmax over 51,865 logits per beam, and
 * a sampled step the weights exp((l - max) / T) of every token: with
 * scalar libm calls these cost as much as the decoder's step itself
 * (issue 13's round-3 note: 5.3 of 11.2 s of a fallback-heavy run). */

/* e^x for x <= 0 in double: x = n ln2 + r (|r| <= ln2 / 2, n by the
 * 1.5 * 2^52 rounding trick, ln2 in two parts), e^r by its Taylor series
 * to r^12 (truncation below 2e-16 relative), 2^n added into the exponent
 * bits.  Arguments below -708 give e^-708 (~3e-308), not less: no
 * subnormals. */
static inline double exp_nonpos_d(double x) {
  uint64_t xb;
  memcpy(&xb, &x, sizeof xb);
  const uint64_t lim = 0xc086200000000000u; /* -708.0: for x <= 0, larger bits = smaller */
  xb = xb > lim ? lim : xb;
  memcpy(&x, &xb, sizeof x);
  const double shifted = x * 1.4426950408889634 + 6755399441055744.0;
  const double n = shifted - 6755399441055744.0;
  uint64_t sb;
  memcpy(&sb, &shifted, sizeof sb);
  const uint64_t n_bits = sb - 0x4338000000000000u; /* n as two's complement */
  const double r = (x - n * 6.93147180369123816490e-01) - n * 1.90821492927058770002e-10;
  double p = 1.0 / 479001600.0;
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  uint64_t pb;
  memcpy(&pb, &p, sizeof pb);
  pb += n_bits << 52;
  memcpy(&p, &pb, sizeof p);
  return p;
}

TW_CLONES static float max_of(const float *x, size_t n) {
  return n ? row_max(x, n) : -INFINITY;
}

/* sum_j e^(x[j] - mx) with fp32 exps (as PyTorch's float32 log_softmax takes
 * them) summed in double lanes. */
TW_CLONES static double sum_exp_f32(const float *x, size_t n, float mx) {
  double s[BLOCK] = {0};
  size_t j = 0;
  for (; j + BLOCK <= n; j += BLOCK)
    for (int i = 0; i < BLOCK; i++) s[i] += (double)tw_exp_nonpos(x[j + i] - mx);
  for (; j < n; j++) s[0] += (double)tw_exp_nonpos(x[j] - mx);
  double t = 0;
  for (int i = 0; i < BLOCK; i++) t += s[i];
  return t;
}

double tw_op_logsumexp(const float *x, size_t n) {
  const float mx = max_of(x, n);
  if (mx == -INFINITY) return -INFINITY;
  return (double)mx + log(sum_exp_f32(x, n, mx));
}

/* (x - mx) / T as (x - mx) * (1 / T): within an ulp of the quotient, and a
 * division per lane cost as much as the exponential. */
TW_CLONES static double weights_d(const float *x, size_t n, double mx, double inv_t,
                                      double *w) {
  double s[BLOCK] = {0};
  size_t j = 0;
  for (; j + BLOCK <= n; j += BLOCK)
    for (int i = 0; i < BLOCK; i++) {
      double e = exp_nonpos_d(((double)x[j + i] - mx) * inv_t);
      w[j + i] = x[j + i] == -INFINITY ? 0.0 : e;
      s[i] += w[j + i];
    }
  for (; j < n; j++) {
    double e = exp_nonpos_d(((double)x[j] - mx) * inv_t);
    w[j] = x[j] == -INFINITY ? 0.0 : e;
    s[0] += w[j];
  }
  double t = 0;
  for (int i = 0; i < BLOCK; i++) t += s[i];
  return t;
}

double tw_op_exp_weights(const float *x, size_t n, double temperature, double *w) {
  const float mx = max_of(x, n);
  if (mx == -INFINITY) return 0.0;
  return weights_d(x, n, (double)mx, 1.0 / temperature, w);
}
